// Top-N per group (and deduplication) in a materialized view, written as PostgreSQL writes it:
//   SELECT ... FROM (SELECT ..., row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn
//                    FROM t [WHERE ...]) s WHERE rn <= 3          (rn = 1: one row per key)
// and SELECT DISTINCT ON (k) ... ORDER BY k, v (the first row per key). The inner SELECT's rows
// are kept per partition key in ORDER BY order; the view holds the first N of each partition
// with their row numbers, and a change inside a partition retracts and inserts the rows whose
// number changed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stream/operators.h"

namespace eddy::stream {

struct PerGroupTop {
  // The derived table's SELECT, with its row_number(); for DISTINCT ON the view's own SELECT,
  // whose (projected) rows are ranked.
  const sql::Plan* inner = nullptr;
  size_t rank_column = 0;  // the inner output that is row_number() (not for DISTINCT ON)
  int64_t limit = 0;       // rows kept per partition
  bool distinct_on = false;
};

// The pattern above, nullopt for a plan without a derived table; 0A000 for a derived table of
// any other shape.
sql::SqlResult<std::optional<PerGroupTop>> per_group_top(const sql::Plan& select);

// The sink: takes the inner SELECT's input rows (after its WHERE and joins).
std::unique_ptr<Operator> make_per_group_top_sink(const sql::Plan& select, PerGroupTop top,
                                                  OperatorContext& context);

// The view's rows from the state store ('n' keys).
sql::SqlResult<std::vector<sql::Row>> read_per_group_top(const sql::Plan& select,
                                                         const PerGroupTop& top,
                                                         const StateStore& store,
                                                         const std::string& prefix);

}  // namespace eddy::stream

// INTERSECT [ALL] and EXCEPT [ALL] in a materialized view: how many times each row is in each
// of the two arms, kept per row (rows equal as SQL compares them are one, NULLs included, as
// PostgreSQL's set operations treat them), and the view's rows computed from the two counts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stream/operators.h"

namespace eddy::stream {

// Whether `select` is an INTERSECT or EXCEPT of two arms.
bool is_intersect_or_except(const sql::Plan& select);

// The sink both arms share: rows go to the view's per-row counts ('x' keys).
std::unique_ptr<Operator> make_set_op_sink(const sql::Plan& select, OperatorContext& context);

// The view's rows from the state store.
sql::SqlResult<std::vector<sql::Row>> read_set_op(const sql::Plan& select, const StateStore& store,
                                                  const std::string& prefix);

}  // namespace eddy::stream

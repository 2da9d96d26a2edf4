// EXPLAIN: plans as PostgreSQL-style text trees, and bound expressions as text.
//
// A bounded SELECT is described here from its Plan; a materialized view's dataflow is
// described by the stream engine (ViewHost::explain) from the operators it builds, and both
// render through render_explain, so EXPLAIN's text looks the same for both.
#pragma once

#include <string>
#include <vector>

#include "sql/plan.h"

namespace eddy::sql {

class Engine;

struct ExplainNode {
  std::string title;                 // "Topic Scan on orders"
  std::vector<std::string> details;  // "Filter: (amount > 10)"
  std::vector<ExplainNode> children;
};

// One text row per line, indented like PostgreSQL's EXPLAIN ("  ->  " before each child).
std::vector<std::string> render_explain(const ExplainNode& root);

// A bound expression as SQL text, parenthesised like PostgreSQL's EXPLAIN. `plan` resolves
// group and aggregate references (null: they print by name).
std::string expr_text(const Expr& e, const Plan* plan = nullptr);
std::string aggregate_text(const AggSpec& agg, const Plan* plan = nullptr);
// "0-3" for partitions 0..count-1.
std::string partition_range(int32_t count);

// The rows of EXPLAIN `plan` (a kExplain plan).
SqlResult<std::vector<std::string>> explain(const Plan& plan, Engine& engine);

}  // namespace eddy::sql

// Window functions of bounded queries: computed over every row (or group) the query made,
// after WHERE, GROUP BY and HAVING, before DISTINCT, ORDER BY and LIMIT. Internal to the sql
// folder (the executor calls it).
#pragma once

#include <atomic>
#include <vector>

#include "sql/plan.h"

namespace eddy::sql {

class QueryMemory;

// What one output row is evaluated over: an input row, or a group's keys and aggregates.
struct WindowInput {
  Row row;
  Row keys;
  Row aggs;
  EvalContext context(const std::vector<Value>& params) const {
    return EvalContext{.row = &row, .params = &params, .groups = &keys, .aggs = &aggs};
  }
};

// Computes plan.windows over `inputs`: values[i][w] is window w's value for inputs[i], and
// `order` the order in which rows go out (sorted by the last window's PARTITION BY and ORDER
// BY, as PostgreSQL's executor leaves them; input order among equals). What it holds is
// charged to `memory` and added to `charged`, for the caller to release once it has projected
// the rows.
SqlStatus compute_windows(const Plan& plan, const std::vector<WindowInput>& inputs,
                          const std::vector<Value>& params, const std::atomic<bool>& cancel,
                          QueryMemory& memory, std::vector<Row>& values, std::vector<size_t>& order,
                          size_t& charged);

}  // namespace eddy::sql

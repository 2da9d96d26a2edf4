// Runs bound plans that touch tables: SELECT (scan, filter, group, sort, limit), INSERT, CREATE
// and DROP TABLE. Internal to the sql folder.
#pragma once

#include <atomic>
#include <vector>

#include "sql/plan.h"
#include "sql/session.h"

namespace eddy::sql {

SqlResult<StatementResult> run_select(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine, const std::atomic<bool>& cancel);
SqlResult<StatementResult> run_insert(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine);
SqlResult<StatementResult> run_create_table(const Plan& plan, Engine& engine);
SqlResult<StatementResult> run_drop_table(const Plan& plan, Engine& engine);

// A table row as JSON (declared columns only) and back; exposed for tests.
std::string encode_json_row(const TableDef& table, const Row& row);
// Fills row[0..columns) from a JSON object; false (and `reason`) when it does not fit.
bool decode_json_row(const TableDef& table, std::string_view json, Row& row, std::string& reason);

}  // namespace eddy::sql

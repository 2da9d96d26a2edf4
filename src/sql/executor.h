// Runs bound plans that touch tables: SELECT (scan, filter, group, sort, limit), INSERT, CREATE
// and DROP TABLE. Internal to the sql folder.
#pragma once

#include <atomic>
#include <functional>
#include <span>
#include <vector>

#include "sql/plan.h"
#include "sql/session.h"
#include "storage/records.h"

namespace eddy::sql {

SqlResult<StatementResult> run_select(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine, const std::atomic<bool>& cancel);
SqlResult<StatementResult> run_insert(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine);
SqlResult<StatementResult> run_create_table(const Plan& plan, Engine& engine);
SqlResult<StatementResult> run_drop_table(const Plan& plan, Engine& engine);
SqlResult<StatementResult> run_create_view(const Plan& plan, Engine& engine);
SqlResult<StatementResult> run_drop_view(const Plan& plan, Engine& engine);

// A table row as JSON (declared columns only) and back; exposed for tests.
std::string encode_json_row(const TableDef& table, const Row& row);
// Fills row[0..columns) from a JSON object; false (and `reason`) when it does not fit.
bool decode_json_row(const TableDef& table, std::string_view json, Row& row, std::string& reason);

// Calls fn(offset, record, timestamp_ms) for every data record of the whole batches in `data`
// (as PartitionLog::read returns them; control batches skipped); returns the offset after the
// last complete batch, -1 when there is none.
SqlResult<int64_t> for_each_record(
    std::span<const std::byte> data,
    const std::function<SqlStatus(int64_t, const storage::RecordView&, int64_t)>& fn);
// A record as a table row: declared columns from the JSON value, then the metadata columns.
bool decode_table_record(const TableDef& table, const storage::RecordView& record, int64_t offset,
                         int32_t partition, int64_t timestamp_ms, Row& row, std::string& reason);

}  // namespace eddy::sql

// Runs bound plans that touch tables: SELECT (scan, filter, group, sort, limit), INSERT, CREATE
// and DROP TABLE. Internal to the sql folder.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sql/plan.h"
#include "sql/session.h"
#include "storage/records.h"
#include "storage/topic_config.h"

namespace eddy::storage {
class LogManager;
}

namespace eddy::sql {

class QueryMemory;

// A storage error as the SQLSTATE a client can act on (disk full, I/O error, too large).
SqlError io_error(const Error& e);

// With a sink the rows stream to it as they are made (ORDER BY: once sorted); without one they
// are kept in the result. What the query holds meanwhile is charged to `memory`.
SqlResult<StatementResult> run_select(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine, const std::atomic<bool>& cancel,
                                      QueryMemory& memory, ResultSink* sink = nullptr);
// INSERT ... SELECT runs its query to the end before the first row is written (so a query of
// the target table sees none of the new rows).
SqlResult<StatementResult> run_insert(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine, const std::atomic<bool>& cancel,
                                      QueryMemory& memory);
SqlResult<StatementResult> run_create_table(const Plan& plan, Engine& engine);
SqlResult<StatementResult> run_drop_table(const Plan& plan, Engine& engine);
SqlResult<StatementResult> run_create_view(const Plan& plan, Engine& engine);
SqlResult<StatementResult> run_drop_view(const Plan& plan, Engine& engine);

// A table row as JSON (declared columns only) and back; exposed for tests.
std::string encode_json_row(const TableDef& table, const Row& row);
// Fills row[0..columns) from a JSON object; false (and `reason`) when it does not fit.
// `used` (one flag per declared column, or null for all) lets a reader that never looks at some
// columns skip building their values where skipping cannot change whether the record fits
// (text columns accept every JSON value); such columns are left null.
bool decode_json_row(const TableDef& table, std::string_view json, Row& row, std::string& reason,
                     const std::vector<bool>* used = nullptr);

// Calls fn(offset, record, timestamp_ms) for every data record of the whole batches in `data`
// (as PartitionLog::read returns them; control batches skipped); returns the offset after the
// last complete batch, -1 when there is none.
// With `keep`, decompressed record sections are moved there, so the RecordViews stay valid
// after the call.
SqlResult<int64_t> for_each_record(
    std::span<const std::byte> data,
    const std::function<SqlStatus(int64_t, const storage::RecordView&, int64_t)>& fn,
    std::vector<std::vector<std::byte>>* keep = nullptr);
// A record as a table row: declared columns from the JSON value, then the metadata columns.
// `used` as for decode_json_row, with one more flag per metadata column.
bool decode_table_record(const TableDef& table, const storage::RecordView& record, int64_t offset,
                         int32_t partition, int64_t timestamp_ms, Row& row, std::string& reason,
                         const std::vector<bool>* used = nullptr);

// decode_table_record for a columnar reader: appends the record's `read` columns (the indices
// where `used` is true, ascending) to `columns`, or nothing when the record does not fit (false
// and `reason`). Unread columns get no values; `scratch` holds what checking the record needs.
// `readable`: the buffer the record lies in, if any (a JSON value with enough readable bytes
// after it is parsed where it is, not copied).
bool append_table_record(const TableDef& table, const storage::RecordView& record, int64_t offset,
                         int32_t partition, int64_t timestamp_ms, const std::vector<bool>& used,
                         const std::vector<uint32_t>& read,
                         std::vector<std::vector<Value>>& columns, Row& scratch,
                         std::string& reason, std::span<const std::byte> readable = {});

// Tables with a PRIMARY KEY read their topic as a changelog. The row's key is taken from the
// record value's primary-key columns; a tombstone (null value) names the row it deletes by its
// record key, either a JSON object holding the primary-key columns (what INSERT and view output
// write) or, for a one-column key, the key's text. `key` receives the primary-key values; false
// (and `reason`) when they are missing or null.
bool primary_key_of_row(const TableDef& table, const Row& row, Row& key, std::string& reason);
bool primary_key_of_tombstone(const TableDef& table, const storage::RecordView& record, Row& key,
                              std::string& reason);
// The record key INSERT writes for a row of a table with a primary key.
std::string encode_primary_key(const TableDef& table, const Row& row);

// A record Eddy writes to a topic of its own (dead letters, view output).
struct TopicRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

// The dead-letter value of a record that was skipped: a JSON object with the reason, where the
// record was (topic, partition, offset) and its value as text (null when it had none).
// `view` names the materialized view that skipped it. The whole document stays within
// `max_bytes` (so it fits the dead-letter topic's max.message.bytes): a longer value is cut,
// and the document then says `"value_truncated": true` and the value's full size in
// `"value_bytes"`.
std::string dead_letter_json(const std::string& reason, const std::string& view,
                             const std::string& topic, int32_t partition, int64_t offset,
                             std::optional<std::string_view> value, size_t max_bytes);

// Appends `records` to `topic` (created with one partition and `overrides` when missing) and
// returns once they are durable. Keyed records go to a partition chosen by a hash of the key,
// keyless ones to partition 0.
SqlStatus append_to_topic(storage::LogManager& log, const std::string& topic,
                          const std::vector<TopicRecord>& records,
                          const storage::ConfigMap& overrides = {});
// Creates `topic` (one partition, `overrides`) unless it exists.
SqlStatus ensure_topic(storage::LogManager& log, const std::string& topic,
                       const storage::ConfigMap& overrides = {});

}  // namespace eddy::sql

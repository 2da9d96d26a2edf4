// COPY ... FROM STDIN and COPY ... TO STDOUT in PostgreSQL's text and CSV formats.
//
// COPY FROM is all-or-nothing, as PostgreSQL users expect: every line is parsed, checked against
// the column types and encoded in the table's own record format (json, csv, text) into record
// batches held in memory; only when the client ends the data are they appended, all in one
// append to one partition of the table's topic, and the statement answers once they are
// durable. A bad line (or CopyFail, or a cancel) ends the COPY with nothing written. Memory is
// bounded by kMaxCopyBytes of encoded records (54000 beyond it) plus one partial line, itself
// bounded by the same limit. Internal to the sql folder and pgwire (through Session).
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/plan.h"
#include "sql/session.h"

namespace eddy::sql {

// Encoded records one COPY FROM may buffer before it is written.
inline constexpr size_t kMaxCopyBytes = 64u << 20;

class CopyIn {
 public:
  CopyIn(const Plan& plan, Engine& engine);

  // Parses the next piece of data (any split: lines may span calls). An error ends the COPY:
  // the caller reports it and drops the CopyIn.
  SqlStatus feed(std::string_view data, const std::atomic<bool>& cancel);
  // The end of the data: the last line, then the append. Answers "COPY n".
  SqlResult<StatementResult> finish();

  size_t column_count() const { return columns_.size(); }

 private:
  SqlStatus scan(bool at_end);
  SqlStatus line(std::string_view text);
  SqlStatus fields_to_row(std::string_view text, std::vector<std::optional<std::string>>& fields);
  SqlStatus add_record(std::optional<std::string> value, std::string_view text);
  void seal_batch();
  SqlError error_at_line(SqlError e, std::string_view text) const;

  Engine& engine_;
  TableDef table_;
  std::vector<int> columns_;
  CopyOptions options_;
  size_t max_batch_bytes_ = 1 << 20;  // the topic's max.message.bytes when known

  std::string pending_;     // data not yet split into lines
  size_t scanned_ = 0;      // how far into pending_ the line scan got
  bool in_quotes_ = false;  // CSV: the scan is inside a quoted field
  bool ended_ = false;      // the end-of-data marker \. was seen
  int64_t line_no_ = 0;
  int64_t rows_ = 0;

  std::vector<std::optional<std::string>> records_;  // encoded values not yet in a batch
  size_t records_bytes_ = 0;
  std::vector<std::byte> batches_;  // sealed record batches, appended at finish()
  std::vector<std::optional<std::string>> fields_;
  std::vector<bool> quoted_;
};

class QueryMemory;

// COPY t TO STDOUT / COPY (SELECT ...) TO STDOUT: the rows as lines (each with its newline),
// streamed to `sink` as they are made, or kept in the result's copy_lines without one.
SqlResult<StatementResult> run_copy_to(const Plan& plan, Engine& engine,
                                       const std::atomic<bool>& cancel, QueryMemory& memory,
                                       ResultSink* sink = nullptr);

}  // namespace eddy::sql

// Server-side cursors: DECLARE ... CURSOR with FETCH, MOVE and CLOSE, and the extended
// protocol's portals executed with a row limit (JDBC's fetchSize). A cursor's query runs once,
// into a RowSpool, and the cursor hands its rows out from a position that FETCH's directions
// move as PostgreSQL's do. What a spool holds in memory is bounded; beyond that its rows go to
// an unlinked temporary file, so a cursor over millions of rows costs disk, not memory, and
// keeps no query thread.
//
// Threading: a cursor belongs to one Session (or one connection's portal) and is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sql/value.h"

namespace eddy::sql {

// Rows appended once, then read back by index, any number of times in any order (sequential
// reads cost one decode each; a jump costs at most kStride decodes). Rows stay in memory up to
// `memory_limit` bytes of their encoding; once past it every row moves to a temporary file in
// `temp_dir` that is unlinked as soon as it is made (nothing is left behind by a crash).
class RowSpool {
 public:
  // Spools that spilled hold one descriptor each while they live: at most this many at once
  // in the process, so cursors cannot take the descriptors the log and the listeners need.
  static constexpr int kMaxSpilled = 256;

  // `file_limit`: bytes the spool may write to its file (temp_file_limit; 0: no limit).
  RowSpool(std::string temp_dir, size_t memory_limit, uint64_t file_limit = 0);
  ~RowSpool();
  RowSpool(const RowSpool&) = delete;
  RowSpool& operator=(const RowSpool&) = delete;

  SqlStatus append(const Row& row);
  // Call once every row is appended, before the first read.
  SqlStatus finish();
  uint64_t size() const { return rows_; }
  bool spilled() const { return fd_ >= 0; }
  // Row `index` (0-based, below size()).
  SqlStatus read(uint64_t index, Row& row);

 private:
  static constexpr uint64_t kStride = 128;  // one remembered offset per this many rows
  static constexpr size_t kIoBytes = 256 * 1024;
  SqlStatus spill();
  SqlStatus write_buffer();
  // `n` bytes at `offset` (valid until the next call).
  SqlResult<std::string_view> bytes_at(uint64_t offset, size_t n);

  const std::string temp_dir_;
  const size_t memory_limit_;
  const uint64_t file_limit_;
  std::string memory_;  // every row while they fit; after spill(), rows not yet written
  int fd_ = -1;
  uint64_t file_bytes_ = 0;  // written to the file so far
  uint64_t rows_ = 0;
  uint64_t end_ = 0;                   // bytes of every row appended
  std::vector<uint64_t> checkpoints_;  // offset of rows 0, kStride, 2 * kStride, ...
  uint64_t next_index_ = 0;            // the row a sequential read finds at next_offset_
  uint64_t next_offset_ = 0;
  std::string read_buffer_;  // file bytes [read_offset_, read_offset_ + size)
  uint64_t read_offset_ = 0;
};

// PostgreSQL's FETCH/MOVE directions, with NEXT, PRIOR, FIRST, LAST and ALL spelled as these.
enum class FetchDirection : uint8_t { kForward, kBackward, kAbsolute, kRelative };
inline constexpr int64_t kFetchAll = INT64_MAX;

struct CursorOptions {
  bool scroll = true;  // false: NO SCROLL (backward moves are 55000)
  bool hold = false;   // WITH HOLD: survives the COMMIT of the transaction that declared it
};

class Cursor {
 public:
  // `tag`: the CommandComplete of the statement whose rows these are ("SELECT 3", "FETCH 2",
  // "SHOW").
  Cursor(std::vector<std::pair<std::string, Type>> columns, std::unique_ptr<RowSpool> rows,
         CursorOptions options, std::string tag);

  const std::vector<std::pair<std::string, Type>>& columns() const { return columns_; }
  const CursorOptions& options() const { return options_; }
  // What completes an Execute of this cursor that sent `rows`: the statement's tag, with
  // SELECT's and FETCH's count being those rows.
  std::string completion_tag(int64_t rows) const;
  // Rows emitted (FETCH) or passed over (MOVE: `emit` null), as the FETCH n / MOVE n tag
  // counts them. `emit` returning an error stops the fetch with it, and the cursor cannot be
  // used again (55000), as PostgreSQL fails a portal whose run failed: where it stands is
  // unknown to the client.
  SqlResult<int64_t> fetch(FetchDirection direction, int64_t count,
                           const std::function<SqlStatus(Row&&)>& emit);

  // Declared in the transaction still open (ROLLBACK closes it even WITH HOLD).
  bool declared_in_transaction = false;

 private:
  // Emits rows first, first+step, ... (count of them, within 1..size) and leaves the position
  // on the last one emitted, or past the end it ran into.
  SqlResult<int64_t> walk(int64_t count, int step, const std::function<SqlStatus(Row&&)>& emit);
  SqlResult<int64_t> go_to(int64_t target, const std::function<SqlStatus(Row&&)>& emit);
  SqlResult<int64_t> move(FetchDirection direction, int64_t count,
                          const std::function<SqlStatus(Row&&)>& emit);

  std::vector<std::pair<std::string, Type>> columns_;
  std::unique_ptr<RowSpool> rows_;
  CursorOptions options_;
  std::string tag_;
  bool failed_ = false;
  // 0: before the first row; 1..size: on that row; size + 1: after the last.
  int64_t position_ = 0;
};

}  // namespace eddy::sql

#include "sql/cursor.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/raw_bytes.h"

namespace eddy::sql {

namespace {

SqlError file_error(const std::string& what, int error) {
  // ENOSPC is disk_full, as PostgreSQL reports a temporary file it cannot write.
  return sql_error(error == ENOSPC ? "53100" : sqlstate::kIoError,
                   what + " temporary file for a cursor: " + std::strerror(error));
}

}  // namespace

namespace {
std::atomic<int> spilled_spools{0};
}  // namespace

RowSpool::RowSpool(std::string temp_dir, size_t memory_limit, uint64_t file_limit)
    : temp_dir_(std::move(temp_dir)), memory_limit_(memory_limit), file_limit_(file_limit) {}

RowSpool::~RowSpool() {
  if (fd_ >= 0) {
    ::close(fd_);
    spilled_spools.fetch_sub(1);
  }
}

SqlStatus RowSpool::append(const Row& row) {
  if (rows_ % kStride == 0) checkpoints_.push_back(end_);
  const size_t start = memory_.size();
  memory_.append(sizeof(uint32_t), '\0');
  for (const Value& v : row)
    append_value(memory_, v);
  const auto length = static_cast<uint32_t>(memory_.size() - start - sizeof(uint32_t));
  std::memcpy(memory_.data() + start, &length, sizeof length);
  end_ += memory_.size() - start;
  ++rows_;
  if (fd_ < 0 && memory_.size() > memory_limit_) return spill();
  if (fd_ >= 0 && memory_.size() >= kIoBytes) return write_buffer();
  return Unit{};
}

SqlStatus RowSpool::spill() {
  if (spilled_spools.fetch_add(1) >= kMaxSpilled) {
    spilled_spools.fetch_sub(1);
    SqlError e = sql_error("53000", "too many cursors hold temporary files (" +
                                        std::to_string(kMaxSpilled) + " in the server)");
    e.hint = "Close cursors that are no longer read (CLOSE, or end their transaction).";
    return e;
  }
  std::string path = temp_dir_ + "/eddy-cursor-XXXXXX";
  fd_ = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd_ < 0) {
    spilled_spools.fetch_sub(1);
    return file_error("could not create", errno);
  }
  ::unlink(path.c_str());  // the descriptor keeps it; nothing to clean up after a crash
  return write_buffer();
}

SqlStatus RowSpool::write_buffer() {
  if (file_limit_ != 0 && file_bytes_ + memory_.size() > file_limit_)
    return sql_error("53400", "temporary file size exceeds temp_file_limit (" +
                                  std::to_string(file_limit_ / 1024) + "kB)");
  size_t done = 0;
  while (done < memory_.size()) {
    const ssize_t n = ::write(fd_, memory_.data() + done, memory_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return file_error("could not write to", errno);
    done += static_cast<size_t>(n);
  }
  file_bytes_ += done;
  memory_.clear();
  if (memory_.capacity() > 2 * kIoBytes) memory_.shrink_to_fit();
  return Unit{};
}

SqlStatus RowSpool::finish() {
  if (fd_ >= 0) SQL_CHECK(write_buffer());
  return Unit{};
}

SqlResult<std::string_view> RowSpool::bytes_at(uint64_t offset, size_t n) {
  if (offset + n > end_)
    return sql_error(sqlstate::kInternalError, "cursor spool read past its end");
  if (fd_ < 0) return std::string_view(memory_).substr(offset, n);
  if (offset < read_offset_ || offset + n > read_offset_ + read_buffer_.size()) {
    read_offset_ = offset;
    read_buffer_.resize(std::max(n, kIoBytes));
    size_t got = 0;
    while (got < read_buffer_.size()) {
      const ssize_t r = ::pread(fd_, read_buffer_.data() + got, read_buffer_.size() - got,
                                static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return file_error("could not read from", errno);
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    read_buffer_.resize(got);
    if (got < n) return sql_error(sqlstate::kIoError, "cursor temporary file ended early");
  }
  return std::string_view(read_buffer_).substr(offset - read_offset_, n);
}

SqlStatus RowSpool::read(uint64_t index, Row& row) {
  if (index >= rows_) return sql_error(sqlstate::kInternalError, "cursor row out of range");
  if (index != next_index_) {
    next_index_ = index / kStride * kStride;
    next_offset_ = checkpoints_[index / kStride];
  }
  while (true) {
    SQL_ASSIGN(std::string_view header, bytes_at(next_offset_, sizeof(uint32_t)));
    uint32_t length = 0;
    std::memcpy(&length, header.data(), sizeof length);
    const uint64_t body = next_offset_ + sizeof(uint32_t);
    next_offset_ = body + length;
    if (next_index_++ < index) continue;
    SQL_ASSIGN(std::string_view in, bytes_at(body, length));
    row.clear();
    while (!in.empty()) {
      Value v;
      if (!read_value(in, v))
        return sql_error(sqlstate::kInternalError, "cursor spool holds a damaged row");
      row.push_back(std::move(v));
    }
    return Unit{};
  }
}

Cursor::Cursor(std::vector<std::pair<std::string, Type>> columns, std::unique_ptr<RowSpool> rows,
               CursorOptions options, std::string tag)
    : columns_(std::move(columns)),
      rows_(std::move(rows)),
      options_(options),
      tag_(std::move(tag)) {}

std::string Cursor::completion_tag(int64_t rows) const {
  for (const char* verb : {"SELECT", "FETCH"})
    if (tag_.rfind(std::string(verb) + " ", 0) == 0)
      return std::string(verb) + " " + std::to_string(rows);
  return tag_;
}

SqlResult<int64_t> Cursor::go_to(int64_t target, const std::function<SqlStatus(Row&&)>& emit) {
  const auto size = static_cast<int64_t>(rows_->size());
  if (target < 1) {
    position_ = 0;
    return 0;
  }
  if (target > size) {
    position_ = size + 1;
    return 0;
  }
  position_ = target;
  if (emit) {
    Row row;
    SQL_CHECK(rows_->read(static_cast<uint64_t>(target - 1), row));
    SQL_CHECK(emit(std::move(row)));
  }
  return 1;
}

SqlResult<int64_t> Cursor::walk(int64_t count, int step,
                                const std::function<SqlStatus(Row&&)>& emit) {
  const auto size = static_cast<int64_t>(rows_->size());
  int64_t done = 0;
  Row row;
  while (done < count) {
    const int64_t next = position_ + step;
    if (next < 1) {
      position_ = 0;
      break;
    }
    if (next > size) {
      position_ = size + 1;
      break;
    }
    position_ = next;
    if (emit) {
      SQL_CHECK(rows_->read(static_cast<uint64_t>(next - 1), row));
      SQL_CHECK(emit(std::move(row)));
    }
    ++done;
  }
  return done;
}

SqlResult<int64_t> Cursor::fetch(FetchDirection direction, int64_t count,
                                 const std::function<SqlStatus(Row&&)>& emit) {
  if (failed_) return sql_error("55000", "portal cannot be run: an earlier fetch from it failed");
  auto moved = move(direction, count, emit);
  if (!moved.ok() && moved.error().sqlstate != "55000") failed_ = true;
  return moved;
}

SqlResult<int64_t> Cursor::move(FetchDirection direction, int64_t count,
                                const std::function<SqlStatus(Row&&)>& emit) {
  // FORWARD -n is BACKWARD n, and the other way round.
  if (count < 0 &&
      (direction == FetchDirection::kForward || direction == FetchDirection::kBackward)) {
    direction = direction == FetchDirection::kForward ? FetchDirection::kBackward
                                                      : FetchDirection::kForward;
    count = count == INT64_MIN ? kFetchAll : -count;
  }
  const auto size = static_cast<int64_t>(rows_->size());
  int64_t target = 0;  // for the moves to one row
  bool backward = false;
  switch (direction) {
    case FetchDirection::kForward:
    case FetchDirection::kBackward:
      // FORWARD 0 and BACKWARD 0 fetch the current row again: a backward scan only when there
      // is a row to fetch (MOVE 0 reads nothing).
      backward = count == 0 ? emit && position_ >= 1 && position_ <= size
                            : direction == FetchDirection::kBackward;
      break;
    case FetchDirection::kAbsolute:
      // A row from the end is reached by going to the end and back, as in PostgreSQL.
      target = count > 0 ? count : count < 0 ? size + 1 + std::max(count, -size - 1) : 0;
      backward = count < 0 || (target <= position_ && position_ > 0);
      break;
    case FetchDirection::kRelative:
      if (count > kFetchAll - position_) count = kFetchAll - position_;
      target = position_ + count;
      backward = count < 0 || (count == 0 && emit && position_ >= 1 && position_ <= size);
      break;
  }
  if (backward && !options_.scroll) {
    SqlError e = sql_error("55000", "cursor can only scan forward");
    e.hint = "Declare it with SCROLL option to enable backward scan.";
    return e;
  }
  if (count == 0 && direction != FetchDirection::kAbsolute) {
    // The current row again; none before the first or after the last, which stays so.
    if (position_ < 1 || position_ > size) return int64_t{0};
    return go_to(position_, emit);  // (MOVE 0 on a row counts it, reading nothing)
  }
  switch (direction) {
    case FetchDirection::kForward:
    case FetchDirection::kBackward:
      return walk(count, direction == FetchDirection::kForward ? 1 : -1, emit);
    case FetchDirection::kAbsolute:
    case FetchDirection::kRelative:
      return go_to(target, emit);
  }
  return int64_t{0};
}

}  // namespace eddy::sql

// What a bounded query may hold in memory at once, and the `work_mem` setting that sets it.
//
// Sorts, groups, hash-join tables, DISTINCT and UNION sets and the latest-row-per-key map of a
// changelog scan charge what they keep to one QueryMemory per statement. Eddy does not spill to
// disk yet, so a query that needs more than its budget fails with 53200 and says which part of
// it needed the memory, rather than taking the server's memory. Rows that stream to the client
// are not held, so they are not charged.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sql/value.h"

namespace eddy::sql {

class QueryMemory {
 public:
  explicit QueryMemory(size_t limit_bytes) : limit_(limit_bytes) {}

  // Takes `bytes` more for `what` ("the sort", "the groups", ...); 53200 once the total would
  // pass the limit.
  SqlStatus charge(size_t bytes, const char* what);
  void release(size_t bytes) { used_ = bytes > used_ ? 0 : used_ - bytes; }

  size_t used() const { return used_; }
  size_t peak() const { return peak_; }
  size_t limit() const { return limit_; }

 private:
  size_t limit_;
  size_t used_ = 0;
  size_t peak_ = 0;
};

// About how much memory a row held in a container takes (its values and their text).
size_t approximate_bytes(const Row& row);
// About what a container entry costs beyond its row (hash node, key string, bookkeeping).
inline constexpr size_t kEntryOverheadBytes = 64;

// `work_mem` as PostgreSQL spells it: an integer with an optional unit (B, kB, MB, GB, TB; none
// means kB), 64kB up to 2147483647kB. nullopt when the text is not one.
std::optional<size_t> parse_work_mem(std::string_view text);
// `temp_file_limit`: -1 (no limit: 0 here) or a size like work_mem's, from 0kB.
std::optional<size_t> parse_temp_file_limit(std::string_view text);
// The bytes as PostgreSQL shows a memory setting: the largest unit that divides them ("4MB").
std::string format_memory_setting(size_t bytes);

}  // namespace eddy::sql

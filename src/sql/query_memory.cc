#include "sql/query_memory.h"

#include <cctype>
#include <cstdint>

namespace eddy::sql {

namespace {
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMinWorkMemKiB = 64;
constexpr uint64_t kMaxWorkMemKiB = 2147483647;
}  // namespace

SqlStatus QueryMemory::charge(size_t bytes, const char* what) {
  used_ += bytes;
  if (used_ > peak_) peak_ = used_;
  if (used_ <= limit_) return Unit{};
  SqlError e{sqlstate::kOutOfMemory, std::string("out of memory: ") + what +
                                         " of this query needs more than work_mem (" +
                                         format_memory_setting(limit_) + ")"};
  e.detail =
      "Eddy holds sorts, groups, hash joins and DISTINCT sets of a bounded query in "
      "memory and does not spill them to disk.";
  e.hint =
      "Raise work_mem for the session (SET work_mem = '1GB'), or narrow the query with "
      "WHERE or LIMIT.";
  return e;
}

size_t approximate_bytes(const Row& row) {
  size_t bytes = sizeof(Row) + row.capacity() * sizeof(Value);
  // std::string keeps up to 15 bytes in place.
  for (const auto& v : row)
    if (v.s.capacity() > 15) bytes += v.s.capacity() + 1;
  return bytes;
}

namespace {

// A size in PostgreSQL's units (none: kB), from min_kib up to 2147483647kB.
std::optional<size_t> parse_memory_setting(std::string_view text, uint64_t min_kib) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
    ++i;
  uint64_t number = 0;
  const size_t digits_start = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    number = number * 10 + static_cast<uint64_t>(text[i] - '0');
    if (number > kMaxWorkMemKiB * kKiB) return std::nullopt;
    ++i;
  }
  if (i == digits_start) return std::nullopt;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
    ++i;
  const std::string_view unit = text.substr(i);
  uint64_t bytes_per_unit = 0;
  if (unit.empty() || unit == "kB") {
    bytes_per_unit = kKiB;
  } else if (unit == "B") {
    bytes_per_unit = 1;
  } else if (unit == "MB") {
    bytes_per_unit = kKiB * kKiB;
  } else if (unit == "GB") {
    bytes_per_unit = kKiB * kKiB * kKiB;
  } else if (unit == "TB") {
    bytes_per_unit = kKiB * kKiB * kKiB * kKiB;
  } else {
    return std::nullopt;
  }
  if (number > kMaxWorkMemKiB * kKiB / bytes_per_unit) return std::nullopt;
  // PostgreSQL rounds a value below the setting's unit (kB) to the nearest unit.
  const uint64_t kib = (number * bytes_per_unit + kKiB / 2) / kKiB;
  if (kib < min_kib || kib > kMaxWorkMemKiB) return std::nullopt;
  return static_cast<size_t>(kib * kKiB);
}

}  // namespace

std::optional<size_t> parse_work_mem(std::string_view text) {
  return parse_memory_setting(text, kMinWorkMemKiB);
}

std::optional<size_t> parse_temp_file_limit(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
    ++i;
  if (text.substr(i).rfind("-1", 0) == 0) {
    size_t j = i + 2;
    while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j])))
      ++j;
    if (j == text.size()) return 0;
  }
  return parse_memory_setting(text, 0);
}

std::string format_memory_setting(size_t bytes) {
  static constexpr const char* kUnits[] = {"kB", "MB", "GB", "TB"};
  uint64_t value = bytes / kKiB;
  size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && value != 0 && value % kKiB == 0) {
    value /= kKiB;
    ++unit;
  }
  return std::to_string(value) + kUnits[unit];
}

}  // namespace eddy::sql

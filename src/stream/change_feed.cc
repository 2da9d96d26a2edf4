#include "stream/change_feed.h"

#include "stream/operators.h"

namespace eddy::stream {

std::string feed_head_key(const std::string& upstream_prefix) {
  return upstream_prefix + "F";
}

std::string feed_entries_prefix(const std::string& upstream_prefix) {
  return upstream_prefix + "f";
}

std::string feed_entry_key(const std::string& upstream_prefix, int64_t seq) {
  std::string key = feed_entries_prefix(upstream_prefix);
  append_be64(key, static_cast<uint64_t>(seq));
  return key;
}

std::string reader_positions_prefix(const std::string& upstream_prefix) {
  return upstream_prefix + "q";
}

std::string reader_position_key(const std::string& upstream_prefix, const std::string& reader) {
  return reader_positions_prefix(upstream_prefix) + reader + std::string(1, '\0');
}

std::string reader_snapshot_prefix(const std::string& upstream_prefix, const std::string& reader) {
  return upstream_prefix + "g" + reader + std::string(1, '\0');
}

std::string encode_changes(const Changes& changes) {
  std::string out;
  append_be32(out, static_cast<uint32_t>(changes.empty() ? 0 : changes.front().first.size()));
  append_be32(out, static_cast<uint32_t>(changes.size()));
  for (const auto& [row, weight] : changes) {
    append_be64(out, static_cast<uint64_t>(weight));
    for (const auto& v : row)
      sql::append_value(out, v);
  }
  return out;
}

bool decode_changes(std::string_view entry, size_t width, Changes& out) {
  if (entry.size() < 8) return false;
  const uint32_t stored_width = read_be32(entry);
  const uint32_t count = read_be32(entry.substr(4));
  entry.remove_prefix(8);
  if (count > 0 && stored_width != width) return false;
  for (uint32_t i = 0; i < count; ++i) {
    if (entry.size() < 8) return false;
    const auto weight = static_cast<int64_t>(read_be64(entry));
    entry.remove_prefix(8);
    sql::Row row(width);
    for (auto& v : row)
      if (!sql::read_value(entry, v)) return false;
    out.emplace_back(std::move(row), weight);
  }
  return entry.empty();
}

}  // namespace eddy::stream

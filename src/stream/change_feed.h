// A materialized view's change feed: how views that read another view get its changes.
//
// The view being read (the upstream) writes, in the same synced RocksDB write as the checkpoint
// that makes them, the changes of its visible rows since the last checkpoint as one feed entry
// (rows with weights: +n inserted, -n retracted). A reader starts from a snapshot of the
// upstream's rows that the upstream writes for it alone, together with the reader's position (the
// last feed entry the snapshot reflects); the reader then moves that position on in its own
// checkpoints, in the same write as its state, so every change reaches it exactly once, across
// crashes too. The upstream deletes the entries every registered reader has passed.
//
// Keys, under the upstream's view prefix: 'F' -> the last entry's sequence number (be64),
// 'f' seq (be64) -> an entry, 'q' reader "\0" -> the reader's position (be64), 'g' reader "\0"
// chunk (be32) -> a part of the reader's snapshot (an entry whose rows all have weight +1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/value.h"

namespace eddy::stream {

using Changes = std::vector<std::pair<sql::Row, int64_t>>;

std::string feed_head_key(const std::string& upstream_prefix);
std::string feed_entry_key(const std::string& upstream_prefix, int64_t seq);
std::string feed_entries_prefix(const std::string& upstream_prefix);
std::string reader_positions_prefix(const std::string& upstream_prefix);
std::string reader_position_key(const std::string& upstream_prefix, const std::string& reader);
std::string reader_snapshot_prefix(const std::string& upstream_prefix, const std::string& reader);

// An entry: the row width (be32), the change count (be32), then per change its weight (be64)
// and its values.
std::string encode_changes(const Changes& changes);
// Appends an entry's changes to `out`; false when it is corrupt or its rows are not `width`
// wide.
bool decode_changes(std::string_view entry, size_t width, Changes& out);

}  // namespace eddy::stream

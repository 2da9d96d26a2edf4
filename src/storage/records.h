// Record-level view of an uncompressed v2 batch: just enough for compaction (keys, tombstones)
// and for rebuilding a batch from a subset of its records.
//
// Each record: varint length | int8 attributes | varlong timestampDelta | varint offsetDelta |
// varint keyLength (-1 = null) | key | varint valueLength (-1 = null) | value |
// varint header count | headers. Varints are zigzag-encoded, as in protobuf.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/compression.h"
#include "storage/record_batch.h"

namespace eddy::storage {

struct RecordView {
  std::span<const std::byte> raw;  // the whole record, length prefix included
  int32_t offset_delta = 0;
  int64_t timestamp_delta = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  bool null_value = false;
};

// Decodes the records of an uncompressed batch. Every length is checked against the batch.
Result<std::vector<RecordView>> decode_records(std::span<const std::byte> batch);
// Decodes exactly `record_count` records filling `section` (a batch's records, decompressed).
Result<std::vector<RecordView>> decode_record_section(std::span<const std::byte> section,
                                                      int32_t record_count);

// Produce-path check of a batch that passed check_batch(): decompresses it (bounded by
// `max_decompressed`) and requires exactly recordCount well-formed records inside the batch's
// offset range. When `target` names a codec other than the batch's, returns the batch
// re-encoded with it (new length, attributes and CRC); otherwise nullopt.
// With `require_keys` (compacted topics) a record without a key is refused (kInvalidArgument)
// and, when `bad_record` is given, its index in the batch is stored there.
Result<std::optional<std::vector<std::byte>>> check_batch_contents(std::span<const std::byte> batch,
                                                                   std::optional<Codec> target,
                                                                   size_t max_decompressed,
                                                                   bool require_keys = false,
                                                                   int32_t* bad_record = nullptr);

// Builds a batch with `header`'s fields and the given records (raw bytes kept as they are);
// base offset and offset deltas stay, so records keep their offsets.
std::vector<std::byte> rebuild_batch(std::span<const std::byte> original,
                                     const std::vector<RecordView>& keep);

// Appends a zigzag varint (used by tests and tools that build batches).
void put_varint(std::vector<std::byte>& out, int64_t value);

// A record Eddy itself writes (internal topics, tools, tests).
struct OutgoingRecord {
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;  // nullopt: a tombstone
  int64_t timestamp_delta = 0;
};

// One uncompressed v2 batch holding `records` (base offset 0: the log assigns offsets), with
// CreateTime timestamps from `base_timestamp_ms`, no producer id and a valid CRC.
std::vector<std::byte> encode_batch(std::span<const OutgoingRecord> records,
                                    int64_t base_timestamp_ms);

}  // namespace eddy::storage

// Kafka v2 record batches as the storage engine sees them.
//
// The log stores batches byte-for-byte as producers send them (the wire format is the disk
// format), so this file only knows the 61-byte batch header: where offsets, lengths, timestamps
// and the CRC live, how to validate a batch, and how to rewrite the few fields the broker owns
// (base offset, and for LogAppendTime the max timestamp). Record-level decoding lives in
// records.h and is needed only by compaction and timestamp lookups.
//
// Layout (big-endian), offsets in bytes:
//   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
//  17 crc uint32 (CRC-32C of bytes 21..end) | 21 attributes int16 | 23 lastOffsetDelta int32
//  27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16
//  53 baseSequence int32 | 57 recordCount int32 | 61 records...
// batchLength counts the bytes after the batchLength field, so a batch is 12 + batchLength bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "common/result.h"

namespace eddy::storage {

inline constexpr size_t kBatchHeaderSize = 61;
inline constexpr size_t kLogOverhead = 12;  // baseOffset + batchLength
inline constexpr size_t kCrcCoverageStart = 21;
inline constexpr int8_t kMagicV2 = 2;
// A single node is always the leader of every partition, in epoch 0. The broker stamps it on
// every batch (the field is outside the CRC), which lets recovery reject a damaged value.
inline constexpr int32_t kLeaderEpoch = 0;

inline constexpr int16_t kCompressionMask = 0x07;
inline constexpr int16_t kTimestampTypeLogAppend = 0x08;
inline constexpr int16_t kTransactionalFlag = 0x10;
inline constexpr int16_t kControlFlag = 0x20;

enum class TimestampType { kCreateTime, kLogAppendTime };

inline int64_t load_be64(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return static_cast<int64_t>(__builtin_bswap64(v));
}
inline int32_t load_be32(const std::byte* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return static_cast<int32_t>(__builtin_bswap32(v));
}
inline int16_t load_be16(const std::byte* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return static_cast<int16_t>(__builtin_bswap16(v));
}
inline void store_be64(std::byte* p, int64_t value) {
  uint64_t v = __builtin_bswap64(static_cast<uint64_t>(value));
  std::memcpy(p, &v, 8);
}
inline void store_be32(std::byte* p, int32_t value) {
  uint32_t v = __builtin_bswap32(static_cast<uint32_t>(value));
  std::memcpy(p, &v, 4);
}
inline void store_be16(std::byte* p, int16_t value) {
  uint16_t v = __builtin_bswap16(static_cast<uint16_t>(value));
  std::memcpy(p, &v, 2);
}

struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = 0;
  int8_t magic = 0;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  size_t size_bytes() const { return kLogOverhead + static_cast<size_t>(batch_length); }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int64_t next_offset() const { return last_offset() + 1; }
  int compression() const { return attributes & kCompressionMask; }
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeLogAppend) ? TimestampType::kLogAppendTime
                                                  : TimestampType::kCreateTime;
  }
  bool is_control() const { return attributes & kControlFlag; }
  bool is_transactional() const { return attributes & kTransactionalFlag; }
};

// Decodes the header fields; `p` must point at kBatchHeaderSize readable bytes.
BatchHeader decode_batch_header(const std::byte* p);

// Why a batch at some position could not be accepted.
enum class BatchDefect {
  kNone,
  kIncomplete,   // fewer bytes than the header or the batch length says (a torn tail)
  kBadLength,    // batchLength below the minimum or above the allowed maximum
  kBadMagic,     // not a v2 batch
  kBadCrc,       // CRC-32C mismatch
  kBadContents,  // lastOffsetDelta/recordCount inconsistent
};

const char* batch_defect_name(BatchDefect defect);

struct BatchCheck {
  BatchDefect defect = BatchDefect::kNone;
  BatchHeader header;
};

// Checks the batch starting at data[0]: length within `data` and `max_batch_bytes`, magic 2,
// CRC, and header consistency. Never reads past `data`.
BatchCheck check_batch(std::span<const std::byte> data, size_t max_batch_bytes);

// Validates that `data` is a sequence of whole, valid batches. Used on the produce path.
Result<int> validate_batches(std::span<const std::byte> data, size_t max_batch_bytes);

// Broker-owned rewrites. The CRC does not cover the base offset, so setting it needs no CRC
// update; LogAppendTime changes covered fields and recomputes the CRC.
void set_base_offset(std::byte* batch, int64_t base_offset);
void set_partition_leader_epoch(std::byte* batch, int32_t epoch);
void set_log_append_time(std::span<std::byte> batch, int64_t timestamp_ms);

// Recomputes and stores the CRC of a complete batch.
void update_batch_crc(std::span<std::byte> batch);

}  // namespace eddy::storage

#include "storage/record_batch.h"

#include "common/crc32c.h"

namespace eddy::storage {

BatchHeader decode_batch_header(const std::byte* p) {
  BatchHeader h;
  h.base_offset = load_be64(p + 0);
  h.batch_length = load_be32(p + 8);
  h.partition_leader_epoch = load_be32(p + 12);
  h.magic = static_cast<int8_t>(p[16]);
  h.crc = static_cast<uint32_t>(load_be32(p + 17));
  h.attributes = load_be16(p + 21);
  h.last_offset_delta = load_be32(p + 23);
  h.base_timestamp = load_be64(p + 27);
  h.max_timestamp = load_be64(p + 35);
  h.producer_id = load_be64(p + 43);
  h.producer_epoch = load_be16(p + 51);
  h.base_sequence = load_be32(p + 53);
  h.record_count = load_be32(p + 57);
  return h;
}

const char* batch_defect_name(BatchDefect defect) {
  switch (defect) {
    case BatchDefect::kNone:
      return "valid";
    case BatchDefect::kIncomplete:
      return "incomplete batch";
    case BatchDefect::kBadLength:
      return "invalid batch length";
    case BatchDefect::kBadMagic:
      return "unsupported magic byte";
    case BatchDefect::kBadCrc:
      return "CRC mismatch";
    case BatchDefect::kBadContents:
      return "inconsistent batch header";
  }
  return "unknown";
}

BatchCheck check_batch(std::span<const std::byte> data, size_t max_batch_bytes) {
  BatchCheck result;
  if (data.size() < kBatchHeaderSize) {
    result.defect = BatchDefect::kIncomplete;
    return result;
  }
  result.header = decode_batch_header(data.data());
  const BatchHeader& h = result.header;
  if (h.batch_length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead) ||
      h.size_bytes() > max_batch_bytes) {
    result.defect = BatchDefect::kBadLength;
    return result;
  }
  if (h.magic != kMagicV2) {
    result.defect = BatchDefect::kBadMagic;
    return result;
  }
  if (data.size() < h.size_bytes()) {
    result.defect = BatchDefect::kIncomplete;
    return result;
  }
  uint32_t crc = crc32c(data.data() + kCrcCoverageStart, h.size_bytes() - kCrcCoverageStart);
  if (crc != h.crc) {
    result.defect = BatchDefect::kBadCrc;
    return result;
  }
  if (h.last_offset_delta < 0 || h.record_count < 0 ||
      (h.record_count > 0 && h.record_count - 1 > h.last_offset_delta) ||
      (h.record_count == 0 && !h.is_control() && h.producer_id < 0 && h.last_offset_delta != 0)) {
    result.defect = BatchDefect::kBadContents;
  }
  return result;
}

Result<int> validate_batches(std::span<const std::byte> data, size_t max_batch_bytes) {
  int count = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    BatchCheck check = check_batch(data.subspan(pos), max_batch_bytes);
    // Producers number records densely; a larger lastOffsetDelta would burn offsets (and could
    // overflow a segment's 32-bit relative offsets). Compacted batches only exist on disk.
    if (check.defect == BatchDefect::kNone && !check.header.is_control() &&
        (check.header.record_count <= 0 ||
         check.header.last_offset_delta != check.header.record_count - 1)) {
      check.defect = BatchDefect::kBadContents;
    }
    if (check.defect != BatchDefect::kNone) {
      ErrorCode code = ErrorCode::kCorrupt;
      if (check.defect == BatchDefect::kBadLength && check.header.size_bytes() > max_batch_bytes &&
          check.header.batch_length > 0) {
        code = ErrorCode::kTooLarge;
      } else if (check.defect == BatchDefect::kBadMagic) {
        code = ErrorCode::kUnsupported;  // an older message format, not damage
      }
      return Error(code, std::string("record batch ") + std::to_string(count) + " at byte " +
                             std::to_string(pos) + ": " + batch_defect_name(check.defect));
    }
    pos += check.header.size_bytes();
    ++count;
  }
  if (count == 0) return Error(ErrorCode::kInvalidArgument, "no record batches");
  return count;
}

void set_base_offset(std::byte* batch, int64_t base_offset) {
  store_be64(batch, base_offset);
}

void set_partition_leader_epoch(std::byte* batch, int32_t epoch) {
  store_be32(batch + 12, epoch);
}

void update_batch_crc(std::span<std::byte> batch) {
  uint32_t crc = crc32c(batch.data() + kCrcCoverageStart, batch.size() - kCrcCoverageStart);
  store_be32(batch.data() + 17, static_cast<int32_t>(crc));
}

void set_log_append_time(std::span<std::byte> batch, int64_t timestamp_ms) {
  int16_t attributes = load_be16(batch.data() + 21);
  store_be16(batch.data() + 21, static_cast<int16_t>(attributes | kTimestampTypeLogAppend));
  store_be64(batch.data() + 35, timestamp_ms);
  update_batch_crc(batch);
}

}  // namespace eddy::storage

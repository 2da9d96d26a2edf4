#include "storage/records.h"

#include <algorithm>

#include "storage/compression.h"

namespace eddy::storage {
namespace {

class Reader {
 public:
  explicit Reader(std::span<const std::byte> data) : data_(data) {}
  bool varint(int64_t& out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      auto b = static_cast<uint8_t>(data_[pos_++]);
      value |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) {
        out = static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
        return true;
      }
    }
    return false;
  }
  bool skip(size_t n) {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  std::span<const std::byte> data_;
  size_t pos_ = 0;
};

}  // namespace

void put_varint(std::vector<std::byte>& out, int64_t value) {
  uint64_t v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
}

namespace {

void put_nullable(std::vector<std::byte>& out, const std::optional<std::string_view>& text) {
  if (!text) {
    put_varint(out, -1);
    return;
  }
  put_varint(out, static_cast<int64_t>(text->size()));
  const auto* bytes = reinterpret_cast<const std::byte*>(text->data());
  out.insert(out.end(), bytes, bytes + text->size());
}

}  // namespace

std::vector<std::byte> encode_batch(std::span<const OutgoingRecord> records,
                                    int64_t base_timestamp_ms) {
  std::vector<std::byte> batch(kBatchHeaderSize);
  std::vector<std::byte> record;
  int64_t max_delta = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const OutgoingRecord& r = records[i];
    record.clear();
    record.push_back(std::byte{0});  // attributes
    put_varint(record, r.timestamp_delta);
    put_varint(record, static_cast<int64_t>(i));
    put_nullable(record, r.key);
    put_nullable(record, r.value);
    put_varint(record, 0);  // headers
    put_varint(batch, static_cast<int64_t>(record.size()));
    batch.insert(batch.end(), record.begin(), record.end());
    max_delta = std::max(max_delta, r.timestamp_delta);
  }
  std::byte* p = batch.data();
  store_be64(p + 0, 0);
  store_be32(p + 8, static_cast<int32_t>(batch.size() - kLogOverhead));
  store_be32(p + 12, 0);  // partition leader epoch
  p[16] = std::byte{2};   // magic
  store_be16(p + 21, 0);  // attributes: no compression, CreateTime
  const auto count = static_cast<int32_t>(records.size());
  store_be32(p + 23, count > 0 ? count - 1 : 0);
  store_be64(p + 27, base_timestamp_ms);
  store_be64(p + 35, base_timestamp_ms + max_delta);
  store_be64(p + 43, -1);  // producer id
  store_be16(p + 51, -1);  // producer epoch
  store_be32(p + 53, -1);  // base sequence
  store_be32(p + 57, count);
  update_batch_crc(batch);
  return batch;
}

Result<std::vector<RecordView>> decode_record_section(std::span<const std::byte> body,
                                                      int32_t record_count) {
  std::vector<RecordView> records;
  if (record_count < 0 || static_cast<size_t>(record_count) > body.size()) {
    return Error(ErrorCode::kCorrupt, "record count exceeds batch size");
  }
  records.reserve(static_cast<size_t>(record_count));
  size_t pos = 0;
  auto corrupt = [] { return Error(ErrorCode::kCorrupt, "malformed record"); };
  for (int32_t i = 0; i < record_count; ++i) {
    Reader r(body.subspan(pos));
    int64_t length;
    if (!r.varint(length) || length < 0 ||
        static_cast<uint64_t>(length) > body.size() - pos - r.pos()) {
      return corrupt();
    }
    const size_t start = pos;
    const size_t record_end = pos + r.pos() + static_cast<size_t>(length);
    Reader f(body.subspan(pos + r.pos(), static_cast<size_t>(length)));
    RecordView view;
    int64_t offset_delta, key_length, value_length, header_count;
    if (!f.skip(1) || !f.varint(view.timestamp_delta) || !f.varint(offset_delta) ||
        !f.varint(key_length)) {
      return corrupt();
    }
    view.offset_delta = static_cast<int32_t>(offset_delta);
    if (key_length >= 0) {
      const size_t key_at = pos + r.pos() + f.pos();
      if (!f.skip(static_cast<size_t>(key_length))) return corrupt();
      view.key = std::string_view(reinterpret_cast<const char*>(body.data() + key_at),
                                  static_cast<size_t>(key_length));
    }
    if (!f.varint(value_length)) return corrupt();
    view.null_value = value_length < 0;
    if (value_length >= 0) {
      const size_t value_at = pos + r.pos() + f.pos();
      if (!f.skip(static_cast<size_t>(value_length))) return corrupt();
      view.value = std::string_view(reinterpret_cast<const char*>(body.data() + value_at),
                                    static_cast<size_t>(value_length));
    }
    if (!f.varint(header_count) || header_count < 0) return corrupt();
    for (int64_t k = 0; k < header_count; ++k) {
      int64_t hk, hv;
      if (!f.varint(hk) || hk < 0 || !f.skip(static_cast<size_t>(hk))) return corrupt();
      if (!f.varint(hv)) return corrupt();
      if (hv > 0 && !f.skip(static_cast<size_t>(hv))) return corrupt();
    }
    view.raw = body.subspan(start, record_end - start);
    records.push_back(view);
    pos = record_end;
  }
  if (pos != body.size()) {
    return Error(ErrorCode::kCorrupt,
                 "batch holds bytes after its " + std::to_string(record_count) + " records");
  }
  return records;
}

Result<std::vector<RecordView>> decode_records(std::span<const std::byte> batch) {
  if (batch.size() < kBatchHeaderSize) return Error(ErrorCode::kCorrupt, "short batch");
  BatchHeader h = decode_batch_header(batch.data());
  if (h.compression() != 0) return Error(ErrorCode::kUnsupported, "compressed batch");
  if (h.size_bytes() > batch.size()) return Error(ErrorCode::kCorrupt, "batch length");
  return decode_record_section(batch.subspan(kBatchHeaderSize, h.size_bytes() - kBatchHeaderSize),
                               h.record_count);
}

Result<std::optional<std::vector<std::byte>>> check_batch_contents(std::span<const std::byte> batch,
                                                                   std::optional<Codec> target,
                                                                   size_t max_decompressed,
                                                                   bool require_keys,
                                                                   int32_t* bad_record) {
  BatchHeader h = decode_batch_header(batch.data());
  auto stored = batch.subspan(kBatchHeaderSize, h.size_bytes() - kBatchHeaderSize);
  if (h.compression() > 4) {
    return Error(ErrorCode::kUnsupported,
                 "unknown compression codec " + std::to_string(h.compression()));
  }
  const auto codec = static_cast<Codec>(h.compression());
  std::vector<std::byte> plain;
  std::span<const std::byte> section = stored;
  if (codec != Codec::kNone) {
    ASSIGN_OR_RETURN(plain, decompress(codec, stored, max_decompressed));
    section = plain;
  }
  ASSIGN_OR_RETURN(auto records, decode_record_section(section, h.record_count));
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordView& r = records[i];
    if (r.offset_delta < 0 || r.offset_delta > h.last_offset_delta) {
      return Error(ErrorCode::kCorrupt, "record offset delta outside the batch");
    }
    // Control records (transaction markers) carry their own keys; compaction needs the rest's.
    if (require_keys && !r.key && !h.is_control()) {
      if (bad_record) *bad_record = static_cast<int32_t>(i);
      return Error(ErrorCode::kInvalidArgument,
                   "Compacted topic cannot accept message without key");
    }
  }
  std::optional<std::vector<std::byte>> unchanged;
  if (!target || *target == codec || h.is_control()) return unchanged;
  // The topic stores a different codec than the producer used: re-encode the records.
  ASSIGN_OR_RETURN(auto encoded, compress(*target, section));
  std::vector<std::byte> out(batch.begin(), batch.begin() + kBatchHeaderSize);
  out.insert(out.end(), encoded.begin(), encoded.end());
  store_be32(out.data() + 8, static_cast<int32_t>(out.size() - kLogOverhead));
  const auto attributes =
      static_cast<int16_t>((h.attributes & ~kCompressionMask) | static_cast<int16_t>(*target));
  store_be16(out.data() + 21, attributes);
  update_batch_crc(out);
  return std::optional<std::vector<std::byte>>(std::move(out));
}

std::vector<std::byte> rebuild_batch(std::span<const std::byte> original,
                                     const std::vector<RecordView>& keep) {
  std::vector<std::byte> out(original.begin(), original.begin() + kBatchHeaderSize);
  for (const auto& record : keep)
    out.insert(out.end(), record.raw.begin(), record.raw.end());
  store_be32(out.data() + 8, static_cast<int32_t>(out.size() - kLogOverhead));
  store_be32(out.data() + 57, static_cast<int32_t>(keep.size()));
  update_batch_crc(out);
  return out;
}

}  // namespace eddy::storage

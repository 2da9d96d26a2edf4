#include "kafka/wire.h"

#include <cstring>

namespace eddy::kafka {

void WireReader::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message) + " at byte " + std::to_string(pos_);
  pos_ = data_.size();
}

bool WireReader::need(size_t n) {
  if (!ok()) return false;
  if (n > remaining()) {
    fail("truncated: need " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
         " left");
    return false;
  }
  return true;
}

#define EDDY_READ_BE(type, bits)                   \
  if (!need(sizeof(type))) return 0;               \
  uint##bits##_t v;                                \
  std::memcpy(&v, data_.data() + pos_, sizeof(v)); \
  pos_ += sizeof(v);                               \
  return static_cast<type>(__builtin_bswap##bits(v));

int8_t WireReader::i8() {
  if (!need(1)) return 0;
  return static_cast<int8_t>(data_[pos_++]);
}
int16_t WireReader::i16(){EDDY_READ_BE(int16_t, 16)} int32_t WireReader::i32(){
    EDDY_READ_BE(int32_t, 32)} int64_t WireReader::i64(){
    EDDY_READ_BE(int64_t, 64)} uint32_t WireReader::u32(){EDDY_READ_BE(uint32_t, 32)}
#undef EDDY_READ_BE

uint32_t WireReader::uvarint() {
  uint32_t value = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!need(1)) return 0;
    auto b = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 28 && (b & 0xF0)) {
      fail("varint overflows 32 bits");
      return 0;
    }
    value |= uint32_t{b & 0x7Fu} << shift;
    if (!(b & 0x80)) return value;
  }
  fail("varint too long");
  return 0;
}

int32_t WireReader::varint() {
  uint32_t v = uvarint();
  return static_cast<int32_t>(v >> 1) ^ -static_cast<int32_t>(v & 1);
}

int64_t WireReader::varlong() {
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!need(1)) return 0;
    auto b = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 63 && (b & 0xFE)) {
      fail("varlong overflows 64 bits");
      return 0;
    }
    value |= uint64_t{b & 0x7Fu} << shift;
    if (!(b & 0x80)) return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
  }
  fail("varlong too long");
  return 0;
}

Uuid WireReader::uuid() {
  Uuid id{};
  if (!need(16)) return id;
  std::memcpy(id.data(), data_.data() + pos_, 16);
  pos_ += 16;
  return id;
}

// Returns the length, -1 for null, or -2 after an error.
int64_t WireReader::length_prefix(bool nullable_allowed) {
  int64_t length;
  if (flexible_) {
    length = static_cast<int64_t>(uvarint()) - 1;
  } else {
    length = i16();
  }
  if (!ok()) return -2;
  if (length < -1 || (length == -1 && !nullable_allowed)) {
    fail("invalid length " + std::to_string(length));
    return -2;
  }
  if (length >= 0 && static_cast<uint64_t>(length) > remaining()) {
    fail("length " + std::to_string(length) + " exceeds the " + std::to_string(remaining()) +
         " bytes left");
    return -2;
  }
  return length;
}

std::optional<std::string> WireReader::nullable_string() {
  int64_t length = length_prefix(true);
  if (length < 0) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return s;
}

std::string WireReader::string() {
  int64_t length = length_prefix(false);
  if (length < 0) return {};
  std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return s;
}

std::optional<std::string> WireReader::classic_nullable_string() {
  bool saved = flexible_;
  flexible_ = false;
  auto s = nullable_string();
  flexible_ = saved;
  return s;
}

std::optional<std::span<const std::byte>> WireReader::nullable_bytes() {
  int64_t length;
  if (flexible_) {
    length = static_cast<int64_t>(uvarint()) - 1;
  } else {
    length = i32();
  }
  if (!ok() || length == -1) return std::nullopt;
  if (length < -1 || static_cast<uint64_t>(length) > remaining()) {
    fail("invalid bytes length " + std::to_string(length));
    return std::nullopt;
  }
  auto view = data_.subspan(pos_, static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return view;
}

std::span<const std::byte> WireReader::bytes() {
  auto b = nullable_bytes();
  if (!b && ok()) fail("null bytes where not allowed");
  return b.value_or(std::span<const std::byte>{});
}

int32_t WireReader::array_length(size_t min_element_size) {
  int64_t n;
  if (flexible_) {
    n = static_cast<int64_t>(uvarint()) - 1;
  } else {
    n = i32();
  }
  if (!ok()) return 0;
  if (n < -1) {
    fail("invalid array length " + std::to_string(n));
    return 0;
  }
  if (n > 0 && static_cast<uint64_t>(n) * std::max<size_t>(min_element_size, 1) > remaining()) {
    fail("array of " + std::to_string(n) + " elements cannot fit in " +
         std::to_string(remaining()) + " bytes");
    return 0;
  }
  return static_cast<int32_t>(n);
}

void WireReader::tagged_fields() {
  if (!flexible_) return;
  uint32_t count = uvarint();
  for (uint32_t i = 0; i < count && ok(); ++i) {
    (void)uvarint();  // tag
    uint32_t size = uvarint();
    if (need(size)) pos_ += size;
  }
}

void WireWriter::i8(int8_t v) {
  buf_.push_back(static_cast<std::byte>(v));
}

#define EDDY_WRITE_BE(bits, value)                         \
  uint##bits##_t be = __builtin_bswap##bits(value);        \
  const auto* p = reinterpret_cast<const std::byte*>(&be); \
  buf_.insert(buf_.end(), p, p + sizeof(be));

void WireWriter::i16(int16_t v) {
  EDDY_WRITE_BE(16, static_cast<uint16_t>(v))
}
void WireWriter::i32(int32_t v) {
  EDDY_WRITE_BE(32, static_cast<uint32_t>(v))
}
void WireWriter::i64(int64_t v) {
  EDDY_WRITE_BE(64, static_cast<uint64_t>(v))
}
void WireWriter::u32(uint32_t v) {
  EDDY_WRITE_BE(32, v)
}
#undef EDDY_WRITE_BE

void WireWriter::uvarint(uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<std::byte>(v));
}

void WireWriter::varint(int32_t v) {
  uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

void WireWriter::uuid(const Uuid& id) {
  const auto* p = reinterpret_cast<const std::byte*>(id.data());
  buf_.insert(buf_.end(), p, p + id.size());
}

void WireWriter::string(std::string_view s) {
  if (flexible_) {
    uvarint(static_cast<uint32_t>(s.size() + 1));
  } else {
    i16(static_cast<int16_t>(s.size()));
  }
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  buf_.insert(buf_.end(), p, p + s.size());
}

void WireWriter::nullable_string(const std::optional<std::string>& s) {
  if (s) return string(*s);
  if (flexible_) {
    uvarint(0);
  } else {
    i16(-1);
  }
}

void WireWriter::bytes(std::span<const std::byte> b) {
  bytes_length(b.size());
  raw(b);
}

void WireWriter::bytes_length(size_t n) {
  if (flexible_) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(static_cast<int32_t>(n));
  }
}

void WireWriter::nullable_bytes(const std::optional<std::span<const std::byte>>& b) {
  if (b) return bytes(*b);
  if (flexible_) {
    uvarint(0);
  } else {
    i32(-1);
  }
}

void WireWriter::array_length(int32_t n) {
  if (flexible_) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(n);
  }
}

size_t WireWriter::reserve_i32() {
  size_t at = buf_.size();
  i32(0);
  return at;
}

void WireWriter::patch_i32(size_t at, int32_t v) {
  uint32_t be = __builtin_bswap32(static_cast<uint32_t>(v));
  std::memcpy(buf_.data() + at, &be, 4);
}

}  // namespace eddy::kafka

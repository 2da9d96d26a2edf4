// Kafka wire primitives: bounded readers and writers for the protocol's field types.
//
// Kafka messages are sequences of big-endian integers, varints, strings, byte arrays, arrays and
// (in "flexible" versions) compact encodings plus tagged fields. The reader never reads past its
// span and never allocates on a length it has not checked against the bytes remaining; on the
// first malformed field it records an error and every later read returns a default value, so a
// decoder reads all its fields and checks ok() once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eddy::kafka {

using Uuid = std::array<uint8_t, 16>;

// Kafka "bytes" fields that Eddy keeps as std::string (group metadata, assignments).
inline std::span<const std::byte> string_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string bytes_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class WireReader {
 public:
  WireReader(std::span<const std::byte> data, bool flexible) : data_(data), flexible_(flexible) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool flexible() const { return flexible_; }
  void set_flexible(bool flexible) { flexible_ = flexible; }

  int8_t i8();
  int16_t i16();
  int32_t i32();
  int64_t i64();
  uint32_t u32();
  bool boolean() { return i8() != 0; }
  uint32_t uvarint();
  int32_t varint();
  int64_t varlong();
  Uuid uuid();

  // STRING / COMPACT_STRING depending on the flexible flag.
  std::string string();
  std::optional<std::string> nullable_string();
  // Always the classic int16-length form (request header client id).
  std::optional<std::string> classic_nullable_string();
  // BYTES / COMPACT_BYTES (and nullable forms, also used for RECORDS): a view into the input.
  std::optional<std::span<const std::byte>> nullable_bytes();
  std::span<const std::byte> bytes();
  // Array element count (ARRAY / COMPACT_ARRAY); -1 for null. Counts that could not fit in the
  // remaining bytes (every element takes at least `min_element_size`) are errors.
  int32_t array_length(size_t min_element_size = 1);
  // Skips the tagged-field section of a flexible struct.
  void tagged_fields();

  void fail(std::string message);

 private:
  bool need(size_t n);
  int64_t length_prefix(bool nullable_allowed);

  std::span<const std::byte> data_;
  size_t pos_ = 0;
  bool flexible_;
  std::string error_;
};

class WireWriter {
 public:
  explicit WireWriter(bool flexible) : flexible_(flexible) {}

  bool flexible() const { return flexible_; }
  void set_flexible(bool flexible) { flexible_ = flexible; }
  std::vector<std::byte>& buffer() { return buf_; }
  // Leaves the writer empty, ready for more.
  std::vector<std::byte> take() { return std::exchange(buf_, {}); }

  void i8(int8_t v);
  void i16(int16_t v);
  void i32(int32_t v);
  void i64(int64_t v);
  void u32(uint32_t v);
  void boolean(bool v) { i8(v ? 1 : 0); }
  void uvarint(uint32_t v);
  void varint(int32_t v);
  void uuid(const Uuid& id);
  void string(std::string_view s);
  void nullable_string(const std::optional<std::string>& s);
  void bytes(std::span<const std::byte> b);
  // The length prefix of bytes() alone, for bytes the caller sends as a piece of their own.
  void bytes_length(size_t n);
  void nullable_bytes(const std::optional<std::span<const std::byte>>& b);
  void array_length(int32_t n);  // -1 = null
  void tagged_fields() {
    if (flexible_) uvarint(0);
  }
  void raw(std::span<const std::byte> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }

  // For size prefixes written after the content.
  size_t reserve_i32();
  void patch_i32(size_t at, int32_t v);

 private:
  std::vector<std::byte> buf_;
  bool flexible_;
};

}  // namespace eddy::kafka

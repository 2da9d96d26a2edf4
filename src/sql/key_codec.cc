#include "sql/key_codec.h"

#include <cmath>
#include <cstring>

namespace eddy::sql {

namespace {

void append_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Text as its bytes, a 0 byte escaped as 0 0xff, ended by 0 0x01: self-delimiting, and a prefix
// sorts first.
void append_text_key(std::string& out, std::string_view text) {
  for (char c : text) {
    out.push_back(c);
    if (c == '\0') out.push_back(static_cast<char>(0xff));
  }
  out.push_back('\0');
  out.push_back(0x01);
}

// Numerics as a class byte (-Infinity, negative, zero, positive, Infinity, NaN: PostgreSQL's
// order), the decimal exponent and the significant digits: |n| = 0.d1d2...dn x 10^e.
void append_numeric(std::string& out, const Numeric& n) {
  if (n.is_infinite()) {
    out.push_back(n.sign() < 0 ? 0x00 : 0x04);
    return;
  }
  if (n.is_nan()) {
    out.push_back(0x05);
    return;
  }
  if (n.is_zero()) {
    out.push_back(0x02);
    return;
  }
  const bool negative = n.sign() < 0;
  std::string digits;
  int64_t exponent = 0;
  numeric_significand(n, digits, exponent);
  // Larger exponents mean larger magnitudes; negatives invert everything. Exponents from
  // 0x7FFF on (beyond 38-digit values' reach, so earlier keys never used it) escape to 32 bits.
  std::string e;
  const int64_t biased = exponent + 0x8000;
  if (biased < 0xFFFF) {
    e = {static_cast<char>(biased >> 8), static_cast<char>(biased & 0xff)};
  } else {
    e = {static_cast<char>(0xff), static_cast<char>(0xff)};
    for (int shift = 24; shift >= 0; shift -= 8)
      e.push_back(static_cast<char>((exponent >> shift) & 0xff));
  }
  out.push_back(negative ? 0x01 : 0x03);
  for (char c : e)
    out.push_back(negative ? static_cast<char>(~c) : c);
  for (char d : digits)
    out.push_back(static_cast<char>(negative ? 0xff - static_cast<uint8_t>(d) : d));
  // A shorter digit string is a prefix of a longer one and smaller in magnitude.
  out.push_back(negative ? static_cast<char>(0xff) : 0x00);
}

}  // namespace

void append_key(std::string& out, const Value& v, KeyFormat format) {
  if (v.null) {
    out.push_back(0x02);
    return;
  }
  out.push_back(0x01);
  switch (v.type) {
    case Type::kBool:
      out.push_back(v.b ? 1 : 0);
      break;
    case Type::kFloat4:
    case Type::kFloat8: {
      double f = v.f == 0 ? 0.0 : v.f;  // -0.0 equals 0.0
      if (std::isnan(f)) f = std::numeric_limits<double>::quiet_NaN();
      uint64_t bits = 0;
      std::memcpy(&bits, &f, sizeof bits);
      // NaN (positive quiet) sorts after +inf, as in PostgreSQL.
      bits = (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
      append_u64(out, bits);
      break;
    }
    case Type::kNumeric:
      append_numeric(out, v.n);
      break;
    case Type::kJsonb:
      if (format != KeyFormat::kJsonbAsText) {
        // Canonical text with numbers at their least scale: equal values, equal keys.
        append_text_key(out, jsonb_equality_text(v.s));
        break;
      }
      append_text_key(out, v.s);
      break;
    case Type::kText:
    case Type::kUnknown:
    case Type::kBytea:
      append_text_key(out, v.s);
      break;
    case Type::kInterval: {
      // Equal spans ('1 mon' and '30 days') are one group, as in PostgreSQL.
      const __int128 span = interval_span(v);
      const auto bits =
          static_cast<unsigned __int128>(span) ^ (static_cast<unsigned __int128>(1) << 127);
      append_u64(out, static_cast<uint64_t>(bits >> 64));
      append_u64(out, static_cast<uint64_t>(bits));
      break;
    }
    default:  // integers and dates, timestamps
      append_u64(out, static_cast<uint64_t>(v.i) ^ (uint64_t{1} << 63));
      break;
  }
}

std::string encode_key(const Row& keys, KeyFormat format) {
  std::string out;
  for (const auto& k : keys)
    append_key(out, k, format);
  return out;
}

}  // namespace eddy::sql

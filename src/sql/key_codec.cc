#include "sql/key_codec.h"

#include <cmath>
#include <cstring>

namespace eddy::sql {

namespace {

void append_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Numerics as sign, decimal exponent and significant digits: 0.d1d2...dn x 10^e.
void append_numeric(std::string& out, const Numeric& n) {
  if (n.unscaled == 0) {
    out.push_back(0x02);
    return;
  }
  const bool negative = n.unscaled < 0;
  unsigned __int128 magnitude = negative ? -static_cast<unsigned __int128>(n.unscaled)
                                         : static_cast<unsigned __int128>(n.unscaled);
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  const int exponent = static_cast<int>(digits.size()) - n.scale;
  while (!digits.empty() && digits.back() == '0')
    digits.pop_back();
  // Larger exponents mean larger magnitudes; negatives invert everything.
  const uint16_t biased = static_cast<uint16_t>(exponent + 0x8000);
  const uint16_t e = negative ? static_cast<uint16_t>(~biased) : biased;
  out.push_back(negative ? 0x01 : 0x03);
  out.push_back(static_cast<char>(e >> 8));
  out.push_back(static_cast<char>(e & 0xff));
  for (char d : digits)
    out.push_back(static_cast<char>(negative ? 0xff - static_cast<uint8_t>(d) : d));
  // A shorter digit string is a prefix of a longer one and smaller in magnitude.
  out.push_back(negative ? static_cast<char>(0xff) : 0x00);
}

}  // namespace

void append_key(std::string& out, const Value& v) {
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
    case Type::kText:
    case Type::kUnknown:
    case Type::kJsonb:  // canonical text: equal values, equal keys
    case Type::kBytea:
      for (char c : v.s) {
        out.push_back(c);
        if (c == '\0') out.push_back(static_cast<char>(0xff));
      }
      out.push_back('\0');
      out.push_back(0x01);
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

std::string encode_key(const Row& keys) {
  std::string out;
  for (const auto& k : keys)
    append_key(out, k);
  return out;
}

}  // namespace eddy::sql

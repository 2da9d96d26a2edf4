#include "sql/value.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace eddy::sql {

namespace {

struct TypeInfo {
  Type type;
  const char* name;
  uint32_t oid;
  int16_t size;
};

constexpr TypeInfo kTypes[] = {
    {Type::kUnknown, "unknown", 705, -2},
    {Type::kBool, "boolean", 16, 1},
    {Type::kInt2, "smallint", 21, 2},
    {Type::kInt4, "integer", 23, 4},
    {Type::kInt8, "bigint", 20, 8},
    {Type::kFloat4, "real", 700, 4},
    {Type::kFloat8, "double precision", 701, 8},
    {Type::kNumeric, "numeric", 1700, -1},
    {Type::kText, "text", 25, -1},
    {Type::kTimestamptz, "timestamp with time zone", 1184, 8},
};

const TypeInfo& info(Type type) {
  return kTypes[static_cast<size_t>(type)];
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

__int128 pow10(int n) {
  __int128 r = 1;
  for (int i = 0; i < n; ++i)
    r *= 10;
  return r;
}

// |x| < 10^38 keeps every numeric printable and lets two of them be added without overflow.
bool numeric_fits(__int128 x) {
  static const __int128 kLimit = pow10(38);
  return x < kLimit && x > -kLimit;
}

std::string format_float(double d, bool single) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  char buf[64];
  std::to_chars_result r =
      single ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(d),
                             std::chars_format::scientific)
             : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  auto e = sci.find('e');
  int exponent = std::atoi(sci.c_str() + e + 1);
  std::string mantissa = sci.substr(0, e);
  bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  // PostgreSQL prints like %g with the shortest exact digits: exponent form when the exponent is
  // below -4 or at least the type's precision (15 for float8, 6 for float4).
  const int precision = single ? 6 : 15;
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= precision) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  if (exponent < 0) {
    return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  }
  const size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits)
    return out + digits + std::string(int_digits - digits.size(), '0');
  return out + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

SqlError bad_input(Type type, std::string_view text) {
  return sql_error(sqlstate::kInvalidTextRepresentation,
                   std::string("invalid input syntax for type ") + type_name(type) + ": \"" +
                       std::string(text) + "\"");
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

}  // namespace

const char* type_name(Type type) {
  return info(type).name;
}
uint32_t type_oid(Type type) {
  return info(type).oid;
}
int16_t type_size(Type type) {
  return info(type).size;
}

std::optional<Type> type_from_oid(uint32_t oid) {
  if (oid == 1043) return Type::kText;  // varchar
  for (const auto& t : kTypes)
    if (t.oid == oid) return t.type;
  return std::nullopt;
}

std::optional<Type> type_from_name(std::string_view raw) {
  const std::string name = lower(raw);
  if (name == "bool" || name == "boolean") return Type::kBool;
  if (name == "int2" || name == "smallint") return Type::kInt2;
  if (name == "int4" || name == "int" || name == "integer") return Type::kInt4;
  if (name == "int8" || name == "bigint") return Type::kInt8;
  if (name == "float4" || name == "real") return Type::kFloat4;
  if (name == "float8" || name == "double precision" || name == "float") return Type::kFloat8;
  if (name == "numeric" || name == "decimal") return Type::kNumeric;
  if (name == "text" || name == "varchar" || name == "character varying" || name == "bpchar" ||
      name == "char" || name == "character" || name == "string")
    return Type::kText;
  if (name == "timestamptz" || name == "timestamp with time zone" || name == "timestamp")
    return Type::kTimestamptz;
  return std::nullopt;
}

bool is_integer(Type type) {
  return type == Type::kInt2 || type == Type::kInt4 || type == Type::kInt8;
}

bool is_numeric_category(Type type) {
  return is_integer(type) || type == Type::kNumeric || type == Type::kFloat4 ||
         type == Type::kFloat8;
}

std::string numeric_to_string(const Numeric& n) {
  const bool negative = n.unscaled < 0;
  unsigned __int128 mag =
      negative ? static_cast<unsigned __int128>(-(n.unscaled + 1)) + 1 : n.unscaled;
  std::string digits;
  do {
    digits += static_cast<char>('0' + static_cast<int>(mag % 10));
    mag /= 10;
  } while (mag != 0);
  while (static_cast<int>(digits.size()) <= n.scale)
    digits += '0';
  std::reverse(digits.begin(), digits.end());
  std::string out = negative ? "-" : "";
  const size_t point = digits.size() - static_cast<size_t>(n.scale);
  out += digits.substr(0, point);
  if (n.scale > 0) out += "." + digits.substr(point);
  return out;
}

std::optional<Numeric> numeric_from_string(std::string_view text) {
  text = trim_space(text);
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  __int128 value = 0;
  int scale = 0;
  bool seen_point = false;
  bool any_digit = false;
  int exponent = 0;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      any_digit = true;
      if (seen_point && scale >= kMaxNumericScale) continue;  // extra digits: truncated below
      value = value * 10 + (c - '0');
      if (!numeric_fits(value)) return std::nullopt;
      if (seen_point) ++scale;
    } else {
      break;
    }
  }
  if (!any_digit) return std::nullopt;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return std::nullopt;
    auto exp_text = text.substr(i + 1);
    if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
    auto [p, ec] = std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    if (ec != std::errc() || p != exp_text.data() + exp_text.size()) return std::nullopt;
    if (exponent > 38 || exponent < -38) return std::nullopt;
  }
  Numeric n{negative ? -value : value, scale};
  if (exponent > 0) {
    int drop = std::min(exponent, n.scale);
    n.scale -= drop;
    for (int k = drop; k < exponent; ++k) {
      n.unscaled *= 10;
      if (!numeric_fits(n.unscaled)) return std::nullopt;
    }
  } else if (exponent < 0) {
    n.scale -= exponent;
    if (n.scale > kMaxNumericScale) return numeric_rescale(n, kMaxNumericScale);
  }
  return n;
}

std::optional<Numeric> numeric_rescale(const Numeric& n, int scale) {
  if (scale == n.scale) return n;
  if (scale > n.scale) {
    __int128 v = n.unscaled;
    for (int k = n.scale; k < scale; ++k) {
      v *= 10;
      if (!numeric_fits(v)) return std::nullopt;
    }
    return Numeric{v, scale};
  }
  const __int128 div = pow10(n.scale - scale);
  __int128 q = n.unscaled / div;
  const __int128 r = n.unscaled % div;
  if (r * 2 >= div) ++q;
  if (r * 2 <= -div) --q;
  return Numeric{q, scale};
}

double numeric_to_double(const Numeric& n) {
  return std::strtod(numeric_to_string(n).c_str(), nullptr);
}

std::optional<Numeric> numeric_from_double(double d) {
  if (!std::isfinite(d)) return std::nullopt;
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return numeric_from_string(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
}

namespace {

// Reads 1..max_digits decimal digits at `pos` (advancing it); false when there is none.
bool read_number(std::string_view s, size_t& pos, size_t max_digits, int& out) {
  size_t n = 0;
  int value = 0;
  while (pos + n < s.size() && n < max_digits && s[pos + n] >= '0' && s[pos + n] <= '9') {
    value = value * 10 + (s[pos + n] - '0');
    ++n;
  }
  if (n == 0) return false;
  pos += n;
  out = value;
  return true;
}

}  // namespace

// ISO 8601 / PostgreSQL style: YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][ ][Z|UTC|(+|-)HH[[:]MM]].
// Hand-written (no sscanf): it runs once per timestamp of every decoded event.
std::optional<int64_t> parse_timestamptz(std::string_view text) {
  const std::string_view s = trim_space(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  size_t pos = 0;
  if (!read_number(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
      !read_number(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' ||
      !read_number(s, pos, 2, day)) {
    return std::nullopt;
  }
  int64_t micros = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
    ++pos;
    if (!read_number(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
        !read_number(s, pos, 2, minute)) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_number(s, pos, 2, second)) return std::nullopt;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int64_t scale = 100000;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          micros += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
      }
    }
  }
  while (pos < s.size() && s[pos] == ' ')
    ++pos;
  int64_t offset_seconds = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s.substr(pos, 3) == "UTC") {
      pos += 3;
    } else if (s[pos] == '+' || s[pos] == '-') {
      const int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      int oh = 0, om = 0;
      if (!read_number(s, pos, 2, oh)) return std::nullopt;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (pos < s.size()) (void)read_number(s, pos, 2, om);
      offset_seconds = sign * (oh * 3600 + om * 60);
    }
  }
  if (pos != s.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  const int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * 1000000 + micros;
}

std::string format_timestamptz(int64_t micros) {
  int64_t seconds = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld", static_cast<long long>(y),
                m, d, static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  std::string out = buf;
  if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0')
      fs.pop_back();
    out += fs;
  }
  return out + "+00";
}

std::string to_text(const Value& v) {
  switch (v.type) {
    case Type::kBool:
      return v.b ? "t" : "f";
    case Type::kInt2:
    case Type::kInt4:
    case Type::kInt8:
      return std::to_string(v.i);
    case Type::kFloat4:
      return format_float(v.f, true);
    case Type::kFloat8:
      return format_float(v.f, false);
    case Type::kNumeric:
      return numeric_to_string(v.n);
    case Type::kTimestamptz:
      return format_timestamptz(v.i);
    case Type::kText:
    case Type::kUnknown:
      return v.s;
  }
  return v.s;
}

SqlResult<Value> from_text(Type type, std::string_view raw) {
  const std::string_view text = trim_space(raw);
  switch (type) {
    case Type::kBool: {
      const std::string t = lower(text);
      if (t == "t" || t == "true" || t == "yes" || t == "y" || t == "on" || t == "1")
        return Value::boolean(true);
      if (t == "f" || t == "false" || t == "no" || t == "n" || t == "off" || t == "0")
        return Value::boolean(false);
      return bad_input(type, raw);
    }
    case Type::kInt2:
    case Type::kInt4:
    case Type::kInt8: {
      std::string_view digits = text;
      if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
      int64_t value = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec == std::errc::result_out_of_range)
        return sql_error(
            sqlstate::kNumericOutOfRange,
            "value \"" + std::string(raw) + "\" is out of range for type " + type_name(type));
      if (ec != std::errc() || p != digits.data() + digits.size() || digits.empty())
        return bad_input(type, raw);
      const int64_t lo = type == Type::kInt2   ? std::numeric_limits<int16_t>::min()
                         : type == Type::kInt4 ? std::numeric_limits<int32_t>::min()
                                               : std::numeric_limits<int64_t>::min();
      const int64_t hi = type == Type::kInt2   ? std::numeric_limits<int16_t>::max()
                         : type == Type::kInt4 ? std::numeric_limits<int32_t>::max()
                                               : std::numeric_limits<int64_t>::max();
      if (value < lo || value > hi)
        return sql_error(
            sqlstate::kNumericOutOfRange,
            "value \"" + std::string(raw) + "\" is out of range for type " + type_name(type));
      return Value::integer(type, value);
    }
    case Type::kFloat4:
    case Type::kFloat8: {
      const std::string t = lower(text);
      double d = 0;
      if (t == "nan") {
        d = std::numeric_limits<double>::quiet_NaN();
      } else if (t == "infinity" || t == "inf" || t == "+infinity") {
        d = std::numeric_limits<double>::infinity();
      } else if (t == "-infinity" || t == "-inf") {
        d = -std::numeric_limits<double>::infinity();
      } else {
        std::string_view num = text;
        if (!num.empty() && num[0] == '+') num.remove_prefix(1);
        auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), d);
        if (ec == std::errc::result_out_of_range)
          return sql_error(
              sqlstate::kNumericOutOfRange,
              "\"" + std::string(raw) + "\" is out of range for type " + type_name(type));
        if (ec != std::errc() || p != num.data() + num.size() || num.empty())
          return bad_input(type, raw);
      }
      if (type == Type::kFloat4) {
        if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
          return sql_error(sqlstate::kNumericOutOfRange,
                           "\"" + std::string(raw) + "\" is out of range for type real");
        d = static_cast<float>(d);
      }
      return Value::floating(type, d);
    }
    case Type::kNumeric: {
      auto n = numeric_from_string(text);
      if (!n) {
        // Distinguish "too big" from "not a number" the way PostgreSQL does.
        if (!text.empty() && text.find_first_not_of("+-0123456789.eE") == std::string_view::npos)
          return sql_error(sqlstate::kNumericOutOfRange, "value overflows numeric format");
        return bad_input(type, raw);
      }
      return Value::numeric(*n);
    }
    case Type::kTimestamptz: {
      auto t = parse_timestamptz(text);
      if (!t)
        return sql_error(
            sqlstate::kInvalidDatetimeFormat,
            "invalid input syntax for type timestamp with time zone: \"" + std::string(raw) + "\"");
      return Value::timestamptz(*t);
    }
    case Type::kText:
      return Value::text(std::string(raw));
    case Type::kUnknown:
      return Value::text(std::string(raw), Type::kUnknown);
  }
  return bad_input(type, raw);
}

int compare_values(const Value& a, const Value& b) {
  if (a.null || b.null) return a.null == b.null ? 0 : (a.null ? 1 : -1);
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (a.type) {
    case Type::kBool:
      return cmp(a.b, b.b);
    case Type::kInt2:
    case Type::kInt4:
    case Type::kInt8:
    case Type::kTimestamptz:
      return cmp(a.i, b.i);
    case Type::kFloat4:
    case Type::kFloat8:
      // PostgreSQL orders NaN above every other value and equal to itself.
      if (std::isnan(a.f) || std::isnan(b.f)) return cmp(std::isnan(a.f), std::isnan(b.f));
      return cmp(a.f, b.f);
    case Type::kNumeric: {
      const int scale = std::max(a.n.scale, b.n.scale);
      auto x = numeric_rescale(a.n, scale);
      auto y = numeric_rescale(b.n, scale);
      if (x && y) return cmp(x->unscaled, y->unscaled);
      return cmp(numeric_to_double(a.n), numeric_to_double(b.n));
    }
    case Type::kText:
    case Type::kUnknown:
      return cmp(a.s.compare(b.s), 0);
  }
  return 0;
}

namespace {
template <typename T>
void append_raw(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
bool read_raw(std::string_view& in, T& v) {
  if (in.size() < sizeof v) return false;
  std::memcpy(&v, in.data(), sizeof v);
  in.remove_prefix(sizeof v);
  return true;
}
}  // namespace

void append_value(std::string& out, const Value& v) {
  out.push_back(static_cast<char>(v.type));
  out.push_back(v.null ? 1 : 0);
  if (v.null) return;
  switch (v.type) {
    case Type::kBool:
      out.push_back(v.b ? 1 : 0);
      break;
    case Type::kFloat4:
    case Type::kFloat8:
      append_raw(out, v.f);
      break;
    case Type::kNumeric:
      append_raw(out, v.n.unscaled);
      append_raw(out, static_cast<int32_t>(v.n.scale));
      break;
    case Type::kText:
    case Type::kUnknown:
      append_raw(out, static_cast<uint32_t>(v.s.size()));
      out += v.s;
      break;
    default:
      append_raw(out, v.i);
      break;
  }
}

bool read_value(std::string_view& in, Value& v) {
  uint8_t type = 0;
  uint8_t null = 0;
  if (!read_raw(in, type) || !read_raw(in, null) || type > static_cast<uint8_t>(Type::kTimestamptz))
    return false;
  v = Value::null_of(static_cast<Type>(type));
  if (null != 0) return true;
  v.null = false;
  switch (v.type) {
    case Type::kBool: {
      uint8_t b = 0;
      if (!read_raw(in, b)) return false;
      v.b = b != 0;
      return true;
    }
    case Type::kFloat4:
    case Type::kFloat8:
      return read_raw(in, v.f);
    case Type::kNumeric: {
      int32_t scale = 0;
      if (!read_raw(in, v.n.unscaled) || !read_raw(in, scale)) return false;
      v.n.scale = scale;
      return true;
    }
    case Type::kText:
    case Type::kUnknown: {
      uint32_t size = 0;
      if (!read_raw(in, size) || in.size() < size) return false;
      v.s.assign(in.data(), size);
      in.remove_prefix(size);
      return true;
    }
    default:
      return read_raw(in, v.i);
  }
}

}  // namespace eddy::sql

#include "sql/value.h"

#include "common/raw_bytes.h"

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
    {Type::kDate, "date", 1082, 4},
    {Type::kTimestamp, "timestamp without time zone", 1114, 8},
    {Type::kInterval, "interval", 1186, 16},
    {Type::kJsonb, "jsonb", 3802, -1},
    {Type::kBytea, "bytea", 17, -1},
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

// The shortest scientific text that reads back as `d` without relying on how a reader breaks
// ties: like PostgreSQL's Ryu output (which does not accept the rounding interval's bounds),
// digits exactly halfway between `d` and a neighbour are not taken, though a round-half-even
// reader would map them back to `d` (5.0789657320637616e+16, not 5.078965732063762e+16).
std::string shortest_scientific(double d, bool single) {
  char buf[64];
  const std::to_chars_result shortest =
      single ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(d),
                             std::chars_format::scientific)
             : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, shortest.ptr);
  int digits = 0;
  for (char ch : sci.substr(0, sci.find('e')))
    digits += std::isdigit(static_cast<unsigned char>(ch)) ? 1 : 0;
  // Halfway points between neighbouring values are exact in the wider type (a float's in
  // double, a double's in x86's 64-bit-mantissa long double).
  const long double value = single ? static_cast<float>(d) : d;
  const long double below =
      single ? std::nextafter(static_cast<float>(d), -INFINITY) : std::nextafter(d, -INFINITY);
  const long double above =
      single ? std::nextafter(static_cast<float>(d), INFINITY) : std::nextafter(d, INFINITY);
  const long double low_half = (value + below) / 2;
  const long double high_half = (value + above) / 2;
  for (int precision = digits; precision <= (single ? 9 : 17); ++precision) {
    const std::to_chars_result r =
        single
            ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(d),
                            std::chars_format::scientific, precision - 1)
            : std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific, precision - 1);
    std::string candidate(buf, r.ptr);
    const long double read = std::strtold(candidate.c_str(), nullptr);
    const bool reads_back = single
                                ? std::strtof(candidate.c_str(), nullptr) == static_cast<float>(d)
                                : std::strtod(candidate.c_str(), nullptr) == d;
    if (reads_back && read != low_half && read != high_half) {
      // Fixed precision may end in zeros the shortest form would not print.
      const size_t e = candidate.find('e');
      std::string mantissa = candidate.substr(0, e);
      if (mantissa.find('.') != std::string::npos) {
        while (mantissa.back() == '0')
          mantissa.pop_back();
        if (mantissa.back() == '.') mantissa.pop_back();
      }
      return mantissa + candidate.substr(e);
    }
  }
  return sci;
}

std::string format_float(double d, bool single) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  std::string sci = shortest_scientific(d, single);
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
  if (name == "timestamptz" || name == "timestamp with time zone") return Type::kTimestamptz;
  if (name == "timestamp" || name == "timestamp without time zone") return Type::kTimestamp;
  if (name == "date") return Type::kDate;
  if (name == "interval") return Type::kInterval;
  // json is accepted as a synonym: stored, compared and printed as jsonb.
  if (name == "jsonb" || name == "json") return Type::kJsonb;
  if (name == "bytea") return Type::kBytea;
  return std::nullopt;
}

bool is_integer(Type type) {
  return type == Type::kInt2 || type == Type::kInt4 || type == Type::kInt8;
}

bool is_float(Type type) {
  return type == Type::kFloat4 || type == Type::kFloat8;
}

bool is_numeric_category(Type type) {
  return is_integer(type) || type == Type::kNumeric || type == Type::kFloat4 ||
         type == Type::kFloat8;
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
      return format_timestamp(v.i, true);
    case Type::kTimestamp:
      return format_timestamp(v.i, false);
    case Type::kDate:
      return format_date(v.i);
    case Type::kInterval:
      return format_interval(v.months, v.days, v.i);
    case Type::kText:
    case Type::kUnknown:
    case Type::kJsonb:
      return v.s;
    case Type::kBytea: {
      // PostgreSQL's bytea_output = hex.
      static const char* kHex = "0123456789abcdef";
      std::string out = "\\x";
      out.reserve(2 + 2 * v.s.size());
      for (unsigned char c : v.s) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out;
    }
  }
  return v.s;
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea input: "\x" then hex digit pairs (spaces allowed between pairs), or the escape form
// (bytes as they are, "\\" for a backslash, "\ooo" octal).
SqlResult<Value> parse_bytea(std::string_view s) {
  std::string out;
  if (s.size() >= 2 && s[0] == '\\' && (s[1] == 'x' || s[1] == 'X')) {
    out.reserve((s.size() - 2) / 2);
    for (size_t i = 2; i < s.size();) {
      if (std::isspace(static_cast<unsigned char>(s[i]))) {
        ++i;
        continue;
      }
      const int hi = hex_digit(s[i]);
      if (hi < 0)
        return sql_error(sqlstate::kInvalidParameterValue,
                         "invalid hexadecimal digit: \"" + std::string(1, s[i]) + "\"");
      if (i + 1 >= s.size())
        return sql_error(sqlstate::kInvalidParameterValue,
                         "invalid hexadecimal data: odd number of digits");
      const int lo = hex_digit(s[i + 1]);
      if (lo < 0)
        return sql_error(sqlstate::kInvalidParameterValue,
                         "invalid hexadecimal digit: \"" + std::string(1, s[i + 1]) + "\"");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    return Value::text(std::move(out), Type::kBytea);
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
    } else if (i + 1 < s.size() && s[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else if (i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
               s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      return sql_error(sqlstate::kInvalidTextRepresentation, "invalid input syntax for type bytea");
    }
  }
  return Value::text(std::move(out), Type::kBytea);
}

}  // namespace

SqlResult<Value> from_text(Type type, std::string_view raw) {
  if (type == Type::kBytea) return parse_bytea(raw);  // leading and trailing spaces are bytes
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
      Numeric n;
      switch (numeric_parse(text, n)) {
        case NumericParse::kOk:
          return Value::numeric(std::move(n));
        case NumericParse::kOverflow:
          return sql_error(sqlstate::kNumericOutOfRange, "value overflows numeric format");
        case NumericParse::kInvalid:
          break;
      }
      return bad_input(type, raw);
    }
    case Type::kTimestamptz:
    case Type::kTimestamp:
    case Type::kDate:
      return parse_datetime(type, raw);
    case Type::kInterval:
      return parse_interval(raw);
    case Type::kJsonb:
      return jsonb_from_text(raw);
    case Type::kBytea:
      return parse_bytea(raw);
    case Type::kText:
      return Value::text(std::string(raw));
    case Type::kUnknown:
      return Value::text(std::string(raw), Type::kUnknown);
  }
  return bad_input(type, raw);
}

__int128 interval_span(const Value& v) {
  return (static_cast<__int128>(v.months) * 30 + v.days) * kMicrosPerDay + v.i;
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
    case Type::kTimestamp:
    case Type::kDate:
      return cmp(a.i, b.i);
    case Type::kInterval:
      // PostgreSQL compares intervals as one span with 30-day months and 24-hour days.
      return cmp(interval_span(a), interval_span(b));
    case Type::kFloat4:
    case Type::kFloat8:
      // PostgreSQL orders NaN above every other value and equal to itself.
      if (std::isnan(a.f) || std::isnan(b.f)) return cmp(std::isnan(a.f), std::isnan(b.f));
      return cmp(a.f, b.f);
    case Type::kNumeric:
      return numeric_compare(a.n, b.n);
    case Type::kJsonb:
      return jsonb_compare(a, b);
    case Type::kText:
    case Type::kUnknown:
    case Type::kBytea:
      return cmp(a.s.compare(b.s), 0);
  }
  return 0;
}

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
      numeric_serialize(out, v.n);
      break;
    case Type::kInterval:
      append_raw(out, v.months);
      append_raw(out, v.days);
      append_raw(out, v.i);
      break;
    case Type::kText:
    case Type::kUnknown:
    case Type::kJsonb:
    case Type::kBytea:
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
  if (!read_raw(in, type) || !read_raw(in, null) || type > static_cast<uint8_t>(Type::kBytea))
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
    case Type::kNumeric:
      return numeric_deserialize(in, v.n);
    case Type::kInterval:
      return read_raw(in, v.months) && read_raw(in, v.days) && read_raw(in, v.i);
    case Type::kText:
    case Type::kUnknown:
    case Type::kJsonb:
    case Type::kBytea: {
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

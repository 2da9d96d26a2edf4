#include "sql/expr.h"

#include "sql/builtins.h"
#include "sql/key_codec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>

#include "common/raw_bytes.h"
#include "common/stack_guard.h"

namespace eddy::sql {

namespace {

SqlError out_of_range(Type type, int location) {
  const char* msg = type == Type::kInt2   ? "smallint out of range"
                    : type == Type::kInt4 ? "integer out of range"
                                          : "bigint out of range";
  return sql_error(sqlstate::kNumericOutOfRange, msg, location);
}

SqlError numeric_overflow(int location) {
  return sql_error(sqlstate::kNumericOutOfRange, "value overflows numeric format", location);
}

SqlError division_by_zero(int location) {
  return sql_error(sqlstate::kDivisionByZero, "division by zero", location);
}

SqlResult<Value> make_int(Type type, __int128 v, int location) {
  const __int128 lo = type == Type::kInt2   ? std::numeric_limits<int16_t>::min()
                      : type == Type::kInt4 ? std::numeric_limits<int32_t>::min()
                                            : std::numeric_limits<int64_t>::min();
  const __int128 hi = type == Type::kInt2   ? std::numeric_limits<int16_t>::max()
                      : type == Type::kInt4 ? std::numeric_limits<int32_t>::max()
                                            : std::numeric_limits<int64_t>::max();
  if (v < lo || v > hi) return out_of_range(type, location);
  return Value::integer(type, static_cast<int64_t>(v));
}

SqlError float_underflow(int location) {
  return sql_error(sqlstate::kNumericOutOfRange, "value out of range: underflow", location);
}

SqlResult<Value> make_float(Type type, double v, bool inputs_finite, int location) {
  if (type == Type::kFloat4) {
    // Overflow is what rounds to infinity: 3.4028235e38 is above FLT_MAX but rounds to it.
    const float f = static_cast<float>(v);
    if (inputs_finite && std::isfinite(v) && std::isinf(f))
      return sql_error(sqlstate::kNumericOutOfRange, "value out of range: overflow", location);
    v = f;
  }
  if (inputs_finite && std::isinf(v))
    return sql_error(sqlstate::kNumericOutOfRange, "value out of range: overflow", location);
  return Value::floating(type, v);
}

SqlResult<Value> numeric_value(NumericResult r, int location) {
  switch (r.error) {
    case NumericError::kNone:
      break;
    case NumericError::kOverflow:
      return numeric_overflow(location);
    case NumericError::kDivisionByZero:
      return division_by_zero(location);
    case NumericError::kSqrtOfNegative:
      return sql_error(sqlstate::kInvalidArgumentForPower,
                       "cannot take square root of a negative number", location);
    case NumericError::kLogOfZero:
      return sql_error(sqlstate::kInvalidArgumentForLog, "cannot take logarithm of zero", location);
    case NumericError::kLogOfNegative:
      return sql_error(sqlstate::kInvalidArgumentForLog,
                       "cannot take logarithm of a negative number", location);
    case NumericError::kZeroToNegativePower:
      return sql_error(sqlstate::kInvalidArgumentForPower,
                       "zero raised to a negative power is undefined", location);
    case NumericError::kComplexPower:
      return sql_error(sqlstate::kInvalidArgumentForPower,
                       "a negative number raised to a non-integer power yields a complex result",
                       location);
  }
  return Value::numeric(std::move(r.value));
}

enum class Arith { kAdd, kSub, kMul, kDiv, kMod };

SqlResult<Value> arithmetic(Arith op, const Expr& call, const Value& a, const Value& b) {
  const int loc = call.location;
  const Type type = call.type;
  if (is_integer(type)) {
    __int128 x = a.i, y = b.i;
    switch (op) {
      case Arith::kAdd:
        return make_int(type, x + y, loc);
      case Arith::kSub:
        return make_int(type, x - y, loc);
      case Arith::kMul:
        return make_int(type, x * y, loc);
      case Arith::kDiv:
        if (y == 0) return division_by_zero(loc);
        return make_int(type, x / y, loc);
      case Arith::kMod:
        if (y == 0) return division_by_zero(loc);
        return make_int(type, x % y, loc);
    }
  }
  if (is_float(type)) {
    const bool finite = std::isfinite(a.f) && std::isfinite(b.f);
    switch (op) {
      case Arith::kAdd:
        return make_float(type, a.f + b.f, finite, loc);
      case Arith::kSub:
        return make_float(type, a.f - b.f, finite, loc);
      case Arith::kMul: {
        SQL_ASSIGN(Value product, make_float(type, a.f * b.f, finite, loc));
        // Two non-zero factors whose product rounds to 0 underflow, as PostgreSQL reports.
        if (product.f == 0 && a.f != 0 && b.f != 0) return float_underflow(loc);
        return product;
      }
      case Arith::kDiv: {
        if (b.f == 0 && !std::isnan(a.f)) return division_by_zero(loc);  // NaN / 0 is NaN
        SQL_ASSIGN(Value quotient, make_float(type, a.f / b.f, finite, loc));
        if (quotient.f == 0 && a.f != 0 && !std::isinf(b.f)) return float_underflow(loc);
        return quotient;
      }
      case Arith::kMod:
        if (b.f == 0) return division_by_zero(loc);
        return make_float(type, std::fmod(a.f, b.f), finite, loc);
    }
  }
  switch (op) {
    case Arith::kAdd:
      return numeric_value(numeric_add(a.n, b.n), loc);
    case Arith::kSub:
      return numeric_value(numeric_sub(a.n, b.n), loc);
    case Arith::kMul:
      return numeric_value(numeric_mul(a.n, b.n), loc);
    case Arith::kDiv:
      return numeric_value(numeric_div(a.n, b.n), loc);
    case Arith::kMod:
      return numeric_value(numeric_mod(a.n, b.n), loc);
  }
  return sql_error(sqlstate::kInternalError, "bad arithmetic", loc);
}

SqlResult<Value> op_add(const Expr& c, std::vector<Value>& a) {
  if (c.type == Type::kText) return Value::text(to_text(a[0]) + to_text(a[1]));
  return arithmetic(Arith::kAdd, c, a[0], a[1]);
}
SqlResult<Value> op_sub(const Expr& c, std::vector<Value>& a) {
  return arithmetic(Arith::kSub, c, a[0], a[1]);
}
SqlResult<Value> op_mul(const Expr& c, std::vector<Value>& a) {
  return arithmetic(Arith::kMul, c, a[0], a[1]);
}
SqlResult<Value> op_div(const Expr& c, std::vector<Value>& a) {
  return arithmetic(Arith::kDiv, c, a[0], a[1]);
}
SqlResult<Value> op_mod(const Expr& c, std::vector<Value>& a) {
  return arithmetic(Arith::kMod, c, a[0], a[1]);
}
SqlResult<Value> op_neg(const Expr& c, std::vector<Value>& a) {
  const Value& v = a[0];
  if (is_integer(c.type)) return make_int(c.type, -static_cast<__int128>(v.i), c.location);
  if (c.type == Type::kNumeric) return Value::numeric(numeric_negate(v.n));
  return Value::floating(c.type, -v.f);
}
SqlResult<Value> op_identity(const Expr&, std::vector<Value>& a) {
  return a[0];
}
SqlResult<Value> op_concat(const Expr&, std::vector<Value>& a) {
  return Value::text(a[0].s + a[1].s);
}
SqlResult<Value> op_pow(const Expr& c, std::vector<Value>& a) {
  const double x = a[0].f, y = a[1].f;
  if (x == 0 && y < 0)
    return sql_error(sqlstate::kInvalidArgumentForPower,
                     "zero raised to a negative power is undefined", c.location);
  if (x < 0 && std::floor(y) != y)
    return sql_error(sqlstate::kInvalidArgumentForPower,
                     "a negative number raised to a non-integer power yields a complex result",
                     c.location);
  const double r = std::pow(x, y);
  // A non-zero base whose finite power rounds to 0 underflows, as PostgreSQL reports.
  if (r == 0 && x != 0 && std::isfinite(x) && std::isfinite(y)) return float_underflow(c.location);
  return make_float(Type::kFloat8, r, std::isfinite(x) && std::isfinite(y), c.location);
}

template <typename Pred>
SqlResult<Value> compare_with(std::vector<Value>& a, Pred pred) {
  return Value::boolean(pred(compare_values(a[0], a[1])));
}
SqlResult<Value> op_eq(const Expr&, std::vector<Value>& a) {
  return compare_with(a, [](int c) { return c == 0; });
}
SqlResult<Value> op_ne(const Expr&, std::vector<Value>& a) {
  return compare_with(a, [](int c) { return c != 0; });
}
// IS [NOT] DISTINCT FROM: equality in which NULL equals NULL and differs from any value.
// Not strict: it sees its NULL arguments.
SqlResult<Value> op_is_distinct(const Expr&, std::vector<Value>& a) {
  const bool distinct = a[0].null != a[1].null || (!a[0].null && compare_values(a[0], a[1]) != 0);
  return Value::boolean(distinct);
}
SqlResult<Value> op_is_not_distinct(const Expr& c, std::vector<Value>& a) {
  SQL_ASSIGN(Value distinct, op_is_distinct(c, a));
  return Value::boolean(!distinct.b);
}
SqlResult<Value> op_lt(const Expr&, std::vector<Value>& a) {
  return compare_with(a, [](int c) { return c < 0; });
}
SqlResult<Value> op_le(const Expr&, std::vector<Value>& a) {
  return compare_with(a, [](int c) { return c <= 0; });
}
SqlResult<Value> op_gt(const Expr&, std::vector<Value>& a) {
  return compare_with(a, [](int c) { return c > 0; });
}
SqlResult<Value> op_ge(const Expr&, std::vector<Value>& a) {
  return compare_with(a, [](int c) { return c >= 0; });
}

// UTF-8 aware helpers: PostgreSQL counts characters, not bytes.
std::vector<size_t> char_starts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  return starts;
}

std::string ascii_case(std::string s, bool upper) {
  for (char& ch : s)
    ch = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(ch))
                                 : std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

SqlResult<Value> fn_lower(const Expr&, std::vector<Value>& a) {
  return Value::text(ascii_case(a[0].s, false));
}
SqlResult<Value> fn_upper(const Expr&, std::vector<Value>& a) {
  return Value::text(ascii_case(a[0].s, true));
}
SqlResult<Value> fn_length(const Expr&, std::vector<Value>& a) {
  return Value::integer(Type::kInt4, static_cast<int64_t>(char_starts(a[0].s).size()));
}
SqlResult<Value> fn_substr(const Expr& c, std::vector<Value>& a) {
  const std::string& s = a[0].s;
  const auto starts = char_starts(s);
  const int64_t n = static_cast<int64_t>(starts.size());
  int64_t from = a[1].i;  // 1-based, may be <= 0
  int64_t end = n + 1;    // exclusive, 1-based
  if (a.size() > 2) {
    if (a[2].i < 0) return sql_error("22011", "negative substring length not allowed", c.location);
    end = std::min(end, from + a[2].i);
  }
  from = std::max<int64_t>(from, 1);
  if (from >= end || from > n) return Value::text("");
  const size_t b = starts[static_cast<size_t>(from - 1)];
  const size_t e = end > n ? s.size() : starts[static_cast<size_t>(end - 1)];
  return Value::text(s.substr(b, e - b));
}
SqlResult<Value> fn_concat(const Expr&, std::vector<Value>& a) {
  std::string out;
  for (const auto& v : a) {
    if (v.null) continue;
    out += v.type == Type::kBool ? (v.b ? "t" : "f") : to_text(v);
  }
  return Value::text(std::move(out));
}
SqlResult<Value> fn_replace(const Expr&, std::vector<Value>& a) {
  const std::string& from = a[1].s;
  std::string s = a[0].s;
  if (from.empty()) return Value::text(s);
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out += s.substr(pos, hit - pos) + a[2].s;
  }
  out += s.substr(pos);
  return Value::text(std::move(out));
}
// Bytes in the UTF-8 character that starts with `lead` (1 for a stray continuation byte).
size_t utf8_char_bytes(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xe) return 3;
  if ((lead >> 3) == 0x1e) return 4;
  return 1;
}
// Trims whole characters of the set, never bytes of one: trim('ß', 'é') keeps 'ß', though both
// start with the byte 0xc3 (PostgreSQL in UTF-8).
SqlResult<Value> trim_impl(std::vector<Value>& a, bool left, bool right) {
  const std::string_view chars = a.size() > 1 ? std::string_view(a[1].s) : " ";
  std::vector<std::string_view> set;
  for (size_t i = 0; i < chars.size();) {
    const size_t n =
        std::min(utf8_char_bytes(static_cast<unsigned char>(chars[i])), chars.size() - i);
    set.push_back(chars.substr(i, n));
    i += n;
  }
  const auto in_set = [&set](std::string_view ch) {
    return std::find(set.begin(), set.end(), ch) != set.end();
  };
  const std::string_view s = a[0].s;
  size_t b = 0, e = s.size();
  while (left && b < e) {
    const size_t n = std::min(utf8_char_bytes(static_cast<unsigned char>(s[b])), e - b);
    if (!in_set(s.substr(b, n))) break;
    b += n;
  }
  while (right && e > b) {
    size_t start = e - 1;  // back over continuation bytes to the character's first byte
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xc0) == 0x80 && e - start < 4)
      --start;
    if (!in_set(s.substr(start, e - start))) break;
    e = start;
  }
  return Value::text(std::string(s.substr(b, e - b)));
}
SqlResult<Value> fn_btrim(const Expr&, std::vector<Value>& a) {
  return trim_impl(a, true, true);
}
SqlResult<Value> fn_ltrim(const Expr&, std::vector<Value>& a) {
  return trim_impl(a, true, false);
}
SqlResult<Value> fn_rtrim(const Expr&, std::vector<Value>& a) {
  return trim_impl(a, false, true);
}
SqlResult<Value> fn_abs(const Expr& c, std::vector<Value>& a) {
  const Value& v = a[0];
  if (is_integer(c.type))
    return make_int(c.type, v.i < 0 ? -static_cast<__int128>(v.i) : v.i, c.location);
  if (c.type == Type::kNumeric) return Value::numeric(numeric_abs(v.n));
  return Value::floating(c.type, std::fabs(v.f));
}
SqlResult<Value> fn_round(const Expr& c, std::vector<Value>& a) {
  if (c.type == Type::kNumeric)
    return numeric_value(numeric_round(a[0].n, a.size() > 1 ? a[1].i : 0), c.location);
  return Value::floating(Type::kFloat8, std::nearbyint(a[0].f));
}
// floor (direction -1) and ceil (+1): numeric to an integral numeric, floats via <cmath>.
SqlResult<Value> round_toward(const Expr& c, const Value& v, int direction) {
  if (c.type != Type::kNumeric) {
    return Value::floating(Type::kFloat8, direction < 0 ? std::floor(v.f) : std::ceil(v.f));
  }
  return numeric_value(direction < 0 ? numeric_floor(v.n) : numeric_ceil(v.n), c.location);
}
SqlResult<Value> fn_floor(const Expr& c, std::vector<Value>& a) {
  return round_toward(c, a[0], -1);
}
SqlResult<Value> fn_ceil(const Expr& c, std::vector<Value>& a) {
  return round_toward(c, a[0], 1);
}
// sqrt, exp, ln, log10, log (one argument: base 10; two: base first), power and ^ of numeric.
SqlResult<Value> fn_numeric_math(const Expr& c, std::vector<Value>& a) {
  const std::string& name = c.name;
  NumericResult r;
  if (name == "sqrt") {
    r = numeric_sqrt(a[0].n);
  } else if (name == "exp") {
    r = numeric_exp(a[0].n);
  } else if (name == "ln") {
    r = numeric_ln(a[0].n);
  } else if ((name == "log" || name == "log10") && a.size() == 1) {
    r = numeric_log(Numeric(10, 0), a[0].n);
  } else if (name == "log") {
    r = numeric_log(a[0].n, a[1].n);
  } else {
    r = numeric_power(a[0].n, a[1].n);
  }
  return numeric_value(std::move(r), c.location);
}

SqlResult<Value> fn_sqrt(const Expr& c, std::vector<Value>& a) {
  if (a[0].f < 0)
    return sql_error(sqlstate::kInvalidArgumentForPower,
                     "cannot take square root of a negative number", c.location);
  return Value::floating(Type::kFloat8, std::sqrt(a[0].f));
}

// A pattern match for LIKE: % any run, _ one character, backslash escapes.
bool like_match(const char* s, const char* se, const char* p, const char* pe, bool fold) {
  auto eq = [fold](char x, char y) {
    return fold ? std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y))
                : x == y;
  };
  while (p < pe) {
    if (*p == '%') {
      while (p < pe && *p == '%')
        ++p;
      if (p == pe) return true;
      for (const char* t = s; t <= se; ++t)
        if (like_match(t, se, p, pe, fold)) return true;
      return false;
    }
    if (s == se) return false;
    if (*p == '_') {
      // one UTF-8 character
      ++s;
      while (s < se && (static_cast<unsigned char>(*s) & 0xC0) == 0x80)
        ++s;
      ++p;
      continue;
    }
    if (*p == '\\' && p + 1 < pe) ++p;
    if (!eq(*s, *p)) return false;
    ++s;
    ++p;
  }
  return s == se;
}

}  // namespace

SqlResult<Numeric> numeric_typmod(const Numeric& n, int precision, int scale, int location) {
  if (n.is_nan()) return n;
  SqlError overflow = sql_error(sqlstate::kNumericOutOfRange, "numeric field overflow", location);
  const std::string field =
      "A field with precision " + std::to_string(precision) + ", scale " + std::to_string(scale);
  if (n.is_infinite()) {
    if (precision < 0) return n;
    overflow.detail = field + " cannot hold an infinite value.";
    return overflow;
  }
  NumericResult r = numeric_round(n, scale);
  // A negative scale leaves the rounded value at scale 0, so its digits may be p - s.
  if (r.ok() &&
      (precision < 0 || numeric_unscaled_digit_count(r.value) <= precision - std::min(scale, 0)))
    return std::move(r.value);
  if (precision >= 0) {
    const int max_digits = precision - scale;
    overflow.detail = field + " must round to an absolute value less than " +
                      (max_digits != 0 ? "10^" + std::to_string(max_digits) : "1") + ".";
  }
  return overflow;
}

SqlResult<Numeric> numeric_divide(const Numeric& a, const Numeric& b, int location) {
  NumericResult r = numeric_div(a, b);
  if (r.error == NumericError::kDivisionByZero) return division_by_zero(location);
  if (r.error == NumericError::kOverflow) return numeric_overflow(location);
  return std::move(r.value);
}

std::optional<Type> common_type(Type a, Type b) {
  if (a == b) return a == Type::kUnknown ? Type::kText : a;
  if (a == Type::kUnknown) return b;
  if (b == Type::kUnknown) return a;
  auto datetime_rank = [](Type t) {
    return t == Type::kDate ? 1 : t == Type::kTimestamp ? 2 : t == Type::kTimestamptz ? 3 : 0;
  };
  if (datetime_rank(a) > 0 && datetime_rank(b) > 0)
    return datetime_rank(a) > datetime_rank(b) ? a : b;
  if (is_numeric_category(a) && is_numeric_category(b)) {
    const bool fa = is_float(a);
    const bool fb = is_float(b);
    if (fa || fb) return Type::kFloat8;
    if (a == Type::kNumeric || b == Type::kNumeric) return Type::kNumeric;
    return std::max(a, b);  // int2 < int4 < int8 in the enum
  }
  return std::nullopt;
}

bool can_cast(Type from, Type to, CastContext context) {
  if (from == to || from == Type::kUnknown) return true;
  if (is_numeric_category(from) && is_numeric_category(to)) {
    if (context != CastContext::kImplicit) return true;
    return common_type(from, to) == to;
  }
  if (from == Type::kDate && (to == Type::kTimestamp || to == Type::kTimestamptz)) return true;
  if (from == Type::kTimestamp && to == Type::kTimestamptz) return true;
  if ((from == Type::kTimestamptz && (to == Type::kTimestamp || to == Type::kDate)) ||
      (from == Type::kTimestamp && to == Type::kDate))
    return context != CastContext::kImplicit;
  if (from == Type::kJsonb && (to == Type::kBool || is_numeric_category(to)))
    return context == CastContext::kExplicit;
  if (to == Type::kText) return context != CastContext::kImplicit;
  if (from == Type::kText) return context == CastContext::kExplicit;
  if ((from == Type::kBool && to == Type::kInt4) || (from == Type::kInt4 && to == Type::kBool))
    return context == CastContext::kExplicit;
  return false;
}

SqlResult<Value> cast_value(const Value& v, Type target, int location) {
  if (v.null) return Value::null_of(target);
  if (v.type == target) return v;
  if (v.type == Type::kUnknown || v.type == Type::kText) {
    auto r = from_text(target, v.s);
    if (!r.ok()) r.error().location = location;
    return r;
  }
  if (target == Type::kText || target == Type::kUnknown) {
    if (v.type == Type::kBool) return Value::text(v.b ? "true" : "false", target);
    return Value::text(to_text(v), target);
  }
  const bool infinite = v.i == kTimestampInfinity || v.i == kTimestampMinusInfinity;
  if (v.type == Type::kDate && (target == Type::kTimestamp || target == Type::kTimestamptz)) {
    if (infinite) return Value::integer(target, v.i);
    if (v.i >= kTimestampInfinity / kMicrosPerDay || !timestamp_in_range(v.i * kMicrosPerDay))
      return sql_error(sqlstate::kDatetimeFieldOverflow, "date out of range for timestamp",
                       location);
    return Value::integer(target, v.i * kMicrosPerDay);
  }
  if ((v.type == Type::kTimestamp || v.type == Type::kTimestamptz) &&
      (target == Type::kTimestamp || target == Type::kTimestamptz))
    return Value::integer(target, v.i);  // the session time zone is UTC
  if ((v.type == Type::kTimestamp || v.type == Type::kTimestamptz) && target == Type::kDate)
    return Value::date(infinite ? v.i : floor_div(v.i, kMicrosPerDay));
  if (v.type == Type::kJsonb && (target == Type::kBool || is_numeric_category(target)))
    return jsonb_cast(v, target, location);
  if (target == Type::kBool && is_integer(v.type)) return Value::boolean(v.i != 0);
  if (v.type == Type::kBool && is_integer(target)) return Value::integer(target, v.b ? 1 : 0);
  if (is_integer(v.type)) {
    if (is_integer(target)) return make_int(target, v.i, location);
    if (target == Type::kNumeric) return Value::numeric(Numeric(v.i, 0));
    if (target == Type::kFloat4) return Value::floating(target, static_cast<float>(v.i));
    if (target == Type::kFloat8) return Value::floating(target, static_cast<double>(v.i));
  }
  if (is_float(v.type)) {
    if (is_integer(target)) {
      const double r = std::nearbyint(v.f);
      if (!std::isfinite(r) || r < -9.3e18 || r > 9.3e18) return out_of_range(target, location);
      return make_int(target, static_cast<__int128>(r), location);
    }
    if (target == Type::kNumeric)  // the 15 (float4: 6) significant digits PostgreSQL keeps
      return Value::numeric(numeric_from_double(v.f, v.type == Type::kFloat4 ? 6 : 15));
    return make_float(target, v.f, std::isfinite(v.f), location);
  }
  if (v.type == Type::kNumeric) {
    if (is_integer(target)) {
      if (!v.n.is_finite())
        return sql_error(sqlstate::kFeatureNotSupported,
                         std::string("cannot convert ") + (v.n.is_nan() ? "NaN" : "infinity") +
                             " to " + type_name(target),
                         location);
      auto r = numeric_to_int128(v.n);
      if (!r) return out_of_range(target, location);
      return make_int(target, *r, location);
    }
    if (is_float(target)) {
      // As PostgreSQL, through the text: a finite value the float cannot hold, too large or so
      // small it would read as 0, is out of range.
      const bool single = target == Type::kFloat4;
      const double rounded =
          single && v.n.is_finite()
              ? static_cast<double>(std::strtof(numeric_to_string(v.n).c_str(), nullptr))
              : numeric_to_double(v.n);
      if (v.n.is_finite() && (std::isinf(rounded) || (rounded == 0 && !v.n.is_zero())))
        return sql_error(sqlstate::kNumericOutOfRange,
                         "\"" + numeric_to_string(v.n) + "\" is out of range for type " +
                             (single ? "real" : "double precision"),
                         location);
      return Value::floating(target, rounded);
    }
  }
  return sql_error(
      sqlstate::kCannotCoerce,
      std::string("cannot cast type ") + type_name(v.type) + " to " + type_name(target), location);
}

SqlResult<Expr> coerce(Expr expr, Type target, CastContext context) {
  if (expr.type == target) return expr;
  if (!can_cast(expr.type, target, context)) {
    if (context == CastContext::kExplicit)
      return sql_error(
          sqlstate::kCannotCoerce,
          std::string("cannot cast type ") + type_name(expr.type) + " to " + type_name(target),
          expr.location);
    return sql_error(sqlstate::kDatatypeMismatch,
                     std::string("expression is of type ") + type_name(expr.type) +
                         " but is expected to be " + type_name(target),
                     expr.location);
  }
  if (expr.kind == ExprKind::kConst) {
    auto v = cast_value(expr.value, target, expr.location);
    if (v.ok()) {
      expr.value = std::move(*v);
      expr.type = target;
      return expr;
    }
    // A literal of unknown type takes the target type as it is read, so bad text fails here
    // (as in PostgreSQL's parser). A typed constant's cast is a function PostgreSQL's planner
    // folds, and not in a branch it removes: left unfolded, the error waits for the binder's
    // check of what stays reachable (raise_deferred_fold_errors) or for run time.
    if (expr.type == Type::kUnknown || v.error().sqlstate == sqlstate::kCannotCoerce)
      return std::move(v.error());
  } else if (expr.kind == ExprKind::kParam) {
    // Parameters carry their (resolved) type; the binder fixed it before coercing.
    if (expr.type == Type::kUnknown) {
      expr.type = target;
      return expr;
    }
  }
  Expr cast;
  cast.kind = ExprKind::kCast;
  cast.type = target;
  cast.location = expr.location;
  cast.args.push_back(std::move(expr));
  return cast;
}

std::optional<Signature> resolve_operator(const std::string& op, std::optional<Type> left,
                                          Type right) {
  if (op == kIsDistinctFrom || op == kIsNotDistinctFrom) {
    // The types of `=`, with NULL as a value.
    auto eq = resolve_operator("=", left, right);
    if (!eq || !left) return std::nullopt;
    eq->fn = op == kIsDistinctFrom ? op_is_distinct : op_is_not_distinct;
    eq->strict = false;
    return eq;
  }
  if (auto time = resolve_time_operator(op, left, right)) return time;
  if (auto json = resolve_json_operator(op, left, right)) return json;
  if (auto str = resolve_string_operator(op, left, right)) return str;
  if (!left) {
    Type t = right == Type::kUnknown ? Type::kNumeric : right;
    if (!is_numeric_category(t)) return std::nullopt;
    if (op == "-") return Signature{{t}, t, op_neg};
    if (op == "+") return Signature{{t}, t, op_identity};
    return std::nullopt;
  }
  const Type l = *left;
  if (op == "||") {
    if (l == Type::kText || right == Type::kText || l == Type::kUnknown || right == Type::kUnknown)
      return Signature{{Type::kText, Type::kText}, Type::kText, op_concat};
    return std::nullopt;
  }
  auto common = common_type(l, right);
  if (!common) return std::nullopt;
  const Type t = *common;
  static const std::pair<const char*, ScalarFn> kCompare[] = {
      {"=", op_eq},  {"<>", op_ne}, {"!=", op_ne}, {"<", op_lt},
      {"<=", op_le}, {">", op_gt},  {">=", op_ge}};
  for (const auto& [name, fn] : kCompare) {
    if (op == name) return Signature{{t, t}, Type::kBool, fn};
  }
  if (op == "^") {
    if (!is_numeric_category(t)) return std::nullopt;
    // numeric ^ numeric when a side is numeric and neither is a float (PostgreSQL's choice).
    if (t == Type::kNumeric)
      return Signature{{Type::kNumeric, Type::kNumeric}, Type::kNumeric, fn_numeric_math};
    return Signature{{Type::kFloat8, Type::kFloat8}, Type::kFloat8, op_pow};
  }
  static const std::pair<const char*, ScalarFn> kArith[] = {
      {"+", op_add}, {"-", op_sub}, {"*", op_mul}, {"/", op_div}, {"%", op_mod}};
  for (const auto& [name, fn] : kArith) {
    if (op != name) continue;
    if (!is_numeric_category(t)) return std::nullopt;
    if (op == "%" && is_float(t)) return std::nullopt;
    return Signature{{t, t}, t, fn};
  }
  return std::nullopt;
}

std::optional<Signature> resolve_function(const std::string& name, const std::vector<Type>& args,
                                          bool* known_name) {
  *known_name = true;
  // A family that knows the name but not this many arguments leaves the call to the others.
  auto fits = [&](const std::optional<Signature>& sig) {
    return sig && (sig->variadic || sig->params.size() == args.size());
  };
  if (auto time = resolve_time_function(name, args); fits(time)) return time;
  if (auto json = resolve_json_function(name, args); fits(json)) return json;
  if (auto str = resolve_string_function(name, args); fits(str)) return str;
  const size_t n = args.size();
  auto text_fn = [&](size_t min, size_t max, ScalarFn fn, Type result) -> std::optional<Signature> {
    if (n < min || n > max) return std::nullopt;
    for (Type t : args)
      if (t != Type::kText && t != Type::kUnknown) return std::nullopt;
    return Signature{std::vector<Type>(n, Type::kText), result, fn};
  };
  // Math functions follow PostgreSQL's choice for integers: the float8 variant.
  auto math_type = [&](Type t) -> std::optional<Type> {
    if (t == Type::kNumeric) return Type::kNumeric;
    if (is_numeric_category(t) || t == Type::kUnknown) return Type::kFloat8;
    return std::nullopt;
  };
  if (name == "lower") return text_fn(1, 1, fn_lower, Type::kText);
  if (name == "upper") return text_fn(1, 1, fn_upper, Type::kText);
  if (name == "length" || name == "char_length" || name == "character_length")
    return text_fn(1, 1, fn_length, Type::kInt4);
  if (name == "replace") return text_fn(3, 3, fn_replace, Type::kText);
  if (name == "btrim") return text_fn(1, 2, fn_btrim, Type::kText);
  if (name == "ltrim") return text_fn(1, 2, fn_ltrim, Type::kText);
  if (name == "rtrim") return text_fn(1, 2, fn_rtrim, Type::kText);
  if (name == "substr" || name == "substring") {
    if (n < 2 || n > 3) return std::nullopt;
    if (args[0] != Type::kText && args[0] != Type::kUnknown) return std::nullopt;
    for (size_t i = 1; i < n; ++i)
      if (!is_integer(args[i]) && args[i] != Type::kUnknown) return std::nullopt;
    std::vector<Type> params{Type::kText, Type::kInt8};
    if (n == 3) params.push_back(Type::kInt8);
    return Signature{params, Type::kText, fn_substr};
  }
  if (name == "concat") {
    std::vector<Type> params;
    for (Type t : args)
      params.push_back(t == Type::kUnknown ? Type::kText : t);
    return Signature{params, Type::kText, fn_concat, false};
  }
  if (name == "abs") {
    if (n != 1) return std::nullopt;
    Type t = args[0] == Type::kUnknown ? Type::kFloat8 : args[0];
    if (!is_numeric_category(t)) return std::nullopt;
    return Signature{{t}, t, fn_abs};
  }
  if (name == "round") {
    if (n == 2) {
      if (!is_integer(args[1]) && args[1] != Type::kUnknown) return std::nullopt;
      if (!math_type(args[0])) return std::nullopt;
      return Signature{{Type::kNumeric, Type::kInt8}, Type::kNumeric, fn_round};
    }
    if (n != 1) return std::nullopt;
    auto t = math_type(args[0]);
    if (!t) return std::nullopt;
    return Signature{{*t}, *t, fn_round};
  }
  if (name == "floor" || name == "ceil" || name == "ceiling") {
    if (n != 1) return std::nullopt;
    auto t = math_type(args[0]);
    if (!t) return std::nullopt;
    return Signature{{*t}, *t, name == "floor" ? fn_floor : fn_ceil};
  }
  // The numeric variants for numeric input (computed in numeric, as PostgreSQL does); the
  // float8 ones for integers, floats and unknown literals. log(b, x) exists only for numeric.
  const bool one_numeric = n == 1 && args[0] == Type::kNumeric;
  if (one_numeric &&
      (name == "sqrt" || name == "exp" || name == "ln" || name == "log" || name == "log10"))
    return Signature{{Type::kNumeric}, Type::kNumeric, fn_numeric_math};
  if (name == "log" && n == 2) {
    if (!math_type(args[0]) || !math_type(args[1])) return std::nullopt;
    return Signature{{Type::kNumeric, Type::kNumeric}, Type::kNumeric, fn_numeric_math};
  }
  if (name == "sqrt") {
    if (n != 1 || !math_type(args[0])) return std::nullopt;
    return Signature{{Type::kFloat8}, Type::kFloat8, fn_sqrt};
  }
  if (name == "power" || name == "pow") {
    if (n != 2 || !math_type(args[0]) || !math_type(args[1])) return std::nullopt;
    const bool any_float = is_float(args[0]) || is_float(args[1]);
    if (!any_float && (args[0] == Type::kNumeric || args[1] == Type::kNumeric))
      return Signature{{Type::kNumeric, Type::kNumeric}, Type::kNumeric, fn_numeric_math};
    return Signature{{Type::kFloat8, Type::kFloat8}, Type::kFloat8, op_pow};
  }
  if (name == "mod") {
    if (n != 2) return std::nullopt;
    auto t = common_type(args[0], args[1]);
    if (!t || *t == Type::kText) t = Type::kNumeric;
    if (!is_integer(*t) && *t != Type::kNumeric) return std::nullopt;
    return Signature{{*t, *t}, *t, op_mod};
  }
  *known_name = false;
  return std::nullopt;
}

std::optional<AggKind> aggregate_kind(const std::string& name) {
  if (name == "count") return AggKind::kCount;
  if (name == "sum") return AggKind::kSum;
  if (name == "avg") return AggKind::kAvg;
  if (name == "min") return AggKind::kMin;
  if (name == "max") return AggKind::kMax;
  if (name == "bool_and" || name == "every") return AggKind::kBoolAnd;
  if (name == "bool_or") return AggKind::kBoolOr;
  if (name == "string_agg") return AggKind::kStringAgg;
  return std::nullopt;
}

std::optional<Type> aggregate_result(AggKind kind, Type t) {
  switch (kind) {
    case AggKind::kCountStar:
    case AggKind::kCount:
      return Type::kInt8;
    case AggKind::kSum:
      if (t == Type::kInt2 || t == Type::kInt4) return Type::kInt8;
      if (t == Type::kInt8 || t == Type::kNumeric) return Type::kNumeric;
      if (is_float(t) || t == Type::kInterval) return t;
      return std::nullopt;
    case AggKind::kAvg:
      if (is_integer(t) || t == Type::kNumeric) return Type::kNumeric;
      if (is_float(t)) return Type::kFloat8;
      if (t == Type::kInterval) return t;
      return std::nullopt;
    case AggKind::kMin:
    case AggKind::kMax:
      return t == Type::kUnknown ? Type::kText : t;
    case AggKind::kBoolAnd:
    case AggKind::kBoolOr:
      if (t == Type::kBool) return t;
      return std::nullopt;
    case AggKind::kStringAgg:
      if (t == Type::kText || t == Type::kBytea) return t;
      return std::nullopt;
  }
  return std::nullopt;
}

// A string_agg result is refused beyond this rather than growing without bound.
constexpr size_t kMaxAggregateBytes = 256u << 20;

Accumulator::Accumulator(const AggSpec& spec) : spec_(&spec) {}

// A value whose addition failed is not counted (a view skips the row and goes on, so avg must not
// divide by it).
SqlError Accumulator::undo_count(bool was_first, SqlError error) {
  --count_;
  if (was_first) any_ = false;
  return error;
}

SqlStatus Accumulator::add(const Value& v) {
  if (spec_->kind == AggKind::kCountStar) {
    ++count_;
    return Unit{};
  }
  if (v.null) return Unit{};
  if (spec_->distinct) {
    std::string key;
    append_key(key, v);  // equal values count once: 1.0 and 1.00, '1 mon' and '30 days'
    if (!distinct_seen_.insert(std::move(key)).second) return Unit{};
  }
  ++count_;
  const bool first = !any_;
  any_ = true;
  const int loc = spec_->arg.location;
  switch (spec_->kind) {
    case AggKind::kCountStar:
    case AggKind::kCount:
      break;
    case AggKind::kSum:
    case AggKind::kAvg:
      if (is_integer(v.type)) {
        int_sum_ += v.i;
      } else if (v.type == Type::kInterval) {
        // The running interval sum lives in extreme_ (which sum and avg use for nothing else),
        // so it is serialized with the rest of the state. Months, days and time add apart.
        if (first) {
          extreme_ = v;
        } else {
          auto sum = add_intervals(extreme_, v, loc);
          if (!sum.ok()) return undo_count(first, std::move(sum.error()));
          extreme_ = std::move(*sum);
        }
      } else if (v.type == Type::kNumeric) {
        // NaN and the infinities sum as PostgreSQL's counts of them decide: NaN if any NaN or
        // both infinities, else the infinity.
        NumericResult sum = numeric_add(numeric_sum_, v.n);
        if (!sum.ok()) return undo_count(first, numeric_overflow(loc));
        numeric_sum_ = std::move(sum.value);
      } else {
        // Infinity among the inputs sums to Infinity (or NaN); only finite inputs whose sum
        // leaves the range overflow.
        // sum() starts from its first input, as PostgreSQL's (so -0 alone sums to -0); avg()
        // from 0.
        const bool from_first = first && spec_->kind == AggKind::kSum;
        const double sum = from_first ? v.f : float_sum_ + v.f;
        if (std::isinf(sum) && std::isfinite(float_sum_) && std::isfinite(v.f))
          float_overflow_ = true;
        if (spec_->kind == AggKind::kAvg) accumulate_squares(v.f, sum);
        float_sum_ = sum;
      }
      break;
    // Of equal values the later one wins, as in PostgreSQL (max(1.0, 1.00) is 1.00).
    case AggKind::kMin:
      if (first || compare_values(v, extreme_) <= 0) extreme_ = v;
      break;
    case AggKind::kMax:
      if (first || compare_values(v, extreme_) >= 0) extreme_ = v;
      break;
    case AggKind::kBoolAnd:
      extreme_ = Value::boolean(first ? v.b : (extreme_.b && v.b));
      break;
    case AggKind::kBoolOr:
      extreme_ = Value::boolean(first ? v.b : (extreme_.b || v.b));
      break;
    case AggKind::kStringAgg:
      if (first) {
        extreme_ = v;
      } else {
        if (extreme_.s.size() + spec_->delimiter.size() + v.s.size() > kMaxAggregateBytes)
          return sql_error("54000", "string_agg result exceeds 256 MiB", loc);
        extreme_.s += spec_->delimiter;
        extreme_.s += v.s;
      }
      break;
  }
  return Unit{};
}

// avg(float) keeps PostgreSQL's float8_accum state beside the sum: Sxx, the sum of squared
// deviations (in extreme_, which avg of floats uses for nothing else, so it is serialized with
// the rest), because PostgreSQL raises 22003 when finite inputs make it overflow. A state
// written before it existed reads as Sxx = 0.
void Accumulator::accumulate_squares(double x, double new_sum) {
  const auto n = static_cast<double>(count_), before = n - 1;
  double sxx = extreme_.null ? 0 : extreme_.f;
  if (before > 0) {
    const double tmp = x * n - new_sum;
    sxx += tmp * tmp / (n * before);
    if (std::isinf(new_sum) || std::isinf(sxx)) {
      if (!std::isinf(float_sum_) && !std::isinf(x)) float_overflow_ = true;
      sxx = std::numeric_limits<double>::quiet_NaN();
    }
  } else if (!std::isfinite(x)) {
    sxx = std::numeric_limits<double>::quiet_NaN();
  }
  extreme_ = Value::floating(Type::kFloat8, sxx);
}

// PostgreSQL's float8_combine for two partial states (count_ already holds both counts).
void Accumulator::combine_squares(const Accumulator& other) {
  const auto n1 = static_cast<double>(count_ - other.count_);
  const auto n2 = static_cast<double>(other.count_);
  const double sxx1 = extreme_.null ? 0 : extreme_.f;
  const double sxx2 = other.extreme_.null ? 0 : other.extreme_.f;
  const double tmp = float_sum_ / n1 - other.float_sum_ / n2;
  const double sxx = sxx1 + sxx2 + n1 * n2 * tmp * tmp / (n1 + n2);
  if (std::isinf(sxx) && !std::isinf(sxx1) && !std::isinf(sxx2)) float_overflow_ = true;
  extreme_ = Value::floating(Type::kFloat8, sxx);
}

SqlResult<Value> Accumulator::finish() const {
  const Type result = spec_->result;
  const int loc = spec_->arg.location;
  switch (spec_->kind) {
    case AggKind::kCountStar:
    case AggKind::kCount:
      return Value::integer(Type::kInt8, count_);
    case AggKind::kSum:
      if (!any_) return Value::null_of(result);
      if (result == Type::kInterval) return extreme_;
      if (result == Type::kInt8) return make_int(Type::kInt8, int_sum_, loc);
      if (result == Type::kNumeric) {
        if (spec_->arg.type == Type::kNumeric) return Value::numeric(numeric_sum_);
        return Value::numeric(Numeric(int_sum_, 0));
      }
      if (float_overflow_)
        return sql_error(sqlstate::kNumericOutOfRange, "value out of range: overflow", loc);
      // A finite double sum that a float4 result cannot hold overflows too.
      return make_float(result, float_sum_, std::isfinite(float_sum_), loc);
    case AggKind::kAvg: {
      if (!any_) return Value::null_of(result);
      if (result == Type::kInterval)
        return divide_interval(extreme_, static_cast<double>(count_), loc);
      if (result == Type::kFloat8) {
        if (float_overflow_)
          return sql_error(sqlstate::kNumericOutOfRange, "value out of range: overflow", loc);
        return Value::floating(result, float_sum_ / count_);
      }
      const Numeric sum = spec_->arg.type == Type::kNumeric ? numeric_sum_ : Numeric(int_sum_, 0);
      SQL_ASSIGN(Numeric q, numeric_divide(sum, Numeric(count_, 0), loc));
      return Value::numeric(q);
    }
    case AggKind::kMin:
    case AggKind::kMax:
    case AggKind::kBoolAnd:
    case AggKind::kBoolOr:
    case AggKind::kStringAgg:
      if (!any_) return Value::null_of(result);
      return extreme_;
  }
  return Value::null_of(result);
}

SqlStatus Accumulator::merge(const Accumulator& other) {
  if (!other.any_ && other.count_ == 0) return Unit{};
  const bool first = !any_;
  const int loc = spec_->arg.location;
  count_ += other.count_;
  if (!other.any_) return Unit{};
  any_ = true;
  switch (spec_->kind) {
    case AggKind::kCountStar:
    case AggKind::kCount:
      break;
    case AggKind::kSum:
    case AggKind::kAvg: {
      if (spec_->result == Type::kInterval) {
        if (first) {
          extreme_ = other.extreme_;
        } else {
          SQL_ASSIGN(extreme_, add_intervals(extreme_, other.extreme_, loc));
        }
        break;
      }
      int_sum_ += other.int_sum_;
      if (std::isinf(float_sum_ + other.float_sum_) && std::isfinite(float_sum_) &&
          std::isfinite(other.float_sum_))
        float_overflow_ = true;
      if (spec_->kind == AggKind::kAvg && is_float(spec_->arg.type)) {
        if (first) {
          extreme_ = other.extreme_;
        } else {
          combine_squares(other);
        }
      }
      float_overflow_ = float_overflow_ || other.float_overflow_;
      float_sum_ =
          first && spec_->kind == AggKind::kSum ? other.float_sum_ : float_sum_ + other.float_sum_;
      NumericResult sum = numeric_add(numeric_sum_, other.numeric_sum_);
      if (!sum.ok()) return numeric_overflow(loc);
      numeric_sum_ = std::move(sum.value);
      break;
    }
    case AggKind::kMin:
      if (first || compare_values(other.extreme_, extreme_) < 0) extreme_ = other.extreme_;
      break;
    case AggKind::kMax:
      if (first || compare_values(other.extreme_, extreme_) > 0) extreme_ = other.extreme_;
      break;
    case AggKind::kBoolAnd:
      extreme_ = Value::boolean(first ? other.extreme_.b : (extreme_.b && other.extreme_.b));
      break;
    case AggKind::kBoolOr:
      extreme_ = Value::boolean(first ? other.extreme_.b : (extreme_.b || other.extreme_.b));
      break;
    case AggKind::kStringAgg:
      if (first) {
        extreme_ = other.extreme_;
      } else {
        if (extreme_.s.size() + spec_->delimiter.size() + other.extreme_.s.size() >
            kMaxAggregateBytes)
          return sql_error("54000", "string_agg result exceeds 256 MiB", loc);
        extreme_.s += spec_->delimiter;
        extreme_.s += other.extreme_.s;
      }
      break;
  }
  return Unit{};
}

bool Accumulator::is_count_and_sum(const AggSpec& spec) {
  if (spec.distinct) return false;
  switch (spec.kind) {
    case AggKind::kCountStar:
    case AggKind::kCount:
      return true;
    case AggKind::kSum:
    case AggKind::kAvg:
      return is_integer(spec.arg.type);
    default:
      return false;
  }
}

void Accumulator::set_totals(int64_t count, __int128 int_sum) {
  count_ = count;
  int_sum_ = int_sum;
  any_ = count > 0;
}

void Accumulator::serialize(std::string& out) const {
  append_raw(out, count_);
  out.push_back(any_ ? 1 : 0);
  append_raw(out, int_sum_);
  append_raw(out, float_sum_);
  append_value(out, Value::numeric(numeric_sum_));
  // A float sum or avg whose finite inputs overflowed keeps that fact in extreme_'s slot
  // (which a float sum leaves unused, and where an avg's Sxx is never +Infinity otherwise).
  if (float_overflow_ && spec_->kind == AggKind::kSum) {
    append_value(out, Value::boolean(true));
  } else if (float_overflow_ && spec_->kind == AggKind::kAvg) {
    append_value(out, Value::floating(Type::kFloat8, std::numeric_limits<double>::infinity()));
  } else {
    append_value(out, extreme_);
  }
}

bool Accumulator::deserialize(std::string_view& in) {
  uint8_t any = 0;
  Value numeric;
  if (!read_raw(in, count_) || !read_raw(in, any) || !read_raw(in, int_sum_) ||
      !read_raw(in, float_sum_) || !read_value(in, numeric) || !read_value(in, extreme_))
    return false;
  any_ = any != 0;
  numeric_sum_ = numeric.n;
  const bool float_input = is_float(spec_->arg.type);
  float_overflow_ = false;
  if (float_input && spec_->kind == AggKind::kSum && extreme_.type == Type::kBool) {
    float_overflow_ = true;
    extreme_ = Value{};
  } else if (float_input && spec_->kind == AggKind::kAvg && !extreme_.null &&
             std::isinf(extreme_.f) && extreme_.f > 0) {
    float_overflow_ = true;
  }
  return true;
}

bool IntKernel::add(const Expr& e, size_t depth) {
  if (depth > kMaxDepth || (!is_integer(e.type) && e.type != Type::kBool)) return false;
  switch (e.kind) {
    case ExprKind::kColumn:
      if (!is_integer(e.type)) return false;
      steps_.push_back({Op::kColumn, e.type, e.index});
      return true;
    case ExprKind::kConst:
      if (!is_integer(e.type) || e.value.null || !is_integer(e.value.type)) return false;
      steps_.push_back({Op::kConst, e.type, e.value.i});
      return true;
    case ExprKind::kCast:
      if (e.args.size() != 1 || !is_integer(e.type) || !is_integer(e.args[0].type)) return false;
      if (!add(e.args[0], depth + 1)) return false;
      steps_.push_back({Op::kCast, e.type, 0});
      return true;
    case ExprKind::kCall: {
      static const std::pair<ScalarFn, Op> kBinary[] = {
          {op_add, Op::kAdd}, {op_sub, Op::kSub}, {op_mul, Op::kMul}, {op_div, Op::kDiv},
          {op_mod, Op::kMod}, {op_eq, Op::kEq},   {op_ne, Op::kNe},   {op_lt, Op::kLt},
          {op_le, Op::kLe},   {op_gt, Op::kGt},   {op_ge, Op::kGe}};
      if (e.fn == op_neg && e.args.size() == 1 && is_integer(e.type)) {
        if (!add(e.args[0], depth + 1)) return false;
        steps_.push_back({Op::kNeg, e.type, 0});
        return true;
      }
      if (e.args.size() != 2) return false;
      for (const auto& [fn, op] : kBinary) {
        if (e.fn != fn) continue;
        const bool comparison = op >= Op::kEq;
        if (comparison ? e.type != Type::kBool : !is_integer(e.type)) return false;
        if (!is_integer(e.args[0].type) || !is_integer(e.args[1].type)) return false;
        if (!add(e.args[0], depth + 1) || !add(e.args[1], depth + 1)) return false;
        steps_.push_back({op, e.type, 0});
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

std::optional<IntKernel> IntKernel::compile(const Expr& expr) {
  IntKernel kernel;
  if (!kernel.add(expr, 0) || kernel.steps_.size() > 64) return std::nullopt;
  kernel.type_ = expr.type;
  return kernel;
}

bool IntKernel::run(const std::vector<std::vector<Value>>& columns, size_t position,
                    int64_t& out) const {
  __int128 stack[kMaxDepth + 2];
  size_t top = 0;
  auto fits = [](Type type, __int128 v) {
    switch (type) {
      case Type::kInt2:
        return v >= INT16_MIN && v <= INT16_MAX;
      case Type::kInt4:
        return v >= INT32_MIN && v <= INT32_MAX;
      default:
        return v >= INT64_MIN && v <= INT64_MAX;
    }
  };
  for (const Step& step : steps_) {
    switch (step.op) {
      case Op::kColumn: {
        const Value& v = columns[static_cast<size_t>(step.operand)][position];
        if (v.null) return false;
        stack[top++] = v.i;
        continue;
      }
      case Op::kConst:
        stack[top++] = step.operand;
        continue;
      case Op::kNeg:
        stack[top - 1] = -stack[top - 1];
        if (!fits(step.type, stack[top - 1])) return false;
        continue;
      case Op::kCast:
        if (!fits(step.type, stack[top - 1])) return false;
        continue;
      default:
        break;
    }
    const __int128 y = stack[--top];
    const __int128 x = stack[top - 1];
    __int128 r = 0;
    switch (step.op) {
      case Op::kAdd:
        r = x + y;
        break;
      case Op::kSub:
        r = x - y;
        break;
      case Op::kMul:
        r = x * y;
        break;
      case Op::kDiv:
        if (y == 0) return false;
        r = x / y;
        break;
      case Op::kMod:
        if (y == 0) return false;
        r = x % y;
        break;
      case Op::kEq:
        r = x == y;
        break;
      case Op::kNe:
        r = x != y;
        break;
      case Op::kLt:
        r = x < y;
        break;
      case Op::kLe:
        r = x <= y;
        break;
      case Op::kGt:
        r = x > y;
        break;
      case Op::kGe:
        r = x >= y;
        break;
      default:
        return false;
    }
    if (step.type != Type::kBool && !fits(step.type, r)) return false;
    stack[top - 1] = r;
  }
  out = static_cast<int64_t>(stack[0]);
  return true;
}

SqlResult<Value> eval(const Expr& e, const EvalContext& ctx) {
  // The binder refuses expressions too deep for its own (larger) frames, so this holds unless
  // a thread with a much smaller stack evaluates; then the answer is an error, not a crash.
  if (stack_nearly_exhausted())
    return sql_error(sqlstate::kStatementTooComplex, "statement too complex", e.location);
  switch (e.kind) {
    case ExprKind::kConst:
      return e.value;
    case ExprKind::kColumn:
      if (ctx.columns != nullptr) return (*ctx.columns)[static_cast<size_t>(e.index)][ctx.position];
      return (*ctx.row)[static_cast<size_t>(e.index)];
    case ExprKind::kParam: {
      const Value& p = (*ctx.params)[static_cast<size_t>(e.index)];
      if (p.type == e.type) return p;
      return cast_value(p, e.type, e.location);
    }
    case ExprKind::kGroupRef:
      return (*ctx.groups)[static_cast<size_t>(e.index)];
    case ExprKind::kAggRef:
      return (*ctx.aggs)[static_cast<size_t>(e.index)];
    case ExprKind::kWindowRef:
      if (ctx.windows == nullptr)  // a path that has not computed its windows: a binder bug
        return sql_error(sqlstate::kInternalError, "window function evaluated outside a window");
      return (*ctx.windows)[static_cast<size_t>(e.index)];
    case ExprKind::kCall: {
      // Argument vectors come from a per-thread pool, one per nesting depth (a deque keeps the
      // outer levels' vectors in place while inner calls add levels): no allocation per call.
      thread_local std::deque<std::vector<Value>> pool;
      thread_local size_t depth = 0;
      if (pool.size() <= depth) pool.emplace_back();
      std::vector<Value>& args = pool[depth];
      args.clear();
      struct Level {
        size_t& depth;
        explicit Level(size_t& d) : depth(d) { ++depth; }
        ~Level() { --depth; }
      } level(depth);
      // A strict call is NULL when an argument is, but every argument is evaluated first (an
      // error in a later one is raised), as in PostgreSQL.
      const bool strict = e.fn != fn_concat && e.fn != op_is_distinct &&
                          e.fn != op_is_not_distinct && !is_nonstrict_function(e.fn);
      bool saw_null = false;
      for (const auto& a : e.args) {
        SQL_ASSIGN(Value v, eval(a, ctx));
        if (v.null && strict) {
          saw_null = true;
          continue;
        }
        args.push_back(std::move(v));
      }
      if (saw_null) return Value::null_of(e.type);
      return e.fn(e, args);
    }
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      // Three-valued: AND is false if any is false, else null if any is null.
      const bool is_and = e.kind == ExprKind::kAnd;
      bool saw_null = false;
      for (const auto& a : e.args) {
        SQL_ASSIGN(Value v, eval(a, ctx));
        if (v.null) {
          saw_null = true;
        } else if (v.b != is_and) {
          return Value::boolean(!is_and);
        }
      }
      if (saw_null) return Value::null_of(Type::kBool);
      return Value::boolean(is_and);
    }
    case ExprKind::kNot: {
      SQL_ASSIGN(Value v, eval(e.args[0], ctx));
      if (v.null) return v;
      return Value::boolean(!v.b);
    }
    case ExprKind::kIsNull: {
      SQL_ASSIGN(Value v, eval(e.args[0], ctx));
      return Value::boolean(v.null != e.negated);
    }
    case ExprKind::kBoolTest: {
      SQL_ASSIGN(Value v, eval(e.args[0], ctx));
      const bool matches = !v.null && v.b == e.value.b;
      return Value::boolean(matches != e.negated);
    }
    case ExprKind::kCase: {
      const size_t pairs = (e.args.size() - (e.has_else ? 1 : 0)) / 2;
      for (size_t i = 0; i < pairs; ++i) {
        SQL_ASSIGN(Value cond, eval(e.args[2 * i], ctx));
        if (!cond.null && cond.b) return eval(e.args[2 * i + 1], ctx);
      }
      if (e.has_else) return eval(e.args.back(), ctx);
      return Value::null_of(e.type);
    }
    case ExprKind::kCoalesce: {
      for (const auto& a : e.args) {
        SQL_ASSIGN(Value v, eval(a, ctx));
        if (!v.null) return v;
      }
      return Value::null_of(e.type);
    }
    case ExprKind::kNullIf: {
      SQL_ASSIGN(Value a, eval(e.args[0], ctx));
      SQL_ASSIGN(Value b, eval(e.args[1], ctx));
      if (!a.null && !b.null && compare_values(a, b) == 0) return Value::null_of(e.type);
      return a;
    }
    case ExprKind::kCast: {
      SQL_ASSIGN(Value v, eval(e.args[0], ctx));
      SQL_ASSIGN(Value out, cast_value(v, e.type, e.location));
      if (e.precision >= 0 && !out.null && out.type == Type::kNumeric) {
        SQL_ASSIGN(out.n, numeric_typmod(out.n, e.precision, e.scale, e.location));
      }
      return out;
    }
    case ExprKind::kIn: {
      SQL_ASSIGN(Value needle, eval(e.args[0], ctx));
      if (needle.null) return Value::null_of(Type::kBool);
      bool saw_null = false;
      for (size_t i = 1; i < e.args.size(); ++i) {
        SQL_ASSIGN(Value v, eval(e.args[i], ctx));
        if (v.null) {
          saw_null = true;
        } else if (compare_values(needle, v) == 0) {
          return Value::boolean(!e.negated);
        }
      }
      if (saw_null) return Value::null_of(Type::kBool);
      return Value::boolean(e.negated);
    }
    case ExprKind::kInSet: {
      // IN an empty subquery is false (NOT IN true) whatever the left side.
      if (e.in_set->keys.empty() && !e.in_set->has_null) return Value::boolean(e.negated);
      SQL_ASSIGN(Value needle, eval(e.args[0], ctx));
      if (needle.null) return Value::null_of(Type::kBool);
      std::string key;
      append_key(key, needle);
      if (e.in_set->keys.count(key) != 0) return Value::boolean(!e.negated);
      if (e.in_set->has_null) return Value::null_of(Type::kBool);
      return Value::boolean(e.negated);
    }
    case ExprKind::kQuantified: {
      // ANY: true if one comparison is, else NULL if one is NULL, else false; ALL the dual.
      // Over no values ANY is false and ALL true, whatever the left side.
      const bool all = e.negated;
      const auto& values = e.in_set->values;
      if (values.empty()) return Value::boolean(all);
      SQL_ASSIGN(Value needle, eval(e.args[0], ctx));
      if (needle.null) return Value::null_of(Type::kBool);
      bool saw_null = false;
      std::vector<Value> pair(2);
      for (const Value& v : values) {
        if (v.null) {
          saw_null = true;
          continue;
        }
        pair[0] = needle;
        pair[1] = v;
        SQL_ASSIGN(Value r, e.fn(e, pair));
        if (r.null) {
          saw_null = true;
        } else if (r.b != all) {
          return Value::boolean(!all);
        }
      }
      if (saw_null) return Value::null_of(Type::kBool);
      return Value::boolean(all);
    }
    case ExprKind::kSubquery:
      if (e.correlated && ctx.correlated != nullptr) return ctx.correlated->eval(e, ctx);
      if (e.correlated)
        return sql_error(sqlstate::kFeatureNotSupported,
                         "a correlated subquery in this position is not supported yet", e.location);
      return sql_error(sqlstate::kInternalError, "a subquery was not run before its statement");
    case ExprKind::kOuterRef:
      return sql_error(sqlstate::kInternalError, "an outer reference outside its subquery");
    case ExprKind::kLike: {
      SQL_ASSIGN(Value s, eval(e.args[0], ctx));
      SQL_ASSIGN(Value p, eval(e.args[1], ctx));
      if (s.null || p.null) return Value::null_of(Type::kBool);
      const bool m = like_match(s.s.data(), s.s.data() + s.s.size(), p.s.data(),
                                p.s.data() + p.s.size(), e.case_insensitive);
      return Value::boolean(m != e.negated);
    }
    case ExprKind::kGreatest: {
      Value best = Value::null_of(e.type);
      for (const auto& a : e.args) {
        SQL_ASSIGN(Value v, eval(a, ctx));
        if (v.null) continue;
        const int c = best.null ? 1 : compare_values(v, best);
        if (best.null || (e.negated ? c < 0 : c > 0)) best = std::move(v);
      }
      return best;
    }
  }
  return sql_error(sqlstate::kInternalError, "unknown expression kind", e.location);
}

SqlResult<bool> eval_predicate(const Expr& expr, const EvalContext& ctx) {
  SQL_ASSIGN(Value v, eval(expr, ctx));
  return !v.null && v.b;
}

bool has_subquery(const Expr& e, bool uncorrelated_only) {
  if (e.kind == ExprKind::kSubquery && !(uncorrelated_only && e.correlated)) return true;
  for (const auto& a : e.args)
    if (has_subquery(a, uncorrelated_only)) return true;
  return false;
}

}  // namespace eddy::sql

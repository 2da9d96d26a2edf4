// bytea, more string functions and math functions with PostgreSQL 15's semantics. Strings count
// characters (UTF-8), not bytes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <numbers>

#include <re2/re2.h>

#include "sql/builtins.h"
#include "sql/regex_pattern.h"

namespace eddy::sql {

namespace {

// Results larger than this are refused (54000) before they are built: repeat() and lpad() take
// their size from the query.
constexpr size_t kMaxStringBytes = 256u << 20;

SqlError too_large(int loc) {
  return sql_error("54000", "requested length too large", loc);
}

std::vector<size_t> starts_of(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  return starts;
}

// The first `n` characters (n >= 0) of s.
std::string first_chars(const std::string& s, size_t n) {
  const auto st = starts_of(s);
  if (n >= st.size()) return s;
  return s.substr(0, st[n]);
}

std::string last_chars(const std::string& s, size_t n) {
  const auto st = starts_of(s);
  if (n >= st.size()) return s;
  return s.substr(st[st.size() - n]);
}

SqlResult<Value> fn_split_part(const Expr& c, std::vector<Value>& a) {
  const std::string& s = a[0].s;
  const std::string& delim = a[1].s;
  int64_t n = a[2].i;
  if (n == 0)
    return sql_error(sqlstate::kInvalidParameterValue, "field position must not be zero",
                     c.location);
  std::vector<std::string> parts;
  if (delim.empty()) {
    parts.push_back(s);
  } else {
    size_t pos = 0;
    for (size_t hit; (hit = s.find(delim, pos)) != std::string::npos; pos = hit + delim.size())
      parts.push_back(s.substr(pos, hit - pos));
    parts.push_back(s.substr(pos));
  }
  if (s.empty()) parts.clear();
  const auto count = static_cast<int64_t>(parts.size());
  if (n < 0) n += count + 1;
  if (n < 1 || n > count) return Value::text("");
  return Value::text(parts[static_cast<size_t>(n - 1)]);
}

SqlResult<Value> fn_strpos(const Expr&, std::vector<Value>& a) {
  const size_t hit = a[0].s.find(a[1].s);
  if (hit == std::string::npos) return Value::integer(Type::kInt4, 0);
  const auto st = starts_of(a[0].s.substr(0, hit));
  return Value::integer(Type::kInt4, static_cast<int64_t>(st.size()) + 1);
}

SqlResult<Value> fn_left(const Expr&, std::vector<Value>& a) {
  const int64_t n = a[1].i;
  const auto chars = static_cast<int64_t>(starts_of(a[0].s).size());
  const int64_t keep = n >= 0 ? n : std::max<int64_t>(0, chars + n);
  return Value::text(first_chars(a[0].s, static_cast<size_t>(keep)));
}

SqlResult<Value> fn_right(const Expr&, std::vector<Value>& a) {
  const int64_t n = a[1].i;
  const auto chars = static_cast<int64_t>(starts_of(a[0].s).size());
  const int64_t keep = n >= 0 ? n : std::max<int64_t>(0, chars + n);
  if (keep == 0) return Value::text("");
  return Value::text(last_chars(a[0].s, static_cast<size_t>(keep)));
}

SqlResult<Value> pad(const Expr& c, std::vector<Value>& a, bool left) {
  const std::string& s = a[0].s;
  const int64_t len = a[1].i;
  const std::string fill = a.size() > 2 ? a[2].s : " ";
  if (len <= 0) return Value::text("");
  const auto st = starts_of(s);
  if (static_cast<size_t>(len) <= st.size())
    return Value::text(first_chars(s, static_cast<size_t>(len)));
  if (fill.empty()) return Value::text(s);
  const size_t missing = static_cast<size_t>(len) - st.size();
  if (missing > kMaxStringBytes / std::max<size_t>(fill.size(), 1)) return too_large(c.location);
  const auto fill_starts = starts_of(fill);
  if (fill_starts.empty()) return Value::text(s);  // (not UTF-8: nothing to pad with)
  std::string padding;
  for (size_t i = 0; i < missing; ++i) {
    const size_t k = i % fill_starts.size();
    const size_t b = fill_starts[k];
    const size_t e = k + 1 < fill_starts.size() ? fill_starts[k + 1] : fill.size();
    padding.append(fill, b, e - b);
  }
  return Value::text(left ? padding + s : s + padding);
}
SqlResult<Value> fn_lpad(const Expr& c, std::vector<Value>& a) {
  return pad(c, a, true);
}
SqlResult<Value> fn_rpad(const Expr& c, std::vector<Value>& a) {
  return pad(c, a, false);
}

SqlResult<Value> fn_initcap(const Expr&, std::vector<Value>& a) {
  std::string s = a[0].s;
  bool word_start = true;
  for (char& ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    // In the C locale Eddy reports (LC_CTYPE C) only ASCII letters and digits are
    // alphanumeric: any other character, non-ASCII letters too, separates words and keeps its
    // case, as in PostgreSQL.
    if (u < 0x80 && std::isalnum(u)) {
      ch = static_cast<char>(word_start ? std::toupper(u) : std::tolower(u));
      word_start = false;
    } else {
      word_start = true;
    }
  }
  return Value::text(std::move(s));
}

SqlResult<Value> fn_repeat(const Expr& c, std::vector<Value>& a) {
  const int64_t n = a[1].i;
  if (n <= 0 || a[0].s.empty()) return Value::text("");
  if (static_cast<uint64_t>(n) > kMaxStringBytes / a[0].s.size()) return too_large(c.location);
  std::string out;
  out.reserve(a[0].s.size() * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    out += a[0].s;
  return Value::text(std::move(out));
}

SqlResult<Value> fn_reverse(const Expr&, std::vector<Value>& a) {
  const std::string& s = a[0].s;
  const auto st = starts_of(s);
  std::string out;
  out.reserve(s.size());
  for (size_t k = st.size(); k-- > 0;) {
    const size_t e = k + 1 < st.size() ? st[k + 1] : s.size();
    out.append(s, st[k], e - st[k]);
  }
  return Value::text(std::move(out));
}

SqlResult<Value> fn_concat_ws(const Expr& c, std::vector<Value>& a) {
  if (a[0].null) return Value::null_of(c.type);
  std::string out;
  bool first = true;
  for (size_t i = 1; i < a.size(); ++i) {
    if (a[i].null) continue;
    if (!first) out += a[0].s;
    first = false;
    out += a[i].type == Type::kBool ? (a[i].b ? "t" : "f") : to_text(a[i]);
  }
  return Value::text(std::move(out));
}

SqlResult<Value> fn_starts_with(const Expr&, std::vector<Value>& a) {
  return Value::boolean(a[0].s.compare(0, a[1].s.size(), a[1].s) == 0);
}

// bytea
SqlResult<Value> fn_octet_length(const Expr&, std::vector<Value>& a) {
  return Value::integer(Type::kInt4, static_cast<int64_t>(a[0].s.size()));
}
SqlResult<Value> op_bytea_concat(const Expr&, std::vector<Value>& a) {
  return Value::text(a[0].s + a[1].s, Type::kBytea);
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

SqlResult<Value> fn_encode(const Expr& c, std::vector<Value>& a) {
  const std::string& b = a[0].s;
  std::string format = a[1].s;
  std::transform(format.begin(), format.end(), format.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  std::string out;
  if (format == "hex") {
    static const char* kHex = "0123456789abcdef";
    for (unsigned char ch : b) {
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  } else if (format == "base64") {
    // PostgreSQL breaks base64 lines after 76 characters.
    size_t line = 0;
    for (size_t i = 0; i < b.size(); i += 3) {
      const uint32_t n = (static_cast<unsigned char>(b[i]) << 16) |
                         (i + 1 < b.size() ? static_cast<unsigned char>(b[i + 1]) << 8 : 0) |
                         (i + 2 < b.size() ? static_cast<unsigned char>(b[i + 2]) : 0);
      if (line >= 76) {
        out += '\n';
        line = 0;
      }
      out += kBase64[(n >> 18) & 63];
      out += kBase64[(n >> 12) & 63];
      out += i + 1 < b.size() ? kBase64[(n >> 6) & 63] : '=';
      out += i + 2 < b.size() ? kBase64[n & 63] : '=';
      line += 4;
    }
  } else if (format == "escape") {
    for (unsigned char ch : b) {
      if (ch == '\\') {
        out += "\\\\";
      } else if (ch == 0 || ch >= 0x80) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\%03o", ch);
        out += buf;
      } else {
        out += static_cast<char>(ch);
      }
    }
  } else {
    return sql_error(sqlstate::kInvalidParameterValue, "unrecognized encoding: \"" + a[1].s + "\"",
                     c.location);
  }
  return Value::text(std::move(out));
}

SqlResult<Value> fn_decode(const Expr& c, std::vector<Value>& a) {
  std::string format = a[1].s;
  std::transform(format.begin(), format.end(), format.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const std::string& s = a[0].s;
  if (format == "hex") {
    auto v = from_text(Type::kBytea, "\\x" + s);
    if (!v.ok()) v.error().location = c.location;
    return v;
  }
  if (format == "escape") {
    auto v = from_text(Type::kBytea, s);
    if (!v.ok()) v.error().location = c.location;
    return v;
  }
  if (format != "base64")
    return sql_error(sqlstate::kInvalidParameterValue, "unrecognized encoding: \"" + a[1].s + "\"",
                     c.location);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool ended = false;
  for (char ch : s) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      ended = true;
      continue;
    }
    const char* p = std::strchr(kBase64, ch);
    if (p == nullptr || ch == '\0' || ended)
      return sql_error(
          sqlstate::kInvalidParameterValue,
          std::string("invalid symbol \"") + ch + "\" found while decoding base64 sequence",
          c.location);
    acc = (acc << 6) | static_cast<uint32_t>(p - kBase64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return Value::text(std::move(out), Type::kBytea);
}

// math
SqlResult<Value> fn_ln(const Expr& c, std::vector<Value>& a) {
  const double x = a[0].f;
  if (x == 0)
    return sql_error(sqlstate::kInvalidArgumentForLog, "cannot take logarithm of zero", c.location);
  if (x < 0)
    return sql_error(sqlstate::kInvalidArgumentForLog, "cannot take logarithm of a negative number",
                     c.location);
  const bool base10 = c.name == "log" || c.name == "log10";
  return Value::floating(Type::kFloat8, base10 ? std::log10(x) : std::log(x));
}

SqlResult<Value> fn_exp(const Expr& c, std::vector<Value>& a) {
  const double r = std::exp(a[0].f);
  if (r == 0 && std::isfinite(a[0].f))
    return sql_error(sqlstate::kNumericOutOfRange, "value out of range: underflow", c.location);
  if (std::isinf(r) && std::isfinite(a[0].f))
    return sql_error(sqlstate::kNumericOutOfRange, "value out of range: overflow", c.location);
  return Value::floating(Type::kFloat8, r);
}

SqlResult<Value> fn_sign(const Expr& c, std::vector<Value>& a) {
  const Value& v = a[0];
  if (c.type == Type::kNumeric) return Value::numeric(v.n.is_nan() ? v.n : Numeric(v.n.sign(), 0));
  return Value::floating(Type::kFloat8, v.f > 0 ? 1.0 : (v.f < 0 ? -1.0 : 0.0));
}

SqlResult<Value> fn_trunc(const Expr& c, std::vector<Value>& a) {
  const Value& v = a[0];
  if (c.type == Type::kFloat8) return Value::floating(Type::kFloat8, std::trunc(v.f));
  // Toward zero; a negative count zeroes digits left of the point.
  NumericResult r = numeric_trunc(v.n, a.size() > 1 ? a[1].i : 0);
  if (!r.ok())
    return sql_error(sqlstate::kNumericOutOfRange, "value overflows numeric format", c.location);
  return Value::numeric(std::move(r.value));
}

SqlResult<Value> fn_pi(const Expr&, std::vector<Value>&) {
  return Value::floating(Type::kFloat8, std::numbers::pi);
}
SqlResult<Value> fn_cbrt(const Expr&, std::vector<Value>& a) {
  return Value::floating(Type::kFloat8, std::cbrt(a[0].f));
}
// PostgreSQL divides by (degrees) or multiplies by (radians) the double nearest pi/180, with
// float8 division's and multiplication's overflow and underflow checks: results agree to the
// last digit, and an infinite input stays infinite.
constexpr double kRadiansPerDegree = 0.0174532925199432957692;

SqlResult<Value> fn_degrees(const Expr& c, std::vector<Value>& a) {
  const double x = a[0].f;
  const double r = x / kRadiansPerDegree;
  if (std::isinf(r) && !std::isinf(x))
    return sql_error(sqlstate::kNumericOutOfRange, "value out of range: overflow", c.location);
  if (r == 0 && x != 0)
    return sql_error(sqlstate::kNumericOutOfRange, "value out of range: underflow", c.location);
  return Value::floating(Type::kFloat8, r);
}
SqlResult<Value> fn_radians(const Expr& c, std::vector<Value>& a) {
  const double x = a[0].f;
  const double r = x * kRadiansPerDegree;
  if (std::isinf(r) && !std::isinf(x))
    return sql_error(sqlstate::kNumericOutOfRange, "value out of range: overflow", c.location);
  if (r == 0 && x != 0)
    return sql_error(sqlstate::kNumericOutOfRange, "value out of range: underflow", c.location);
  return Value::floating(Type::kFloat8, r);
}

// Regular expressions: RE2 (linear time, no backreferences or lookaround) stands in for
// PostgreSQL's ARE. Compiled patterns are cached per thread.
struct RegexFlags {
  bool global = false;
  bool icase = false;
};

SqlResult<RegexFlags> regex_flags(const std::string& flags, bool allow_global, int loc) {
  RegexFlags f;
  for (char ch : flags) {
    if (ch == 'g' && allow_global) {
      f.global = true;
    } else if (ch == 'i') {
      f.icase = true;
    } else if (ch == 'c') {
      f.icase = false;
    } else {
      return sql_error(sqlstate::kInvalidParameterValue,
                       std::string("invalid regular expression option: \"") + ch + "\"", loc);
    }
  }
  return f;
}

SqlResult<std::shared_ptr<const RE2>> compile(const std::string& pattern, bool icase, int loc) {
  thread_local std::map<std::pair<std::string, bool>, std::shared_ptr<const RE2>> cache;
  auto key = std::make_pair(pattern, icase);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  RE2::Options options;
  options.set_log_errors(false);
  // RE2's own case folding is Unicode's; the C locale's is ASCII's (see regex_pattern.h).
  auto re = std::make_shared<const RE2>(icase ? ascii_case_insensitive_pattern(pattern) : pattern,
                                        options);
  if (!re->ok()) return sql_error("2201B", "invalid regular expression: " + re->error(), loc);
  if (cache.size() >= 256) cache.clear();
  cache.emplace(std::move(key), re);
  return re;
}

SqlResult<Value> op_regex(const Expr& c, std::vector<Value>& a) {
  const bool icase = c.name == "~*" || c.name == "!~*";
  const bool negated = c.name[0] == '!';
  SQL_ASSIGN(auto re, compile(a[1].s, icase, c.location));
  return Value::boolean(RE2::PartialMatch(a[0].s, *re) != negated);
}

SqlResult<Value> fn_regexp_like(const Expr& c, std::vector<Value>& a) {
  SQL_ASSIGN(RegexFlags f, regex_flags(a.size() > 2 ? a[2].s : "", false, c.location));
  SQL_ASSIGN(auto re, compile(a[1].s, f.icase, c.location));
  return Value::boolean(RE2::PartialMatch(a[0].s, *re));
}

// The first match as text: its first capture group when the pattern has one (PostgreSQL
// returns all groups as text[], which Eddy does not have), else the whole match.
SqlResult<Value> fn_regexp_match(const Expr& c, std::vector<Value>& a) {
  SQL_ASSIGN(RegexFlags f, regex_flags(a.size() > 2 ? a[2].s : "", false, c.location));
  SQL_ASSIGN(auto re, compile(a[1].s, f.icase, c.location));
  const int groups = re->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> match(static_cast<size_t>(groups) + 1);
  if (!re->Match(a[0].s, 0, a[0].s.size(), RE2::UNANCHORED, match.data(),
                 static_cast<int>(match.size())))
    return Value::null_of(Type::kText);
  const auto& m = match[groups > 0 ? 1 : 0];
  if (m.data() == nullptr) return Value::null_of(Type::kText);
  return Value::text(std::string(m.data(), m.size()));
}

SqlResult<Value> fn_regexp_replace(const Expr& c, std::vector<Value>& a) {
  SQL_ASSIGN(RegexFlags f, regex_flags(a.size() > 3 ? a[3].s : "", true, c.location));
  SQL_ASSIGN(auto re, compile(a[1].s, f.icase, c.location));
  // PostgreSQL's replacement: \1..\9 groups, \& the whole match, \\ a backslash.
  std::string rewrite;
  const std::string& r = a[2].s;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i] == '\\' && i + 1 < r.size()) {
      const char next = r[i + 1];
      if (next == '&') {
        rewrite += "\\0";
      } else if (next >= '1' && next <= '9') {
        if (next - '0' > re->NumberOfCapturingGroups()) {
          ++i;
          continue;  // PostgreSQL substitutes nothing for a group that does not exist
        }
        rewrite += '\\';
        rewrite += next;
      } else if (next == '\\') {
        rewrite += "\\\\";
      } else {
        rewrite += "\\\\";
        continue;
      }
      ++i;
    } else if (r[i] == '\\') {
      rewrite += "\\\\";
    } else {
      rewrite += r[i];
    }
  }
  std::string out = a[0].s;
  if (f.global)
    RE2::GlobalReplace(&out, *re, rewrite);
  else
    RE2::Replace(&out, *re, rewrite);
  return Value::text(std::move(out));
}

bool text_like(Type t) {
  return t == Type::kText || t == Type::kUnknown;
}
bool int_like(Type t) {
  return is_integer(t) || t == Type::kUnknown;
}
bool num_like(Type t) {
  return is_numeric_category(t) || t == Type::kUnknown;
}

}  // namespace

bool is_nonstrict_string_function(ScalarFn fn) {
  return fn == fn_concat_ws;
}

std::optional<Signature> resolve_string_operator(const std::string& op, std::optional<Type> left,
                                                 Type r) {
  if ((op == "~" || op == "~*" || op == "!~" || op == "!~*") && left && text_like(*left) &&
      text_like(r))
    return Signature{{Type::kText, Type::kText}, Type::kBool, op_regex};
  if (op == "||" && left &&
      ((*left == Type::kBytea && (r == Type::kBytea || r == Type::kUnknown)) ||
       (*left == Type::kUnknown && r == Type::kBytea)))
    return Signature{{Type::kBytea, Type::kBytea}, Type::kBytea, op_bytea_concat};
  return std::nullopt;
}

std::optional<Signature> resolve_string_function(const std::string& name,
                                                 const std::vector<Type>& args) {
  using T = Type;
  const size_t n = args.size();
  auto sig = [&](std::vector<T> params, T result, ScalarFn fn) -> std::optional<Signature> {
    if (params.size() != n) return std::nullopt;
    for (size_t i = 0; i < n; ++i) {
      const bool ok = params[i] == T::kText     ? text_like(args[i])
                      : params[i] == T::kInt4   ? int_like(args[i])
                      : params[i] == T::kBytea  ? args[i] == T::kBytea || args[i] == T::kUnknown
                      : params[i] == T::kFloat8 ? num_like(args[i])
                                                : false;
      if (!ok) return std::nullopt;
    }
    return Signature{std::move(params), result, fn};
  };
  if (name == "split_part") return sig({T::kText, T::kText, T::kInt4}, T::kText, fn_split_part);
  if (name == "strpos" || name == "position") return sig({T::kText, T::kText}, T::kInt4, fn_strpos);
  if (name == "left") return sig({T::kText, T::kInt4}, T::kText, fn_left);
  if (name == "right") return sig({T::kText, T::kInt4}, T::kText, fn_right);
  if (name == "lpad" || name == "rpad") {
    const ScalarFn fn = name == "lpad" ? fn_lpad : fn_rpad;
    if (n == 2) return sig({T::kText, T::kInt4}, T::kText, fn);
    return sig({T::kText, T::kInt4, T::kText}, T::kText, fn);
  }
  if (name == "initcap") return sig({T::kText}, T::kText, fn_initcap);
  if (name == "repeat") return sig({T::kText, T::kInt4}, T::kText, fn_repeat);
  if (name == "reverse") return sig({T::kText}, T::kText, fn_reverse);
  if (name == "regexp_like" || name == "regexp_match") {
    const ScalarFn fn = name == "regexp_like" ? fn_regexp_like : fn_regexp_match;
    const T result = name == "regexp_like" ? T::kBool : T::kText;
    if (n == 2) return sig({T::kText, T::kText}, result, fn);
    return sig({T::kText, T::kText, T::kText}, result, fn);
  }
  if (name == "regexp_replace") {
    if (n == 3) return sig({T::kText, T::kText, T::kText}, T::kText, fn_regexp_replace);
    return sig({T::kText, T::kText, T::kText, T::kText}, T::kText, fn_regexp_replace);
  }
  if (name == "starts_with") return sig({T::kText, T::kText}, T::kBool, fn_starts_with);
  if (name == "concat_ws" && n >= 2 && text_like(args[0])) {
    std::vector<T> params{T::kText};
    for (size_t i = 1; i < n; ++i)
      params.push_back(args[i] == T::kUnknown ? T::kText : args[i]);
    return Signature{params, T::kText, fn_concat_ws, false};
  }
  if ((name == "length" || name == "octet_length") && n == 1 && args[0] == T::kBytea)
    return Signature{{T::kBytea}, T::kInt4, fn_octet_length};
  if (name == "octet_length" && n == 1 && text_like(args[0]))
    return Signature{{T::kText}, T::kInt4, fn_octet_length};
  if (name == "encode") return sig({T::kBytea, T::kText}, T::kText, fn_encode);
  if (name == "decode") return sig({T::kText, T::kText}, T::kBytea, fn_decode);
  // Math: the double precision variants. Numeric input and log(b, x) (numeric only, as in
  // PostgreSQL) resolve in expr.cc.
  const bool numeric_input = n == 1 && args[0] == T::kNumeric;
  if ((name == "ln" || name == "log10" || (name == "log" && n == 1)) && !numeric_input)
    return sig({T::kFloat8}, T::kFloat8, fn_ln);
  if (name == "exp" && !numeric_input) return sig({T::kFloat8}, T::kFloat8, fn_exp);
  if (name == "sign" && n == 1 && args[0] == T::kNumeric)
    return Signature{{T::kNumeric}, T::kNumeric, fn_sign};
  if (name == "sign") return sig({T::kFloat8}, T::kFloat8, fn_sign);
  if (name == "trunc" && n >= 1 && (args[0] == T::kNumeric || n == 2)) {
    if (!num_like(args[0])) return std::nullopt;
    if (n == 1) return Signature{{T::kNumeric}, T::kNumeric, fn_trunc};
    if (!int_like(args[1])) return std::nullopt;
    return Signature{{T::kNumeric, T::kInt4}, T::kNumeric, fn_trunc};
  }
  if (name == "trunc") return sig({T::kFloat8}, T::kFloat8, fn_trunc);
  if (name == "pi") return sig({}, T::kFloat8, fn_pi);
  if (name == "cbrt") return sig({T::kFloat8}, T::kFloat8, fn_cbrt);
  if (name == "degrees") return sig({T::kFloat8}, T::kFloat8, fn_degrees);
  if (name == "radians") return sig({T::kFloat8}, T::kFloat8, fn_radians);
  return std::nullopt;
}

}  // namespace eddy::sql

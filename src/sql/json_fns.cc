// jsonb: parsing (nlohmann-json's SAX parser, which hands over the text of non-integer numbers so
// they keep their digits), PostgreSQL's canonical text form, operators and functions.
//
// A jsonb Value holds its canonical text in Value::s: object keys sorted by length then bytes,
// duplicate keys resolved to the last one, `": "` and `", "` separators, numbers as numeric
// prints them. Operators parse that text again into a small tree; values are small and this
// keeps Value flat.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "sql/builtins.h"

namespace eddy::sql {

namespace {

// Deeper documents are refused rather than risking the recursion in serialize().
constexpr size_t kMaxDepth = 1000;

struct Json {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool b = false;
  std::string text;               // a number's canonical text, a string's value
  std::vector<Json> items;        // array elements, object values
  std::vector<std::string> keys;  // object keys, parallel to items
};

std::string canonical_number(const std::string& raw) {
  // Beyond numeric's limits: keep the text.
  auto n = numeric_from_string(raw);
  if (!n) return raw;
  return numeric_to_string(*n);
}

// Keys sorted as jsonb stores them (shorter first, then bytewise), the last duplicate winning.
void canonicalize_object(Json& obj) {
  std::vector<size_t> order(obj.keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const std::string& a = obj.keys[x];
    const std::string& b = obj.keys[y];
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
  });
  std::vector<std::string> keys;
  std::vector<Json> items;
  for (size_t k = 0; k < order.size(); ++k) {
    if (k + 1 < order.size() && obj.keys[order[k]] == obj.keys[order[k + 1]]) continue;
    keys.push_back(std::move(obj.keys[order[k]]));
    items.push_back(std::move(obj.items[order[k]]));
  }
  obj.keys = std::move(keys);
  obj.items = std::move(items);
}

class TreeBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  Json root;
  bool too_deep = false;
  // Numbers are kept written out (1e131071 is 131,072 digits, as PostgreSQL prints it): what
  // that adds to the input is bounded like PostgreSQL's largest jsonb.
  static constexpr size_t kMaxExpansion = 268435455;
  size_t expansion = 0;
  bool too_large = false;

  bool null() override { return add(Json{}) != nullptr; }
  bool boolean(bool v) override {
    Json j;
    j.kind = Json::Kind::kBool;
    j.b = v;
    return add(std::move(j)) != nullptr;
  }
  bool number_integer(number_integer_t v) override { return number(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& raw) override {
    std::string text = canonical_number(raw);
    if (text.size() > raw.size()) expansion += text.size() - raw.size();
    if (expansion > kMaxExpansion) {
      too_large = true;
      return false;
    }
    return number(std::move(text));
  }
  bool string(string_t& v) override {
    Json j;
    j.kind = Json::Kind::kString;
    j.text = std::move(v);
    return add(std::move(j)) != nullptr;
  }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return open(Json::Kind::kObject); }
  bool key(string_t& k) override {
    stack_.back()->keys.push_back(std::move(k));
    return true;
  }
  bool end_object() override {
    canonicalize_object(*stack_.back());
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return open(Json::Kind::kArray); }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool number(std::string text) {
    Json j;
    j.kind = Json::Kind::kNumber;
    j.text = std::move(text);
    return add(std::move(j)) != nullptr;
  }
  Json* add(Json j) {
    if (stack_.empty()) {
      root = std::move(j);
      return &root;
    }
    Json* parent = stack_.back();
    parent->items.push_back(std::move(j));
    return &parent->items.back();
  }
  bool open(Json::Kind kind) {
    if (stack_.size() >= kMaxDepth) {
      too_deep = true;
      return false;
    }
    Json j;
    j.kind = kind;
    stack_.push_back(add(std::move(j)));
    return true;
  }
  std::vector<Json*> stack_;
};

std::optional<Json> parse(std::string_view text, bool* too_deep = nullptr,
                          bool* too_large = nullptr) {
  TreeBuilder builder;
  const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder);
  if (too_deep != nullptr) *too_deep = builder.too_deep;
  if (too_large != nullptr) *too_large = builder.too_large;
  if (!ok) return std::nullopt;
  return std::move(builder.root);
}

void escape(std::string& out, const std::string& s) {
  out += '"';
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch));
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void serialize(std::string& out, const Json& j) {
  switch (j.kind) {
    case Json::Kind::kNull:
      out += "null";
      return;
    case Json::Kind::kBool:
      out += j.b ? "true" : "false";
      return;
    case Json::Kind::kNumber:
      out += j.text;
      return;
    case Json::Kind::kString:
      escape(out, j.text);
      return;
    case Json::Kind::kArray:
      out += '[';
      for (size_t i = 0; i < j.items.size(); ++i) {
        if (i > 0) out += ", ";
        serialize(out, j.items[i]);
      }
      out += ']';
      return;
    case Json::Kind::kObject:
      out += '{';
      for (size_t i = 0; i < j.items.size(); ++i) {
        if (i > 0) out += ", ";
        escape(out, j.keys[i]);
        out += ": ";
        serialize(out, j.items[i]);
      }
      out += '}';
      return;
  }
}

std::string to_string(const Json& j) {
  std::string out;
  serialize(out, j);
  return out;
}

Value jsonb_value(const Json& j) {
  return Value::text(to_string(j), Type::kJsonb);
}

// A stored jsonb value's tree (it was canonicalized on input, so it parses).
Json tree(const Value& v) {
  auto j = parse(v.s);
  return j ? std::move(*j) : Json{};
}

const char* kind_name(Json::Kind kind) {
  switch (kind) {
    case Json::Kind::kNull:
      return "null";
    case Json::Kind::kBool:
      return "boolean";
    case Json::Kind::kNumber:
      return "number";
    case Json::Kind::kString:
      return "string";
    case Json::Kind::kArray:
      return "array";
    case Json::Kind::kObject:
      return "object";
  }
  return "null";
}

const Json* field(const Json& j, const std::string& key) {
  if (j.kind != Json::Kind::kObject) return nullptr;
  for (size_t i = 0; i < j.keys.size(); ++i)
    if (j.keys[i] == key) return &j.items[i];
  return nullptr;
}

const Json* element(const Json& j, int64_t index) {
  // PostgreSQL stores a top-level scalar as a one-element array: '"s"' -> 0 is "s".
  if (j.kind != Json::Kind::kArray && j.kind != Json::Kind::kObject)
    return index == 0 || index == -1 ? &j : nullptr;
  if (j.kind != Json::Kind::kArray) return nullptr;
  const auto n = static_cast<int64_t>(j.items.size());
  if (index < 0) index += n;
  if (index < 0 || index >= n) return nullptr;
  return &j.items[static_cast<size_t>(index)];
}

// One path step: a key for objects, an integer index for arrays.
const Json* step(const Json& j, const std::string& key) {
  if (j.kind == Json::Kind::kObject) return field(j, key);
  if (j.kind != Json::Kind::kArray) return nullptr;
  auto idx = from_text(Type::kInt8, key);
  if (!idx.ok()) return nullptr;
  return element(j, idx->i);
}

SqlResult<Value> as_text_result(const Json* j) {
  if (j == nullptr || j->kind == Json::Kind::kNull) return Value::null_of(Type::kText);
  if (j->kind == Json::Kind::kString) return Value::text(j->text);
  return Value::text(to_string(*j));
}

SqlResult<Value> as_jsonb_result(const Json* j) {
  if (j == nullptr) return Value::null_of(Type::kJsonb);
  return jsonb_value(*j);
}

SqlResult<Value> op_get(const Expr& c, std::vector<Value>& a) {
  const Json j = tree(a[0]);
  const Json* r = is_integer(a[1].type) ? element(j, a[1].i) : field(j, a[1].s);
  return c.type == Type::kText ? as_text_result(r) : as_jsonb_result(r);
}

// '{a,0,"b c"}': PostgreSQL's text-array literal, the only form of path accepted.
SqlResult<std::vector<std::string>> parse_path(const std::string& s, int loc) {
  auto bad = [&] {
    return sql_error(sqlstate::kInvalidTextRepresentation, "malformed array literal: \"" + s + "\"",
                     loc);
  };
  size_t pos = 0;
  auto skip = [&] {
    while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos])))
      ++pos;
  };
  skip();
  if (pos >= s.size() || s[pos] != '{') return bad();
  ++pos;
  std::vector<std::string> out;
  skip();
  if (pos < s.size() && s[pos] == '}') {
    ++pos;
    skip();
    if (pos != s.size()) return bad();
    return out;
  }
  while (true) {
    skip();
    std::string item;
    if (pos < s.size() && s[pos] == '"') {
      ++pos;
      while (pos < s.size() && s[pos] != '"') {
        if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
        item += s[pos++];
      }
      if (pos >= s.size()) return bad();
      ++pos;
    } else {
      while (pos < s.size() && s[pos] != ',' && s[pos] != '}') {
        if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
        item += s[pos++];
      }
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
        item.pop_back();
      if (item.empty() || item == "{" || item.find('{') != std::string::npos) return bad();
    }
    out.push_back(std::move(item));
    skip();
    if (pos >= s.size()) return bad();
    if (s[pos] == '}') {
      ++pos;
      break;
    }
    if (s[pos] != ',') return bad();
    ++pos;
  }
  skip();
  if (pos != s.size()) return bad();
  return out;
}

SqlStatus check_path_literal(const std::string& text, int location) {
  SQL_CHECK(parse_path(text, location));
  return Unit{};
}

const Json* walk(const Json& root, const std::vector<std::string>& path) {
  const Json* j = &root;
  for (const auto& key : path) {
    j = step(*j, key);
    if (j == nullptr) return nullptr;
  }
  return j;
}

SqlResult<Value> op_path(const Expr& c, std::vector<Value>& a) {
  SQL_ASSIGN(auto path, parse_path(a[1].s, c.location));
  const Json j = tree(a[0]);
  const Json* r = walk(j, path);
  return c.type == Type::kText ? as_text_result(r) : as_jsonb_result(r);
}

SqlResult<Value> fn_extract_path(const Expr& c, std::vector<Value>& a) {
  std::vector<std::string> path;
  for (size_t i = 1; i < a.size(); ++i) {
    if (a[i].null) return Value::null_of(c.type);
    path.push_back(a[i].s);
  }
  if (a[0].null) return Value::null_of(c.type);
  const Json j = tree(a[0]);
  const Json* r = walk(j, path);
  return c.type == Type::kText ? as_text_result(r) : as_jsonb_result(r);
}

SqlResult<Value> op_exists(const Expr&, std::vector<Value>& a) {
  const Json j = tree(a[0]);
  if (j.kind == Json::Kind::kObject) return Value::boolean(field(j, a[1].s) != nullptr);
  if (j.kind == Json::Kind::kArray) {
    for (const auto& item : j.items)
      if (item.kind == Json::Kind::kString && item.text == a[1].s) return Value::boolean(true);
    return Value::boolean(false);
  }
  return Value::boolean(j.kind == Json::Kind::kString && j.text == a[1].s);
}

int compare(const Json& x, const Json& y);
bool equal(const Json& x, const Json& y) {
  return compare(x, y) == 0;
}

// PostgreSQL's @>: objects contain objects key by key, arrays contain arrays element by element
// (in any order), and an array contains a scalar at the top level.
bool contains(const Json& x, const Json& y, bool top) {
  if (x.kind == Json::Kind::kObject && y.kind == Json::Kind::kObject) {
    for (size_t i = 0; i < y.keys.size(); ++i) {
      const Json* v = field(x, y.keys[i]);
      if (v == nullptr || !contains(*v, y.items[i], false)) return false;
    }
    return true;
  }
  if (x.kind == Json::Kind::kArray && y.kind == Json::Kind::kArray) {
    for (const auto& want : y.items) {
      bool found = false;
      for (const auto& have : x.items) {
        if (have.kind == Json::Kind::kArray || have.kind == Json::Kind::kObject
                ? contains(have, want, false) && have.kind == want.kind
                : equal(have, want)) {
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }
  if (top && x.kind == Json::Kind::kArray && y.kind != Json::Kind::kObject) {
    for (const auto& have : x.items)
      if (equal(have, y)) return true;
    return false;
  }
  if (x.kind != y.kind) return false;
  return equal(x, y);
}

SqlResult<Value> op_contains(const Expr& c, std::vector<Value>& a) {
  const bool reversed = c.name == "<@";
  const Json x = tree(a[reversed ? 1 : 0]);
  const Json y = tree(a[reversed ? 0 : 1]);
  return Value::boolean(contains(x, y, true));
}

SqlResult<Value> op_jsonb_concat(const Expr&, std::vector<Value>& a) {
  Json x = tree(a[0]);
  Json y = tree(a[1]);
  if (x.kind == Json::Kind::kObject && y.kind == Json::Kind::kObject) {
    for (size_t i = 0; i < y.keys.size(); ++i) {
      x.keys.push_back(std::move(y.keys[i]));
      x.items.push_back(std::move(y.items[i]));
    }
    canonicalize_object(x);
    return jsonb_value(x);
  }
  auto as_array = [](Json j) {
    if (j.kind == Json::Kind::kArray) return j;
    Json arr;
    arr.kind = Json::Kind::kArray;
    arr.items.push_back(std::move(j));
    return arr;
  };
  Json out = as_array(std::move(x));
  Json tail = as_array(std::move(y));
  for (auto& item : tail.items)
    out.items.push_back(std::move(item));
  return jsonb_value(out);
}

SqlResult<Value> fn_typeof(const Expr&, std::vector<Value>& a) {
  return Value::text(kind_name(tree(a[0]).kind));
}

SqlResult<Value> fn_array_length(const Expr& c, std::vector<Value>& a) {
  const Json j = tree(a[0]);
  if (j.kind == Json::Kind::kArray)
    return Value::integer(Type::kInt4, static_cast<int64_t>(j.items.size()));
  return sql_error(sqlstate::kInvalidParameterValue,
                   j.kind == Json::Kind::kObject ? "cannot get array length of a non-array"
                                                 : "cannot get array length of a scalar",
                   c.location);
}

// to_jsonb's mapping of SQL values: numbers and booleans as themselves, date/time values as
// ISO 8601 strings, everything else as its text.
// A float's shortest text (1e+20, 4.25e-07, -0) as PostgreSQL makes a jsonb number of it: read by
// numeric_in and printed by numeric_out, i.e. plain digits without an exponent, as many after the
// point as the text shows less its exponent (1e+20 -> 100000000000000000000, 4.25e-07 ->
// 0.000000425, -0 -> 0).
std::string plain_decimal(const std::string& text) {
  size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) ++i;
  std::string digits;
  int64_t after_point = 0;
  bool point = false;
  for (; i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.');
       ++i) {
    if (text[i] == '.') {
      point = true;
    } else {
      digits += text[i];
      if (point) ++after_point;
    }
  }
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E'))
    exponent = std::strtoll(text.c_str() + i + 1, nullptr, 10);
  const int64_t scale = after_point - exponent;  // value = digits * 10^-scale
  std::string out;
  if (scale <= 0) {
    out = digits + std::string(static_cast<size_t>(-scale), '0');
  } else if (static_cast<int64_t>(digits.size()) <= scale) {
    out = "0." + std::string(static_cast<size_t>(scale) - digits.size(), '0') + digits;
  } else {
    const size_t whole = digits.size() - static_cast<size_t>(scale);
    out = digits.substr(0, whole) + "." + digits.substr(whole);
  }
  // Leading zeros of the integer part go, one stays.
  size_t lead = 0;
  while (lead + 1 < out.size() && out[lead] == '0' && out[lead + 1] != '.')
    ++lead;
  out.erase(0, lead);
  const bool zero = digits.find_first_not_of('0') == std::string::npos;
  if (zero) return scale > 0 ? out : "0";
  return negative ? "-" + out : out;
}

Json from_value(const Value& v) {
  Json j;
  if (v.null) return j;
  switch (v.type) {
    case Type::kBool:
      j.kind = Json::Kind::kBool;
      j.b = v.b;
      return j;
    case Type::kInt2:
    case Type::kInt4:
    case Type::kInt8:
      j.kind = Json::Kind::kNumber;
      j.text = to_text(v);
      return j;
    case Type::kNumeric:  // NaN and the infinities become strings, as PostgreSQL's to_jsonb
      j.kind = v.n.is_finite() ? Json::Kind::kNumber : Json::Kind::kString;
      j.text = to_text(v);
      return j;
    case Type::kFloat4:
    case Type::kFloat8:
      j.kind = std::isfinite(v.f) ? Json::Kind::kNumber : Json::Kind::kString;
      j.text = std::isfinite(v.f) ? plain_decimal(to_text(v)) : to_text(v);
      return j;
    case Type::kJsonb:
      return tree(v);
    case Type::kTimestamp:
    case Type::kTimestamptz: {
      j.kind = Json::Kind::kString;
      std::string t = format_timestamp(v.i, false);
      if (t.size() >= 19 && t[10] == ' ' && t.find(' ', 11) == std::string::npos) {
        t[10] = 'T';
        if (v.type == Type::kTimestamptz) t += "+00:00";
      }
      j.text = std::move(t);
      return j;
    }
    default:
      j.kind = Json::Kind::kString;
      j.text = to_text(v);
      return j;
  }
}

SqlResult<Value> fn_to_jsonb(const Expr&, std::vector<Value>& a) {
  return jsonb_value(from_value(a[0]));
}

SqlResult<Value> fn_build_array(const Expr&, std::vector<Value>& a) {
  Json arr;
  arr.kind = Json::Kind::kArray;
  for (const auto& v : a)
    arr.items.push_back(from_value(v));
  return jsonb_value(arr);
}

SqlResult<Value> fn_build_object(const Expr& c, std::vector<Value>& a) {
  if (a.size() % 2 != 0) {
    SqlError e = sql_error(sqlstate::kInvalidParameterValue,
                           "argument list must have even number of elements", c.location);
    return e;
  }
  Json obj;
  obj.kind = Json::Kind::kObject;
  for (size_t i = 0; i < a.size(); i += 2) {
    if (a[i].null)
      return sql_error(sqlstate::kInvalidParameterValue,
                       "argument " + std::to_string(i + 1) + ": key must not be null", c.location);
    const Json key = from_value(a[i]);
    // A key is the value's own text (a float's shortest text: 1e+20, -0), as PostgreSQL's.
    const bool floating = is_float(a[i].type);
    obj.keys.push_back(floating                          ? to_text(a[i])
                       : key.kind == Json::Kind::kString ? key.text
                                                         : to_string(key));
    obj.items.push_back(from_value(a[i + 1]));
  }
  canonicalize_object(obj);
  return jsonb_value(obj);
}

bool is_text_like(Type t) {
  return t == Type::kText || t == Type::kUnknown;
}

// PostgreSQL's jsonb order: object > array > boolean > number > string > null; containers with
// more members are greater, then members compare in storage order; numbers as numbers.
int rank(Json::Kind k) {
  switch (k) {
    case Json::Kind::kNull:
      return 0;
    case Json::Kind::kString:
      return 1;
    case Json::Kind::kNumber:
      return 2;
    case Json::Kind::kBool:
      return 3;
    case Json::Kind::kArray:
      return 4;
    case Json::Kind::kObject:
      return 5;
  }
  return 0;
}

int compare(const Json& x, const Json& y) {
  auto cmp = [](auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); };
  if (x.kind != y.kind) return cmp(rank(x.kind), rank(y.kind));
  switch (x.kind) {
    case Json::Kind::kNull:
      return 0;
    case Json::Kind::kBool:
      return cmp(x.b, y.b);
    case Json::Kind::kString:
      return cmp(x.text.compare(y.text), 0);
    case Json::Kind::kNumber: {
      auto a = from_text(Type::kNumeric, x.text);
      auto b = from_text(Type::kNumeric, y.text);
      if (a.ok() && b.ok()) return compare_values(*a, *b);
      return cmp(std::strtod(x.text.c_str(), nullptr), std::strtod(y.text.c_str(), nullptr));
    }
    case Json::Kind::kArray:
    case Json::Kind::kObject: {
      if (x.items.size() != y.items.size()) return cmp(x.items.size(), y.items.size());
      for (size_t i = 0; i < x.items.size(); ++i) {
        if (x.kind == Json::Kind::kObject) {
          // Keys come in storage order (shorter first), but compare as strings.
          if (int c = x.keys[i].compare(y.keys[i]); c != 0) return cmp(c, 0);
        }
        if (int c = compare(x.items[i], y.items[i]); c != 0) return c;
      }
      return 0;
    }
  }
  return 0;
}

// At the top level PostgreSQL stores a scalar as a one-element array, and compares it with an
// array by element count first: an empty array sorts below every scalar (null too), any other
// array above them; against an object the scalar is an array, so below.
int compare_top_level(const Json& x, const Json& y) {
  const bool x_scalar = x.kind != Json::Kind::kArray && x.kind != Json::Kind::kObject;
  const bool y_scalar = y.kind != Json::Kind::kArray && y.kind != Json::Kind::kObject;
  if (x_scalar && y.kind == Json::Kind::kArray) return y.items.size() == 0 ? 1 : -1;
  if (y_scalar && x.kind == Json::Kind::kArray) return x.items.size() == 0 ? -1 : 1;
  return compare(x, y);
}

}  // namespace

std::string jsonb_equality_text(std::string_view canonical) {
  std::string out;
  out.reserve(canonical.size());
  size_t i = 0;
  while (i < canonical.size()) {
    const char c = canonical[i];
    if (c == '"') {  // a string or key, escapes and all
      const size_t start = i++;
      while (i < canonical.size() && canonical[i] != '"')
        i += canonical[i] == '\\' ? 2 : 1;
      i = std::min(i + 1, canonical.size());
      out.append(canonical.substr(start, i - start));
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = i;
      while (i < canonical.size() &&
             (canonical[i] == '-' || canonical[i] == '+' || canonical[i] == '.' ||
              canonical[i] == 'e' || canonical[i] == 'E' ||
              (canonical[i] >= '0' && canonical[i] <= '9')))
        ++i;
      std::string_view number = canonical.substr(start, i - start);
      // Canonical numbers are plain decimals; one beyond numeric's range keeps its text.
      if (number.find('.') != std::string_view::npos &&
          number.find_first_of("eE") == std::string_view::npos) {
        while (number.back() == '0')
          number.remove_suffix(1);
        if (number.back() == '.') number.remove_suffix(1);
      }
      out.append(number == "-0" ? "0" : number);
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

int jsonb_compare(const Value& a, const Value& b) {
  if (a.s == b.s) return 0;
  return compare_top_level(tree(a), tree(b));
}

SqlResult<Value> jsonb_from_text(std::string_view text) {
  bool too_deep = false, too_large = false;
  auto j = parse(text, &too_deep, &too_large);
  if (!j) {
    if (too_large)
      return sql_error("54000", "jsonb value exceeds the maximum size of 268435455 bytes");
    if (too_deep)
      return sql_error("54001", "stack depth limit exceeded (jsonb nests deeper than " +
                                    std::to_string(kMaxDepth) + " levels)");
    return sql_error(sqlstate::kInvalidTextRepresentation, "invalid input syntax for type json");
  }
  return jsonb_value(*j);
}

SqlResult<Value> jsonb_cast(const Value& v, Type target, int location) {
  const Json j = tree(v);
  if (target == Type::kBool) {
    if (j.kind == Json::Kind::kBool) return Value::boolean(j.b);
  } else if (j.kind == Json::Kind::kNumber) {
    auto n = from_text(Type::kNumeric, j.text);
    if (!n.ok()) return n.error();
    return cast_value(*n, target, location);
  }
  const char* kind = j.kind == Json::Kind::kNumber ? "numeric" : kind_name(j.kind);
  return sql_error(sqlstate::kInvalidParameterValue,
                   std::string("cannot cast jsonb ") + kind + " to type " + type_name(target),
                   location);
}

bool is_nonstrict_function(ScalarFn fn) {
  return fn == fn_build_array || fn == fn_build_object || fn == fn_extract_path ||
         is_nonstrict_string_function(fn);
}

std::optional<Signature> resolve_json_operator(const std::string& op, std::optional<Type> left,
                                               Type r) {
  using T = Type;
  if (!left || *left != T::kJsonb) {
    if (op == "<@" && left && *left == T::kUnknown && r == T::kJsonb)
      return Signature{{T::kJsonb, T::kJsonb}, T::kBool, op_contains};
    return std::nullopt;
  }
  if (op == "->" || op == "->>") {
    const T result = op == "->" ? T::kJsonb : T::kText;
    if (is_integer(r)) return Signature{{T::kJsonb, T::kInt8}, result, op_get};
    if (is_text_like(r)) return Signature{{T::kJsonb, T::kText}, result, op_get};
    return std::nullopt;
  }
  // The path is a text[] in PostgreSQL: a literal ('{a,0}') or an untyped parameter converts to
  // it, a text value does not (42883, as there).
  if ((op == "#>" || op == "#>>") && r == T::kUnknown) {
    Signature path{{T::kJsonb, T::kText}, op == "#>" ? T::kJsonb : T::kText, op_path};
    path.check_literal = check_path_literal;
    return path;
  }
  if (op == "?" && is_text_like(r)) return Signature{{T::kJsonb, T::kText}, T::kBool, op_exists};
  if ((op == "@>" || op == "<@") && (r == T::kJsonb || r == T::kUnknown))
    return Signature{{T::kJsonb, T::kJsonb}, T::kBool, op_contains};
  if (op == "||" && (r == T::kJsonb || r == T::kUnknown))
    return Signature{{T::kJsonb, T::kJsonb}, T::kJsonb, op_jsonb_concat};
  return std::nullopt;
}

std::optional<Signature> resolve_json_function(const std::string& name,
                                               const std::vector<Type>& args) {
  using T = Type;
  const size_t n = args.size();
  auto base = [&](const char* suffix) {
    return name == std::string("jsonb_") + suffix || name == std::string("json_") + suffix;
  };
  auto any_params = [&] {
    std::vector<T> params;
    for (T t : args)
      params.push_back(t == T::kUnknown ? T::kText : t);
    return params;
  };
  auto jsonb_arg = [&](size_t i) { return args[i] == T::kJsonb || args[i] == T::kUnknown; };
  if (base("typeof") && n == 1 && jsonb_arg(0)) return Signature{{T::kJsonb}, T::kText, fn_typeof};
  if (base("array_length") && n == 1 && jsonb_arg(0))
    return Signature{{T::kJsonb}, T::kInt4, fn_array_length};
  if ((base("extract_path") || base("extract_path_text")) && n >= 2 && jsonb_arg(0)) {
    std::vector<T> params{T::kJsonb};
    for (size_t i = 1; i < n; ++i) {
      if (!is_text_like(args[i])) return std::nullopt;
      params.push_back(T::kText);
    }
    const bool text = name.size() > 5 && name.compare(name.size() - 5, 5, "_text") == 0;
    return Signature{params, text ? T::kText : T::kJsonb, fn_extract_path, false};
  }
  if (base("build_object")) return Signature{any_params(), T::kJsonb, fn_build_object, false};
  if (base("build_array")) return Signature{any_params(), T::kJsonb, fn_build_array, false};
  if ((name == "to_jsonb" || name == "to_json") && n == 1 && args[0] != T::kUnknown)
    return Signature{{args[0]}, T::kJsonb, fn_to_jsonb};
  return std::nullopt;
}

}  // namespace eddy::sql

// SQL values and types as the engine evaluates them, and errors as values.
//
// A Value is a small flat struct (not a variant) so expression evaluation can copy and test it
// cheaply; which member is meaningful follows `type`. Numeric is an exact decimal (numeric.h).
// SqlError carries the SQLSTATE the wire protocol reports and the byte offset into the query
// text (from the parse tree's `location` fields) that the error points at.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sql/numeric.h"

namespace eddy::sql {

// kUnknown is the type of an untyped literal ('1') or parameter until context decides; it holds
// its text in Value::s.
enum class Type : uint8_t {
  kUnknown,
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kFloat4,
  kFloat8,
  kNumeric,
  kText,
  kTimestamptz,
  kDate,
  kTimestamp,
  kInterval,
  kJsonb,
  kBytea,
};

const char* type_name(Type type);  // "integer", "double precision", ...
uint32_t type_oid(Type type);      // PostgreSQL's pg_type OIDs
int16_t type_size(Type type);      // pg_type.typlen (-1 = variable)
std::optional<Type> type_from_oid(uint32_t oid);
// A type name as written in SQL or as pg_query spells it ("int4", "bigint", "varchar", ...).
std::optional<Type> type_from_name(std::string_view name);
bool is_integer(Type type);
bool is_float(Type type);             // float4, float8
bool is_numeric_category(Type type);  // integers, numeric, floats

struct Value {
  Type type = Type::kUnknown;
  bool null = true;
  bool b = false;
  int32_t months = 0;  // interval
  int32_t days = 0;    // interval
  // integers; date as days since 1970-01-01; timestamp[tz] as microseconds since 1970-01-01
  // 00:00 (UTC for timestamptz); interval's microseconds. Infinite dates and timestamps are
  // kTimestampInfinity / kTimestampMinusInfinity.
  int64_t i = 0;
  double f = 0;  // float4 and float8
  Numeric n{};
  std::string s;  // text, the text of an unknown literal, jsonb's canonical text, bytea's bytes

  static Value null_of(Type type) {
    Value v;
    v.type = type;
    return v;
  }
  static Value boolean(bool b) {
    Value v = present(Type::kBool);
    v.b = b;
    return v;
  }
  static Value integer(Type type, int64_t i) {
    Value v = present(type);
    v.i = i;
    return v;
  }
  static Value floating(Type type, double f) {
    Value v = present(type);
    v.f = f;
    return v;
  }
  static Value numeric(Numeric n) {
    Value v = present(Type::kNumeric);
    v.n = n;
    return v;
  }
  static Value text(std::string s, Type type = Type::kText) {
    Value v = present(type);
    v.s = std::move(s);
    return v;
  }
  static Value timestamptz(int64_t micros) { return integer(Type::kTimestamptz, micros); }
  static Value timestamp(int64_t micros) { return integer(Type::kTimestamp, micros); }
  static Value date(int64_t days) { return integer(Type::kDate, days); }
  static Value interval(int32_t months, int32_t days, int64_t micros) {
    Value v = present(Type::kInterval);
    v.months = months;
    v.days = days;
    v.i = micros;
    return v;
  }

 private:
  static Value present(Type type) {
    Value v;
    v.type = type;
    v.null = false;
    return v;
  }
};

using Row = std::vector<Value>;

// SQLSTATE codes used across the engine.
namespace sqlstate {
inline constexpr const char* kSyntaxError = "42601";
inline constexpr const char* kUndefinedColumn = "42703";
inline constexpr const char* kUndefinedTable = "42P01";
inline constexpr const char* kDuplicateTable = "42P07";
inline constexpr const char* kUndefinedFunction = "42883";
inline constexpr const char* kUndefinedObject = "42704";
inline constexpr const char* kDatatypeMismatch = "42804";
inline constexpr const char* kGroupingError = "42803";
inline constexpr const char* kCannotCoerce = "42846";
inline constexpr const char* kAmbiguousColumn = "42702";
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kNumericOutOfRange = "22003";
inline constexpr const char* kDivisionByZero = "22012";
inline constexpr const char* kInvalidTextRepresentation = "22P02";
inline constexpr const char* kInvalidDatetimeFormat = "22007";
inline constexpr const char* kDatetimeFieldOverflow = "22008";
inline constexpr const char* kIntervalFieldOverflow = "22015";
inline constexpr const char* kInvalidArgumentForPower = "2201F";
inline constexpr const char* kInvalidArgumentForLog = "2201E";
inline constexpr const char* kInvalidEscapeSequence = "22025";
inline constexpr const char* kFeatureNotSupported = "0A000";
inline constexpr const char* kInFailedTransaction = "25P02";
inline constexpr const char* kQueryCanceled = "57014";
inline constexpr const char* kInternalError = "XX000";
inline constexpr const char* kIoError = "58030";
inline constexpr const char* kProtocolViolation = "08P01";
inline constexpr const char* kInvalidSqlStatementName = "26000";
inline constexpr const char* kInvalidCursorName = "34000";
inline constexpr const char* kCardinalityViolation = "21000";
inline constexpr const char* kStatementTooComplex = "54001";
inline constexpr const char* kOutOfMemory = "53200";
}  // namespace sqlstate

struct SqlError {
  std::string sqlstate;
  std::string message;
  int location = -1;  // byte offset into the query text, -1 when unknown
  std::string detail{};
  std::string hint{};     // what to do instead (ErrorResponse field H)
  std::string context{};  // where in the input (e.g. "COPY t, line 3, column a: \"x\""), field W
};

inline SqlError sql_error(const char* state, std::string message, int location = -1) {
  return SqlError{state, std::move(message), location};
}

struct Unit {};

template <typename T>
class [[nodiscard]] SqlResult {
 public:
  SqlResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  SqlResult(SqlError e) : v_(std::in_place_index<1>, std::move(e)) {}   // NOLINT: implicit
  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const SqlError& error() const { return std::get<1>(v_); }
  SqlError& error() { return std::get<1>(v_); }

 private:
  std::variant<T, SqlError> v_;
};

using SqlStatus = SqlResult<Unit>;

#define SQL_CONCAT_INNER(a, b) a##b
#define SQL_CONCAT(a, b) SQL_CONCAT_INNER(a, b)
// `SQL_ASSIGN(auto x, f())` unwraps a SqlResult or returns its error.
#define SQL_ASSIGN(lhs, expr) SQL_ASSIGN_IMPL(SQL_CONCAT(sql_result_, __LINE__), lhs, expr)
#define SQL_ASSIGN_IMPL(tmp, lhs, expr)         \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp.error()); \
  lhs = std::move(tmp).value()
#define SQL_CHECK(expr)                                           \
  do {                                                            \
    auto sql_status_ = (expr);                                    \
    if (!sql_status_.ok()) return std::move(sql_status_.error()); \
  } while (false)

// Text output in PostgreSQL's formats (bool t/f, shortest round-trip floats, numeric with its
// scale, timestamptz as "YYYY-MM-DD HH:MM:SS[.ffffff]+00"). Null values have no text.
std::string to_text(const Value& value);
// Parses text input for `type` (casts from text, text parameters, JSON strings).
SqlResult<Value> from_text(Type type, std::string_view text);

// Dates, timestamps and intervals (datetime.cc): PostgreSQL's input forms and its output with
// DateStyle ISO, IntervalStyle postgres and TimeZone UTC.
inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
inline constexpr int64_t kTimestampInfinity = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kTimestampMinusInfinity = std::numeric_limits<int64_t>::min();
std::optional<int64_t> parse_timestamptz(std::string_view text);
std::string format_timestamptz(int64_t micros);
// type is kDate, kTimestamp or kTimestamptz.
SqlResult<Value> parse_datetime(Type type, std::string_view text);
SqlResult<Value> parse_interval(std::string_view text);
// jsonb input (json_fns.cc): validates and returns PostgreSQL's canonical text form.
SqlResult<Value> jsonb_from_text(std::string_view text);
// PostgreSQL's jsonb ordering (numbers compare as numbers: '1.0' = '1.00').
int jsonb_compare(const Value& a, const Value& b);
// A jsonb's canonical text with every number at its least scale (1.50 -> 1.5, 2.0 -> 2): two
// jsonb values are equal exactly when these texts are.
std::string jsonb_equality_text(std::string_view canonical);
std::string format_date(int64_t days);
std::string format_timestamp(int64_t micros, bool with_zone);
std::string format_interval(int32_t months, int32_t days, int64_t micros);
bool date_in_range(int64_t days);
bool timestamp_in_range(int64_t micros);                    // finite and representable
int64_t days_from_civil(int64_t year, int month, int day);  // proleptic Gregorian, year 0 = 1 BC
void civil_from_days(int64_t days, int64_t& year, int& month, int& day);
int64_t floor_div(int64_t a, int64_t b);

// now(), current_date, 'now' and 'today' read the statement's start time: the time a
// StatementClock on this thread was created, or the system clock when there is none (the stream
// engine evaluates view expressions without one: processing time).
int64_t statement_time();
class StatementClock {
 public:
  StatementClock();
  ~StatementClock();
  StatementClock(const StatementClock&) = delete;
  StatementClock& operator=(const StatementClock&) = delete;

 private:
  int64_t saved_;
  bool was_set_;
};

// Total order used by ORDER BY, GROUP BY and comparisons of two values of the same type
// (NULLs compare greater than every value, as PostgreSQL sorts them).
int compare_values(const Value& a, const Value& b);
// An interval as one number of microseconds (30-day months, 24-hour days): what interval
// comparison, grouping and hashing use, so '1 mon' = '30 days'.
__int128 interval_span(const Value& interval);

// A compact binary form of a value with its type (not order-preserving), and back; false when
// `in` does not start with one.
void append_value(std::string& out, const Value& value);
bool read_value(std::string_view& in, Value& value);

}  // namespace eddy::sql

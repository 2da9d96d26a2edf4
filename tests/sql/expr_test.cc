// Expression semantics through a Session without storage: PostgreSQL's typing, overflow and
// NULL rules, and errors as values with SQLSTATE and position.
#include <gtest/gtest.h>

#include <filesystem>

#include "sql/catalog.h"
#include "sql/executor.h"
#include "sql/session.h"
#include "sql/value.h"
#include "storage/records.h"

namespace eddy::sql {
namespace {

class ExprTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eddy-sql-expr-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto engine = Engine::open(EngineOptions{.data_dir = dir_.string()});
    ASSERT_TRUE(engine.ok());
    engine_ = std::move(*engine);
    session_ = std::make_unique<Session>(*engine_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The single value of a one-row, one-column query, as text ("NULL" for null).
  std::string one(const std::string& sql) {
    auto outcome = session_->execute_simple(sql);
    if (outcome.error) return "ERROR " + outcome.error->sqlstate;
    const Value& v = outcome.results.at(0).rows.at(0).at(0);
    return v.null ? "NULL" : to_text(v);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Session> session_;
};

TEST_F(ExprTest, IntegerArithmeticFollowsPostgres) {
  EXPECT_EQ(one("SELECT 7 / 2"), "3");
  EXPECT_EQ(one("SELECT -7 / 2"), "-3");
  EXPECT_EQ(one("SELECT -7 % 3"), "-1");
  EXPECT_EQ(one("SELECT 2147483647 + 1"), "ERROR 22003");
  EXPECT_EQ(one("SELECT 2147483647::bigint + 1"), "2147483648");
  EXPECT_EQ(one("SELECT (-2147483648)::int / -1"), "ERROR 22003");
  EXPECT_EQ(one("SELECT 1 / 0"), "ERROR 22012");
  EXPECT_EQ(one("SELECT 9223372036854775807 + 1"), "ERROR 22003");
}

TEST_F(ExprTest, NumericIsExact) {
  EXPECT_EQ(one("SELECT 0.1 + 0.2"), "0.3");
  EXPECT_EQ(one("SELECT 1.10 * 3"), "3.30");
  EXPECT_EQ(one("SELECT 1.0 / 3"), "0.33333333333333333333");
  EXPECT_EQ(one("SELECT 10.0 / 4"), "2.5000000000000000");
  EXPECT_EQ(one("SELECT round(2.345, 2)"), "2.35");
  EXPECT_EQ(one("SELECT round(-2.5)"), "-3");
  EXPECT_EQ(one("SELECT 1.5::numeric(10,3)"), "1.500");
  EXPECT_EQ(one("SELECT 1.0 / 0"), "ERROR 22012");
}

TEST_F(ExprTest, FloatsPrintShortestRoundTrip) {
  EXPECT_EQ(one("SELECT 0.1::float8 + 0.2"), "0.30000000000000004");
  EXPECT_EQ(one("SELECT 1e20::float8"), "1e+20");
  EXPECT_EQ(one("SELECT 0.1::real"), "0.1");
  EXPECT_EQ(one("SELECT 2.5::float8::int"), "2");
  EXPECT_EQ(one("SELECT 1::float8 / 0"), "ERROR 22012");
}

TEST_F(ExprTest, NullsPropagateAndLogicIsThreeValued) {
  EXPECT_EQ(one("SELECT 1 + NULL"), "NULL");
  EXPECT_EQ(one("SELECT NULL = NULL"), "NULL");
  EXPECT_EQ(one("SELECT NULL AND false"), "f");
  EXPECT_EQ(one("SELECT NULL OR true"), "t");
  EXPECT_EQ(one("SELECT NULL AND true"), "NULL");
  EXPECT_EQ(one("SELECT 3 IN (1, NULL)"), "NULL");
  EXPECT_EQ(one("SELECT 1 IN (1, NULL)"), "t");
  EXPECT_EQ(one("SELECT NULLIF(2, 2)"), "NULL");
  EXPECT_EQ(one("SELECT COALESCE(NULL, 'a')"), "a");
  EXPECT_EQ(one("SELECT CASE WHEN NULL THEN 1 ELSE 2 END"), "2");
}

TEST_F(ExprTest, StringsAndPatterns) {
  EXPECT_EQ(one("SELECT length('héllo')"), "5");
  EXPECT_EQ(one("SELECT substr('héllo', 2, 2)"), "él");
  EXPECT_EQ(one("SELECT 'Abc' ILIKE 'a_C'"), "t");
  EXPECT_EQ(one("SELECT '50%' LIKE '50\\%'"), "t");
  EXPECT_EQ(one("SELECT concat('a', NULL, 2)"), "a2");
}

TEST_F(ExprTest, ErrorsCarryPositions) {
  auto outcome = session_->execute_simple("SELECT 1 + 'x'::text");
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->sqlstate, "42883");
  EXPECT_EQ(Session::character_position("SELECT 1 + 'x'::text", outcome.error->location), 10);
  outcome = session_->execute_simple("SELEC 1");
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->sqlstate, "42601");
  EXPECT_EQ(Session::character_position("é + x", 3), 3);  // characters, not bytes
}

TEST_F(ExprTest, PreparedStatementsInferParameterTypes) {
  auto prepared = session_->prepare("SELECT $1 + 1, $2 || 'x'", {});
  ASSERT_TRUE(prepared.ok());
  ASSERT_EQ((*prepared)->param_types().size(), 2u);
  EXPECT_EQ((*prepared)->param_types()[0], Type::kInt4);
  EXPECT_EQ((*prepared)->param_types()[1], Type::kText);
  auto result = session_->execute(**prepared, {Value::integer(Type::kInt4, 41), Value::text("a")});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(to_text(result->rows[0][0]), "42");
  EXPECT_EQ(result->rows[0][1].s, "ax");
}

TEST_F(ExprTest, UnsupportedConstructsSay0A000) {
  EXPECT_EQ(one("SELECT 'a' SIMILAR TO 'a'"), "ERROR 0A000");
  EXPECT_EQ(one("SELECT ARRAY(SELECT 1)"), "ERROR 0A000");
  EXPECT_EQ(one("SELECT CURRENT_TIME"), "ERROR 0A000");
}

}  // namespace
}  // namespace eddy::sql

namespace eddy::sql {
namespace {

TEST(TimestampParse, AcceptsIsoAndPostgresSpellings) {
  constexpr int64_t kSecond = 1000000;
  EXPECT_EQ(parse_timestamptz("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamptz("2024-01-01T10:00:00Z"), 1704103200 * kSecond);
  EXPECT_EQ(parse_timestamptz(" 2024-01-01 10:00:00.5+02:00 "),
            (1704103200 - 7200) * kSecond + kSecond / 2);
  EXPECT_EQ(parse_timestamptz("2024-01-01 10:00-0130"), (1704103200 + 5400) * kSecond);
  EXPECT_EQ(parse_timestamptz("2024-01-01"), 1704067200 * kSecond);
  EXPECT_EQ(parse_timestamptz("2024-01-01 10:00:00 UTC"), 1704103200 * kSecond);
  EXPECT_EQ(parse_timestamptz("2024-01-01T10:00:00.123456z"), 1704103200 * kSecond + 123456);
  EXPECT_EQ(parse_timestamptz("2024-01-01T24:00"), (1704067200 + 86400) * kSecond);
  for (const char* bad : {"", "2024", "2024-1x-01", "2024-01-01T10", "2024-13-01",
                          "2024-01-01T24:01", "2024-01-01Zjunk", "2024-01-01T10:00:00+"}) {
    EXPECT_FALSE(parse_timestamptz(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace eddy::sql

namespace eddy::sql {
namespace {

TEST(DateTimeText, ParsesAndFormatsPostgresForms) {
  auto text = [](Type type, const char* in) {
    auto v = from_text(type, in);
    return v.ok() ? to_text(*v) : "ERROR " + v.error().sqlstate;
  };
  EXPECT_EQ(text(Type::kDate, " 2024-02-29 "), "2024-02-29");
  EXPECT_EQ(text(Type::kDate, "2024-02-30"), "ERROR 22008");
  EXPECT_EQ(text(Type::kDate, "2023-02-29"), "ERROR 22008");
  EXPECT_EQ(text(Type::kDate, "0044-03-15 BC"), "0044-03-15 BC");
  EXPECT_EQ(text(Type::kDate, "5874897-12-31"), "5874897-12-31");
  EXPECT_EQ(text(Type::kDate, "5874898-01-01"), "ERROR 22008");
  EXPECT_EQ(text(Type::kDate, "2024-01-01 23:59:59+05"), "2024-01-01");
  EXPECT_EQ(text(Type::kDate, "-INFINITY"), "-infinity");
  EXPECT_EQ(text(Type::kDate, "2024/01/01"), "ERROR 22007");
  EXPECT_EQ(text(Type::kTimestamp, "1969-12-31 23:59:59.999999"), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(text(Type::kTimestamp, "2024-01-01T10:00:00.1234567"), "2024-01-01 10:00:00.123457");
  EXPECT_EQ(text(Type::kTimestamp, "2024-12-31 23:59:59.9999999"), "2025-01-01 00:00:00");
  EXPECT_EQ(text(Type::kTimestamp, "2024-01-01 24:00:00"), "2024-01-02 00:00:00");
  EXPECT_EQ(text(Type::kTimestamp, "2024-01-01 24:00:01"), "ERROR 22008");
  EXPECT_EQ(text(Type::kTimestamptz, "2024-01-01 01:00-02:30"), "2024-01-01 03:30:00+00");
  EXPECT_EQ(text(Type::kTimestamptz, "0001-01-01 00:00:00+00 BC"), "0001-01-01 00:00:00+00 BC");
  EXPECT_EQ(text(Type::kTimestamp, "epoch"), "1970-01-01 00:00:00");
}

TEST(DateTimeText, IntervalsFollowIntervalStylePostgres) {
  auto text = [](const char* in) {
    auto v = from_text(Type::kInterval, in);
    return v.ok() ? to_text(*v) : "ERROR " + v.error().sqlstate;
  };
  EXPECT_EQ(text("1 year 2 mons 3 days 04:05:06"), "1 year 2 mons 3 days 04:05:06");
  EXPECT_EQ(text("-1 year -2 mons +3 days -04:05:06.5"), "-1 years -2 mons +3 days -04:05:06.5");
  EXPECT_EQ(text("0 seconds"), "00:00:00");
  EXPECT_EQ(text("100 hours"), "100:00:00");
  EXPECT_EQ(text("1 day 3600.000000 seconds"), "1 day 01:00:00");  // psycopg's text form
  EXPECT_EQ(text("-3 days 4:00:00.000007"), "-3 days +04:00:00.000007");
  EXPECT_EQ(text("1 mon ago"), "-1 mons");
  EXPECT_EQ(text("PT1.5S"), "00:00:01.5");
  EXPECT_EQ(text("P1W"), "7 days");
  EXPECT_EQ(text("1.5 centuries"), "150 years");
  EXPECT_EQ(text("1 fortnight"), "ERROR 22007");
  EXPECT_EQ(text("ago"), "ERROR 22007");
  EXPECT_EQ(text(""), "ERROR 22007");
  EXPECT_EQ(text("1 day 2 day"), "ERROR 22007");
  EXPECT_EQ(text("3000000000 days"), "ERROR 22015");
  EXPECT_EQ(format_interval(-2147483648, -2147483648, std::numeric_limits<int64_t>::min()),
            "-178956970 years -8 mons -2147483648 days -2562047788:00:54.775808");
}

TEST(DateTimeValue, SerializesAndComparesIntervalsAsSpans) {
  const Value month = Value::interval(1, 0, 0);
  const Value thirty_days = Value::interval(0, 30, 0);
  EXPECT_EQ(compare_values(month, thirty_days), 0);
  EXPECT_LT(compare_values(Value::interval(0, 0, kMicrosPerDay - 1), Value::interval(0, 1, 0)), 0);
  std::string bytes;
  append_value(bytes, Value::interval(-5, 7, -123456789));
  append_value(bytes, Value::date(-719528));
  std::string_view in = bytes;
  Value a, b;
  ASSERT_TRUE(read_value(in, a));
  ASSERT_TRUE(read_value(in, b));
  EXPECT_EQ(to_text(a), "-5 mons +7 days -00:02:03.456789");
  EXPECT_EQ(to_text(b), "0001-01-01 BC");
  EXPECT_TRUE(in.empty());
}

}  // namespace
}  // namespace eddy::sql

namespace eddy::sql {
namespace {

TEST(JsonbText, CanonicalFormIsPostgres) {
  auto text = [](const std::string& in) {
    auto v = from_text(Type::kJsonb, in);
    return v.ok() ? to_text(*v) : "ERROR " + v.error().sqlstate;
  };
  EXPECT_EQ(text(R"({"bb":1,"a":2,"c":{"y":[],"x":{}},"a":3})"),
            R"({"a": 3, "c": {"x": {}, "y": []}, "bb": 1})");
  EXPECT_EQ(text("[1.50, 1e2, -0, 1E-3, 123456789012345678901234567890123456789012]"),
            "[1.50, 100, 0, 0.001, 123456789012345678901234567890123456789012]");
  EXPECT_EQ(text(R"("tab\tquote\"nl\nctl\u0001é")"), R"("tab\tquote\"nl\nctl\u0001é")");
  EXPECT_EQ(text("  true "), "true");
  EXPECT_EQ(text("{\"a\":1,}"), "ERROR 22P02");
  EXPECT_EQ(text("NaN"), "ERROR 22P02");
  EXPECT_EQ(text(""), "ERROR 22P02");
  EXPECT_EQ(text(std::string(999, '[') + std::string(999, ']')).substr(0, 3), "[[[");
  EXPECT_EQ(text(std::string(5000, '[') + std::string(5000, ']')), "ERROR 54001");
  const Value a = *from_text(Type::kJsonb, R"({"n": 1.0})");
  const Value b = *from_text(Type::kJsonb, R"({"n": 1.00})");
  EXPECT_EQ(compare_values(a, b), 0);
  EXPECT_LT(compare_values(*from_text(Type::kJsonb, "null"), *from_text(Type::kJsonb, "\"s\"")), 0);
  EXPECT_LT(compare_values(*from_text(Type::kJsonb, "[9]"), *from_text(Type::kJsonb, "{}")), 0);
}

// The one-pass reader of ISO timestamps against the calendar arithmetic, and the shapes it
// leaves to the general parser still parse.
TEST(TimestampParse, IsoFastPathAgreesWithCalendarArithmetic) {
  constexpr int64_t kSecond = 1000000;
  auto expect = [](int64_t y, int m, int d, int64_t h, int64_t mi, int64_t s) {
    return (days_from_civil(y, m, d) * 86400 + (h * 60 + mi) * 60 + s) * kSecond;
  };
  EXPECT_EQ(parse_timestamptz("0001-01-01T00:00:00Z"), expect(1, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_timestamptz("2000-02-29 23:59:59"), expect(2000, 2, 29, 23, 59, 59));
  EXPECT_EQ(parse_timestamptz("9999-12-31T23:59:59.999999Z"),
            expect(9999, 12, 31, 23, 59, 59) + 999999);
  EXPECT_EQ(parse_timestamptz("2026-11-24T00:00:07.5Z"), expect(2026, 11, 24, 0, 0, 7) + 500000);
  EXPECT_EQ(parse_timestamptz("2026-11-24T00:00:07.012Z"), expect(2026, 11, 24, 0, 0, 7) + 12000);
  EXPECT_EQ(parse_timestamptz("2026-11-24T10:00:00+05"), expect(2026, 11, 24, 5, 0, 0));
  EXPECT_EQ(parse_timestamptz("2026-11-24T10:00:00+0530"), expect(2026, 11, 24, 4, 30, 0));
  EXPECT_EQ(parse_timestamptz("2026-11-24T10:00:00-12:45"), expect(2026, 11, 24, 22, 45, 0));
  EXPECT_EQ(parse_timestamptz("2026-11-24T10:00:00.25-01:00"),
            expect(2026, 11, 24, 11, 0, 0) + 250000);
  // A timestamp without time zone ignores the zone, as PostgreSQL does.
  auto local = parse_datetime(Type::kTimestamp, "2026-11-24T10:00:00+05");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->type, Type::kTimestamp);
  EXPECT_EQ(local->i, expect(2026, 11, 24, 10, 0, 0));
  // Out of the fast path's shape but valid: the general parser answers.
  EXPECT_EQ(parse_timestamptz("2026-11-24T23:59:60Z"), expect(2026, 11, 25, 0, 0, 0));
  EXPECT_EQ(parse_timestamptz("2026-11-24T10:00:00.1234567Z"),
            expect(2026, 11, 24, 10, 0, 0) + 123457);
  EXPECT_EQ(parse_timestamptz("2026-11-24t10:00:00z"), expect(2026, 11, 24, 10, 0, 0));
  for (const char* bad : {"2023-02-29T00:00:00Z", "2026-11-24T10:00:00+", "2026-11-31T00:00:00Z",
                          "2026-11-24T10:60:00Z", "2026-11-24T10:00:00+16"}) {
    EXPECT_FALSE(parse_timestamptz(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace eddy::sql

namespace eddy::sql {
namespace {

TableDef decode_table() {
  TableDef t;
  t.name = "t";
  t.columns = {{"s", Type::kInt2},    {"i", Type::kInt4},   {"b", Type::kInt8},
               {"n", Type::kNumeric}, {"txt", Type::kText}, {"f", Type::kFloat8}};
  return t;
}

// Decodes `json` into a fresh row; the reason when it does not fit, else "" and the row's text.
std::string decode(std::string_view json, const std::vector<bool>* used = nullptr) {
  Row row(decode_table().columns.size());
  std::string reason;
  if (!decode_json_row(decode_table(), json, row, reason, used)) return "error: " + reason;
  std::string out;
  for (const auto& v : row)
    out += (v.null ? std::string("NULL") : to_text(v)) + "|";
  return out;
}

TEST(JsonDecode, IntegersAreExactAndRangeChecked) {
  EXPECT_EQ(decode(R"({"s":-32768,"i":2147483647,"b":-9223372036854775808})"),
            "-32768|2147483647|-9223372036854775808|NULL|NULL|NULL|");
  EXPECT_EQ(decode(R"({"s":32768})"), "error: field \"s\" does not fit type smallint");
  EXPECT_EQ(decode(R"({"i":-2147483649})"), "error: field \"i\" does not fit type integer");
  EXPECT_EQ(decode(R"({"b":9223372036854775808})"), "error: field \"b\" does not fit type bigint");
  // Integral decimal and exponent forms are integers; a fraction is refused, never rounded;
  // strings are parsed as text input.
  EXPECT_EQ(decode(R"({"i":2.0,"b":"42","n":1e2,"s":5E1})"), "50|2|42|100|NULL|NULL|");
  EXPECT_EQ(decode(R"({"b":1.5})"),
            "error: field \"b\": 1.5 is not an integer (column type bigint)");
  EXPECT_EQ(decode(R"({"i":25e-1})"),
            "error: field \"i\": 25e-1 is not an integer (column type integer)");
  EXPECT_EQ(decode(R"({"txt":"a\u0000b"})"),
            "error: field \"txt\" holds \\u0000, which text cannot hold");
  EXPECT_EQ(decode("{\"txt\":\"caf\xc3\"}"), "error: malformed JSON: The input is not valid UTF-8");
  EXPECT_EQ(decode(R"({"b":"4x"})"), "error: field \"b\" does not fit type bigint");
  EXPECT_EQ(decode(R"({"b":true})"), "error: field \"b\" does not fit type bigint");
  EXPECT_EQ(decode(R"({"f":1.5,"txt":{"a":[1,2]},"n":0.10})"),
            "NULL|NULL|NULL|0.10|{\"a\":[1,2]}|1.5|");
  EXPECT_EQ(decode(R"([1])"), "error: not a JSON object");
}

TEST(JsonDecode, IntegerTokensOfEveryLengthAgree) {
  // Up to 18 digits are read from the token's text, longer ones by the general number path.
  EXPECT_EQ(decode(R"({"b":999999999999999999})"), "NULL|NULL|999999999999999999|NULL|NULL|NULL|");
  EXPECT_EQ(decode(R"({"b":-999999999999999999 })"),
            "NULL|NULL|-999999999999999999|NULL|NULL|NULL|");
  EXPECT_EQ(decode(R"({"b":1000000000000000000})"),
            "NULL|NULL|1000000000000000000|NULL|NULL|NULL|");
  EXPECT_EQ(decode(R"({"s":-0,"i":0,"b":-1})"), "0|0|-1|NULL|NULL|NULL|");
  EXPECT_EQ(decode(R"({"i":-2147483648,"s":-32769})"),
            "error: field \"s\" does not fit type smallint");
  EXPECT_EQ(decode(R"({"b":1E3,"i":-1e0})"), "NULL|-1|1000|NULL|NULL|NULL|");
}

// append_table_record appends only the columns a reader reads, and nothing for a record that
// does not fit.
TEST(JsonDecode, AppendTableRecordFillsReadColumnsOnly) {
  const TableDef table = decode_table();
  const size_t width = table.columns.size() + std::size(kMetadataColumns);
  std::vector<bool> used(width, false);
  used[1] = true;                         // i
  used[4] = false;                        // txt is not read: not even checked
  used[table.columns.size() + 1] = true;  // _offset
  used[table.columns.size() + 3] = true;  // _timestamp
  std::vector<uint32_t> read;
  for (uint32_t c = 0; c < width; ++c)
    if (used[c]) read.push_back(c);
  std::vector<std::vector<Value>> columns(width);
  Row scratch;
  std::string reason;
  auto append = [&](const std::string& json, int64_t offset) {
    storage::RecordView record;
    record.value = std::string_view(json);
    return append_table_record(table, record, offset, 0, 1000, used, read, columns, scratch,
                               reason);
  };
  EXPECT_TRUE(append(R"({"i":7,"s":1,"txt":{"any":1}})", 10));
  // s does not fit: unread, but it still decides whether the record fits.
  EXPECT_FALSE(append(R"({"i":8,"s":99999})", 11));
  EXPECT_EQ(reason, "field \"s\" does not fit type smallint");
  EXPECT_TRUE(append(R"({"s":2})", 12));
  EXPECT_FALSE(append("not json", 13));
  for (uint32_t c = 0; c < width; ++c)
    EXPECT_EQ(columns[c].size(), used[c] ? 2u : 0u) << c;
  EXPECT_EQ(columns[1][0].i, 7);
  EXPECT_TRUE(columns[1][1].null);
  EXPECT_EQ(columns[1][1].type, Type::kInt4);
  EXPECT_EQ(columns[table.columns.size() + 1][0].i, 10);
  EXPECT_EQ(columns[table.columns.size() + 1][1].i, 12);
  EXPECT_EQ(columns[table.columns.size() + 3][1].i, 1000 * 1000);

  // Parsed in place inside a chunk of records: what follows the value is never part of it.
  // More than SIMDJSON_PADDING bytes follow the second value.
  const std::string chunk = R"({"i":5}{"i":6})" + std::string(256, '}');
  const auto bytes = std::as_bytes(std::span(chunk.data(), chunk.size()));
  auto in_chunk = [&](size_t at, size_t size) {
    storage::RecordView record;
    record.value = std::string_view(chunk).substr(at, size);
    return append_table_record(table, record, 20, 0, 1000, used, read, columns, scratch, reason,
                               bytes);
  };
  EXPECT_TRUE(in_chunk(0, 7));
  EXPECT_FALSE(in_chunk(0, 6));  // '{"i":5' is cut short even though '}' follows in the chunk
  EXPECT_TRUE(in_chunk(7, 7));
  ASSERT_EQ(columns[1].size(), 4u);
  EXPECT_EQ(columns[1][2].i, 5);
  EXPECT_EQ(columns[1][3].i, 6);
}

TEST(JsonDecode, UnreadTextColumnsAreLeftNullButOthersStillDecide) {
  const std::vector<bool> used{true, true, true, true, false, true};
  EXPECT_EQ(decode(R"({"i":1,"txt":"skipped"})", &used), "NULL|1|NULL|NULL|NULL|NULL|");
  EXPECT_EQ(decode(R"({"txt":"x","n":"abc"})", &used),
            "error: field \"n\" does not fit type numeric");
  // Fields in any order, unknown fields ignored, the last duplicate wins.
  EXPECT_EQ(decode(R"({"f":2,"zz":1,"s":1,"s":2})"), "2|NULL|NULL|NULL|NULL|2|");
}

}  // namespace
}  // namespace eddy::sql

namespace eddy::sql {
namespace {

// A catalog written before primary keys (and view inputs) existed still opens: its tables are
// streams. A primary key survives a rewrite and a reopen.
TEST(CatalogFile, PrimaryKeysPersistAndOldCatalogsStillOpen) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("eddy-sql-catalog-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::FILE* f = std::fopen((dir / "sql_catalog").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"version": 1, "tables": [{"name": "orders", "topic": "orders",
      "owns_topic": true, "format": "json", "columns": [{"name": "id", "type": "bigint"}]}],
      "views": [{"name": "v", "sql": "CREATE MATERIALIZED VIEW v AS SELECT id FROM orders",
      "table": "orders", "columns": [{"name": "id", "type": "bigint"}]}]})",
               f);
    std::fclose(f);
  }
  auto catalog = Catalog::open(posix_file_system(), dir.string());
  ASSERT_TRUE(catalog.ok()) << catalog.error().message();
  auto orders = (*catalog)->table("orders");
  ASSERT_TRUE(orders.has_value());
  EXPECT_FALSE(orders->has_primary_key());
  EXPECT_TRUE((*catalog)->view("v")->inputs.empty());

  TableDef customers;
  customers.name = "customers";
  customers.topic = "customers";
  customers.columns = {{"region", Type::kText}, {"id", Type::kInt8}, {"name", Type::kText}};
  customers.primary_key = {1, 0};
  ASSERT_TRUE((*catalog)->create(customers).ok());
  auto reopened = Catalog::open(posix_file_system(), dir.string());
  ASSERT_TRUE(reopened.ok()) << reopened.error().message();
  EXPECT_EQ((*reopened)->table("customers")->primary_key, (std::vector<size_t>{1, 0}));
  EXPECT_FALSE((*reopened)->table("orders")->has_primary_key());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eddy::sql

// Expression semantics through a Session without storage: PostgreSQL's typing, overflow and
// NULL rules, and errors as values with SQLSTATE and position.
#include <gtest/gtest.h>

#include <filesystem>

#include "sql/catalog.h"
#include "sql/executor.h"
#include "sql/session.h"
#include "sql/value.h"

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
  EXPECT_EQ(one("SELECT 1 UNION SELECT 2"), "ERROR 0A000");
  EXPECT_EQ(one("SELECT (SELECT 1)"), "ERROR 0A000");
  EXPECT_EQ(one("SELECT CURRENT_TIMESTAMP"), "ERROR 0A000");
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
  for (const char* bad : {"", "2024", "2024-1x-01", "2024-01-01T10", "2024-13-01",
                          "2024-01-01T24:00", "2024-01-01Zjunk", "2024-01-01T10:00:00+"}) {
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
  // Decimal and exponent forms round like a numeric cast; strings are parsed as text input.
  EXPECT_EQ(decode(R"({"i":2.5,"b":"42","n":1e2})"), "NULL|3|42|100|NULL|NULL|");
  EXPECT_EQ(decode(R"({"b":"4x"})"), "error: field \"b\" does not fit type bigint");
  EXPECT_EQ(decode(R"({"b":true})"), "error: field \"b\" does not fit type bigint");
  EXPECT_EQ(decode(R"({"f":1.5,"txt":{"a":[1,2]},"n":0.10})"),
            "NULL|NULL|NULL|0.10|{\"a\":[1,2]}|1.5|");
  EXPECT_EQ(decode(R"([1])"), "error: not a JSON object");
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

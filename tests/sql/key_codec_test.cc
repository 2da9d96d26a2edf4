// The key encoding both engines hash and sort on: order-preserving, equal values equal.
#include "sql/key_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace eddy::sql {
namespace {

Value numeric(const std::string& text) {
  return *from_text(Type::kNumeric, text);
}

TEST(KeyCodec, PreservesOrder) {
  const std::vector<std::vector<Value>> cases = {
      {Value::integer(Type::kInt8, INT64_MIN), Value::integer(Type::kInt8, -5),
       Value::integer(Type::kInt8, 0), Value::integer(Type::kInt8, 7),
       Value::integer(Type::kInt8, INT64_MAX), Value::null_of(Type::kInt8)},
      {Value::floating(Type::kFloat8, -1e300), Value::floating(Type::kFloat8, -0.5),
       Value::floating(Type::kFloat8, 0), Value::floating(Type::kFloat8, 1e-300),
       Value::floating(Type::kFloat8, 3.25), Value::floating(Type::kFloat8, INFINITY),
       Value::floating(Type::kFloat8, NAN)},
      {numeric("-1000.5"), numeric("-99.99"), numeric("-0.001"), numeric("0"), numeric("0.0001"),
       numeric("0.12"), numeric("0.123"), numeric("1"), numeric("9.99"), numeric("10"),
       numeric("12345678901234567890.5")},
      // Beyond 128 bits, beyond the 16-bit exponent, and NaN and the infinities.
      {numeric("-Infinity"), numeric("-1e40000"),
       numeric("-123456789012345678901234567890123456789012"), numeric("-1e-16000"), numeric("0"),
       numeric("1e-16000"), numeric("170141183460469231731687303715884105727"),
       numeric("170141183460469231731687303715884105728"), numeric("1e40000"), numeric("1.5e40000"),
       numeric("Infinity"), numeric("NaN")},
      {Value::text(""), Value::text("a"), Value::text(std::string("a\0b", 3)), Value::text("a\x01"),
       Value::text("ab"), Value::text("b"), Value::text("\xff")},
      {Value::boolean(false), Value::boolean(true), Value::null_of(Type::kBool)},
      {Value::date(kTimestampMinusInfinity), Value::date(-719528), Value::date(-1), Value::date(0),
       Value::date(19723), Value::date(kTimestampInfinity)},
      {Value::interval(-1, 0, 0), Value::interval(0, -29, 0), Value::interval(0, 0, -1),
       Value::interval(0, 0, 0), Value::interval(0, 1, -1), Value::interval(0, 1, 0),
       Value::interval(1, 0, 1), Value::interval(INT32_MAX, INT32_MAX, INT64_MAX)},
      {Value::text("", Type::kBytea), Value::text(std::string(1, '\0'), Type::kBytea),
       Value::text("\x7f", Type::kBytea), Value::text("\xff", Type::kBytea)},
  };
  for (const auto& values : cases) {
    for (size_t i = 0; i + 1 < values.size(); ++i) {
      std::string a, b;
      append_key(a, values[i]);
      append_key(b, values[i + 1]);
      EXPECT_LT(a, b) << to_text(values[i]) << " vs " << to_text(values[i + 1]);
    }
  }
  EXPECT_EQ(encode_key({numeric("1.5")}), encode_key({numeric("1.50")}));
  EXPECT_EQ(encode_key({numeric("1e40000")}), encode_key({numeric("10e39999")}));
  EXPECT_EQ(encode_key({numeric("NaN")}), encode_key({numeric("nan")}));
  // Views keep these keys in their state: values that fit 38 digits keep the bytes earlier
  // versions wrote.
  EXPECT_EQ(encode_key({numeric("-12.5")}), std::string("\x01\x01\x7f\xfd\xce\xcd\xca\xff", 8));
  EXPECT_EQ(encode_key({numeric("0.50")}), std::string("\x01\x03\x80\x00"
                                                       "5\x00",
                                                       6));
  // Intervals group as spans, as PostgreSQL compares them.
  EXPECT_EQ(encode_key({Value::interval(1, 0, 0)}), encode_key({Value::interval(0, 30, 0)}));
  EXPECT_EQ(encode_key({Value::floating(Type::kFloat8, -0.0)}),
            encode_key({Value::floating(Type::kFloat8, 0.0)}));
  // jsonb numbers by value, in the current format only (views keep the format they began with).
  const Value a = *jsonb_from_text(R"({"b": [1.50, "1.50"], "a": -0.0})");
  const Value b = *jsonb_from_text(R"({"a": 0, "b": [1.5, "1.50"]})");
  const Value c = *jsonb_from_text(R"({"a": 0, "b": [1.5, "1.5"]})");
  EXPECT_EQ(encode_key({a}), encode_key({b}));
  EXPECT_NE(encode_key({b}), encode_key({c}));
  EXPECT_NE(encode_key({a}, KeyFormat::kJsonbAsText), encode_key({b}, KeyFormat::kJsonbAsText));
  EXPECT_EQ(jsonb_equality_text(R"(["x\"1.0", 2.50, 1e-20000])"), R"(["x\"1.0", 2.5, 1e-20000])");
  // Multi-column keys compare column by column, whatever the first column's length.
  EXPECT_LT(encode_key({Value::text("a"), Value::integer(Type::kInt4, 9)}),
            encode_key({Value::text("ab"), Value::integer(Type::kInt4, 1)}));
}

}  // namespace
}  // namespace eddy::sql

// numeric beyond 128 bits, NaN and the infinities: arithmetic, rounding, order, text and the
// state format, with the answers PostgreSQL 15 gives.
#include "sql/numeric.h"

#include <gtest/gtest.h>

#include <string>

namespace eddy::sql {
namespace {

Numeric num(const std::string& text) {
  Numeric n;
  EXPECT_EQ(numeric_parse(text, n), NumericParse::kOk) << text;
  return n;
}

std::string str(const NumericResult& r) {
  if (r.error == NumericError::kOverflow) return "overflow";
  if (r.error == NumericError::kDivisionByZero) return "division by zero";
  return numeric_to_string(r.value);
}

const std::string k40 = "1234567890123456789012345678901234567890";

TEST(Numeric, TextInAndOut) {
  EXPECT_EQ(numeric_to_string(num(" nan ")), "NaN");
  EXPECT_EQ(numeric_to_string(num("+INF")), "Infinity");
  EXPECT_EQ(numeric_to_string(num("-infinity")), "-Infinity");
  EXPECT_EQ(numeric_to_string(num(k40 + ".50")), k40 + ".50");
  EXPECT_EQ(numeric_to_string(num("-0.000")), "0.000");
  EXPECT_EQ(numeric_to_string(num("1.5e-3")), "0.0015");
  EXPECT_EQ(numeric_to_string(num("2e3")), "2000");
  EXPECT_EQ(numeric_to_string(num("1e-16383")).size(), 16385u);
  Numeric n;
  EXPECT_EQ(numeric_parse("1e-16384", n), NumericParse::kOverflow);
  EXPECT_EQ(numeric_parse("1e131072", n), NumericParse::kOverflow);
  EXPECT_EQ(numeric_parse("1e131071", n), NumericParse::kOk);
  EXPECT_EQ(numeric_parse("1e999999999999", n), NumericParse::kOverflow);
  EXPECT_EQ(numeric_parse("NaNx", n), NumericParse::kInvalid);
  EXPECT_EQ(numeric_parse("+nan", n), NumericParse::kInvalid);
  EXPECT_EQ(numeric_parse("1e", n), NumericParse::kInvalid);
  // The exponent as strtol reads it, as PostgreSQL does: spaces, then one sign.
  EXPECT_EQ(numeric_to_string(num("1e 5")), "100000");
  EXPECT_EQ(numeric_to_string(num("1e -5")), "0.00001");
  EXPECT_EQ(numeric_parse("1e+-5", n), NumericParse::kInvalid);
  EXPECT_EQ(numeric_parse(".", n), NumericParse::kInvalid);
}

TEST(Numeric, ArithmeticPastOneHundredTwentyEightBits) {
  EXPECT_EQ(str(numeric_add(num("99999999999999999999999999999999999999"), num("1"))),
            "100000000000000000000000000000000000000");
  // 2^127 - 1 and one more: the small form's edge, both ways.
  EXPECT_EQ(str(numeric_add(num("170141183460469231731687303715884105727"), num("1"))),
            "170141183460469231731687303715884105728");
  EXPECT_EQ(str(numeric_sub(num("-170141183460469231731687303715884105727"), num("2"))),
            "-170141183460469231731687303715884105729");
  EXPECT_EQ(str(numeric_mul(num(k40), num("987654321098765432109876543210"))),
            "1219326311370217952261850327337448559633622923332237463801111263526900");
  EXPECT_EQ(str(numeric_mul(num("1e-10000"), num("1e-10000"))), "0." + std::string(16383, '0'));
  EXPECT_EQ(str(numeric_mul(num("1e100000"), num("1e100000"))), "overflow");
  EXPECT_EQ(str(numeric_div(num("1e40"), num("3"))), "3333333333333333333333333333333333333333");
  EXPECT_EQ(str(numeric_div(num("1"), num("3"))), "0.33333333333333333333");
  EXPECT_EQ(str(numeric_div(num("0"), num("7"))), "0.00000000000000000000");
  EXPECT_EQ(str(numeric_div(num("1e-40"), num("3"))),
            "0.000000000000000000000000000000000000000033333333333333333333");
  EXPECT_EQ(str(numeric_div(num("1"), num("3.000000000000000000000000000000000000000000000001"))),
            "0.333333333333333333333333333333333333333333333333");
  EXPECT_EQ(str(numeric_div(num("-2"), num("3"))), "-0.66666666666666666667");
  // A dividend with more than 1000 digits after the point: the quotient has 1000, rounded.
  EXPECT_EQ(str(numeric_div(num("1e-1500"), num("1"))), "0." + std::string(1000, '0'));
  EXPECT_EQ(str(numeric_div(num("1." + std::string(1000, '0') + "1"), num("1"))),
            "1." + std::string(1000, '0'));
  EXPECT_EQ(str(numeric_div(num("0." + std::string(1000, '9') + "9"), num("1"))),
            "1." + std::string(1000, '0'));
  // Divisors near 2^126, where remainder * 10 would pass 128 bits.
  EXPECT_EQ(str(numeric_div(num("1"), num("80000000000000000000000000000000000000"))),
            "0.00000000000000000000000000000000000001250000000000000000");
  EXPECT_EQ(str(numeric_div(num("-170141183460469231731687303715884105727"), num("3.1"))),
            "-54884252729183623139253968940607776041.0");
  EXPECT_EQ(str(numeric_mod(num("12345678901234567890123456789012345678901234567890.123456789"),
                            num("7"))),
            "1.123456789");
  EXPECT_EQ(str(numeric_mod(num("-" + k40), num("1000"))), "-890");
  EXPECT_EQ(numeric_compare(num("1e40"), num("10000000000000000000000000000000000000000.00")), 0);
  EXPECT_LT(numeric_compare(num("1e40"), num("10000000000000000000000000000000000000000.001")), 0);
  EXPECT_GT(numeric_compare(num("-1"), num("-" + k40)), 0);
}

TEST(Numeric, NaNAndTheInfinitiesAsPostgreSQL) {
  const Numeric inf = Numeric::infinity(), minf = Numeric::infinity(true), nan = Numeric::nan();
  EXPECT_EQ(str(numeric_add(inf, num("1"))), "Infinity");
  EXPECT_EQ(str(numeric_sub(inf, inf)), "NaN");
  EXPECT_EQ(str(numeric_add(inf, minf)), "NaN");
  EXPECT_EQ(str(numeric_sub(num("1"), minf)), "Infinity");
  EXPECT_EQ(str(numeric_mul(inf, num("0"))), "NaN");
  EXPECT_EQ(str(numeric_mul(inf, num("-2"))), "-Infinity");
  EXPECT_EQ(str(numeric_div(num("1"), inf)), "0");
  EXPECT_EQ(str(numeric_div(inf, inf)), "NaN");
  EXPECT_EQ(str(numeric_div(nan, num("0"))), "NaN");
  EXPECT_EQ(str(numeric_div(inf, num("0"))), "division by zero");
  EXPECT_EQ(str(numeric_div(num("1"), num("0"))), "division by zero");
  EXPECT_EQ(str(numeric_mod(inf, num("3"))), "NaN");
  EXPECT_EQ(str(numeric_mod(num("5.5"), inf)), "5.5");
  EXPECT_EQ(str(numeric_mod(nan, num("0"))), "NaN");
  EXPECT_EQ(str(numeric_mod(inf, num("0"))), "division by zero");
  EXPECT_EQ(numeric_to_string(numeric_abs(minf)), "Infinity");
  EXPECT_EQ(numeric_to_string(numeric_negate(nan)), "NaN");
  EXPECT_EQ(str(numeric_round(inf, 2)), "Infinity");
  EXPECT_EQ(str(numeric_floor(minf)), "-Infinity");
  // -Infinity < finite < Infinity < NaN, and NaN equals NaN.
  EXPECT_LT(numeric_compare(minf, num("-" + k40)), 0);
  EXPECT_LT(numeric_compare(num(k40), inf), 0);
  EXPECT_LT(numeric_compare(inf, nan), 0);
  EXPECT_EQ(numeric_compare(nan, nan), 0);
  EXPECT_FALSE(numeric_to_int128(nan).has_value());
  EXPECT_EQ(numeric_to_string(numeric_from_double(-1.0 / 0.0)), "-Infinity");
  EXPECT_EQ(numeric_to_string(numeric_from_double(0.1)), "0.1");
  EXPECT_EQ(numeric_to_string(numeric_from_double(1e300)).size(), 301u);
}

TEST(Numeric, Rounding) {
  EXPECT_EQ(str(numeric_round(num(k40 + "12.5"), 0)), k40 + "13");
  EXPECT_EQ(str(numeric_round(num("-2.5"), 0)), "-3");
  EXPECT_EQ(str(numeric_round(num("1234.5678"), -2)), "1200");
  EXPECT_EQ(str(numeric_round(num("0.5"), -1)), "0");
  EXPECT_EQ(str(numeric_round(num("5.5"), 40)), "5.5" + std::string(39, '0'));
  EXPECT_EQ(str(numeric_trunc(num("-1234.5678"), -2)), "-1200");
  EXPECT_EQ(str(numeric_trunc(num("1.999"), 2)), "1.99");
  EXPECT_EQ(str(numeric_floor(num("-" + k40 + ".5"))), "-1234567890123456789012345678901234567891");
  EXPECT_EQ(str(numeric_ceil(num(k40 + ".1"))), "1234567890123456789012345678901234567891");
  EXPECT_EQ(str(numeric_rescale(num("0.125"), 2)), "0.13");
  EXPECT_EQ(str(numeric_rescale(num("-0.125"), 2)), "-0.13");
  EXPECT_TRUE(numeric_is_integral(num(k40 + "00.000")));
  EXPECT_FALSE(numeric_is_integral(num(k40 + ".001")));
  EXPECT_EQ(numeric_unscaled_digit_count(num("-" + k40)), 40);
}

TEST(Numeric, StateFormat) {
  // What earlier versions wrote: 16 bytes of unscaled value, 4 of scale.
  std::string old_bytes;
  const __int128 unscaled = -1250;
  const int32_t scale = 3;
  old_bytes.append(reinterpret_cast<const char*>(&unscaled), sizeof unscaled);
  old_bytes.append(reinterpret_cast<const char*>(&scale), sizeof scale);
  std::string written;
  numeric_serialize(written, num("-1.250"));
  EXPECT_EQ(written, old_bytes);
  // An old-format value from 2^126 on reads as the same number (held big, so it is exact in
  // every operation).
  {
    std::string bytes;
    const __int128 large = (static_cast<__int128>(1) << 126) + 5;
    const int32_t zero_scale = 0;
    bytes.append(reinterpret_cast<const char*>(&large), sizeof large);
    bytes.append(reinterpret_cast<const char*>(&zero_scale), sizeof zero_scale);
    std::string_view in = bytes;
    Numeric back;
    ASSERT_TRUE(numeric_deserialize(in, back));
    EXPECT_FALSE(back.small_unscaled().has_value());
    EXPECT_EQ(str(numeric_div(num("1"), back)),
              "0.00000000000000000000000000000000000001175494350822287508");
  }

  for (const char* text : {"NaN", "Infinity", "-Infinity", "0", "-1.250",
                           "-123456789012345678901234567890123456789012.123", "1e-16383"}) {
    std::string bytes;
    numeric_serialize(bytes, num(text));
    bytes += "tail";
    std::string_view in = bytes;
    Numeric back;
    ASSERT_TRUE(numeric_deserialize(in, back)) << text;
    EXPECT_EQ(numeric_to_string(back), numeric_to_string(num(text)));
    EXPECT_EQ(in, "tail");
  }
  // Truncated or corrupt bytes are refused.
  std::string big;
  numeric_serialize(big, num(k40));
  for (size_t cut : {size_t{0}, size_t{10}, big.size() - 1}) {
    std::string_view in(big.data(), cut);
    Numeric back;
    EXPECT_FALSE(numeric_deserialize(in, back));
  }
  std::string bad = big;
  bad[20] = 'x';
  std::string_view in = bad;
  Numeric back;
  EXPECT_FALSE(numeric_deserialize(in, back));
}

}  // namespace
}  // namespace eddy::sql

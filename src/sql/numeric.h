// SQL numeric: exact decimals with PostgreSQL's semantics — arbitrary precision (up to 131,072
// digits before the point and 16,383 after), NaN, Infinity and -Infinity — and the arithmetic,
// rounding, comparison, text and state formats of them.
//
// A finite value is an unscaled integer and a scale (digits after the point): value = unscaled /
// 10^scale. Almost every value met in practice fits a 128-bit unscaled integer and computes
// without allocating; a larger one holds an immutable GMP integer shared between copies.
// NaN equals itself and sorts above everything, as PostgreSQL orders it; -Infinity below every
// finite value and Infinity above.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace eddy::sql {

struct NumericBig;  // a GMP integer, in numeric.cc

// PostgreSQL's limits: NUMERIC_DSCALE_MAX, the digits before the point its weight allows,
// NUMERIC_MAX_DISPLAY_SCALE (division and avg) and NUMERIC_MAX_RESULT_SCALE (round, trunc).
inline constexpr int kNumericMaxScale = 16383;
inline constexpr int kNumericMaxIntegerDigits = 131072;
inline constexpr int kNumericMaxDisplayScale = 1000;
inline constexpr int kNumericMaxResultScale = 2000;

class Numeric {
 public:
  enum class Kind : uint8_t { kFinite, kNaN, kInfinity, kMinusInfinity };

  Numeric() = default;  // 0
  Numeric(__int128 unscaled, int scale) : small_(unscaled), scale_(scale) {}
  static Numeric nan();
  static Numeric infinity(bool negative = false);

  Kind kind() const { return kind_; }
  bool is_finite() const { return kind_ == Kind::kFinite; }
  bool is_nan() const { return kind_ == Kind::kNaN; }
  bool is_infinite() const { return kind_ == Kind::kInfinity || kind_ == Kind::kMinusInfinity; }
  // Digits after the point (0 for NaN and the infinities).
  int scale() const { return scale_; }
  // -1, 0 or 1; the infinities are -1 and 1, NaN 0.
  int sign() const;
  bool is_zero() const { return is_finite() && !big_ && small_ == 0; }
  // The unscaled integer when the value is finite and it fits 128 bits.
  std::optional<__int128> small_unscaled() const {
    if (!is_finite() || big_) return std::nullopt;
    return small_;
  }

 private:
  friend struct NumericAccess;
  __int128 small_ = 0;
  int32_t scale_ = 0;
  Kind kind_ = Kind::kFinite;
  std::shared_ptr<const NumericBig> big_;  // the unscaled integer when it passes 128 bits
};

// What an operation that can fail ran into. kOverflow is "value overflows numeric format".
enum class NumericError : uint8_t {
  kNone,
  kOverflow,
  kDivisionByZero,
  kSqrtOfNegative,       // 2201F
  kLogOfZero,            // 2201E
  kLogOfNegative,        // 2201E
  kZeroToNegativePower,  // 2201F
  kComplexPower,         // 2201F: a negative number to a non-integer power
};
struct NumericResult {
  Numeric value{};
  NumericError error = NumericError::kNone;
  bool ok() const { return error == NumericError::kNone; }
};

// Text: PostgreSQL's numeric_in (NaN, [+-]Infinity, [+-]inf in any case, digits with an
// optional exponent, surrounding spaces) and numeric_out (every digit of the scale).
enum class NumericParse : uint8_t { kOk, kInvalid, kOverflow };
NumericParse numeric_parse(std::string_view text, Numeric& out);
std::optional<Numeric> numeric_from_string(std::string_view text);  // nullopt: either failure
std::string numeric_to_string(const Numeric& n);

NumericResult numeric_add(const Numeric& a, const Numeric& b);
NumericResult numeric_sub(const Numeric& a, const Numeric& b);
NumericResult numeric_mul(const Numeric& a, const Numeric& b);
// With PostgreSQL's choice of result scale (about 16 significant digits, at least either
// input's scale, at most 1000), rounded half away from zero.
NumericResult numeric_div(const Numeric& a, const Numeric& b);
NumericResult numeric_mod(const Numeric& a, const Numeric& b);
Numeric numeric_negate(const Numeric& n);
Numeric numeric_abs(const Numeric& n);
int numeric_compare(const Numeric& a, const Numeric& b);

// sqrt, exp, ln, log(base, x) and power as PostgreSQL 15 computes them for numeric
// (numeric_math.cc): rounded half away from zero at PostgreSQL's result scale (at least 16
// significant digits, no fewer digits after the point than an input has, at most 1000), with
// its NaN and infinity rules and its errors.
NumericResult numeric_sqrt(const Numeric& x);
NumericResult numeric_exp(const Numeric& x);
NumericResult numeric_ln(const Numeric& x);
NumericResult numeric_log(const Numeric& base, const Numeric& x);
NumericResult numeric_power(const Numeric& base, const Numeric& exponent);

// To `scale` digits after the point, rounding half away from zero (kOverflow past the digit
// limit). Only finite values change.
NumericResult numeric_rescale(const Numeric& n, int scale);
// round(n, digits) and trunc(n, digits): digits may be negative (to tens, hundreds, ...); the
// result's scale is max(digits, 0).
NumericResult numeric_round(const Numeric& n, int64_t digits);
NumericResult numeric_trunc(const Numeric& n, int64_t digits);
NumericResult numeric_floor(const Numeric& n);  // overflows only past 131072 digits
NumericResult numeric_ceil(const Numeric& n);
bool numeric_is_integral(const Numeric& n);  // finite with no fractional part
// Digits of |unscaled| (0 for zero): numeric(p, s) holds a value rescaled to s when this is at
// most p.
int numeric_unscaled_digit_count(const Numeric& n);
// The decimal digits of |unscaled| without trailing zeros ("" for zero) and the exponent e with
// |n| = 0.digits x 10^e, for order-preserving keys.
void numeric_significand(const Numeric& n, std::string& digits, int64_t& exponent);

double numeric_to_double(const Numeric& n);  // NaN and the infinities map to the doubles'
// float8 -> numeric as PostgreSQL converts: 15 significant digits (6 for float4).
Numeric numeric_from_double(double d, int significant_digits = 15);
// The value rounded to an integer, when it is finite and fits 128 bits.
std::optional<__int128> numeric_to_int128(const Numeric& n);

// A stable byte format for state stores. Values that fit 128 bits with a scale up to 16383
// keep the format of earlier versions (16 bytes unscaled, 4 bytes scale).
void numeric_serialize(std::string& out, const Numeric& n);
bool numeric_deserialize(std::string_view& in, Numeric& n);

}  // namespace eddy::sql

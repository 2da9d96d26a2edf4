#include "sql/numeric.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common/raw_bytes.h"
#include "sql/numeric_detail.h"

namespace eddy::sql {

using namespace numeric_detail;

namespace {

using Access = NumericAccess;
using Kind = Numeric::Kind;

const __int128 kPow10[] = {
    // 10^0 .. 10^38
    static_cast<__int128>(1),
    static_cast<__int128>(10),
    static_cast<__int128>(100),
    static_cast<__int128>(1000),
    static_cast<__int128>(10000),
    static_cast<__int128>(100000),
    static_cast<__int128>(1000000),
    static_cast<__int128>(10000000),
    static_cast<__int128>(100000000),
    static_cast<__int128>(1000000000),
    static_cast<__int128>(10000000000),
    static_cast<__int128>(100000000000),
    static_cast<__int128>(1000000000000),
    static_cast<__int128>(10000000000000),
    static_cast<__int128>(100000000000000),
    static_cast<__int128>(1000000000000000),
    static_cast<__int128>(10000000000000000),
    static_cast<__int128>(100000000000000000),
    static_cast<__int128>(1000000000000000000),
    static_cast<__int128>(1000000000000000000) * 10,
    static_cast<__int128>(1000000000000000000) * 100,
    static_cast<__int128>(1000000000000000000) * 1000,
    static_cast<__int128>(1000000000000000000) * 10000,
    static_cast<__int128>(1000000000000000000) * 100000,
    static_cast<__int128>(1000000000000000000) * 1000000,
    static_cast<__int128>(1000000000000000000) * 10000000,
    static_cast<__int128>(1000000000000000000) * 100000000,
    static_cast<__int128>(1000000000000000000) * 1000000000,
    static_cast<__int128>(1000000000000000000) * 10000000000,
    static_cast<__int128>(1000000000000000000) * 100000000000,
    static_cast<__int128>(1000000000000000000) * 1000000000000,
    static_cast<__int128>(1000000000000000000) * 10000000000000,
    static_cast<__int128>(1000000000000000000) * 100000000000000,
    static_cast<__int128>(1000000000000000000) * 1000000000000000,
    static_cast<__int128>(1000000000000000000) * 10000000000000000,
    static_cast<__int128>(1000000000000000000) * 100000000000000000,
    static_cast<__int128>(1000000000000000000) * 1000000000000000000,
    static_cast<__int128>(1000000000000000000) * 1000000000000000000 * 10,
    static_cast<__int128>(1000000000000000000) * 1000000000000000000 * 100,
};
constexpr int kMaxSmallPow10 = 38;

}  // namespace

namespace numeric_detail {

mpz_class pow10_big(int64_t k) {
  mpz_class r;
  mpz_ui_pow_ui(r.get_mpz_t(), 10, static_cast<unsigned long>(k));
  return r;
}

// Digits of |x| (0 for zero), exactly.
int64_t digit_count(const mpz_class& x) {
  if (sgn(x) == 0) return 0;
  mpz_class mag = abs(x);
  auto d = static_cast<int64_t>(mpz_sizeinbase(mag.get_mpz_t(), 10));  // d or d + 1
  if (d > 1 && mag < pow10_big(d - 1)) --d;
  return d;
}

// q = round_half_away(x / 10^k) for k > 0.
mpz_class divide_pow10_rounded(const mpz_class& x, int64_t k) {
  const mpz_class divisor = pow10_big(k);
  mpz_class q, r;
  mpz_tdiv_qr(q.get_mpz_t(), r.get_mpz_t(), x.get_mpz_t(), divisor.get_mpz_t());
  mpz_class twice = abs(r) * 2;
  if (twice >= divisor) q += sgn(x);
  return q;
}

// A finite result, checked against PostgreSQL's limits: more than 16383 digits after the point
// round away; more than 131072 before it overflow.
NumericResult checked(mpz_class unscaled, int64_t scale) {
  if (scale > kNumericMaxScale) {
    unscaled = divide_pow10_rounded(unscaled, scale - kNumericMaxScale);
    scale = kNumericMaxScale;
  }
  // mpz_sizeinbase answers the digit count or one more: count exactly only near the limit.
  const auto estimate = static_cast<int64_t>(mpz_sizeinbase(unscaled.get_mpz_t(), 10));
  if (estimate - scale > kNumericMaxIntegerDigits &&
      (estimate - 1 - scale > kNumericMaxIntegerDigits ||
       digit_count(unscaled) - scale > kNumericMaxIntegerDigits))
    return {{}, NumericError::kOverflow};
  return {Access::finite(unscaled, static_cast<int>(scale)), NumericError::kNone};
}

}  // namespace numeric_detail

namespace {

// x * 10^k without overflow, or false.
bool scale_up_small(__int128 x, int k, __int128& out) {
  if (k > kMaxSmallPow10) return x == 0 ? (out = 0, true) : false;
  return !__builtin_mul_overflow(x, kPow10[k], &out);
}

// Decimal digits of a non-negative 128-bit integer.
int digit_count(unsigned __int128 x) {
  int d = 0;
  while (x != 0) {
    x /= 10;
    ++d;
  }
  return d;
}

// A 128-bit result: far inside the digit limits. Magnitudes from 2^126 on are held big, so
// negating a small value never overflows.
NumericResult small_result(__int128 unscaled, int64_t scale) {
  constexpr __int128 kSmallLimit = static_cast<__int128>(1) << 126;
  if (scale > kNumericMaxScale || unscaled >= kSmallLimit || unscaled <= -kSmallLimit)
    return checked(Access::from_int128(unscaled), scale);
  return {Numeric(unscaled, static_cast<int>(scale)), NumericError::kNone};
}

NumericResult nan_result() {
  return {Numeric::nan(), NumericError::kNone};
}

// Aligns both to the larger scale.
void aligned(const Numeric& a, const Numeric& b, mpz_class& x, mpz_class& y, int& scale) {
  scale = std::max(a.scale(), b.scale());
  x = Access::unscaled(a) * pow10_big(scale - a.scale());
  y = Access::unscaled(b) * pow10_big(scale - b.scale());
}

NumericResult add_or_sub(const Numeric& a, const Numeric& b, bool subtract) {
  if (a.is_nan() || b.is_nan()) return nan_result();
  if (a.is_infinite() || b.is_infinite()) {
    const int sa = a.is_infinite() ? a.sign() : 0;
    const int sb = b.is_infinite() ? (subtract ? -b.sign() : b.sign()) : 0;
    if (sa != 0 && sb != 0 && sa != sb) return nan_result();  // Inf - Inf
    return {Numeric::infinity((sa != 0 ? sa : sb) < 0), NumericError::kNone};
  }
  const auto sa = a.small_unscaled(), sb = b.small_unscaled();
  if (sa && sb) {
    const int scale = std::max(a.scale(), b.scale());
    __int128 x, y, r;
    if (scale_up_small(*sa, scale - a.scale(), x) && scale_up_small(*sb, scale - b.scale(), y) &&
        !(subtract ? __builtin_sub_overflow(x, y, &r) : __builtin_add_overflow(x, y, &r)))
      return small_result(r, scale);
  }
  mpz_class x, y;
  int scale = 0;
  aligned(a, b, x, y, scale);
  return checked(subtract ? mpz_class(x - y) : mpz_class(x + y), scale);
}

// PostgreSQL's weight of a nonzero value in base-10000 digits, and its first such digit.
int base10000_weight(const Numeric& n, int& first) {
  std::string digits;
  int64_t exponent = 0;  // |n| = 0.digits x 10^exponent
  numeric_significand(n, digits, exponent);
  const int64_t e = exponent - 1;  // the leading digit's power of ten
  const int64_t w = e >= 0 ? e / 4 : -((-e + 3) / 4);
  const int64_t lead = e - 4 * w + 1;  // digits in the first base-10000 group (1..4)
  first = 0;
  for (int64_t i = 0; i < lead; ++i)
    first = first * 10 + (i < static_cast<int64_t>(digits.size()) ? digits[i] - '0' : 0);
  return static_cast<int>(w);
}

}  // namespace

Numeric Numeric::nan() {
  return Access::special(Kind::kNaN);
}

Numeric Numeric::infinity(bool negative) {
  return Access::special(negative ? Kind::kMinusInfinity : Kind::kInfinity);
}

int Numeric::sign() const {
  switch (kind_) {
    case Kind::kNaN:
      return 0;
    case Kind::kInfinity:
      return 1;
    case Kind::kMinusInfinity:
      return -1;
    case Kind::kFinite:
      break;
  }
  if (big_) return sgn(big_->v);
  return small_ > 0 ? 1 : small_ < 0 ? -1 : 0;
}

NumericParse numeric_parse(std::string_view text, Numeric& out) {
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  auto equals_nocase = [&text](std::string_view word) {
    return text.size() == word.size() &&
           std::equal(word.begin(), word.end(), text.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  if (equals_nocase("nan")) {
    out = Numeric::nan();
    return NumericParse::kOk;
  }
  for (std::string_view word : {"infinity", "+infinity", "inf", "+inf"}) {
    if (equals_nocase(word)) {
      out = Numeric::infinity();
      return NumericParse::kOk;
    }
  }
  if (equals_nocase("-infinity") || equals_nocase("-inf")) {
    out = Numeric::infinity(true);
    return NumericParse::kOk;
  }
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  std::string digits;
  int64_t scale = 0;
  bool seen_point = false, any_digit = false;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c >= '0' && c <= '9') {
      any_digit = true;
      if (!(digits.empty() && c == '0')) digits += c;  // no leading zeros
      if (seen_point) ++scale;
    } else {
      break;
    }
  }
  if (!any_digit) return NumericParse::kInvalid;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return NumericParse::kInvalid;
    // As strtol reads it: spaces, then one sign.
    auto exp_text = text.substr(i + 1);
    while (!exp_text.empty() && is_space(exp_text.front()))
      exp_text.remove_prefix(1);
    if (exp_text.size() > 1 && exp_text[0] == '+' && exp_text[1] != '-') exp_text.remove_prefix(1);
    int64_t exponent = 0;
    auto [p, ec] = std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
    if (ec == std::errc::result_out_of_range) return NumericParse::kOverflow;
    if (ec != std::errc() || p != exp_text.data() + exp_text.size()) return NumericParse::kInvalid;
    if (exponent >= std::numeric_limits<int32_t>::max() / 2 ||
        exponent <= -(std::numeric_limits<int32_t>::max() / 2))
      return NumericParse::kOverflow;
    scale -= exponent;
  }
  // A negative scale (1e5) is written out with zeros; past the limits it overflows.
  if (scale < 0) {
    if (static_cast<int64_t>(digits.size()) - scale > kNumericMaxIntegerDigits && !digits.empty())
      return NumericParse::kOverflow;
    if (!digits.empty()) digits.append(static_cast<size_t>(-scale), '0');
    scale = 0;
  }
  if (scale > kNumericMaxScale) return NumericParse::kOverflow;
  if (static_cast<int64_t>(digits.size()) - scale > kNumericMaxIntegerDigits)
    return NumericParse::kOverflow;
  if (digits.size() <= 37) {
    __int128 v = 0;
    for (char c : digits)
      v = v * 10 + (c - '0');
    out = Numeric(negative ? -v : v, static_cast<int>(scale));
    return NumericParse::kOk;
  }
  mpz_class v(digits, 10);
  if (negative) v = -v;
  out = Access::finite(v, static_cast<int>(scale));
  return NumericParse::kOk;
}

std::optional<Numeric> numeric_from_string(std::string_view text) {
  Numeric n;
  if (numeric_parse(text, n) != NumericParse::kOk) return std::nullopt;
  return n;
}

std::string numeric_to_string(const Numeric& n) {
  switch (n.kind()) {
    case Kind::kNaN:
      return "NaN";
    case Kind::kInfinity:
      return "Infinity";
    case Kind::kMinusInfinity:
      return "-Infinity";
    case Kind::kFinite:
      break;
  }
  std::string digits;
  const bool negative = n.sign() < 0;
  if (auto small = n.small_unscaled()) {
    auto mag =
        negative ? -static_cast<unsigned __int128>(*small) : static_cast<unsigned __int128>(*small);
    do {
      digits += static_cast<char>('0' + static_cast<int>(mag % 10));
      mag /= 10;
    } while (mag != 0);
    std::reverse(digits.begin(), digits.end());
  } else {
    digits = mpz_class(abs(Access::big(n)->v)).get_str(10);
  }
  const auto scale = static_cast<size_t>(n.scale());
  if (digits.size() <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
  std::string out = negative ? "-" : "";
  const size_t point = digits.size() - scale;
  out.append(digits, 0, point);
  if (scale > 0) {
    out += '.';
    out.append(digits, point, std::string::npos);
  }
  return out;
}

NumericResult numeric_add(const Numeric& a, const Numeric& b) {
  return add_or_sub(a, b, false);
}

NumericResult numeric_sub(const Numeric& a, const Numeric& b) {
  return add_or_sub(a, b, true);
}

NumericResult numeric_mul(const Numeric& a, const Numeric& b) {
  if (a.is_nan() || b.is_nan()) return nan_result();
  if (a.is_infinite() || b.is_infinite()) {
    const int s = a.sign() * b.sign();
    if (s == 0) return nan_result();  // Inf * 0
    return {Numeric::infinity(s < 0), NumericError::kNone};
  }
  const int64_t scale = static_cast<int64_t>(a.scale()) + b.scale();
  const auto sa = a.small_unscaled(), sb = b.small_unscaled();
  __int128 product;
  if (sa && sb && !__builtin_mul_overflow(*sa, *sb, &product)) return small_result(product, scale);
  return checked(Access::unscaled(a) * Access::unscaled(b), scale);
}

NumericResult numeric_div(const Numeric& a, const Numeric& b) {
  if (a.is_nan() || b.is_nan()) return nan_result();
  if (a.is_infinite()) {
    if (b.is_infinite()) return nan_result();
    if (b.is_zero()) return {{}, NumericError::kDivisionByZero};
    return {Numeric::infinity(a.sign() * b.sign() < 0), NumericError::kNone};
  }
  if (b.is_infinite()) return {Numeric(), NumericError::kNone};  // finite / Inf is 0
  if (b.is_zero()) return {{}, NumericError::kDivisionByZero};
  // PostgreSQL picks the scale from the quotient's weight in base-10000 digits so that about
  // 16 significant digits show; if the first digits are equal the quotient may be below 1 and
  // PostgreSQL assumes it is.
  int rscale = 0;
  if (!a.is_zero()) {
    int fa = 0, fb = 0;
    const int wa = base10000_weight(a, fa), wb = base10000_weight(b, fb);
    const int qweight = wa - wb - (fa <= fb ? 1 : 0);
    rscale = 16 - qweight * 4;
  } else {  // PostgreSQL takes zero's weight and first digit as 0
    int fb = 0;
    rscale = 16 - (-base10000_weight(b, fb) - 1) * 4;
  }
  rscale = std::max({rscale, a.scale(), b.scale(), 0});
  rscale = std::min(rscale, kNumericMaxDisplayScale);
  // |a| / |b| at rscale = |a.u| * 10^shift / |b.u|, rounded half away from zero. The cap of
  // 1000 digits can leave rscale below a's scale: then shift < 0 and the divisor is scaled up.
  const int shift = rscale + b.scale() - a.scale();
  const auto sa = a.small_unscaled(), sb = b.small_unscaled();
  // The long division keeps remainder * 10 within 128 bits: divisors below 2^124.
  constexpr __int128 kDivisorLimit = static_cast<__int128>(1) << 124;
  if (sa && sb && shift >= 0 && *sb<kDivisorLimit&& * sb> - kDivisorLimit) {
    using U = unsigned __int128;
    const bool negative = (*sa < 0) != (*sb < 0);
    const U dividend = *sa < 0 ? -static_cast<U>(*sa) : static_cast<U>(*sa);
    const U divisor = *sb < 0 ? -static_cast<U>(*sb) : static_cast<U>(*sb);
    // Long division: remainders stay below divisor < 2^127, so remainder * 10 fits in U.
    U quotient = dividend / divisor, remainder = dividend % divisor;
    const U limit = static_cast<U>(1) << 122;
    bool fits = true;
    for (int i = 0; i < shift && fits; ++i) {
      if (quotient >= limit) {
        fits = false;
        break;
      }
      remainder *= 10;
      quotient = quotient * 10 + remainder / divisor;
      remainder %= divisor;
    }
    if (fits) {
      if (remainder >= divisor - remainder) ++quotient;  // remainder * 2 >= divisor
      const auto q = static_cast<__int128>(quotient);
      return small_result(negative ? -q : q, rscale);
    }
  }
  const mpz_class x =
      shift >= 0 ? mpz_class(Access::unscaled(a) * pow10_big(shift)) : Access::unscaled(a);
  const mpz_class y =
      shift >= 0 ? Access::unscaled(b) : mpz_class(Access::unscaled(b) * pow10_big(-shift));
  mpz_class q, r;
  mpz_tdiv_qr(q.get_mpz_t(), r.get_mpz_t(), x.get_mpz_t(), y.get_mpz_t());
  if (mpz_class(abs(r) * 2) >= abs(y)) q += sgn(x) * sgn(y);
  return checked(q, rscale);
}

NumericResult numeric_mod(const Numeric& a, const Numeric& b) {
  if (a.is_nan() || b.is_nan()) return nan_result();
  if (a.is_infinite()) {
    if (b.is_zero()) return {{}, NumericError::kDivisionByZero};
    return nan_result();  // Inf % x
  }
  if (b.is_infinite()) return {a, NumericError::kNone};  // x % Inf is x
  if (b.is_zero()) return {{}, NumericError::kDivisionByZero};
  const int scale = std::max(a.scale(), b.scale());
  const auto sa = a.small_unscaled(), sb = b.small_unscaled();
  __int128 x, y;
  if (sa && sb && scale_up_small(*sa, scale - a.scale(), x) &&
      scale_up_small(*sb, scale - b.scale(), y))
    return small_result(x % y, scale);
  mpz_class bx, by;
  int s = 0;
  aligned(a, b, bx, by, s);
  mpz_class r;
  mpz_tdiv_r(r.get_mpz_t(), bx.get_mpz_t(), by.get_mpz_t());  // the sign of the dividend
  return checked(r, s);
}

Numeric numeric_negate(const Numeric& n) {
  switch (n.kind()) {
    case Kind::kNaN:
      return n;
    case Kind::kInfinity:
      return Numeric::infinity(true);
    case Kind::kMinusInfinity:
      return Numeric::infinity(false);
    case Kind::kFinite:
      break;
  }
  if (auto small = n.small_unscaled()) return Numeric(-*small, n.scale());
  return Access::finite(-Access::big(n)->v, n.scale());
}

Numeric numeric_abs(const Numeric& n) {
  return n.sign() < 0 ? numeric_negate(n) : n;
}

int numeric_compare(const Numeric& a, const Numeric& b) {
  // -Infinity < finite < Infinity < NaN.
  auto rank = [](const Numeric& n) {
    switch (n.kind()) {
      case Kind::kMinusInfinity:
        return 0;
      case Kind::kFinite:
        return 1;
      case Kind::kInfinity:
        return 2;
      case Kind::kNaN:
        return 3;
    }
    return 1;
  };
  const int ra = rank(a), rb = rank(b);
  if (ra != rb || ra != 1) return ra < rb ? -1 : ra > rb ? 1 : 0;
  if (a.sign() != b.sign()) return a.sign() < b.sign() ? -1 : 1;
  const auto sa = a.small_unscaled(), sb = b.small_unscaled();
  if (sa && sb) {
    __int128 x, y;
    const int scale = std::max(a.scale(), b.scale());
    if (scale_up_small(*sa, scale - a.scale(), x) && scale_up_small(*sb, scale - b.scale(), y))
      return x < y ? -1 : x > y ? 1 : 0;
  }
  mpz_class x, y;
  int scale = 0;
  aligned(a, b, x, y, scale);
  const int c = cmp(x, y);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

NumericResult numeric_rescale(const Numeric& n, int scale) {
  if (!n.is_finite() || scale == n.scale()) return {n, NumericError::kNone};
  const auto small = n.small_unscaled();
  if (scale > n.scale()) {
    __int128 v;
    if (small && scale_up_small(*small, scale - n.scale(), v)) return small_result(v, scale);
    return checked(Access::unscaled(n) * pow10_big(scale - n.scale()), scale);
  }
  const int drop = n.scale() - scale;
  if (small && drop <= kMaxSmallPow10) {
    const __int128 div = kPow10[drop];
    __int128 q = *small / div;
    const __int128 r = *small % div;
    if (r >= div - r) ++q;   // r * 2 >= div, unoverflowed
    if (-r >= div + r) --q;  // r * 2 <= -div
    return {Numeric(q, scale), NumericError::kNone};
  }
  return checked(divide_pow10_rounded(Access::unscaled(n), drop), scale);
}

namespace {

// n at `digits` (negative: multiples of 10^-digits) by `rounding` of the dropped part, scale
// max(digits, 0).
NumericResult round_to(const Numeric& n, int64_t digits, bool half_away) {
  if (!n.is_finite()) return {n, NumericError::kNone};
  digits = std::clamp<int64_t>(digits, -kNumericMaxResultScale, kNumericMaxResultScale);
  const int target = static_cast<int>(digits);
  if (target >= n.scale()) return numeric_rescale(n, target);
  const int64_t drop = static_cast<int64_t>(n.scale()) - target;
  mpz_class u = Access::unscaled(n);
  const mpz_class unit = pow10_big(drop);
  mpz_class q, r;
  mpz_tdiv_qr(q.get_mpz_t(), r.get_mpz_t(), u.get_mpz_t(), unit.get_mpz_t());
  if (half_away && mpz_class(abs(r) * 2) >= unit) q += sgn(u);
  // Back to scale max(target, 0).
  if (target < 0) q *= pow10_big(-static_cast<int64_t>(target));
  return checked(q, std::max(target, 0));
}

NumericResult round_toward(const Numeric& n, int direction) {
  if (!n.is_finite() || n.scale() == 0) return {n, NumericError::kNone};
  const auto small = n.small_unscaled();
  if (small && n.scale() <= kMaxSmallPow10) {
    const __int128 p = kPow10[n.scale()];
    __int128 q = *small / p;
    if (*small % p != 0 && (*small < 0) == (direction < 0)) q += direction;
    return {Numeric(q, 0), NumericError::kNone};
  }
  const mpz_class u = Access::unscaled(n);
  const mpz_class unit = pow10_big(n.scale());
  mpz_class q;
  if (direction < 0) {
    mpz_fdiv_q(q.get_mpz_t(), u.get_mpz_t(), unit.get_mpz_t());
  } else {
    mpz_cdiv_q(q.get_mpz_t(), u.get_mpz_t(), unit.get_mpz_t());
  }
  return checked(q, 0);
}

}  // namespace

NumericResult numeric_round(const Numeric& n, int64_t digits) {
  return round_to(n, digits, true);
}

NumericResult numeric_trunc(const Numeric& n, int64_t digits) {
  return round_to(n, digits, false);
}

NumericResult numeric_floor(const Numeric& n) {
  return round_toward(n, -1);
}

NumericResult numeric_ceil(const Numeric& n) {
  return round_toward(n, 1);
}

bool numeric_is_integral(const Numeric& n) {
  if (!n.is_finite()) return false;
  if (n.scale() <= 0) return true;
  const auto small = n.small_unscaled();
  if (small) {
    if (n.scale() > kMaxSmallPow10) return *small == 0;
    return *small % kPow10[n.scale()] == 0;
  }
  return mpz_divisible_p(Access::big(n)->v.get_mpz_t(), pow10_big(n.scale()).get_mpz_t()) != 0;
}

int numeric_unscaled_digit_count(const Numeric& n) {
  if (!n.is_finite()) return 0;
  if (auto small = n.small_unscaled())
    return digit_count(*small < 0 ? -static_cast<unsigned __int128>(*small)
                                  : static_cast<unsigned __int128>(*small));
  return static_cast<int>(digit_count(Access::big(n)->v));
}

void numeric_significand(const Numeric& n, std::string& digits, int64_t& exponent) {
  digits.clear();
  exponent = 0;
  if (!n.is_finite() || n.is_zero()) return;
  if (auto small = n.small_unscaled()) {
    auto mag = *small < 0 ? -static_cast<unsigned __int128>(*small)
                          : static_cast<unsigned __int128>(*small);
    while (mag != 0) {
      digits += static_cast<char>('0' + static_cast<int>(mag % 10));
      mag /= 10;
    }
    std::reverse(digits.begin(), digits.end());
  } else {
    digits = mpz_class(abs(Access::big(n)->v)).get_str(10);
  }
  exponent = static_cast<int64_t>(digits.size()) - n.scale();
  while (!digits.empty() && digits.back() == '0')
    digits.pop_back();
}

double numeric_to_double(const Numeric& n) {
  switch (n.kind()) {
    case Kind::kNaN:
      return std::numeric_limits<double>::quiet_NaN();
    case Kind::kInfinity:
      return std::numeric_limits<double>::infinity();
    case Kind::kMinusInfinity:
      return -std::numeric_limits<double>::infinity();
    case Kind::kFinite:
      break;
  }
  return std::strtod(numeric_to_string(n).c_str(), nullptr);
}

Numeric numeric_from_double(double d, int significant_digits) {
  if (std::isnan(d)) return Numeric::nan();
  if (std::isinf(d)) return Numeric::infinity(d < 0);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant_digits, d);
  Numeric n;
  numeric_parse(buf, n);  // "%g" of a finite double is always numeric text within the limits
  return n;
}

std::optional<__int128> numeric_to_int128(const Numeric& n) {
  if (!n.is_finite()) return std::nullopt;
  auto r = numeric_rescale(n, 0);
  if (!r.ok()) return std::nullopt;
  return r.value.small_unscaled();
}

namespace {

// The scale field tells the forms apart: 0..16383 a 128-bit value (the original format),
// kBigScaleFlag | scale a decimal text of the unscaled value follows, and the three specials.
constexpr int32_t kBigScaleFlag = 0x40000000;
constexpr int32_t kNaNScale = std::numeric_limits<int32_t>::min();
constexpr int32_t kInfinityScale = kNaNScale + 1;
constexpr int32_t kMinusInfinityScale = kNaNScale + 2;

}  // namespace

void numeric_serialize(std::string& out, const Numeric& n) {
  const __int128 zero = 0;
  switch (n.kind()) {
    case Kind::kNaN:
      append_raw(out, zero);
      append_raw(out, kNaNScale);
      return;
    case Kind::kInfinity:
      append_raw(out, zero);
      append_raw(out, kInfinityScale);
      return;
    case Kind::kMinusInfinity:
      append_raw(out, zero);
      append_raw(out, kMinusInfinityScale);
      return;
    case Kind::kFinite:
      break;
  }
  if (auto small = n.small_unscaled()) {
    append_raw(out, *small);
    append_raw(out, static_cast<int32_t>(n.scale()));
    return;
  }
  const std::string text = Access::big(n)->v.get_str(10);
  append_raw(out, static_cast<__int128>(text.size()));
  append_raw(out, static_cast<int32_t>(kBigScaleFlag | n.scale()));
  out += text;
}

bool numeric_deserialize(std::string_view& in, Numeric& n) {
  __int128 unscaled = 0;
  int32_t scale = 0;
  if (!read_raw(in, unscaled) || !read_raw(in, scale)) return false;
  if (scale == kNaNScale) {
    n = Numeric::nan();
    return true;
  }
  if (scale == kInfinityScale || scale == kMinusInfinityScale) {
    n = Numeric::infinity(scale == kMinusInfinityScale);
    return true;
  }
  if (scale >= 0 && scale <= kNumericMaxScale) {
    // (Through small_result: a magnitude from 2^126 on is held big, as everywhere else.)
    n = small_result(unscaled, scale).value;
    return true;
  }
  if ((scale & kBigScaleFlag) == 0) return false;
  scale &= ~kBigScaleFlag;
  if (scale < 0 || scale > kNumericMaxScale || unscaled <= 0 ||
      unscaled > static_cast<__int128>(kNumericMaxIntegerDigits + kNumericMaxScale + 1) ||
      static_cast<size_t>(unscaled) > in.size())
    return false;
  const std::string text(in.substr(0, static_cast<size_t>(unscaled)));
  in.remove_prefix(static_cast<size_t>(unscaled));
  mpz_class v;
  if (v.set_str(text, 10) != 0) return false;
  n = NumericAccess::finite(v, scale);
  return true;
}

}  // namespace eddy::sql

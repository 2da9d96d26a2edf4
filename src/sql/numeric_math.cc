// sqrt, exp, ln, log and power of numeric values, with PostgreSQL 15's result scales (its
// numeric.c: numeric_sqrt, numeric_exp, numeric_ln, log_var, power_var) and its special
// values. Square roots and integer powers are exact before the final rounding; the
// transcendental ones are computed with MPFR at a precision past the result's last digit and
// then rounded half away from zero at the result scale, as PostgreSQL rounds.
#include <mpfr.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

#include "sql/numeric.h"
#include "sql/numeric_detail.h"

namespace eddy::sql {

using namespace numeric_detail;

namespace {

using Access = NumericAccess;

// PostgreSQL's NUMERIC_MIN_SIG_DIGITS and display-scale bounds.
constexpr int kMinSignificantDigits = 16;
constexpr int kMaxDisplayScale = 1000;
constexpr int kMaxResultScale = 2000;

int clamp_scale(int rscale) {
  return std::clamp(rscale, 0, kMaxDisplayScale);
}

NumericResult ok(Numeric n) {
  return {std::move(n), NumericError::kNone};
}
NumericResult fail(NumericError e) {
  return {{}, e};
}
NumericResult zero_at(int scale) {
  return ok(Numeric(0, scale));
}

// A value as PostgreSQL's base-10000 digits see it: the weight of its first group, that group
// and the next as one number, and whether anything nonzero follows the first group.
struct LeadingGroups {
  int64_t weight = 0;
  double first = 0;              // digits[0]
  double first_two = 0;          // digits[0] * 10000 + digits[1]
  bool more = false;             // ndigits > 1
  int64_t decimal_exponent = 0;  // of the leading decimal digit
};

// floor(|u| / 10^k) for any sign of k.
mpz_class shifted(const mpz_class& u, int64_t k) {
  if (k <= 0) return u * pow10_big(-k);
  mpz_class q;
  const mpz_class d = pow10_big(k);
  mpz_fdiv_q(q.get_mpz_t(), u.get_mpz_t(), d.get_mpz_t());
  return q;
}

LeadingGroups leading_groups(const Numeric& n) {
  LeadingGroups g;
  const mpz_class u = abs(Access::unscaled(n));
  if (sgn(u) == 0) return g;
  const int64_t s = n.scale();
  g.decimal_exponent = digit_count(u) - 1 - s;
  g.weight = g.decimal_exponent >= 0 ? g.decimal_exponent / 4 : -((-g.decimal_exponent + 3) / 4);
  const int64_t first_at = s + 4 * g.weight;  // |x| / 10^(4w) = |u| / 10^(s + 4w)
  g.first = shifted(u, first_at).get_d();
  const mpz_class two = shifted(u, first_at - 4);
  const mpz_class rest = first_at > 0 ? mpz_class(u % pow10_big(first_at)) : mpz_class(0);
  g.more = sgn(rest) != 0;
  g.first_two = mpz_class(two % 100000000).get_d();
  return g;
}

// PostgreSQL's estimate_ln_dweight: the decimal weight of ln(x), for x > 0.
int estimate_ln_dweight(const Numeric& x) {
  if (x.sign() <= 0) return 0;
  const Numeric nine(9, 1), eleven(11, 1);
  if (numeric_compare(x, nine) >= 0 && numeric_compare(x, eleven) <= 0) {
    NumericResult d = numeric_sub(x, Numeric(1, 0));
    if (d.value.is_zero()) return 0;
    return static_cast<int>(leading_groups(d.value).decimal_exponent);
  }
  const LeadingGroups g = leading_groups(x);
  double digits = g.first;
  int64_t dweight = g.weight * 4;
  if (g.more) {
    digits = g.first_two;
    dweight -= 4;
  }
  const double ln_x = std::log(digits) + static_cast<double>(dweight) * 2.302585092994046;
  return static_cast<int>(std::log10(std::fabs(ln_x)));
}

// mpfr values with RAII, at `bits` of precision.
class Mp {
 public:
  explicit Mp(mpfr_prec_t bits) { mpfr_init2(v_, bits); }
  ~Mp() { mpfr_clear(v_); }
  Mp(const Mp&) = delete;
  Mp& operator=(const Mp&) = delete;
  mpfr_ptr get() { return v_; }

 private:
  mpfr_t v_;
};

// MPFR caches constants (log 2, ...) per thread and frees them only when asked: a query thread
// that ends would leak them. Each computation that may fill them empties them again (they
// cost microseconds to make at these precisions).
struct ReleaseMpfrCaches {
  ReleaseMpfrCaches() = default;
  ReleaseMpfrCaches(const ReleaseMpfrCaches&) = delete;
  ReleaseMpfrCaches& operator=(const ReleaseMpfrCaches&) = delete;
  ~ReleaseMpfrCaches() { mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE); }
};

void set_numeric(mpfr_ptr out, const Numeric& n) {
  const mpz_class u = Access::unscaled(n);
  mpfr_set_z(out, u.get_mpz_t(), MPFR_RNDN);
  if (n.scale() > 0) {
    const mpz_class p = pow10_big(n.scale());
    mpfr_div_z(out, out, p.get_mpz_t(), MPFR_RNDN);
  }
}

// `compute(out)`, made at out's precision, rounded half away from zero at `scale`. When the
// result lies too near a half to tell which way it rounds (sqrt(1 + 1e-45) at 45 digits is
// 1.000...0005 less 1.25e-91) it is made again at twice the precision, up to a bound past
// which it is taken for an exact half.
template <typename Compute>
NumericResult round_computed(int scale, mpfr_prec_t bits, Compute&& compute) {
  const mpz_class p = pow10_big(scale);
  const auto p_bits = static_cast<mpfr_prec_t>(mpz_sizeinbase(p.get_mpz_t(), 2));
  for (int attempt = 0;; ++attempt) {
    Mp v(bits);
    compute(v.get());
    const mpfr_prec_t wide = bits + p_bits + 8;  // the product, exactly
    Mp scaled(wide);
    mpfr_mul_z(scaled.get(), v.get(), p.get_mpz_t(), MPFR_RNDN);
    if (attempt < 6 && mpfr_regular_p(scaled.get())) {
      // |frac - 1/2| against the error `v` may carry (its inputs were rounded to binary too):
      // a margin of 2^24 of its last places.
      Mp distance(wide);
      mpfr_frac(distance.get(), scaled.get(), MPFR_RNDN);
      mpfr_abs(distance.get(), distance.get(), MPFR_RNDN);
      mpfr_sub_d(distance.get(), distance.get(), 0.5, MPFR_RNDN);
      const mpfr_exp_t error_exponent = mpfr_get_exp(scaled.get()) - bits + 24;
      if (mpfr_zero_p(distance.get()) || mpfr_get_exp(distance.get()) <= error_exponent) {
        bits *= 2;
        continue;
      }
    }
    mpfr_round(scaled.get(), scaled.get());  // half away from zero
    mpz_class u;
    mpfr_get_z(u.get_mpz_t(), scaled.get(), MPFR_RNDN);
    return checked(u, scale);
  }
}

// Bits enough for `digits` significant decimal digits, plus guard bits.
mpfr_prec_t bits_for(int64_t digits) {
  return static_cast<mpfr_prec_t>(std::max<int64_t>(digits, 1) * 3322 / 1000 + 64);
}

// Decimal digits before the point of a value of decimal weight `w` (at least 1).
int64_t integer_digits(double w) {
  return std::max<int64_t>(1, static_cast<int64_t>(w) + 1);
}

// round(a / b * 10^scale) / 10^scale, exactly (b != 0), as a value at `scale`.
NumericResult divide_exact(const mpz_class& a, const mpz_class& b, int scale) {
  mpz_class n = a * pow10_big(scale);
  mpz_class q, r;
  mpz_tdiv_qr(q.get_mpz_t(), r.get_mpz_t(), n.get_mpz_t(), b.get_mpz_t());
  if (mpz_class(abs(r) * 2) >= abs(b)) q += sgn(n) * sgn(b);
  return checked(q, scale);
}

double to_double(const Numeric& n) {
  Mp x(64);
  set_numeric(x.get(), n);
  return mpfr_get_d(x.get(), MPFR_RNDN);
}

// The exact powers computed digit for digit stay below this many digits; larger ones (1.0000001
// ^ 2000000000) are computed at the precision the result needs.
constexpr int64_t kExactPowerDigits = 200000;

// base^exponent rounded at `rscale`, for an exponent that fits 32 bits (PostgreSQL's
// power_var_int).
NumericResult power_int(const Numeric& base, int64_t exponent, int rscale) {
  if (exponent == 0) return numeric_rescale(Numeric(1, 0), rscale);
  if (base.is_zero()) return zero_at(rscale);
  // The decimal weight of the result, from base ~= f * 10^p.
  const LeadingGroups g = leading_groups(base);
  double f = g.more ? g.first_two : g.first;
  int64_t p = g.weight * 4 - (g.more ? 4 : 0);
  const double weight = static_cast<double>(exponent) * (std::log10(f) + static_cast<double>(p));
  if (weight > 3.0 * SHRT_MAX * 4) return fail(NumericError::kOverflow);
  if (weight + 1 < -rscale || weight + 1 < -kMaxDisplayScale) return zero_at(rscale);
  const mpz_class u = Access::unscaled(base);
  const int64_t magnitude = exponent < 0 ? -exponent : exponent;
  const int64_t s = base.scale();
  if (digit_count(u) * magnitude <= kExactPowerDigits) {
    mpz_class power;
    mpz_pow_ui(power.get_mpz_t(), u.get_mpz_t(), static_cast<unsigned long>(magnitude));
    const int64_t power_scale = s * magnitude;  // power / 10^power_scale is |base|^|exponent|
    if (exponent < 0) return divide_exact(pow10_big(power_scale), power, rscale);
    if (power_scale <= rscale) return checked(power * pow10_big(rscale - power_scale), rscale);
    return checked(divide_pow10_rounded(power, power_scale - rscale), rscale);
  }
  const mpfr_prec_t bits = bits_for(integer_digits(weight) + rscale + 20 +
                                    static_cast<int64_t>(std::log10(double(magnitude))));
  return round_computed(rscale, bits, [&](mpfr_ptr v) {
    set_numeric(v, base);
    mpfr_pow_si(v, v, static_cast<long>(exponent), MPFR_RNDN);
  });
}

bool is_odd_integer(const Numeric& n) {
  if (!n.is_finite() || !numeric_is_integral(n)) return false;
  const mpz_class whole = shifted(abs(Access::unscaled(n)), n.scale());
  return mpz_odd_p(whole.get_mpz_t()) != 0;
}

// PostgreSQL's rules (POSIX pow's) when an input is infinite; neither is NaN.
NumericResult power_infinite(const Numeric& base, const Numeric& exponent) {
  const int sign2 = exponent.sign();
  if (base.is_finite() && numeric_compare(base, Numeric(1, 0)) == 0) return ok(Numeric(1, 0));
  if (sign2 == 0) return ok(Numeric(1, 0));
  if (base.sign() == 0 && sign2 > 0) return ok(Numeric(0, 0));
  if (exponent.is_infinite()) {
    bool above_one = true;  // |x| > 1 (so for infinite x)
    if (base.is_finite()) {
      if (numeric_compare(base, Numeric(-1, 0)) == 0) return ok(Numeric(1, 0));
      above_one = numeric_compare(numeric_abs(base), Numeric(1, 0)) > 0;
    }
    return ok(above_one == (sign2 > 0) ? Numeric::infinity() : Numeric(0, 0));
  }
  if (base.kind() == Numeric::Kind::kInfinity)
    return ok(sign2 > 0 ? Numeric::infinity() : Numeric(0, 0));
  // -Infinity
  if (sign2 < 0) return ok(Numeric(0, 0));
  return ok(Numeric::infinity(is_odd_integer(exponent)));
}

}  // namespace

NumericResult numeric_sqrt(const Numeric& x) {
  if (x.is_nan()) return ok(Numeric::nan());
  if (x.kind() == Numeric::Kind::kInfinity) return ok(x);
  if (x.sign() < 0) return fail(NumericError::kSqrtOfNegative);
  // sweight: the decimal weight of the root, from the base-10000 weight of x.
  const int64_t weight = x.is_zero() ? 0 : leading_groups(x).weight;
  const int64_t sweight = (weight + 1) * 4 / 2 - 1;
  const int rscale =
      clamp_scale(static_cast<int>(std::max<int64_t>(kMinSignificantDigits - sweight, x.scale())));
  // round(sqrt(u / 10^s) * 10^r) = round(sqrt(y)) for y = u * 10^(2r - s), which is
  // floor((floor(2 sqrt(y)) + 1) / 2), and floor(2 sqrt(y)) = isqrt(floor(4y)) also when y has
  // a fraction (a scale past 2r, which the 1000-digit result scale allows).
  const int64_t shift = 2 * static_cast<int64_t>(rscale) - x.scale();
  const mpz_class four_u = Access::unscaled(x) * 4;
  mpz_class four_n;
  if (shift >= 0) {
    four_n = four_u * pow10_big(shift);
  } else {
    const mpz_class divisor = pow10_big(-shift);
    mpz_fdiv_q(four_n.get_mpz_t(), four_u.get_mpz_t(), divisor.get_mpz_t());
  }
  mpz_class twice;
  mpz_sqrt(twice.get_mpz_t(), four_n.get_mpz_t());  // floor(2 sqrt(y))
  return checked(mpz_class((twice + 1) / 2), rscale);
}

NumericResult numeric_exp(const Numeric& x) {
  const ReleaseMpfrCaches release;
  if (x.is_nan()) return ok(Numeric::nan());
  if (x.kind() == Numeric::Kind::kInfinity) return ok(x);
  if (x.kind() == Numeric::Kind::kMinusInfinity) return ok(Numeric(0, 0));
  const double value = to_double(x);
  // The decimal weight of the result, bounded against integer overflow.
  const double weight =
      std::clamp(value * 0.434294481903252, -double{kMaxResultScale}, double{kMaxResultScale});
  const int rscale =
      clamp_scale(std::max(kMinSignificantDigits - static_cast<int>(weight), x.scale()));
  if (std::fabs(value) >= kMaxResultScale * 3) {
    if (value > 0) return fail(NumericError::kOverflow);
    return zero_at(rscale);
  }
  const mpfr_prec_t bits = bits_for(integer_digits(weight) + rscale + 10);
  return round_computed(rscale, bits, [&](mpfr_ptr v) {
    set_numeric(v, x);
    mpfr_exp(v, v, MPFR_RNDN);
  });
}

namespace {

// ln of a finite positive value at `bits` into `out`.
void ln_into(mpfr_ptr out, const Numeric& x) {
  set_numeric(out, x);
  mpfr_log(out, out, MPFR_RNDN);
}

NumericError ln_argument_error(const Numeric& x) {
  if (x.is_zero()) return NumericError::kLogOfZero;
  if (x.sign() < 0) return NumericError::kLogOfNegative;
  return NumericError::kNone;
}

}  // namespace

NumericResult numeric_ln(const Numeric& x) {
  const ReleaseMpfrCaches release;
  if (x.is_nan()) return ok(Numeric::nan());
  if (x.kind() == Numeric::Kind::kInfinity) return ok(x);
  if (x.kind() == Numeric::Kind::kMinusInfinity) return fail(NumericError::kLogOfNegative);
  if (auto e = ln_argument_error(x); e != NumericError::kNone) return fail(e);
  const int dweight = estimate_ln_dweight(x);
  const int rscale = clamp_scale(std::max(kMinSignificantDigits - dweight, x.scale()));
  const mpfr_prec_t bits = bits_for(std::max(dweight, 0) + rscale + 10);
  return round_computed(rscale, bits, [&](mpfr_ptr v) { ln_into(v, x); });
}

NumericResult numeric_log(const Numeric& base, const Numeric& x) {
  const ReleaseMpfrCaches release;
  if (base.is_nan() || x.is_nan()) return ok(Numeric::nan());
  if (!base.is_finite() || !x.is_finite()) {
    if (base.sign() < 0 || x.sign() < 0) return fail(NumericError::kLogOfNegative);
    if (base.sign() == 0 || x.sign() == 0) return fail(NumericError::kLogOfZero);
    if (base.kind() == Numeric::Kind::kInfinity)
      return ok(x.kind() == Numeric::Kind::kInfinity ? Numeric::nan() : Numeric(0, 0));
    return ok(Numeric::infinity());  // log(finite, Infinity)
  }
  if (auto e = ln_argument_error(base); e != NumericError::kNone) return fail(e);
  if (auto e = ln_argument_error(x); e != NumericError::kNone) return fail(e);
  if (numeric_compare(base, Numeric(1, 0)) == 0) return fail(NumericError::kDivisionByZero);
  const int dweight = estimate_ln_dweight(x) - estimate_ln_dweight(base);
  const int rscale =
      clamp_scale(std::max({kMinSignificantDigits - dweight, base.scale(), x.scale()}));
  // ln(base) may be tiny (base near 1): carry as many more digits as its weight is negative.
  const int base_weight = estimate_ln_dweight(base);
  const mpfr_prec_t bits = bits_for(std::max(dweight, 0) + rscale + 10 + std::max(0, -base_weight));
  return round_computed(rscale, bits, [&](mpfr_ptr v) {
    Mp den(mpfr_get_prec(v));
    ln_into(v, x);
    ln_into(den.get(), base);
    mpfr_div(v, v, den.get(), MPFR_RNDN);
  });
}

NumericResult numeric_power(const Numeric& base, const Numeric& exponent) {
  const ReleaseMpfrCaches release;
  // NaN ^ 0 = 1 and 1 ^ NaN = 1, as POSIX has it; any other NaN gives NaN.
  if (base.is_nan())
    return ok(exponent.is_finite() && exponent.is_zero() ? Numeric(1, 0) : Numeric::nan());
  if (exponent.is_nan())
    return ok(base.is_finite() && numeric_compare(base, Numeric(1, 0)) == 0 ? Numeric(1, 0)
                                                                            : Numeric::nan());
  const bool integral = !exponent.is_finite() || numeric_is_integral(exponent);
  if (base.sign() == 0 && exponent.sign() < 0) return fail(NumericError::kZeroToNegativePower);
  if (base.sign() < 0 && !integral) return fail(NumericError::kComplexPower);
  if (!base.is_finite() || !exponent.is_finite()) return power_infinite(base, exponent);

  if (integral) {
    auto whole = numeric_to_int128(exponent);
    if (whole && *whole >= INT32_MIN && *whole <= INT32_MAX)
      return power_int(base, static_cast<int64_t>(*whole),
                       clamp_scale(std::max(kMinSignificantDigits, base.scale())));
  }
  if (base.is_zero()) return zero_at(kMinSignificantDigits);
  // A negative base has an integer exponent here: the sign is the exponent's parity.
  const bool negative = base.sign() < 0;
  const Numeric magnitude = numeric_abs(base);
  // The result scale, from a first estimate of exponent * ln(base) made as PostgreSQL makes
  // it: ln(base) to 8 - (its decimal weight) digits, times the exponent, to as many.
  const int ln_dweight = estimate_ln_dweight(magnitude);
  const int local_rscale = clamp_scale(8 - ln_dweight);
  const mpfr_prec_t rough_bits = bits_for(std::max(ln_dweight, 0) + local_rscale + 10);
  NumericResult ln_base =
      round_computed(local_rscale, rough_bits, [&](mpfr_ptr v) { ln_into(v, magnitude); });
  if (!ln_base.ok()) return ln_base;
  NumericResult product = numeric_mul(ln_base.value, exponent);
  if (!product.ok()) return product;
  const double ln_result = to_double(numeric_rescale(product.value, local_rscale).value);
  if (std::fabs(ln_result) > kMaxResultScale * 3.01) {
    if (ln_result > 0) return fail(NumericError::kOverflow);
    return zero_at(kMaxDisplayScale);
  }
  const double weight = ln_result * 0.434294481903252;
  const int rscale = clamp_scale(
      std::max({kMinSignificantDigits - static_cast<int>(weight), base.scale(), exponent.scale()}));
  if (std::fabs(ln_result) >= kMaxResultScale * 3) {
    if (ln_result > 0) return fail(NumericError::kOverflow);
    return zero_at(rscale);
  }
  const mpfr_prec_t bits = bits_for(integer_digits(weight) + rscale + 10);
  const bool odd = is_odd_integer(exponent);
  return round_computed(rscale, bits, [&](mpfr_ptr v) {
    Mp y(mpfr_get_prec(v));
    set_numeric(v, magnitude);
    set_numeric(y.get(), exponent);
    mpfr_pow(v, v, y.get(), MPFR_RNDN);
    if (negative && odd) mpfr_neg(v, v, MPFR_RNDN);
  });
}

}  // namespace eddy::sql

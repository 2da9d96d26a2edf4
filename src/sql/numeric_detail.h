// Internal to the numeric files (numeric.cc, numeric_math.cc): the representation behind
// Numeric and the GMP helpers they share. It includes gmpxx.h, which no other file needs.
#pragma once

#include <gmpxx.h>

#include <memory>

#include "sql/numeric.h"

namespace eddy::sql {

struct NumericBig {
  mpz_class v;
};

// The representation: small_ holds the unscaled value unless big_ does.
struct NumericAccess {
  static Numeric special(Numeric::Kind kind) {
    Numeric n;
    n.kind_ = kind;
    return n;
  }
  static const std::shared_ptr<const NumericBig>& big(const Numeric& n) { return n.big_; }
  static __int128 small(const Numeric& n) { return n.small_; }
  // An unscaled integer and scale, held in 128 bits when they fit.
  static Numeric finite(const mpz_class& unscaled, int scale) {
    Numeric n;
    n.scale_ = scale;
    if (mpz_sizeinbase(unscaled.get_mpz_t(), 2) <= 126) {
      n.small_ = to_int128(unscaled);
    } else {
      n.big_ = std::make_shared<const NumericBig>(NumericBig{unscaled});
    }
    return n;
  }
  static mpz_class unscaled(const Numeric& n) {
    if (n.big_) return n.big_->v;
    return from_int128(n.small_);
  }
  static mpz_class from_int128(__int128 x) {
    const bool negative = x < 0;
    auto mag = negative ? -static_cast<unsigned __int128>(x) : static_cast<unsigned __int128>(x);
    const uint64_t words[2] = {static_cast<uint64_t>(mag), static_cast<uint64_t>(mag >> 64)};
    mpz_class r;
    mpz_import(r.get_mpz_t(), 2, -1, sizeof(uint64_t), 0, 0, words);
    if (negative) r = -r;
    return r;
  }
  static __int128 to_int128(const mpz_class& x) {  // |x| < 2^127
    uint64_t words[2] = {0, 0};
    size_t count = 0;
    mpz_export(words, &count, -1, sizeof(uint64_t), 0, 0, x.get_mpz_t());
    const auto mag = (static_cast<unsigned __int128>(words[1]) << 64) | words[0];
    return sgn(x) < 0 ? -static_cast<__int128>(mag) : static_cast<__int128>(mag);
  }
};

namespace numeric_detail {

mpz_class pow10_big(int64_t k);           // 10^k, k >= 0
int64_t digit_count(const mpz_class& x);  // digits of |x| (0 for zero), exactly
mpz_class divide_pow10_rounded(const mpz_class& x, int64_t k);  // x / 10^k, half away, k > 0
// A finite value checked against PostgreSQL's limits: more than 16383 digits after the point
// round away; more than 131072 before it overflow.
NumericResult checked(mpz_class unscaled, int64_t scale);

}  // namespace numeric_detail
}  // namespace eddy::sql

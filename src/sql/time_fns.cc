// Date/time operators and functions with PostgreSQL 15's semantics (TimeZone UTC): timestamp
// and interval arithmetic, date_trunc, extract/date_part, to_timestamp, make_interval, now().
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "sql/builtins.h"

namespace eddy::sql {

namespace {

constexpr int64_t kInf = kTimestampInfinity;
constexpr int64_t kMinusInf = kTimestampMinusInfinity;

bool finite(int64_t v) {
  return v != kInf && v != kMinusInf;
}

SqlError timestamp_out_of_range(int loc) {
  return sql_error(sqlstate::kDatetimeFieldOverflow, "timestamp out of range", loc);
}
SqlError interval_out_of_range(int loc) {
  return sql_error(sqlstate::kDatetimeFieldOverflow, "interval out of range", loc);
}
SqlError date_out_of_range(int loc) {
  return sql_error(sqlstate::kDatetimeFieldOverflow, "date out of range", loc);
}

int days_in_month(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

struct Civil {
  int64_t year;  // astronomical
  int month, day;
  int64_t days;  // since 1970-01-01
  int64_t time;  // microseconds since midnight
};

Civil civil(int64_t micros) {
  Civil c{};
  c.days = floor_div(micros, kMicrosPerDay);
  c.time = micros - c.days * kMicrosPerDay;
  civil_from_days(c.days, c.year, c.month, c.day);
  return c;
}

SqlResult<Value> make_timestamp(Type type, __int128 micros, int loc) {
  if (micros < std::numeric_limits<int64_t>::min() ||
      micros > std::numeric_limits<int64_t>::max() ||
      !timestamp_in_range(static_cast<int64_t>(micros)))
    return timestamp_out_of_range(loc);
  return Value::integer(type, static_cast<int64_t>(micros));
}

SqlResult<Value> make_interval_checked(__int128 months, __int128 days, __int128 micros, int loc) {
  constexpr __int128 kMin32 = std::numeric_limits<int32_t>::min();
  constexpr __int128 kMax32 = std::numeric_limits<int32_t>::max();
  if (months < kMin32 || months > kMax32 || days < kMin32 || days > kMax32 ||
      micros < std::numeric_limits<int64_t>::min() || micros > std::numeric_limits<int64_t>::max())
    return interval_out_of_range(loc);
  return Value::interval(static_cast<int32_t>(months), static_cast<int32_t>(days),
                         static_cast<int64_t>(micros));
}

// timestamp + interval: months first (clamping the day to the month's end), then days, then
// microseconds, as PostgreSQL does.
SqlResult<Value> add_interval(Type type, int64_t ts, int64_t months, int64_t days, int64_t micros,
                              int loc) {
  if (!finite(ts)) return Value::integer(type, ts);
  __int128 result = ts;
  if (months != 0) {
    Civil c = civil(ts);
    const int64_t total = c.year * 12 + (c.month - 1) + months;
    const int64_t year = floor_div(total, 12);
    const int month = static_cast<int>(total - year * 12 + 1);
    if (year > 6000000 || year < -6000000) return timestamp_out_of_range(loc);
    const int day = std::min(c.day, days_in_month(year, month));
    result = static_cast<__int128>(days_from_civil(year, month, day)) * kMicrosPerDay + c.time;
  }
  result += static_cast<__int128>(days) * kMicrosPerDay + micros;
  return make_timestamp(type, result, loc);
}

SqlResult<Value> op_ts_plus_iv(const Expr& c, std::vector<Value>& a) {
  return add_interval(c.type, a[0].i, a[1].months, a[1].days, a[1].i, c.location);
}
SqlResult<Value> op_iv_plus_ts(const Expr& c, std::vector<Value>& a) {
  return add_interval(c.type, a[1].i, a[0].months, a[0].days, a[0].i, c.location);
}
SqlResult<Value> op_ts_minus_iv(const Expr& c, std::vector<Value>& a) {
  if (a[1].i == std::numeric_limits<int64_t>::min()) return interval_out_of_range(c.location);
  return add_interval(c.type, a[0].i, -static_cast<int64_t>(a[1].months),
                      -static_cast<int64_t>(a[1].days), -a[1].i, c.location);
}
SqlResult<Value> op_ts_minus_ts(const Expr& c, std::vector<Value>& a) {
  if (!finite(a[0].i) || !finite(a[1].i))
    return sql_error(sqlstate::kDatetimeFieldOverflow, "cannot subtract infinite timestamps",
                     c.location);
  const __int128 diff = static_cast<__int128>(a[0].i) - a[1].i;
  // Whole 24-hour spans become days (justify_hours), the rest stays time.
  return make_interval_checked(0, diff / kMicrosPerDay, diff % kMicrosPerDay, c.location);
}
SqlResult<Value> op_date_plus_int(const Expr& c, std::vector<Value>& a) {
  const Value& d = a[0].type == Type::kDate ? a[0] : a[1];
  const Value& n = a[0].type == Type::kDate ? a[1] : a[0];
  if (!finite(d.i)) return d;
  const int64_t r = d.i + n.i;
  if (!date_in_range(r)) return date_out_of_range(c.location);
  return Value::date(r);
}
SqlResult<Value> op_date_minus_int(const Expr& c, std::vector<Value>& a) {
  if (!finite(a[0].i)) return a[0];
  const int64_t r = a[0].i - a[1].i;
  if (!date_in_range(r)) return date_out_of_range(c.location);
  return Value::date(r);
}
SqlResult<Value> op_date_minus_date(const Expr& c, std::vector<Value>& a) {
  if (!finite(a[0].i) || !finite(a[1].i))
    return sql_error(sqlstate::kDatetimeFieldOverflow, "cannot subtract infinite dates",
                     c.location);
  return Value::integer(Type::kInt4, a[0].i - a[1].i);
}
SqlResult<Value> op_iv_plus_iv(const Expr& c, std::vector<Value>& a) {
  return make_interval_checked(static_cast<__int128>(a[0].months) + a[1].months,
                               static_cast<__int128>(a[0].days) + a[1].days,
                               static_cast<__int128>(a[0].i) + a[1].i, c.location);
}
SqlResult<Value> op_iv_minus_iv(const Expr& c, std::vector<Value>& a) {
  return make_interval_checked(static_cast<__int128>(a[0].months) - a[1].months,
                               static_cast<__int128>(a[0].days) - a[1].days,
                               static_cast<__int128>(a[0].i) - a[1].i, c.location);
}
SqlResult<Value> op_iv_neg(const Expr& c, std::vector<Value>& a) {
  return make_interval_checked(-static_cast<__int128>(a[0].months),
                               -static_cast<__int128>(a[0].days), -static_cast<__int128>(a[0].i),
                               c.location);
}

double ts_round(double j) {
  return std::rint(j * 1000000.0) / 1000000.0;
}

// interval * factor with PostgreSQL's cascade: fractional months become days (30 a month),
// fractional days become time.
SqlResult<Value> scale_interval(const Value& iv, double factor, bool divide, int loc) {
  if (std::isnan(factor)) return interval_out_of_range(loc);
  if (divide && factor == 0) return sql_error(sqlstate::kDivisionByZero, "division by zero", loc);
  auto apply = [&](double x) { return divide ? x / factor : x * factor; };
  const double months = apply(static_cast<double>(iv.months));
  const double days = apply(static_cast<double>(iv.days));
  if (!std::isfinite(months) || !std::isfinite(days) || std::fabs(months) > 2147483647.0 ||
      std::fabs(days) > 2147483647.0)
    return interval_out_of_range(loc);
  const auto result_months = static_cast<int32_t>(months);
  auto result_days = static_cast<int64_t>(static_cast<int32_t>(days));
  double month_remainder_days = ts_round((months - result_months) * 30);
  double sec_remainder = ts_round((days - static_cast<double>(result_days) + month_remainder_days -
                                   static_cast<double>(static_cast<int>(month_remainder_days))) *
                                  86400);
  if (std::fabs(sec_remainder) >= 86400) {
    result_days += static_cast<int>(sec_remainder / 86400);
    sec_remainder -= static_cast<int>(sec_remainder / 86400) * 86400.0;
  }
  result_days += static_cast<int32_t>(month_remainder_days);
  const double micros = std::rint(apply(static_cast<double>(iv.i)) + sec_remainder * 1000000.0);
  if (!std::isfinite(micros) || std::fabs(micros) >= 9.2e18) return interval_out_of_range(loc);
  return make_interval_checked(result_months, result_days, static_cast<int64_t>(micros), loc);
}

SqlResult<Value> op_iv_mul(const Expr& c, std::vector<Value>& a) {
  const bool iv_first = a[0].type == Type::kInterval;
  return scale_interval(iv_first ? a[0] : a[1], iv_first ? a[1].f : a[0].f, false, c.location);
}
SqlResult<Value> op_iv_div(const Expr& c, std::vector<Value>& a) {
  return scale_interval(a[0], a[1].f, true, c.location);
}

}  // namespace

SqlResult<Value> add_intervals(const Value& a, const Value& b, int location) {
  return make_interval_checked(static_cast<__int128>(a.months) + b.months,
                               static_cast<__int128>(a.days) + b.days,
                               static_cast<__int128>(a.i) + b.i, location);
}

SqlResult<Value> divide_interval(const Value& iv, double divisor, int location) {
  return scale_interval(iv, divisor, true, location);
}

namespace {

SqlResult<Value> fn_now(const Expr&, std::vector<Value>&) {
  return Value::timestamptz(statement_time());
}
SqlResult<Value> fn_localtimestamp(const Expr&, std::vector<Value>&) {
  return Value::timestamp(statement_time());
}
SqlResult<Value> fn_current_date(const Expr&, std::vector<Value>&) {
  return Value::date(floor_div(statement_time(), kMicrosPerDay));
}
SqlResult<Value> fn_clock_timestamp(const Expr&, std::vector<Value>&) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return Value::timestamptz(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
}

// Units as date_trunc and extract spell them, folded to one name each.
std::string canonical_unit(const std::string& raw) {
  std::string u;
  for (char ch : raw)
    u += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  static const std::pair<const char*, const char*> kAliases[] = {{"microsecond", "microseconds"},
                                                                 {"us", "microseconds"},
                                                                 {"usec", "microseconds"},
                                                                 {"usecs", "microseconds"},
                                                                 {"millisecond", "milliseconds"},
                                                                 {"ms", "milliseconds"},
                                                                 {"msec", "milliseconds"},
                                                                 {"msecs", "milliseconds"},
                                                                 {"seconds", "second"},
                                                                 {"s", "second"},
                                                                 {"sec", "second"},
                                                                 {"secs", "second"},
                                                                 {"minutes", "minute"},
                                                                 {"m", "minute"},
                                                                 {"min", "minute"},
                                                                 {"mins", "minute"},
                                                                 {"hours", "hour"},
                                                                 {"h", "hour"},
                                                                 {"hr", "hour"},
                                                                 {"hrs", "hour"},
                                                                 {"days", "day"},
                                                                 {"d", "day"},
                                                                 {"weeks", "week"},
                                                                 {"w", "week"},
                                                                 {"months", "month"},
                                                                 {"mon", "month"},
                                                                 {"mons", "month"},
                                                                 {"qtr", "quarter"},
                                                                 {"years", "year"},
                                                                 {"y", "year"},
                                                                 {"yr", "year"},
                                                                 {"yrs", "year"},
                                                                 {"decades", "decade"},
                                                                 {"dec", "decade"},
                                                                 {"decs", "decade"},
                                                                 {"centuries", "century"},
                                                                 {"c", "century"},
                                                                 {"cent", "century"},
                                                                 {"millennia", "millennium"},
                                                                 {"mil", "millennium"},
                                                                 {"mils", "millennium"},
                                                                 {"j", "julian"}};
  for (const auto& [alias, name] : kAliases)
    if (u == alias) return name;
  return u;
}

bool known_unit(const std::string& u) {
  static const char* kUnits[] = {
      "microseconds",  "milliseconds",   "second",     "minute",  "hour",
      "day",           "week",           "month",      "quarter", "year",
      "decade",        "century",        "millennium", "dow",     "isodow",
      "doy",           "epoch",          "isoyear",    "julian",  "timezone",
      "timezone_hour", "timezone_minute"};
  for (const char* k : kUnits)
    if (u == k) return true;
  return false;
}

SqlError unit_not_recognized(const std::string& raw, Type type, int loc) {
  return sql_error(sqlstate::kInvalidParameterValue,
                   "unit \"" + raw + "\" not recognized for type " + type_name(type), loc);
}
SqlError unit_not_supported(const std::string& raw, Type type, int loc) {
  return sql_error(sqlstate::kFeatureNotSupported,
                   "unit \"" + raw + "\" not supported for type " + type_name(type), loc);
}

// date_trunc to a unit of a day or less: the time of day (microseconds, non-negative for
// timestamps; an interval's time part) cut to it; false for longer units.
bool truncate_within_day(const std::string& unit, int64_t& time) {
  constexpr int64_t kHour = 3600 * kMicrosPerSecond, kMinute = 60 * kMicrosPerSecond;
  if (unit == "day") {
    time = 0;
  } else if (unit == "hour") {
    time = time / kHour * kHour;
  } else if (unit == "minute") {
    time = time / kMinute * kMinute;
  } else if (unit == "second") {
    time = time / kMicrosPerSecond * kMicrosPerSecond;
  } else if (unit == "milliseconds") {
    time = time / 1000 * 1000;
  } else if (unit != "microseconds") {
    return false;
  }
  return true;
}

SqlResult<Value> fn_date_trunc(const Expr& c, std::vector<Value>& a) {
  const std::string unit = canonical_unit(a[0].s);
  const Value& v = a[1];
  const Type type = c.type;
  if (type == Type::kInterval) {
    int64_t months = v.months, days = v.days, time = v.i;
    int64_t years = months / 12;
    int64_t mon = months % 12;
    if (unit == "millennium") {
      years = years / 1000 * 1000, mon = 0, days = 0, time = 0;
    } else if (unit == "century") {
      years = years / 100 * 100, mon = 0, days = 0, time = 0;
    } else if (unit == "decade") {
      years = years / 10 * 10, mon = 0, days = 0, time = 0;
    } else if (unit == "year") {
      mon = 0, days = 0, time = 0;
    } else if (unit == "quarter") {
      mon = 3 * (mon / 3), days = 0, time = 0;
    } else if (unit == "month") {
      days = 0, time = 0;
    } else if (truncate_within_day(unit, time)) {
      // the time part only
    } else if (unit == "week") {
      SqlError e = unit_not_supported(a[0].s, type, c.location);
      e.detail = "Months usually have fractional weeks.";
      return e;
    } else if (known_unit(unit)) {
      return unit_not_supported(a[0].s, type, c.location);
    } else {
      return unit_not_recognized(a[0].s, type, c.location);
    }
    return Value::interval(static_cast<int32_t>(years * 12 + mon), static_cast<int32_t>(days),
                           time);
  }
  if (!known_unit(unit)) return unit_not_recognized(a[0].s, type, c.location);
  if (!finite(v.i)) return v;
  Civil t = civil(v.i);
  int64_t year = t.year;
  int month = t.month, day = t.day;
  int64_t time = t.time;
  int64_t days = -1;  // set when the result is a whole day computed directly
  if (unit == "millennium") {
    year =
        year > 0 ? ((year + 999) / 1000 - 1) * 1000 + 1 : -((999 - (year - 1)) / 1000) * 1000 + 1;
    month = 1, day = 1, time = 0;
  } else if (unit == "century") {
    year = year > 0 ? ((year + 99) / 100 - 1) * 100 + 1 : -((99 - (year - 1)) / 100) * 100 + 1;
    month = 1, day = 1, time = 0;
  } else if (unit == "decade") {
    year = year > 0 ? year / 10 * 10 : -((8 - (year - 1)) / 10) * 10;
    month = 1, day = 1, time = 0;
  } else if (unit == "year") {
    month = 1, day = 1, time = 0;
  } else if (unit == "quarter") {
    month = 3 * ((month - 1) / 3) + 1, day = 1, time = 0;
  } else if (unit == "month") {
    day = 1, time = 0;
  } else if (unit == "week") {
    // ISO weeks start on Monday; 1970-01-01 was a Thursday.
    const int64_t dow = ((t.days + 3) % 7 + 7) % 7;  // 0 = Monday
    days = t.days - dow;
    time = 0;
  } else if (truncate_within_day(unit, time)) {
    // the time of day only
  } else {
    return unit_not_supported(a[0].s, type, c.location);
  }
  if (days < 0 && unit != "week") days = days_from_civil(year, month, day);
  return make_timestamp(type, static_cast<__int128>(days) * kMicrosPerDay + time, c.location);
}

// A field value as an exact decimal: unscaled and scale.
struct Part {
  __int128 unscaled;  // (an interval's epoch in microseconds can pass int64)
  int scale = 0;
  // A part with no exact numeric here (the julian day of a timestamp with a time of day):
  // date_part's float8 only.
  std::optional<double> inexact{};
  // 1 or -1: the part of an infinite timestamp or date in a unit that only grows (year, epoch,
  // ...), which PostgreSQL answers with Infinity or -Infinity.
  int infinity = 0;
};

// `micros` is a timestamp's value, or for a date its days (a date's microseconds may not fit).
SqlResult<std::optional<Part>> timestamp_part(const std::string& raw, Type type, int64_t micros,
                                              int loc) {
  const std::string unit = canonical_unit(raw);
  if (!known_unit(unit)) return unit_not_recognized(raw, type, loc);
  const bool is_date = type == Type::kDate;
  if (is_date && (unit == "microseconds" || unit == "milliseconds" || unit == "second" ||
                  unit == "minute" || unit == "hour" || unit == "timezone" ||
                  unit == "timezone_hour" || unit == "timezone_minute"))
    return unit_not_supported(raw, type, loc);
  if (!finite(micros)) {
    // Units that cycle (month, hour, dow, ...) have no value at infinity: NULL.
    if (unit != "year" && unit != "decade" && unit != "century" && unit != "millennium" &&
        unit != "julian" && unit != "isoyear" && unit != "epoch")
      return std::optional<Part>();
    Part p{};
    p.infinity = micros == kTimestampMinusInfinity ? -1 : 1;
    return std::optional<Part>(p);
  }
  Civil t{};
  if (is_date) {
    t.days = micros;
    civil_from_days(t.days, t.year, t.month, t.day);
  } else {
    t = civil(micros);
  }
  const int64_t y = t.year;
  const int64_t sec_micros = t.time % (60 * kMicrosPerSecond);
  const int64_t dow = ((t.days + 4) % 7 + 7) % 7;  // 0 = Sunday
  auto iso = [&](int64_t& iso_year) {
    const int64_t isodow = dow == 0 ? 7 : dow;
    const int64_t thursday = t.days - (isodow - 1) + 3;
    int64_t ty;
    int tm, td;
    civil_from_days(thursday, ty, tm, td);
    iso_year = ty;
    return (thursday - days_from_civil(ty, 1, 1)) / 7 + 1;
  };
  Part p{0};
  if (unit == "microseconds") {
    p = {sec_micros};
  } else if (unit == "milliseconds") {
    p = {sec_micros, 3};
  } else if (unit == "second") {
    p = {sec_micros, 6};
  } else if (unit == "minute") {
    p = {t.time / (60 * kMicrosPerSecond) % 60};
  } else if (unit == "hour") {
    p = {t.time / (3600 * kMicrosPerSecond)};
  } else if (unit == "day") {
    p = {t.day};
  } else if (unit == "month") {
    p = {t.month};
  } else if (unit == "quarter") {
    p = {(t.month - 1) / 3 + 1};
  } else if (unit == "year") {
    p = {y > 0 ? y : y - 1};
  } else if (unit == "decade") {
    p = {y >= 0 ? y / 10 : -((8 - (y - 1)) / 10)};
  } else if (unit == "century") {
    p = {y > 0 ? (y + 99) / 100 : -((99 - (y - 1)) / 100)};
  } else if (unit == "millennium") {
    p = {y > 0 ? (y + 999) / 1000 : -((999 - (y - 1)) / 1000)};
  } else if (unit == "dow") {
    p = {dow};
  } else if (unit == "isodow") {
    p = {dow == 0 ? 7 : dow};
  } else if (unit == "doy") {
    p = {t.days - days_from_civil(y, 1, 1) + 1};
  } else if (unit == "week") {
    int64_t iy;
    p = {iso(iy)};
  } else if (unit == "isoyear") {
    int64_t iy;
    iso(iy);
    p = {iy > 0 ? iy : iy - 1};
  } else if (unit == "epoch") {
    p = is_date ? Part{t.days * 86400} : Part{micros, 6};
  } else if (unit == "julian") {
    p = {t.days + 2440588};
    // PostgreSQL adds the time of day as a fraction of a day: in double precision for
    // date_part, in numeric with its division's scale for extract (not done here, so extract
    // refuses timestamps).
    if (!is_date) {
      const int64_t secs = t.time / kMicrosPerSecond;
      const int64_t fsec = t.time % kMicrosPerSecond;
      p.inexact = static_cast<double>(t.days + 2440588) +
                  (static_cast<double>(secs) + static_cast<double>(fsec) / 1000000.0) / 86400.0;
    }
  } else if ((unit == "timezone" || unit == "timezone_hour" || unit == "timezone_minute") &&
             type == Type::kTimestamptz) {
    p = {0};  // the session time zone is UTC
  } else {
    return unit_not_supported(raw, type, loc);
  }
  return std::optional<Part>(p);
}

SqlResult<std::optional<Part>> interval_part(const std::string& raw, const Value& v, int loc) {
  const std::string unit = canonical_unit(raw);
  if (!known_unit(unit)) return unit_not_recognized(raw, Type::kInterval, loc);
  const int64_t years = v.months / 12;
  const int64_t mon = v.months % 12;
  const int64_t hour = v.i / (3600 * kMicrosPerSecond);
  const int64_t minute = v.i / (60 * kMicrosPerSecond) % 60;
  const int64_t sec_micros = v.i % (60 * kMicrosPerSecond);
  Part p{0};
  if (unit == "microseconds") {
    p = {sec_micros};
  } else if (unit == "milliseconds") {
    p = {sec_micros, 3};
  } else if (unit == "second") {
    p = {sec_micros, 6};
  } else if (unit == "minute") {
    p = {minute};
  } else if (unit == "hour") {
    p = {hour};
  } else if (unit == "day") {
    p = {v.days};
  } else if (unit == "month") {
    p = {mon};
  } else if (unit == "quarter") {
    p = {mon / 3 + 1};
  } else if (unit == "year") {
    p = {years};
  } else if (unit == "decade") {
    p = {years / 10};
  } else if (unit == "century") {
    p = {years / 100};
  } else if (unit == "millennium") {
    p = {years / 1000};
  } else if (unit == "epoch") {
    // A year is 365.25 days and a month 30 days here, as in PostgreSQL.
    const __int128 secs = (static_cast<__int128>(4 * 365 + 1) * years +
                           static_cast<__int128>(120) * mon + static_cast<__int128>(4) * v.days) *
                          (86400 / 4);
    p = {secs * kMicrosPerSecond + v.i, 6};
  } else {
    return unit_not_supported(raw, Type::kInterval, loc);
  }
  return std::optional<Part>(p);
}

SqlResult<std::optional<Part>> any_part(const Expr& c, std::vector<Value>& a) {
  const Value& v = a[1];
  if (v.type == Type::kInterval) return interval_part(a[0].s, v, c.location);
  return timestamp_part(a[0].s, v.type, v.i, c.location);
}

SqlResult<Value> fn_extract(const Expr& c, std::vector<Value>& a) {
  SQL_ASSIGN(auto part, any_part(c, a));
  if (!part) return Value::null_of(Type::kNumeric);
  if (part->infinity != 0) return Value::numeric(Numeric::infinity(part->infinity < 0));
  if (part->inexact)
    return sql_error(sqlstate::kFeatureNotSupported,
                     "extract(julian ...) of a timestamp is not supported yet (of a date, and "
                     "date_part('julian', timestamp), are)",
                     c.location);
  return Value::numeric(Numeric{part->unscaled, part->scale});
}

SqlResult<Value> fn_date_part(const Expr& c, std::vector<Value>& a) {
  SQL_ASSIGN(auto part, any_part(c, a));
  if (!part) return Value::null_of(Type::kFloat8);
  if (part->infinity != 0)
    return Value::floating(Type::kFloat8, part->infinity * std::numeric_limits<double>::infinity());
  if (part->inexact) return Value::floating(Type::kFloat8, *part->inexact);
  // Seconds and milliseconds as PostgreSQL's float8 date_part computes them: whole seconds, plus
  // the fraction divided once (tm_sec + fsec / 1e6; tm_sec * 1000 + fsec / 1000).
  const std::string unit = canonical_unit(a[0].s);
  if (part->scale == 6 && unit == "second") {
    const auto whole = static_cast<int64_t>(part->unscaled / kMicrosPerSecond);
    const auto fsec = static_cast<int64_t>(part->unscaled % kMicrosPerSecond);
    return Value::floating(Type::kFloat8,
                           static_cast<double>(whole) + static_cast<double>(fsec) / 1000000.0);
  }
  if (part->scale == 3 && unit == "milliseconds") {
    const auto whole = static_cast<int64_t>(part->unscaled / kMicrosPerSecond);
    const auto fsec = static_cast<int64_t>(part->unscaled % kMicrosPerSecond);
    return Value::floating(
        Type::kFloat8, static_cast<double>(whole) * 1000.0 + static_cast<double>(fsec) / 1000.0);
  }
  // An interval's epoch in float8 adds its fields as PostgreSQL does (a year is 365.25 days, a
  // month 30), so large day counts stay exact.
  if (unit == "epoch" && a[1].type == Type::kInterval) {
    const Value& iv = a[1];
    return Value::floating(
        Type::kFloat8, static_cast<double>(iv.i) / 1000000.0 + 365.25 * 86400.0 * (iv.months / 12) +
                           30.0 * 86400.0 * (iv.months % 12) + 86400.0 * iv.days);
  }
  // Anything else with a scale (a timestamp's epoch): one division, as PostgreSQL's
  // (micros / 1e6).
  double scale = 1;
  for (int i = 0; i < part->scale; ++i)
    scale *= 10;
  return Value::floating(Type::kFloat8, static_cast<double>(part->unscaled) / scale);
}

SqlResult<Value> fn_to_timestamp(const Expr& c, std::vector<Value>& a) {
  const double secs = a[0].f;
  if (std::isnan(secs))
    return sql_error(sqlstate::kDatetimeFieldOverflow, "timestamp cannot be NaN", c.location);
  if (std::isinf(secs)) return Value::timestamptz(secs > 0 ? kInf : kMinusInf);
  const double micros = std::rint(secs * 1000000.0);
  if (!(micros > -2.1e17 && micros < 9.2e18) || !timestamp_in_range(static_cast<int64_t>(micros))) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", secs);
    return sql_error(sqlstate::kDatetimeFieldOverflow,
                     std::string("timestamp out of range: \"") + buf + "\"", c.location);
  }
  return Value::timestamptz(static_cast<int64_t>(micros));
}

SqlResult<Value> fn_make_interval(const Expr& c, std::vector<Value>& a) {
  auto arg = [&](size_t i) -> int64_t { return i < a.size() ? a[i].i : 0; };
  const double secs = a.size() > 6 ? a[6].f : 0;
  if (!std::isfinite(secs)) return interval_out_of_range(c.location);
  const __int128 months = static_cast<__int128>(arg(0)) * 12 + arg(1);
  const __int128 days = static_cast<__int128>(arg(2)) * 7 + arg(3);
  const double sec_micros = std::rint(secs * 1000000.0);
  if (std::fabs(sec_micros) > 9.2e18) return interval_out_of_range(c.location);
  const __int128 micros =
      (static_cast<__int128>(arg(4)) * 3600 + static_cast<__int128>(arg(5)) * 60) *
          kMicrosPerSecond +
      static_cast<int64_t>(sec_micros);
  return make_interval_checked(months, days, micros, c.location);
}

// age(a, b): the field-by-field difference (years, months, days, time), borrowing from the
// next larger field with the length of the month the earlier timestamp is in, as PostgreSQL.
SqlResult<Value> fn_age(const Expr& c, std::vector<Value>& a) {
  const int64_t dt1 =
      a.size() == 2 ? a[0].i : floor_div(statement_time(), kMicrosPerDay) * kMicrosPerDay;
  const int64_t dt2 = a.size() == 2 ? a[1].i : a[0].i;
  if (!finite(dt1) || !finite(dt2)) return timestamp_out_of_range(c.location);
  const Civil t1 = civil(dt1), t2 = civil(dt2);
  int64_t usec = t1.time % kMicrosPerSecond - t2.time % kMicrosPerSecond;
  int64_t sec = t1.time / kMicrosPerSecond % 60 - t2.time / kMicrosPerSecond % 60;
  int64_t min = t1.time / (60 * kMicrosPerSecond) % 60 - t2.time / (60 * kMicrosPerSecond) % 60;
  int64_t hour = t1.time / (3600 * kMicrosPerSecond) - t2.time / (3600 * kMicrosPerSecond);
  int64_t mday = t1.day - t2.day;
  int64_t mon = t1.month - t2.month;
  int64_t year = t1.year - t2.year;
  const bool flip = dt1 < dt2;
  auto negate_all = [&] {
    usec = -usec, sec = -sec, min = -min, hour = -hour, mday = -mday, mon = -mon, year = -year;
  };
  if (flip) negate_all();
  while (usec < 0)
    usec += kMicrosPerSecond, --sec;
  while (sec < 0)
    sec += 60, --min;
  while (min < 0)
    min += 60, --hour;
  while (hour < 0)
    hour += 24, --mday;
  while (mday < 0) {
    const Civil& from = flip ? t1 : t2;
    mday += days_in_month(from.year, from.month);
    --mon;
  }
  while (mon < 0)
    mon += 12, --year;
  if (flip) negate_all();
  return make_interval_checked(
      static_cast<__int128>(year) * 12 + mon, mday,
      static_cast<__int128>((hour * 60 + min) * 60 + sec) * kMicrosPerSecond + usec, c.location);
}

bool is_ts(Type t) {
  return t == Type::kTimestamp || t == Type::kTimestamptz;
}
bool is_datetime(Type t) {
  return t == Type::kDate || is_ts(t);
}
bool is_int_or_unknown(Type t) {
  return is_integer(t) || t == Type::kUnknown;
}
bool is_num_or_unknown(Type t) {
  return is_numeric_category(t) || t == Type::kUnknown;
}

SqlResult<Value> fn_age_now(const Expr& c, std::vector<Value>& a) {
  return fn_age(c, a);
}

}  // namespace

bool is_volatile_function(ScalarFn fn) {
  return fn == fn_now || fn == fn_localtimestamp || fn == fn_current_date ||
         fn == fn_clock_timestamp || fn == fn_age_now;
}

std::optional<Signature> resolve_time_operator(const std::string& op, std::optional<Type> left,
                                               Type r) {
  using T = Type;
  if (!left) {
    if (r != T::kInterval) return std::nullopt;
    if (op == "-") return Signature{{T::kInterval}, T::kInterval, op_iv_neg};
    return std::nullopt;
  }
  const T l = *left;
  const bool l_iv = l == T::kInterval, r_iv = r == T::kInterval;
  if (op == "+") {
    if (l == T::kDate && is_integer(r))
      return Signature{{T::kDate, T::kInt4}, T::kDate, op_date_plus_int};
    if (is_integer(l) && r == T::kDate)
      return Signature{{T::kInt4, T::kDate}, T::kDate, op_date_plus_int};
    if (l == T::kDate && r_iv)
      return Signature{{T::kTimestamp, T::kInterval}, T::kTimestamp, op_ts_plus_iv};
    if (l_iv && r == T::kDate)
      return Signature{{T::kInterval, T::kTimestamp}, T::kTimestamp, op_iv_plus_ts};
    if (is_ts(l) && (r_iv || r == T::kUnknown))
      return Signature{{l, T::kInterval}, l, op_ts_plus_iv};
    if ((l_iv || l == T::kUnknown) && is_ts(r))
      return Signature{{T::kInterval, r}, r, op_iv_plus_ts};
    if ((l_iv && (r_iv || r == T::kUnknown)) || (l == T::kUnknown && r_iv))
      return Signature{{T::kInterval, T::kInterval}, T::kInterval, op_iv_plus_iv};
    return std::nullopt;
  }
  if (op == "-") {
    if (l == T::kDate && is_integer(r))
      return Signature{{T::kDate, T::kInt4}, T::kDate, op_date_minus_int};
    if (l == T::kDate && (r == T::kDate || r == T::kUnknown))
      return Signature{{T::kDate, T::kDate}, T::kInt4, op_date_minus_date};
    if (l == T::kUnknown && r == T::kDate)
      return Signature{{T::kDate, T::kDate}, T::kInt4, op_date_minus_date};
    if (l == T::kDate && r_iv)
      return Signature{{T::kTimestamp, T::kInterval}, T::kTimestamp, op_ts_minus_iv};
    if (is_ts(l) && r_iv) return Signature{{l, T::kInterval}, l, op_ts_minus_iv};
    if ((is_datetime(l) || l == T::kUnknown) && (is_datetime(r) || r == T::kUnknown) &&
        (is_ts(l) || is_ts(r))) {
      const T t = l == T::kTimestamptz || r == T::kTimestamptz ? T::kTimestamptz : T::kTimestamp;
      return Signature{{t, t}, T::kInterval, op_ts_minus_ts};
    }
    if ((l_iv && (r_iv || r == T::kUnknown)) || (l == T::kUnknown && r_iv))
      return Signature{{T::kInterval, T::kInterval}, T::kInterval, op_iv_minus_iv};
    return std::nullopt;
  }
  if (op == "*") {
    if (l_iv && is_num_or_unknown(r))
      return Signature{{T::kInterval, T::kFloat8}, T::kInterval, op_iv_mul};
    if (is_num_or_unknown(l) && r_iv)
      return Signature{{T::kFloat8, T::kInterval}, T::kInterval, op_iv_mul};
    return std::nullopt;
  }
  if (op == "/" && l_iv && is_num_or_unknown(r))
    return Signature{{T::kInterval, T::kFloat8}, T::kInterval, op_iv_div};
  return std::nullopt;
}

std::optional<Signature> resolve_time_function(const std::string& name,
                                               const std::vector<Type>& args) {
  using T = Type;
  const size_t n = args.size();
  auto text_arg = [&](size_t i) { return args[i] == T::kText || args[i] == T::kUnknown; };
  if ((name == "now" || name == "transaction_timestamp" || name == "statement_timestamp") && n == 0)
    return Signature{{}, T::kTimestamptz, fn_now};
  if (name == "clock_timestamp" && n == 0)
    return Signature{{}, T::kTimestamptz, fn_clock_timestamp};
  if (name == "date_trunc" && n == 2 && text_arg(0)) {
    const T t = args[1];
    if (t == T::kTimestamp || t == T::kInterval || t == T::kTimestamptz)
      return Signature{{T::kText, t}, t, fn_date_trunc};
    if (t == T::kDate)
      return Signature{{T::kText, T::kTimestamptz}, T::kTimestamptz, fn_date_trunc};
    return std::nullopt;
  }
  if ((name == "date_part" || name == "extract") && n == 2 && text_arg(0)) {
    T t = args[1];
    if (t == T::kUnknown) return std::nullopt;
    if (!is_datetime(t) && t != T::kInterval) return std::nullopt;
    // date_part(text, date) is date_part(text, timestamp) in PostgreSQL 15; extract has its own.
    if (name == "date_part" && t == T::kDate) t = T::kTimestamp;
    if (name == "date_part") return Signature{{T::kText, t}, T::kFloat8, fn_date_part};
    return Signature{{T::kText, t}, T::kNumeric, fn_extract};
  }
  if (name == "age" && (n == 1 || n == 2)) {
    T t = T::kUnknown;
    for (T a : args) {
      if (!is_datetime(a) && a != T::kUnknown) return std::nullopt;
      if (a == T::kTimestamptz || (a == T::kTimestamp && t != T::kTimestamptz) ||
          (a == T::kDate && t == T::kUnknown))
        t = a;
    }
    if (t == T::kUnknown || t == T::kDate) t = T::kTimestamptz;
    return Signature{std::vector<T>(n, t), T::kInterval, n == 1 ? fn_age_now : fn_age};
  }
  if (name == "to_timestamp" && n == 1 && is_num_or_unknown(args[0]))
    return Signature{{T::kFloat8}, T::kTimestamptz, fn_to_timestamp};
  if (name == "make_interval" && n <= 7) {
    std::vector<T> params;
    for (size_t i = 0; i < n; ++i) {
      if (!is_num_or_unknown(args[i])) return std::nullopt;
      if (i < 6 && !is_int_or_unknown(args[i])) return std::nullopt;
      params.push_back(i < 6 ? T::kInt4 : T::kFloat8);
    }
    return Signature{params, T::kInterval, fn_make_interval};
  }
  return std::nullopt;
}

// Exposed for the binder's SQL value functions (CURRENT_DATE, LOCALTIMESTAMP).
ScalarFn current_date_fn() {
  return fn_current_date;
}
ScalarFn localtimestamp_fn() {
  return fn_localtimestamp;
}
ScalarFn now_fn() {
  return fn_now;
}

}  // namespace eddy::sql

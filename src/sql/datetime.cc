// Date, timestamp and interval input and output in PostgreSQL's formats (DateStyle ISO,
// IntervalStyle postgres, TimeZone UTC).
//
// Hand-written rather than sscanf/strptime: timestamps are parsed once per field of every decoded
// event, and PostgreSQL's grammar (BC, "infinity", fractional interval units, "ago") fits no
// library format.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "sql/value.h"

namespace eddy::sql {

namespace {

thread_local int64_t tls_statement_time = 0;
thread_local bool tls_statement_time_set = false;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads 1..max_digits decimal digits at `pos` (advancing it); false when there is none.
bool read_number(std::string_view s, size_t& pos, size_t max_digits, int64_t& out) {
  size_t n = 0;
  int64_t value = 0;
  while (pos + n < s.size() && n < max_digits && is_digit(s[pos + n])) {
    value = value * 10 + (s[pos + n] - '0');
    ++n;
  }
  if (n == 0) return false;
  pos += n;
  out = value;
  return true;
}

void skip_spaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos])))
    ++pos;
}

// Microseconds from ".ffffff..." digits at pos (after the point), rounded to the microsecond.
int64_t read_fraction(std::string_view s, size_t& pos) {
  int64_t micros = 0;
  int64_t scale = 100000;
  bool round_up = false;
  bool first_extra = true;
  while (pos < s.size() && is_digit(s[pos])) {
    if (scale > 0) {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
    } else if (first_extra) {
      round_up = s[pos] >= '5';
      first_extra = false;
    }
    ++pos;
  }
  return micros + (round_up ? 1 : 0);
}

enum class Parse { kOk, kSyntax, kRange };

struct Fields {
  int64_t year = 0;  // astronomical (1 BC is 0)
  int64_t month = 0, day = 0;
  int64_t time = 0;  // microseconds since midnight
  int64_t zone_seconds = 0;
  bool has_zone = false;
};

int64_t days_in_month(int64_t year, int64_t month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// YYYY-MM-DD[(T| )HH:MM[:SS[.ffffff]]][ ][Z|UTC|GMT|(+|-)HH[[:]MM]][ BC|AD]
Parse parse_fields(std::string_view s, Fields& f) {
  size_t pos = 0;
  int64_t year = 0, month = 0, day = 0;
  if (!read_number(s, pos, 9, year) || pos >= s.size() || s[pos++] != '-' ||
      !read_number(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' ||
      !read_number(s, pos, 2, day))
    return Parse::kSyntax;
  int64_t hour = 0, minute = 0, second = 0, frac = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
    size_t p = pos + 1;
    skip_spaces(s, p);
    if (p < s.size() && is_digit(s[p])) {
      pos = p;
      if (!read_number(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
          !read_number(s, pos, 2, minute))
        return Parse::kSyntax;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!read_number(s, pos, 2, second)) return Parse::kSyntax;
        if (pos < s.size() && s[pos] == '.') {
          ++pos;
          frac = read_fraction(s, pos);
        }
      }
    }
  }
  skip_spaces(s, pos);
  if (pos < s.size()) {
    const std::string rest = lower(s.substr(pos, 3));
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
      f.has_zone = true;
    } else if (rest == "utc" || rest == "gmt") {
      pos += 3;
      f.has_zone = true;
    } else if (s[pos] == '+' || s[pos] == '-') {
      const int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      int64_t oh = 0, om = 0;
      if (!read_number(s, pos, 2, oh)) return Parse::kSyntax;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (pos < s.size() && is_digit(s[pos]) && !read_number(s, pos, 2, om)) return Parse::kSyntax;
      if (oh > 15 || om > 59) return Parse::kRange;
      f.zone_seconds = sign * (oh * 3600 + om * 60);
      f.has_zone = true;
    }
  }
  skip_spaces(s, pos);
  bool bc = false;
  if (pos + 2 <= s.size()) {
    const std::string era = lower(s.substr(pos, 2));
    if (era == "bc" || era == "ad") {
      bc = era == "bc";
      pos += 2;
    }
  }
  if (pos != s.size()) return Parse::kSyntax;
  if (year < 1 || month < 1 || month > 12 || day < 1) return Parse::kRange;
  const int64_t astro = bc ? 1 - year : year;
  if (day > days_in_month(astro, month)) return Parse::kRange;
  if (minute > 59 || second > 60 || hour > 24 ||
      (hour == 24 && (minute != 0 || second != 0 || frac != 0)))
    return Parse::kRange;
  f.year = astro;
  f.month = month;
  f.day = day;
  f.time = ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + frac;
  return Parse::kOk;
}

SqlError syntax_error(Type type, std::string_view text) {
  return sql_error(sqlstate::kInvalidDatetimeFormat, std::string("invalid input syntax for type ") +
                                                         type_name(type) + ": \"" +
                                                         std::string(text) + "\"");
}

SqlError field_range_error(std::string_view text) {
  return sql_error(sqlstate::kDatetimeFieldOverflow,
                   "date/time field value out of range: \"" + std::string(text) + "\"");
}

// The first day PostgreSQL represents (4714-11-24 BC, Julian day 0) and the day after its last
// date (5874897-12-31).
const int64_t kMinDay = days_from_civil(-4713, 11, 24);
const int64_t kEndDay = days_from_civil(5874898, 1, 1);
// Timestamps are microseconds since 1970 in an int64: the last representable instant comes
// before PostgreSQL's (294276 AD); INT64_MAX itself is 'infinity'.
const int64_t kMinTimestamp = kMinDay * kMicrosPerDay;

// The common shape of event timestamps, 'YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|±HH[[:]MM]]' with
// in-range fields, read in one pass; anything else (and leap seconds, 24:00, long fractions,
// other years) is left to the general parser, which gives the same answer for what this
// accepts. Returns microseconds since 1970 UTC (the zone applied when `use_zone`).
std::optional<int64_t> parse_iso_timestamp(std::string_view s, bool use_zone) {
  if (s.size() < 19) return std::nullopt;
  auto digits = [&](size_t at, size_t n, int64_t& out) {
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = s[at + i];
      if (!is_digit(c)) return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    return true;
  };
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(0, 4, year) || s[4] != '-' || !digits(5, 2, month) || s[7] != '-' ||
      !digits(8, 2, day) || (s[10] != 'T' && s[10] != ' ') || !digits(11, 2, hour) ||
      s[13] != ':' || !digits(14, 2, minute) || s[16] != ':' || !digits(17, 2, second))
    return std::nullopt;
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  if (day > days_in_month(year, month)) return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    size_t n = 0;
    ++pos;
    while (pos < s.size() && is_digit(s[pos])) {
      if (++n > 6) return std::nullopt;
      frac = frac * 10 + (s[pos++] - '0');
    }
    if (n == 0) return std::nullopt;
    for (; n < 6; ++n)
      frac *= 10;
  }
  int64_t zone_seconds = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      const int64_t sign = s[pos] == '-' ? -1 : 1;
      int64_t zh = 0, zm = 0;
      if (pos + 3 > s.size() || !digits(pos + 1, 2, zh)) return std::nullopt;
      pos += 3;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (pos < s.size()) {
        if (pos + 2 != s.size() || !digits(pos, 2, zm)) return std::nullopt;
        pos += 2;
      }
      if (zh > 15 || zm > 59) return std::nullopt;
      zone_seconds = sign * (zh * 3600 + zm * 60);
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = days_from_civil(year, static_cast<int>(month), static_cast<int>(day));
  const int64_t time = ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + frac;
  return days * kMicrosPerDay + time - (use_zone ? zone_seconds * kMicrosPerSecond : 0);
}

}  // namespace

int64_t days_from_civil(int64_t y, int m, int d) {
  // Howard Hinnant's algorithm for the proleptic Gregorian calendar.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mu = static_cast<unsigned>(m);
  const unsigned doy = (153 * (mu > 2 ? mu - 3 : mu + 9) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int& m, int& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y += m <= 2;
}

bool date_in_range(int64_t days) {
  return days >= kMinDay && days < kEndDay;
}

bool timestamp_in_range(int64_t micros) {
  return micros >= kMinTimestamp && micros != kTimestampInfinity;
}

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t statement_time() {
  if (tls_statement_time_set) return tls_statement_time;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count();
}

StatementClock::StatementClock() : saved_(tls_statement_time), was_set_(tls_statement_time_set) {
  tls_statement_time_set = false;
  tls_statement_time = statement_time();
  tls_statement_time_set = true;
}

StatementClock::~StatementClock() {
  tls_statement_time = saved_;
  tls_statement_time_set = was_set_;
}

SqlResult<Value> parse_datetime(Type type, std::string_view raw) {
  const std::string_view s = trim(raw);
  const bool is_date = type == Type::kDate;
  if (!is_date && !s.empty() && is_digit(s[0])) {
    if (auto micros = parse_iso_timestamp(s, type == Type::kTimestamptz))
      return Value::integer(type, *micros);
  }
  int64_t micros = 0;
  bool special = false;
  // Special words ('epoch', 'now', '-infinity', ...) never start with a digit: the common case,
  // a date, neither lowercases a copy nor reads the clock.
  if (!s.empty() && !is_digit(s[0])) {
    const std::string word = lower(s);
    if (word == "infinity" || word == "+infinity") return Value::integer(type, kTimestampInfinity);
    if (word == "-infinity") return Value::integer(type, kTimestampMinusInfinity);
    special = true;
    if (word == "epoch") {
      micros = 0;
    } else if (word == "now" || word == "today" || word == "tomorrow" || word == "yesterday") {
      const int64_t now = statement_time();
      const int64_t today = floor_div(now, kMicrosPerDay) * kMicrosPerDay;
      micros = word == "now"        ? now
               : word == "today"    ? today
               : word == "tomorrow" ? today + kMicrosPerDay
                                    : today - kMicrosPerDay;
    } else {
      special = false;
    }
  }
  if (!special) {
    Fields f;
    switch (parse_fields(s, f)) {
      case Parse::kSyntax:
        return syntax_error(type, raw);
      case Parse::kRange:
        return field_range_error(raw);
      case Parse::kOk:
        break;
    }
    const int64_t days =
        days_from_civil(f.year, static_cast<int>(f.month), static_cast<int>(f.day));
    if (is_date) {
      if (!date_in_range(days))
        return sql_error(sqlstate::kDatetimeFieldOverflow,
                         "date out of range: \"" + std::string(raw) + "\"");
      return Value::date(days);
    }
    // A zone in timestamp (without time zone) input is ignored, as PostgreSQL does.
    const int64_t offset = type == Type::kTimestamptz ? f.zone_seconds * kMicrosPerSecond : 0;
    __int128 total = static_cast<__int128>(days) * kMicrosPerDay + f.time - offset;
    if (total < kMinTimestamp || total >= kTimestampInfinity)
      return sql_error(sqlstate::kDatetimeFieldOverflow,
                       "timestamp out of range: \"" + std::string(raw) + "\"");
    micros = static_cast<int64_t>(total);
  }
  if (is_date) return Value::date(floor_div(micros, kMicrosPerDay));
  return Value::integer(type, micros);
}

std::optional<int64_t> parse_timestamptz(std::string_view text) {
  auto v = parse_datetime(Type::kTimestamptz, text);
  if (!v.ok()) return std::nullopt;
  return v->i;
}

namespace {

std::string year_text(int64_t y, bool& bc) {
  bc = y <= 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(bc ? 1 - y : y));
  return buf;
}

// ".ffffff" without trailing zeros; empty for whole seconds.
std::string fraction_text(int64_t frac) {
  if (frac == 0) return {};
  char f[16];
  std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac));
  std::string fs = f;
  while (fs.back() == '0')
    fs.pop_back();
  return fs;
}

}  // namespace

std::string format_date(int64_t days) {
  if (days == kTimestampInfinity) return "infinity";
  if (days == kTimestampMinusInfinity) return "-infinity";
  int64_t y;
  int m, d;
  civil_from_days(days, y, m, d);
  bool bc = false;
  std::string out = year_text(y, bc);
  char buf[16];
  std::snprintf(buf, sizeof buf, "-%02d-%02d", m, d);
  out += buf;
  if (bc) out += " BC";
  return out;
}

std::string format_timestamp(int64_t micros, bool with_zone) {
  if (micros == kTimestampInfinity) return "infinity";
  if (micros == kTimestampMinusInfinity) return "-infinity";
  const int64_t days = floor_div(micros, kMicrosPerDay);
  const int64_t rem = micros - days * kMicrosPerDay;
  int64_t y;
  int m, d;
  civil_from_days(days, y, m, d);
  bool bc = false;
  std::string out = year_text(y, bc);
  const int64_t secs = rem / kMicrosPerSecond;
  char buf[64];
  std::snprintf(buf, sizeof buf, "-%02d-%02d %02lld:%02lld:%02lld", m, d,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  out += buf;
  out += fraction_text(rem % kMicrosPerSecond);
  if (with_zone) out += "+00";
  if (bc) out += " BC";
  return out;
}

std::string format_timestamptz(int64_t micros) {
  return format_timestamp(micros, true);
}

std::string format_interval(int32_t months, int32_t days, int64_t micros) {
  // IntervalStyle postgres: "1 year 2 mons 3 days 04:05:06"; a field after a negative one gets
  // an explicit "+".
  std::string out;
  bool is_zero = true;
  bool is_before = false;
  auto part = [&](int64_t value, const char* unit) {
    if (value == 0) return;
    if (!is_zero) out += ' ';
    if (is_before && value > 0) out += '+';
    out += std::to_string(value) + " " + unit + (value != 1 ? "s" : "");
    is_before = value < 0;
    is_zero = false;
  };
  part(months / 12, "year");
  part(months % 12, "mon");
  part(days, "day");
  if (is_zero || micros != 0) {
    const bool minus = micros < 0;
    const unsigned __int128 mag =
        minus ? static_cast<unsigned __int128>(-(static_cast<__int128>(micros)))
              : static_cast<unsigned __int128>(micros);
    const auto total_seconds = static_cast<uint64_t>(mag / kMicrosPerSecond);
    const auto frac = static_cast<int64_t>(mag % kMicrosPerSecond);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s%02llu:%02llu:%02llu", is_zero ? "" : " ",
                  minus ? "-" : (is_before ? "+" : ""),
                  static_cast<unsigned long long>(total_seconds / 3600),
                  static_cast<unsigned long long>(total_seconds / 60 % 60),
                  static_cast<unsigned long long>(total_seconds % 60));
    out += buf;
    out += fraction_text(frac);
  }
  return out;
}

namespace {

struct IntervalAcc {
  long double months = 0, days = 0, micros = 0;
};

enum UnitKind {
  kMicro,
  kMilli,
  kSecond,
  kMinute,
  kHour,
  kDay,
  kWeek,
  kMonth,
  kYear,
  kDecade,
  kCentury,
  kMillennium
};

std::optional<UnitKind> unit_from(std::string_view u) {
  static const std::pair<const char*, UnitKind> kUnits[] = {{"microsecond", kMicro},
                                                            {"microseconds", kMicro},
                                                            {"us", kMicro},
                                                            {"usec", kMicro},
                                                            {"usecs", kMicro},
                                                            {"millisecond", kMilli},
                                                            {"milliseconds", kMilli},
                                                            {"ms", kMilli},
                                                            {"msec", kMilli},
                                                            {"msecs", kMilli},
                                                            {"second", kSecond},
                                                            {"seconds", kSecond},
                                                            {"s", kSecond},
                                                            {"sec", kSecond},
                                                            {"secs", kSecond},
                                                            {"minute", kMinute},
                                                            {"minutes", kMinute},
                                                            {"m", kMinute},
                                                            {"min", kMinute},
                                                            {"mins", kMinute},
                                                            {"hour", kHour},
                                                            {"hours", kHour},
                                                            {"h", kHour},
                                                            {"hr", kHour},
                                                            {"hrs", kHour},
                                                            {"day", kDay},
                                                            {"days", kDay},
                                                            {"d", kDay},
                                                            {"week", kWeek},
                                                            {"weeks", kWeek},
                                                            {"w", kWeek},
                                                            {"month", kMonth},
                                                            {"months", kMonth},
                                                            {"mon", kMonth},
                                                            {"mons", kMonth},
                                                            {"year", kYear},
                                                            {"years", kYear},
                                                            {"y", kYear},
                                                            {"yr", kYear},
                                                            {"yrs", kYear},
                                                            {"decade", kDecade},
                                                            {"decades", kDecade},
                                                            {"dec", kDecade},
                                                            {"decs", kDecade},
                                                            {"century", kCentury},
                                                            {"centuries", kCentury},
                                                            {"c", kCentury},
                                                            {"cent", kCentury},
                                                            {"millennium", kMillennium},
                                                            {"millennia", kMillennium},
                                                            {"mil", kMillennium},
                                                            {"mils", kMillennium}};
  for (const auto& [name, kind] : kUnits)
    if (u == name) return kind;
  return std::nullopt;
}

void add_unit(IntervalAcc& acc, UnitKind unit, long double v) {
  switch (unit) {
    case kMicro:
      acc.micros += v;
      break;
    case kMilli:
      acc.micros += v * 1000;
      break;
    case kSecond:
      acc.micros += v * kMicrosPerSecond;
      break;
    case kMinute:
      acc.micros += v * 60 * kMicrosPerSecond;
      break;
    case kHour:
      acc.micros += v * 3600 * kMicrosPerSecond;
      break;
    case kDay:
      acc.days += v;
      break;
    case kWeek:
      acc.days += v * 7;
      break;
    case kMonth:
      acc.months += v;
      break;
    case kYear:
    case kDecade:
    case kCentury:
    case kMillennium: {
      // A fraction of a year becomes whole months (rounded), as PostgreSQL does.
      const long double years = unit == kYear      ? v
                                : unit == kDecade  ? v * 10
                                : unit == kCentury ? v * 100
                                                   : v * 1000;
      const long double whole = std::trunc(years);
      acc.months += whole * 12 + std::nearbyint((years - whole) * 12);
      break;
    }
  }
}

// Reads [digits][.digits] at pos; false when there are no digits at all.
bool read_decimal(std::string_view s, size_t& pos, long double& out) {
  const size_t start = pos;
  while (pos < s.size() && is_digit(s[pos]))
    ++pos;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && is_digit(s[pos]))
      ++pos;
  }
  const std::string text(s.substr(start, pos - start));
  if (text.empty() || text == ".") return false;
  out = std::strtold(text.c_str(), nullptr);
  return true;
}

Parse parse_iso_interval(std::string_view s, IntervalAcc& acc) {
  size_t pos = 1;  // after 'p'
  bool in_time = false;
  if (pos == s.size()) return Parse::kSyntax;
  while (pos < s.size()) {
    if (s[pos] == 't') {
      if (in_time) return Parse::kSyntax;
      in_time = true;
      ++pos;
      continue;
    }
    bool negative = false;
    if (s[pos] == '-' || s[pos] == '+') negative = s[pos++] == '-';
    long double v = 0;
    if (!read_decimal(s, pos, v) || pos >= s.size()) return Parse::kSyntax;
    if (negative) v = -v;
    const char designator = s[pos++];
    UnitKind unit;
    if (!in_time) {
      if (designator == 'y')
        unit = kYear;
      else if (designator == 'm')
        unit = kMonth;
      else if (designator == 'w')
        unit = kWeek;
      else if (designator == 'd')
        unit = kDay;
      else
        return Parse::kSyntax;
    } else {
      if (designator == 'h')
        unit = kHour;
      else if (designator == 'm')
        unit = kMinute;
      else if (designator == 's')
        unit = kSecond;
      else
        return Parse::kSyntax;
    }
    add_unit(acc, unit, v);
  }
  return Parse::kOk;
}

Parse parse_postgres_interval(std::string_view s, IntervalAcc& acc) {
  size_t pos = 0;
  if (pos < s.size() && s[pos] == '@') ++pos;
  uint32_t seen = 0;
  bool ago = false;
  bool any = false;
  while (true) {
    skip_spaces(s, pos);
    if (pos >= s.size()) break;
    if (ago) return Parse::kSyntax;  // "ago" comes last
    if (s.substr(pos, 3) == "ago") {
      pos += 3;
      ago = true;
      continue;
    }
    bool negative = false;
    if (s[pos] == '-' || s[pos] == '+') negative = s[pos++] == '-';
    // h:m[:s[.f]] sets hours, minutes and seconds at once.
    size_t p = pos;
    while (p < s.size() && is_digit(s[p]))
      ++p;
    if (p > pos && p < s.size() && s[p] == ':') {
      constexpr uint32_t kTimeBits = (1u << kHour) | (1u << kMinute) | (1u << kSecond);
      if (seen & kTimeBits) return Parse::kSyntax;
      seen |= kTimeBits;
      int64_t h = 0, m = 0, sec = 0, frac = 0;
      if (!read_number(s, pos, 12, h) || s[pos++] != ':' || !read_number(s, pos, 2, m))
        return Parse::kSyntax;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!read_number(s, pos, 2, sec)) return Parse::kSyntax;
      }
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        frac = read_fraction(s, pos);
      }
      if (m > 59 || sec > 59) return Parse::kRange;
      const long double t = static_cast<long double>(((h * 60 + m) * 60 + sec)) * kMicrosPerSecond +
                            static_cast<long double>(frac);
      acc.micros += negative ? -t : t;
      any = true;
      continue;
    }
    long double v = 0;
    if (!read_decimal(s, pos, v)) return Parse::kSyntax;
    if (negative) v = -v;
    skip_spaces(s, pos);
    size_t w = pos;
    while (w < s.size() && std::isalpha(static_cast<unsigned char>(s[w])))
      ++w;
    UnitKind unit = kSecond;  // a bare number is seconds
    if (w > pos && s.substr(pos, w - pos) != "ago") {
      auto u = unit_from(s.substr(pos, w - pos));
      if (!u) return Parse::kSyntax;
      unit = *u;
      pos = w;
    }
    if (seen & (1u << unit)) return Parse::kSyntax;
    seen |= 1u << unit;
    add_unit(acc, unit, v);
    any = true;
  }
  if (!any) return Parse::kSyntax;
  if (ago) {
    acc.months = -acc.months;
    acc.days = -acc.days;
    acc.micros = -acc.micros;
  }
  return Parse::kOk;
}

}  // namespace

SqlResult<Value> parse_interval(std::string_view raw) {
  const std::string s = lower(trim(raw));
  IntervalAcc acc;
  const Parse p =
      !s.empty() && s[0] == 'p' ? parse_iso_interval(s, acc) : parse_postgres_interval(s, acc);
  if (p == Parse::kSyntax) return syntax_error(Type::kInterval, raw);
  if (p == Parse::kRange) return field_range_error(raw);
  // Fractions cascade down: a month is 30 days, a day 24 hours.
  const long double whole_months = std::trunc(acc.months);
  long double days = acc.days + (acc.months - whole_months) * 30;
  const long double whole_days = std::trunc(days);
  const long double micros = std::nearbyint(acc.micros + (days - whole_days) * kMicrosPerDay);
  constexpr long double kMax32 = std::numeric_limits<int32_t>::max();
  constexpr long double kMax64 = 9.2e18L;
  if (std::fabs(whole_months) > kMax32 || std::fabs(whole_days) > kMax32 ||
      std::fabs(micros) > kMax64)
    return sql_error(sqlstate::kIntervalFieldOverflow,
                     "interval field value out of range: \"" + std::string(raw) + "\"");
  return Value::interval(static_cast<int32_t>(whole_months), static_cast<int32_t>(whole_days),
                         static_cast<int64_t>(micros));
}

}  // namespace eddy::sql

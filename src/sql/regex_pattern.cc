#include "sql/regex_pattern.h"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <utility>
#include <vector>

namespace eddy::sql {

namespace {

bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

char other_case(char c) {
  return static_cast<char>(c >= 'a' ? c - 32 : c + 32);
}

std::string both_cases(char c) {
  return std::string{'[', c, other_case(c), ']'};
}

class Rewriter {
 public:
  explicit Rewriter(std::string_view pattern) : p_(pattern) {}

  std::string run() {
    while (i_ < p_.size()) {
      const char c = p_[i_];
      if (c == '\\') {
        escape();
      } else if (c == '[') {
        bracket();
      } else if (c == '(' && i_ + 1 < p_.size() && p_[i_ + 1] == '?') {
        group_syntax();
      } else if (is_ascii_letter(c)) {
        out_ += both_cases(c);
        ++i_;
      } else {
        out_ += c;
        ++i_;
      }
    }
    return std::move(out_);
  }

 private:
  // Copies p_[i_, until the first `close` inclusive] (or the rest).
  void copy_through(char close) {
    const size_t end = p_.find(close, i_);
    const size_t stop = end == std::string_view::npos ? p_.size() : end + 1;
    out_.append(p_.substr(i_, stop - i_));
    i_ = stop;
  }

  // An escape outside brackets: kept as written, except \Q...\E, whose literal letters fold.
  void escape() {
    if (i_ + 1 >= p_.size()) {
      out_ += p_[i_++];
      return;
    }
    const char e = p_[i_ + 1];
    if (e == 'Q') {
      i_ += 2;
      while (i_ < p_.size() && p_.substr(i_, 2) != "\\E") {
        const char c = p_[i_++];
        if (is_ascii_letter(c)) {
          out_ += both_cases(c);
        } else if (static_cast<unsigned char>(c) < 0x80 &&
                   std::ispunct(static_cast<unsigned char>(c))) {
          out_ += '\\';
          out_ += c;
        } else {
          out_ += c;
        }
      }
      if (i_ < p_.size()) i_ += 2;
      return;
    }
    if ((e == 'p' || e == 'P' || e == 'x') && i_ + 2 < p_.size() && p_[i_ + 2] == '{') {
      copy_through('}');
      return;
    }
    if (e == 'p' || e == 'P') {
      out_.append(p_.substr(i_, 3));
      i_ = std::min(p_.size(), i_ + 3);
      return;
    }
    out_.append(p_.substr(i_, 2));
    i_ += 2;
  }

  // (?flags), (?flags:...), (?P<name>...): names and flags are not letters to match.
  void group_syntax() {
    out_ += "(?";
    i_ += 2;
    if (i_ < p_.size() && (p_[i_] == 'P' || p_[i_] == '<')) {
      copy_through('>');
      return;
    }
    while (i_ < p_.size() && (is_ascii_letter(p_[i_]) || p_[i_] == '-'))
      out_ += p_[i_++];
  }

  // One character of a bracket expression: its code point, or -1 for a class escape (\d, \w,
  // \p{..}) or an escape whose value is not read here. Appends its text to `raw`.
  long bracket_char(std::string& raw) {
    const size_t start = i_;
    const auto c = static_cast<unsigned char>(p_[i_]);
    long cp = -1;
    if (c == '\\' && i_ + 1 < p_.size()) {
      const char e = p_[i_ + 1];
      i_ += 2;
      if ((e == 'p' || e == 'P') && i_ < p_.size()) {
        if (p_[i_] == '{') {
          const size_t end = p_.find('}', i_);
          i_ = end == std::string_view::npos ? p_.size() : end + 1;
        } else {
          ++i_;
        }
      } else if (e == 'x') {
        std::string hex;
        if (i_ < p_.size() && p_[i_] == '{') {
          const size_t end = p_.find('}', i_);
          const size_t stop = end == std::string_view::npos ? p_.size() : end;
          hex = std::string(p_.substr(i_ + 1, stop - i_ - 1));
          i_ = std::min(p_.size(), stop + 1);
        } else {
          while (i_ < p_.size() && hex.size() < 2 &&
                 std::isxdigit(static_cast<unsigned char>(p_[i_])))
            hex += p_[i_++];
        }
        if (!hex.empty() && hex.size() <= 6) cp = std::stol(hex, nullptr, 16);
      } else if (e == 'n') {
        cp = '\n';
      } else if (e == 't') {
        cp = '\t';
      } else if (e == 'r') {
        cp = '\r';
      } else if (static_cast<unsigned char>(e) < 0x80 &&
                 std::ispunct(static_cast<unsigned char>(e))) {
        cp = static_cast<unsigned char>(e);
      }
    } else if (c >= 0x80) {
      // A UTF-8 sequence: its code point (only whether it lies in an ASCII range matters).
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      len = std::min(len, p_.size() - i_);
      cp = 0x80;  // beyond ASCII: never a letter to fold
      i_ += len;
    } else {
      cp = c;
      ++i_;
    }
    raw.append(p_.substr(start, i_ - start));
    return cp;
  }

  void bracket() {
    const size_t open = i_;
    std::string raw = "[";
    ++i_;
    if (i_ < p_.size() && p_[i_] == '^') raw += p_[i_++];
    std::vector<std::pair<long, long>> ranges;
    bool first = true;
    while (i_ < p_.size() && (p_[i_] != ']' || first)) {
      first = false;
      if (p_.substr(i_, 2) == "[:") {
        const size_t end = p_.find(":]", i_ + 2);
        if (end != std::string_view::npos) {
          const std::string_view name = p_.substr(i_ + 2, end - i_ - 2);
          // Either case of a letter: [[:upper:]] and [[:lower:]] both mean letters.
          raw += name == "upper" || name == "lower" ? "[:alpha:]"
                                                    : std::string(p_.substr(i_, end + 2 - i_));
          i_ = end + 2;
          continue;
        }
      }
      const long lo = bracket_char(raw);
      long hi = lo;
      if (lo >= 0 && i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        raw += p_[i_++];
        hi = bracket_char(raw);
      }
      if (lo >= 0 && hi >= lo) ranges.emplace_back(lo, hi);
    }
    if (i_ >= p_.size()) {  // no closing bracket: RE2 reports it
      out_.append(p_.substr(open));
      return;
    }
    ++i_;  // ']'
    out_ += raw;
    for (auto [lo, hi] : ranges) {
      for (auto [from, to, shift] : {std::tuple<long, long, long>{'A', 'Z', 32}, {'a', 'z', -32}}) {
        const long a = std::max(lo, from), b = std::min(hi, to);
        if (a > b) continue;
        out_ += static_cast<char>(a + shift);
        if (b > a) {
          out_ += '-';
          out_ += static_cast<char>(b + shift);
        }
      }
    }
    out_ += ']';
  }

  std::string_view p_;
  size_t i_ = 0;
  std::string out_;
};

}  // namespace

std::string ascii_case_insensitive_pattern(std::string_view pattern) {
  return Rewriter(pattern).run();
}

}  // namespace eddy::sql

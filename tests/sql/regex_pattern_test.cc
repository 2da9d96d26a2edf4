#include "sql/regex_pattern.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace eddy::sql {
namespace {

bool matches(const std::string& subject, const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(ascii_case_insensitive_pattern(pattern), options);
  EXPECT_TRUE(re.ok()) << pattern << ": " << re.error();
  return RE2::PartialMatch(subject, re);
}

TEST(AsciiCaseInsensitivePattern, LettersOutsideEscapesStandForBothCases) {
  EXPECT_EQ(ascii_case_insensitive_pattern("ab1"), "[aA][bB]1");
  EXPECT_EQ(ascii_case_insensitive_pattern(R"(\d+x)"), R"(\d+[xX])");
  EXPECT_EQ(ascii_case_insensitive_pattern(R"(\p{Lu}\pL)"), R"(\p{Lu}\pL)");
  EXPECT_EQ(ascii_case_insensitive_pattern("(?P<word>a)"), "(?P<word>[aA])");
  EXPECT_EQ(ascii_case_insensitive_pattern("é"), "é");
}

TEST(AsciiCaseInsensitivePattern, BracketsGainTheOtherCase) {
  EXPECT_EQ(ascii_case_insensitive_pattern("[a-c]"), "[a-cA-C]");
  EXPECT_EQ(ascii_case_insensitive_pattern("[^X]"), "[^Xx]");
  EXPECT_EQ(ascii_case_insensitive_pattern("[]q]"), "[]qQ]");
  EXPECT_EQ(ascii_case_insensitive_pattern("[0-9_]"), "[0-9_]");
  EXPECT_EQ(ascii_case_insensitive_pattern("[[:upper:]]"), "[[:alpha:]]");
}

TEST(AsciiCaseInsensitivePattern, MatchesAsTheCLocaleFolds) {
  EXPECT_TRUE(matches("ABC", "b"));
  EXPECT_TRUE(matches("abc", "^[A-C]+$"));
  EXPECT_FALSE(matches("abc", "^[^A]"));
  EXPECT_TRUE(matches("HELLO world", R"(\w+ WORLD)"));
  EXPECT_TRUE(matches("xyz", R"(\QXY\E)"));
  EXPECT_TRUE(matches("a.b", R"(\QA.B\E)"));
  EXPECT_FALSE(matches("axb", R"(\QA.B\E)"));
  EXPECT_FALSE(matches("Q", R"(\x71)"));  // an escaped letter keeps its case
  // Non-ASCII letters keep their case, as in PostgreSQL's C locale.
  EXPECT_FALSE(matches("É", "é"));
  EXPECT_TRUE(matches("É", "É"));
  EXPECT_FALSE(matches("ÉCOLE", "^écOLE$"));
  EXPECT_TRUE(matches("éCOLE", "^éco"));
}

}  // namespace
}  // namespace eddy::sql

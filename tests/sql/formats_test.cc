// Record formats of tables (formats.h): CSV splitting and quoting as PostgreSQL's COPY CSV
// reads and writes it, rows through encode/decode for every format, UTF-8 validation.
#include "sql/formats.h"

#include <gtest/gtest.h>

#include <random>

namespace eddy::sql {
namespace {

using Fields = std::vector<std::optional<std::string>>;

Fields split(std::string_view line, CsvDialect dialect = {}, std::string_view null_string = "") {
  Fields fields;
  std::string reason;
  EXPECT_TRUE(split_csv_line(line, dialect, null_string, fields, reason)) << line << ": " << reason;
  return fields;
}

TEST(CsvSplit, QuotesNullsAndEmptyStrings) {
  EXPECT_EQ(split("a,\"b,c\",,\"\""), (Fields{"a", "b,c", std::nullopt, ""}));
  EXPECT_EQ(split("\"say \"\"hi\"\"\""), (Fields{"say \"hi\""}));
  // A quote may open anywhere in a field (PostgreSQL is that lenient).
  EXPECT_EQ(split("x\"a,b\"y,z"), (Fields{"xa,by", "z"}));
  EXPECT_EQ(split("\"multi\nline\",1"), (Fields{"multi\nline", "1"}));
  EXPECT_EQ(split(""), (Fields{std::nullopt}));
  EXPECT_EQ(split(","), (Fields{std::nullopt, std::nullopt}));
  EXPECT_EQ(split("N;'a;b'", CsvDialect{';', '\'', '\''}, "N"), (Fields{std::nullopt, "a;b"}));
  // A different escape character escapes the quote and itself inside quotes only.
  EXPECT_EQ(split("\"a\\\"b\\\\\",c\\d", CsvDialect{',', '"', '\\'}), (Fields{"a\"b\\", "c\\d"}));
}

TEST(CsvSplit, RejectsUnterminatedQuotesAndBareLineBreaks) {
  Fields fields;
  std::string reason;
  EXPECT_FALSE(split_csv_line("1,\"open", {}, "", fields, reason));
  EXPECT_EQ(reason, "unterminated CSV quoted field");
  EXPECT_FALSE(split_csv_line("1,a\nb", {}, "", fields, reason));
  EXPECT_EQ(reason, "unquoted line break in a CSV record");
}

TEST(CsvQuote, QuotesOnlyWhatNeedsIt) {
  auto quoted = [](std::string_view s, std::string_view null_string = "") {
    std::string out;
    append_csv_field(out, s, CsvDialect{}, null_string);
    return out;
  };
  EXPECT_EQ(quoted("plain"), "plain");
  EXPECT_EQ(quoted(""), "\"\"");
  EXPECT_EQ(quoted("", "N"), "");
  EXPECT_EQ(quoted("N", "N"), "\"N\"");
  EXPECT_EQ(quoted("a,b"), "\"a,b\"");
  EXPECT_EQ(quoted("q\"d"), "\"q\"\"d\"");
  EXPECT_EQ(quoted("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(quoted("back\\slash"), "back\\slash");
}

TableDef csv_table(char delimiter = ',', char quote = '"') {
  TableDef t;
  t.name = "t";
  t.format = "csv";
  t.csv_delimiter = delimiter;
  t.csv_quote = quote;
  t.columns = {{"id", Type::kInt8}, {"name", Type::kText}, {"price", Type::kNumeric}};
  return t;
}

TEST(CsvRecords, RandomRowsRoundTrip) {
  std::mt19937 random(7);
  const std::string alphabet = "ab,;'\"\n\r\\ x";
  for (const TableDef& table : {csv_table(), csv_table(';', '\'')}) {
    for (int i = 0; i < 2000; ++i) {
      Row row(3);
      row[0] = random() % 5 == 0 ? Value::null_of(Type::kInt8)
                                 : Value::integer(Type::kInt8, static_cast<int64_t>(random()) - 99);
      if (random() % 5 == 0) {
        row[1] = Value::null_of(Type::kText);
      } else {
        std::string s;
        for (size_t n = random() % 6; n > 0; --n)
          s += alphabet[random() % alphabet.size()];
        row[1] = Value::text(s);
      }
      row[2] = random() % 4 == 0 ? Value::null_of(Type::kNumeric)
                                 : Value::numeric(Numeric{static_cast<__int128>(random()), 2});
      auto encoded = encode_record_value(table, row);
      ASSERT_TRUE(encoded);
      Row back(3);
      std::string reason;
      ASSERT_TRUE(decode_record_value(table, *encoded, back, reason)) << *encoded << ": " << reason;
      for (size_t c = 0; c < 3; ++c) {
        ASSERT_EQ(back[c].null, row[c].null) << *encoded;
        if (!row[c].null) {
          ASSERT_EQ(to_text(back[c]), to_text(row[c])) << *encoded;
        }
      }
    }
  }
}

TEST(CsvRecords, ReasonsNameTheProblem) {
  const TableDef table = csv_table();
  Row row(3);
  std::string reason;
  EXPECT_FALSE(decode_record_value(table, std::string_view("1,a"), row, reason));
  EXPECT_EQ(reason, "expected 3 CSV fields, got 2");
  EXPECT_FALSE(decode_record_value(table, std::string_view("x,a,1"), row, reason));
  EXPECT_EQ(reason, "field 1 (\"id\"): invalid input syntax for type bigint: \"x\"");
  EXPECT_FALSE(decode_record_value(table, std::nullopt, row, reason));
  EXPECT_EQ(reason, "no value");
  EXPECT_FALSE(decode_record_value(table, std::string_view("1,\xff,1"), row, reason));
  EXPECT_EQ(reason, "invalid byte sequence for encoding \"UTF8\": 0xff");
  EXPECT_TRUE(decode_record_value(table, std::string_view("1,a,2.5\r\n"), row, reason));
  EXPECT_EQ(to_text(row[2]), "2.5");
}

TEST(TextRecords, OneTextColumnNullIsNoValue) {
  TableDef table;
  table.format = "text";
  table.columns = {{"line", Type::kText}};
  EXPECT_TRUE(check_table_format(table).ok());
  Row row(1);
  std::string reason;
  ASSERT_TRUE(decode_record_value(table, std::string_view("any, \"thing\"\n"), row, reason));
  EXPECT_EQ(row[0].s, "any, \"thing\"\n");
  ASSERT_TRUE(decode_record_value(table, std::nullopt, row, reason));
  EXPECT_TRUE(row[0].null);
  EXPECT_FALSE(encode_record_value(table, row));
  EXPECT_FALSE(decode_record_value(table, std::string_view("a\0b", 3), row, reason));
  table.columns = {{"n", Type::kInt4}};
  EXPECT_EQ(check_table_format(table).error().sqlstate, "42P16");
}

TEST(BytesRecords, AnyBytesRoundTrip) {
  TableDef table;
  table.format = "bytes";
  table.columns = {{"b", Type::kBytea}};
  EXPECT_TRUE(check_table_format(table).ok());
  Row row(1);
  std::string reason;
  const std::string_view raw("\xff\0x\n", 4);
  ASSERT_TRUE(decode_record_value(table, raw, row, reason));
  EXPECT_EQ(row[0].type, Type::kBytea);
  EXPECT_EQ(row[0].s, raw);
  EXPECT_EQ(encode_record_value(table, row), std::string(raw));
  ASSERT_TRUE(decode_record_value(table, std::nullopt, row, reason));
  EXPECT_TRUE(row[0].null);
  EXPECT_FALSE(encode_record_value(table, row));
  table.columns = {{"t", Type::kText}};
  EXPECT_EQ(check_table_format(table).error().sqlstate, "42P16");
}

TEST(Utf8, ValidTextRejectsWhatPostgresRejects) {
  EXPECT_TRUE(valid_text("plain ascii"));
  EXPECT_TRUE(valid_text("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  std::string bad;
  EXPECT_FALSE(valid_text("\xc0\xaf", &bad));  // overlong /
  EXPECT_EQ(bad, "0xc0");
  EXPECT_FALSE(valid_text("\xe0\x80\xaf"));      // overlong 3 bytes
  EXPECT_FALSE(valid_text("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_text("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_text("\xe2\x82", &bad));    // cut short
  EXPECT_EQ(bad, "0xe2 0x82");
  EXPECT_FALSE(valid_text(std::string_view("\0", 1), &bad));
  EXPECT_EQ(bad, "0x00");
}

}  // namespace
}  // namespace eddy::sql

#include "sql/formats.h"

#include <cstdio>

#include "sql/executor.h"

namespace eddy::sql {

namespace {

CsvDialect table_dialect(const TableDef& table) {
  return CsvDialect{table.csv_delimiter, table.csv_quote, table.csv_quote};
}

std::string field_name(const TableDef& table, size_t i) {
  return "field " + std::to_string(i + 1) + " (\"" + table.columns[i].name + "\")";
}

bool decode_csv_row(const TableDef& table, std::string_view line, Row& row, std::string& reason,
                    const std::vector<bool>* used) {
  // One record is one line; a producer that ends it with a line terminator means the same line.
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string bad;
  if (!valid_text(line, &bad)) {
    reason = "invalid byte sequence for encoding \"UTF8\": " + bad;
    return false;
  }
  std::vector<std::optional<std::string>> fields;
  if (!split_csv_line(line, table_dialect(table), "", fields, reason)) return false;
  if (fields.size() != table.columns.size()) {
    reason = "expected " + std::to_string(table.columns.size()) + " CSV fields, got " +
             std::to_string(fields.size());
    return false;
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    const Type type = table.columns[i].type;
    if (!fields[i] || (type == Type::kText && used != nullptr && !(*used)[i])) {
      row[i] = Value::null_of(type);
      continue;
    }
    auto parsed = from_text(type, *fields[i]);
    if (!parsed.ok()) {
      reason = field_name(table, i) + ": " + parsed.error().message;
      return false;
    }
    row[i] = std::move(*parsed);
  }
  return true;
}

std::string encode_csv_row(const TableDef& table, const Row& row) {
  const CsvDialect dialect = table_dialect(table);
  std::string out;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (i > 0) out += dialect.delimiter;
    if (row[i].null) continue;
    append_csv_field(out, to_text(row[i]), dialect, "");
  }
  return out;
}

// Bytes of the UTF-8 sequence a lead byte starts; 0 for a byte that cannot start one.
size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

}  // namespace

const char* supported_table_formats() {
  return "json, csv, text, bytes";
}

bool is_table_format(std::string_view format) {
  return format == "json" || format == "csv" || format == "text" || format == "bytes";
}

SqlStatus check_table_format(const TableDef& table) {
  if (table.format == "text" && (table.columns.size() != 1 || table.columns[0].type != Type::kText))
    return sql_error("42P16",
                     "a table of format 'text' must have exactly one column, of type text");
  if (table.format == "bytes" &&
      (table.columns.size() != 1 || table.columns[0].type != Type::kBytea))
    return sql_error("42P16",
                     "a table of format 'bytes' must have exactly one column, of type bytea");
  return Unit{};
}

bool decode_record_value(const TableDef& table, std::optional<std::string_view> value, Row& row,
                         std::string& reason, const std::vector<bool>* used) {
  if (table.format == "bytes") {
    // Any bytes at all: nothing to check, and nothing to build when no one reads them.
    row[0] = !value || (used != nullptr && !(*used)[0])
                 ? Value::null_of(Type::kBytea)
                 : Value::text(std::string(*value), Type::kBytea);
    return true;
  }
  if (table.format == "text") {
    if (!value) {
      row[0] = Value::null_of(Type::kText);
      return true;
    }
    std::string bad;
    if (!valid_text(*value, &bad)) {
      reason = "invalid byte sequence for encoding \"UTF8\": " + bad;
      return false;
    }
    row[0] = Value::text(std::string(*value));
    return true;
  }
  if (!value) {
    reason = "no value";
    return false;
  }
  if (table.format == "csv") return decode_csv_row(table, *value, row, reason, used);
  return decode_json_row(table, *value, row, reason, used);
}

std::string skipped_records_reason(const TableDef& table) {
  if (table.format == "text") return "not valid UTF-8 text";
  if (table.format == "bytes") return "records without a value";
  if (table.format == "csv") return "not CSV lines that fit the declared column types";
  return "not JSON objects that fit the declared column types";
}

std::optional<std::string> encode_record_value(const TableDef& table, const Row& row) {
  if (table.format == "text" || table.format == "bytes") {
    if (row[0].null) return std::nullopt;
    return row[0].s;
  }
  if (table.format == "csv") return encode_csv_row(table, row);
  return encode_json_row(table, row);
}

bool split_csv_line(std::string_view line, const CsvDialect& dialect, std::string_view null_string,
                    std::vector<std::optional<std::string>>& fields, std::string& reason,
                    std::vector<bool>* quoted_fields) {
  fields.clear();
  if (quoted_fields != nullptr) quoted_fields->clear();
  std::string field;
  bool quoted = false;     // the field had a quote somewhere: never NULL
  bool in_quotes = false;  // between an opening and a closing quote
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c == dialect.escape && i + 1 < line.size() &&
          (line[i + 1] == dialect.quote || line[i + 1] == dialect.escape)) {
        field += line[++i];
      } else if (c == dialect.quote) {
        in_quotes = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == dialect.delimiter) {
      if (quoted_fields != nullptr) quoted_fields->push_back(quoted);
      if (!quoted && field == null_string)
        fields.emplace_back(std::nullopt);
      else
        fields.emplace_back(std::move(field));
      field.clear();
      quoted = false;
    } else if (c == dialect.quote) {
      in_quotes = true;
      quoted = true;
    } else if (c == '\n' || c == '\r') {
      reason = "unquoted line break in a CSV record";
      return false;
    } else {
      field += c;
    }
  }
  if (in_quotes) {
    reason = "unterminated CSV quoted field";
    return false;
  }
  if (quoted_fields != nullptr) quoted_fields->push_back(quoted);
  if (!quoted && field == null_string)
    fields.emplace_back(std::nullopt);
  else
    fields.emplace_back(std::move(field));
  return true;
}

void append_csv_field(std::string& out, std::string_view field, const CsvDialect& dialect,
                      std::string_view null_string, bool force_quote) {
  bool quote = force_quote || field == null_string;
  for (char c : field)
    if (c == dialect.delimiter || c == dialect.quote || c == '\n' || c == '\r') quote = true;
  if (!quote) {
    out += field;
    return;
  }
  out += dialect.quote;
  for (char c : field) {
    if (c == dialect.quote || c == dialect.escape) out += dialect.escape;
    out += c;
  }
  out += dialect.quote;
}

bool valid_text(std::string_view s, std::string* bad) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = utf8_length(c);
    bool ok = n != 0 && c != 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    // Overlong 3- and 4-byte forms, surrogates and code points past U+10FFFF.
    if (ok && n == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    } else if (ok && n == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) {
      if (bad != nullptr) {
        bad->clear();
        const size_t shown = std::min(std::max<size_t>(n, 1), s.size() - i);
        for (size_t k = 0; k < shown; ++k) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "%s0x%02x", k == 0 ? "" : " ",
                        static_cast<unsigned char>(s[i + k]));
          *bad += hex;
        }
      }
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace eddy::sql

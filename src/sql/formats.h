// Record value formats of tables over topics (`WITH (format = ...)`): the one place that turns a
// record value into a table row and a row into a record value, so a faster decoder for one
// format slots in here without touching the callers (bounded SELECT, materialized views,
// INSERT, COPY).
//
// - json: one JSON object per record, fields matched to columns by name (executor.cc).
// - csv: one CSV line per record, fields in declared column order; quoting as PostgreSQL's COPY
//   CSV reads it (a quote may open anywhere in a field, a doubled quote inside quotes is one
//   quote), an empty unquoted field is NULL, a quoted empty field the empty string.
// - text: the whole value (valid UTF-8, no NUL) is the single text column; no value is NULL.
// - bytes: the whole value, any bytes, is the single bytea column; no value is NULL.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/catalog.h"
#include "sql/value.h"

namespace eddy::sql {

// The formats CREATE TABLE accepts, for messages ("json, csv, text").
const char* supported_table_formats();
bool is_table_format(std::string_view format);

// Whether `table`'s columns suit its format (text: exactly one column, of type text); the
// error says why (42P16).
SqlStatus check_table_format(const TableDef& table);

// Fills row[0..columns) from a record value (nullopt: the record has none); false and `reason`
// when it does not decode or fit the column types. `used` (one flag per declared column, or
// null for all) lets a reader skip building text columns it never reads (they are left null):
// every field fits text, so skipping cannot change whether the record fits.
bool decode_record_value(const TableDef& table, std::optional<std::string_view> value, Row& row,
                         std::string& reason, const std::vector<bool>* used = nullptr);
// What the records a bounded SELECT skipped were not ("not JSON objects that fit ...").
std::string skipped_records_reason(const TableDef& table);
// The record value of a row of declared columns; nullopt writes a record without a value (a
// text table's NULL).
std::optional<std::string> encode_record_value(const TableDef& table, const Row& row);

struct CsvDialect {
  char delimiter = ',';
  char quote = '"';
  char escape = '"';  // inside quotes, escape+quote is a literal quote
};

// Splits one logical CSV line (no line terminator) into fields; a field is nullopt when it is
// unquoted and equal to `null_string`. False with `reason` for an unterminated quoted field.
// `quoted`, when given, gets whether each field had a quote.
bool split_csv_line(std::string_view line, const CsvDialect& dialect, std::string_view null_string,
                    std::vector<std::optional<std::string>>& fields, std::string& reason,
                    std::vector<bool>* quoted = nullptr);
// Appends a non-NULL field in CSV: quoted when it equals `null_string` or holds the delimiter,
// the quote or a line break (as PostgreSQL's COPY TO decides); `force_quote` quotes anyway.
void append_csv_field(std::string& out, std::string_view field, const CsvDialect& dialect,
                      std::string_view null_string, bool force_quote = false);

// Whether `s` is valid UTF-8 without NUL bytes (what a PostgreSQL text value may hold); when
// not, `bad` gets the offending bytes as PostgreSQL prints them ("0xff 0xfe").
bool valid_text(std::string_view s, std::string* bad = nullptr);

}  // namespace eddy::sql

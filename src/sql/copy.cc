#include "sql/copy.h"

#include <algorithm>
#include <functional>

#include "sql/executor.h"
#include "sql/formats.h"
#include "sql/query_memory.h"
#include "storage/log_manager.h"

namespace eddy::sql {

namespace {

// PostgreSQL shows at most this many bytes of a line or field in a COPY error's context.
constexpr size_t kMaxDisplayBytes = 100;
// Record batches are sealed at about this size (or the topic's max.message.bytes when smaller).
constexpr size_t kBatchTargetBytes = 256u << 10;
// Batch and record framing Eddy writes around a value, generously.
constexpr size_t kRecordOverhead = 32;
constexpr size_t kBatchOverhead = 128;

constexpr const char* kBadCopyFileFormat = "22P04";

std::string clip(std::string_view s) {
  if (s.size() <= kMaxDisplayBytes) return std::string(s);
  size_t n = kMaxDisplayBytes;
  // Never cut a UTF-8 sequence in half.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return std::string(s.substr(0, n)) + "...";
}

int octal(char c) {
  return c >= '0' && c <= '7' ? c - '0' : -1;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A text-format field with its backslash escapes resolved, as PostgreSQL reads them.
std::string unescape_text(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= raw.size()) break;
    c = raw[i];
    if (octal(c) >= 0) {
      int v = octal(c);
      for (int k = 0; k < 2 && i + 1 < raw.size() && octal(raw[i + 1]) >= 0; ++k)
        v = v * 8 + octal(raw[++i]);
      out += static_cast<char>(v & 0xff);
    } else if (c == 'x' && i + 1 < raw.size() && hex(raw[i + 1]) >= 0) {
      int v = hex(raw[++i]);
      if (i + 1 < raw.size() && hex(raw[i + 1]) >= 0) v = v * 16 + hex(raw[++i]);
      out += static_cast<char>(v);
    } else {
      switch (c) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        default:
          out += c;
      }
    }
  }
  return out;
}

// Splits a text-format line at unescaped delimiters; a raw field equal to the NULL string is
// NULL, any other is unescaped.
void split_text_line(std::string_view line, const CopyOptions& o,
                     std::vector<std::optional<std::string>>& fields) {
  fields.clear();
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] == '\\') {
      ++i;
      continue;
    }
    if (i < line.size() && line[i] != o.delimiter) continue;
    const std::string_view raw = line.substr(start, std::min(i, line.size()) - start);
    if (raw == o.null_string)
      fields.emplace_back(std::nullopt);
    else
      fields.emplace_back(unescape_text(raw));
    start = i + 1;
  }
}

void append_text_field(std::string& out, std::string_view s, char delimiter) {
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c == delimiter) out += '\\';
        out += c;
    }
  }
}

}  // namespace

CopyIn::CopyIn(const Plan& plan, Engine& engine)
    : engine_(engine), table_(*plan.table), columns_(plan.insert_columns), options_(plan.copy) {
  if (engine_.log() != nullptr) {
    auto config = engine_.log()->effective_config(table_.topic);
    if (config.ok())
      max_batch_bytes_ = static_cast<size_t>(std::max<int64_t>(config->max_message_bytes, 0));
  }
}

SqlError CopyIn::error_at_line(SqlError e, std::string_view text) const {
  e.context =
      "COPY " + table_.name + ", line " + std::to_string(line_no_) + ": \"" + clip(text) + "\"";
  e.location = -1;
  return e;
}

SqlStatus CopyIn::feed(std::string_view data, const std::atomic<bool>& cancel) {
  if (cancel.load())
    return sql_error(sqlstate::kQueryCanceled, "canceling statement due to user request");
  if (ended_) return Unit{};
  pending_.append(data);
  return scan(false);
}

SqlStatus CopyIn::scan(bool at_end) {
  size_t start = 0;
  size_t i = scanned_;
  const bool csv = options_.csv;
  while (!ended_) {
    // Find the end of the line that starts at `start` (CSV: outside quotes).
    size_t end = std::string::npos;
    for (; i < pending_.size(); ++i) {
      const char c = pending_[i];
      if (csv && in_quotes_) {
        if (options_.escape != options_.quote && c == options_.escape) {
          if (i + 1 >= pending_.size()) break;  // the escaped character is in the next piece
          if (pending_[i + 1] == options_.quote || pending_[i + 1] == options_.escape) ++i;
        } else if (c == options_.quote) {
          in_quotes_ = false;
        }
        continue;
      }
      if (csv && c == options_.quote) {
        in_quotes_ = true;
      } else if (!csv && c == '\\') {
        // A backslash takes the next character with it, even a line break (PostgreSQL's text
        // format reads "\<newline>" as a newline in the field).
        if (i + 1 >= pending_.size()) break;
        ++i;
      } else if (c == '\n') {
        end = i;
        break;
      }
    }
    if (end == std::string::npos) {
      if (!at_end || start >= pending_.size()) break;
      end = pending_.size();  // the last line needs no line break
    }
    std::string_view text(pending_.data() + start, end - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    ++line_no_;
    if (csv && in_quotes_ && at_end && end == pending_.size())
      return error_at_line(sql_error(kBadCopyFileFormat, "unterminated CSV quoted field"), text);
    SQL_CHECK(line(text));
    start = end + 1;
    i = start;
  }
  if (!ended_ && pending_.size() - std::min(start, pending_.size()) > kMaxCopyBytes) {
    SqlError e = sql_error(
        "54000", "COPY line is longer than " + std::to_string(kMaxCopyBytes >> 20) + " MiB");
    e.context = "COPY " + table_.name + ", line " + std::to_string(line_no_ + 1);
    return e;
  }
  if (ended_) {
    pending_.clear();
    scanned_ = 0;
  } else {
    pending_.erase(0, std::min(start, pending_.size()));
    scanned_ = i - std::min(start, i);
  }
  return Unit{};
}

SqlStatus CopyIn::line(std::string_view text) {
  if (text == "\\.") {
    ended_ = true;
    return Unit{};
  }
  std::string bad;
  if (!valid_text(text, &bad)) {
    SqlError e = sql_error("22021", "invalid byte sequence for encoding \"UTF8\": " + bad);
    e.context = "COPY " + table_.name + ", line " + std::to_string(line_no_);
    return e;
  }
  if (options_.csv) {
    std::string reason;
    if (!split_csv_line(text, CsvDialect{options_.delimiter, options_.quote, options_.escape},
                        options_.null_string, fields_, reason, &quoted_))
      return error_at_line(sql_error(kBadCopyFileFormat, reason), text);
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (!fields_[i] && i < options_.force_not_null.size() && options_.force_not_null[i])
        fields_[i] = options_.null_string;
      else if (fields_[i] && quoted_[i] && i < options_.force_null.size() &&
               options_.force_null[i] && *fields_[i] == options_.null_string)
        fields_[i] = std::nullopt;
    }
  } else {
    split_text_line(text, options_, fields_);
  }
  if (line_no_ == 1 && options_.header) {
    if (!options_.header_match) return Unit{};
    if (fields_.size() != columns_.size())
      return error_at_line(
          sql_error(kBadCopyFileFormat, "wrong number of fields in header line: got " +
                                            std::to_string(fields_.size()) + ", expected " +
                                            std::to_string(columns_.size())),
          text);
    for (size_t i = 0; i < fields_.size(); ++i) {
      const std::string& want = table_.columns[static_cast<size_t>(columns_[i])].name;
      if (!fields_[i])
        return error_at_line(sql_error(kBadCopyFileFormat,
                                       "column name mismatch in header line field " +
                                           std::to_string(i + 1) + ": got null value (\"" +
                                           options_.null_string + "\"), expected \"" + want + "\""),
                             text);
      if (*fields_[i] != want)
        return error_at_line(
            sql_error(kBadCopyFileFormat, "column name mismatch in header line field " +
                                              std::to_string(i + 1) + ": got \"" + *fields_[i] +
                                              "\", expected \"" + want + "\""),
            text);
    }
    return Unit{};
  }
  return fields_to_row(text, fields_);
}

SqlStatus CopyIn::fields_to_row(std::string_view text,
                                std::vector<std::optional<std::string>>& fields) {
  if (fields.size() > columns_.size())
    return error_at_line(sql_error(kBadCopyFileFormat, "extra data after last expected column"),
                         text);
  if (fields.size() < columns_.size())
    return error_at_line(
        sql_error(kBadCopyFileFormat,
                  "missing data for column \"" +
                      table_.columns[static_cast<size_t>(columns_[fields.size()])].name + "\""),
        text);
  Row row(table_.columns.size());
  for (size_t c = 0; c < table_.columns.size(); ++c)
    row[c] = Value::null_of(table_.columns[c].type);
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!fields[i]) continue;
    const ColumnDef& col = table_.columns[static_cast<size_t>(columns_[i])];
    auto field_error = [&](SqlError e) {
      e.context = "COPY " + table_.name + ", line " + std::to_string(line_no_) + ", column " +
                  col.name + ": \"" + clip(*fields[i]) + "\"";
      e.location = -1;
      return e;
    };
    std::string bad;
    // Escapes (\xff, \377) can spell bytes that are not UTF-8.
    if (!options_.csv && !valid_text(*fields[i], &bad))
      return field_error(sql_error("22021", "invalid byte sequence for encoding \"UTF8\": " + bad));
    auto value = from_text(col.type, *fields[i]);
    if (!value.ok()) return field_error(std::move(value.error()));
    row[static_cast<size_t>(columns_[i])] = std::move(*value);
  }
  ++rows_;
  return add_record(encode_record_value(table_, row), text);
}

SqlStatus CopyIn::add_record(std::optional<std::string> value, std::string_view text) {
  const size_t size = (value ? value->size() : 0) + kRecordOverhead;
  if (size + kBatchOverhead > max_batch_bytes_)
    return error_at_line(
        sql_error("54000",
                  "record of " + std::to_string(size) + " bytes exceeds the max.message.bytes (" +
                      std::to_string(max_batch_bytes_) + ") of topic \"" + table_.topic + "\""),
        text);
  if (batches_.size() + records_bytes_ + size > kMaxCopyBytes) {
    SqlError e = sql_error("54000", "COPY of more than " + std::to_string(kMaxCopyBytes >> 20) +
                                        " MiB of records in one statement is not supported");
    e.hint = "Split the data into several COPY statements; each one is all-or-nothing.";
    return error_at_line(std::move(e), text);
  }
  if (records_bytes_ + size + kBatchOverhead > std::min(kBatchTargetBytes, max_batch_bytes_))
    seal_batch();
  records_bytes_ += size;
  records_.push_back(std::move(value));
  return Unit{};
}

void CopyIn::seal_batch() {
  if (records_.empty()) return;
  std::vector<storage::OutgoingRecord> out;
  out.reserve(records_.size());
  for (const auto& r : records_)
    out.push_back({std::nullopt, r ? std::optional<std::string_view>(*r) : std::nullopt, 0});
  const auto batch = storage::encode_batch(out, storage::wall_clock_ms());
  batches_.insert(batches_.end(), batch.begin(), batch.end());
  records_.clear();
  records_bytes_ = 0;
}

SqlResult<StatementResult> CopyIn::finish() {
  if (!ended_) SQL_CHECK(scan(true));
  seal_batch();
  StatementResult result;
  result.tag = "COPY " + std::to_string(rows_);
  if (batches_.empty()) return result;
  storage::LogManager* log = engine_.log();
  if (log == nullptr) return sql_error(sqlstate::kFeatureNotSupported, "tables need storage");
  auto topic = log->topic(table_.topic);
  if (!topic)
    return sql_error(sqlstate::kUndefinedTable, "topic \"" + table_.topic + "\" of table \"" +
                                                    table_.name + "\" does not exist");
  // One append to one partition: the batches become visible together or not at all.
  static std::atomic<uint32_t> next_partition{0};
  const auto p = static_cast<int32_t>(next_partition++ %
                                      static_cast<uint32_t>(std::max(1, topic->partitions)));
  auto partition = log->partition(table_.topic, p);
  if (partition == nullptr) return sql_error(sqlstate::kIoError, "partition vanished");
  auto appended = partition->append_durable(batches_);
  if (!appended.ok())
    return sql_error(
        appended.error().code() == ErrorCode::kTooLarge ? "54000" : sqlstate::kIoError,
        "cannot write to topic \"" + table_.topic + "\": " + appended.error().message());
  engine_.stats().records_inserted += static_cast<uint64_t>(rows_);
  batches_.clear();
  batches_.shrink_to_fit();
  return result;
}

namespace {

// Formats the rows of COPY TO as lines and hands each to `out`.
class CopyLines final : public ResultSink {
 public:
  CopyLines(const CopyOptions& options, size_t columns, std::function<SqlStatus(std::string&&)> out)
      : o_(options),
        dialect_{options.delimiter, options.quote, options.escape},
        single_(columns == 1),
        out_(std::move(out)) {}

  SqlStatus header(const std::vector<std::pair<std::string, Type>>& columns) {
    std::string line;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) line += o_.delimiter;
      append_field(line, columns[i].first, false);
    }
    line += '\n';
    return out_(std::move(line));
  }

  SqlStatus begin_rows(const std::vector<std::pair<std::string, Type>>&) override { return Unit{}; }
  SqlStatus row(const Row& row) override {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += o_.delimiter;
      if (row[i].null)
        line += o_.null_string;
      else
        append_field(line, to_text(row[i]), i < o_.force_quote.size() && o_.force_quote[i]);
    }
    line += '\n';
    ++lines_;
    return out_(std::move(line));
  }
  SqlStatus begin_copy_out(int16_t) override { return Unit{}; }
  SqlStatus copy_line(std::string_view) override { return Unit{}; }
  SqlStatus statement_done(StatementResult&&) override { return Unit{}; }

  uint64_t lines() const { return lines_; }

 private:
  void append_field(std::string& out, std::string_view text, bool force_quote) {
    if (o_.csv)
      // A lone \. would read back as the end of the data.
      append_csv_field(out, text, dialect_, o_.null_string,
                       force_quote || (single_ && text == "\\."));
    else
      append_text_field(out, text, o_.delimiter);
  }

  const CopyOptions& o_;
  const CsvDialect dialect_;
  const bool single_;
  std::function<SqlStatus(std::string&&)> out_;
  uint64_t lines_ = 0;
};

}  // namespace

SqlResult<StatementResult> run_copy_to(const Plan& plan, Engine& engine,
                                       const std::atomic<bool>& cancel, QueryMemory& memory,
                                       ResultSink* sink) {
  const Plan& query = *plan.copy_query;
  StatementResult result;
  result.copy = StatementResult::Copy::kOut;
  result.copy_columns = static_cast<int16_t>(query.columns.size());
  result.streamed = sink != nullptr;
  CopyLines lines(plan.copy, query.columns.size(), [&](std::string&& line) -> SqlStatus {
    if (sink != nullptr) return sink->copy_line(line);
    SQL_CHECK(memory.charge(line.capacity() + sizeof(std::string), "the COPY result"));
    result.copy_lines.push_back(std::move(line));
    return Unit{};
  });
  if (sink != nullptr) SQL_CHECK(sink->begin_copy_out(result.copy_columns));
  if (plan.copy.header) {
    std::vector<std::pair<std::string, Type>> columns;
    for (const auto& c : query.columns)
      columns.emplace_back(c.name, c.type);
    SQL_CHECK(lines.header(columns));
  }
  SQL_ASSIGN(StatementResult rows, run_select(query, {}, engine, cancel, memory, &lines));
  result.notices = std::move(rows.notices);
  result.tag = "COPY " + std::to_string(lines.lines());
  return result;
}

}  // namespace eddy::sql

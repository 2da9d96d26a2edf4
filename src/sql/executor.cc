#include "sql/executor.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "sql/catalog.h"
#include "sql/formats.h"
#include "sql/key_codec.h"
#include "sql/query_memory.h"
#include "sql/system_tables.h"
#include "sql/views.h"
#include "sql/window.h"
#include "storage/log_manager.h"
#include "storage/records.h"

namespace eddy::sql {

SqlError io_error(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kNoSpace:
      return sql_error("53100", e.message());  // disk_full
    case ErrorCode::kIoError:
      return sql_error(sqlstate::kIoError, e.message());
    case ErrorCode::kTooLarge:
      return sql_error("54000", e.message());  // program_limit_exceeded
    default:
      return sql_error("58000", e.message());  // system_error
  }
}

namespace {

// What bounds a scan: the statement's cancel flag, `enough` (set once the query has all the
// rows it needs: the scan stops), and the memory budget of what the scan itself keeps.
struct ScanLimits {
  const std::atomic<bool>& cancel;
  const bool& enough;
  QueryMemory& memory;
  const std::vector<Value>& params;  // for a subquery's $n
};

// Reads every partition of the table's topic from its log start to the high watermark as it is
// when the scan starts, and hands each record that fits the table to `on_row`.
struct NoTombstones {
  void operator()(const storage::RecordView&) const {}
};

template <typename OnRow, typename OnTombstone = NoTombstones>
SqlStatus scan_table(const TableDef& table, Engine& engine, const ScanLimits& limits,
                     uint64_t& skipped, OnRow&& on_row, OnTombstone&& on_tombstone = {}) {
  storage::LogManager* log = engine.log();
  if (log == nullptr) return sql_error(sqlstate::kFeatureNotSupported, "tables need storage");
  auto topic = log->topic(table.topic);
  if (!topic)
    return sql_error(sqlstate::kUndefinedTable, "topic \"" + table.topic + "\" of table \"" +
                                                    table.name + "\" does not exist");
  for (int32_t p = 0; p < topic->partitions; ++p) {
    auto partition = log->partition(table.topic, p);
    if (partition == nullptr) continue;
    const int64_t end = partition->high_watermark();
    int64_t offset = partition->log_start_offset();
    while (offset < end) {
      if (limits.enough) return Unit{};
      if (limits.cancel.load())
        return sql_error(sqlstate::kQueryCanceled, "canceling statement due to user request");
      auto read = partition->read(offset, storage::ReadOptions{.max_bytes = 1 << 20});
      if (!read.ok()) {
        if (read.error().code() == ErrorCode::kOutOfRange) {
          // Retention removed the segment under us: continue from the new start.
          offset = std::max(offset + 1, partition->log_start_offset());
          continue;
        }
        return io_error(read.error());
      }
      const auto& data = read->data;
      if (data.empty()) break;
      SQL_ASSIGN(const int64_t next,
                 for_each_record(
                     data,
                     [&](int64_t record_offset, const storage::RecordView& record,
                         int64_t ts) -> SqlStatus {
                       if (record_offset < offset || record_offset >= end || limits.enough)
                         return Unit{};
                       if (!record.value && table.has_primary_key()) {
                         on_tombstone(record);
                         return Unit{};
                       }
                       Row row;
                       std::string reason;
                       if (!decode_table_record(table, record, record_offset, p, ts, row, reason)) {
                         ++skipped;
                         return Unit{};
                       }
                       return on_row(std::move(row));
                     }));
      if (next <= offset) break;
      offset = next;
    }
  }
  return Unit{};
}

// The key columns of a table with a primary key, as a table of their own (for JSON keys).
TableDef key_table_of(const TableDef& table) {
  TableDef t;
  for (size_t k : table.primary_key)
    t.columns.push_back(table.columns[k]);
  return t;
}

// Every row of an input as it is now: a view's rows (metadata NULL), the latest row per primary
// key of a changelog table, or every record of a stream table.
// The rows of a subquery in FROM (or a WITH query), as an input's rows: its columns, then the
// metadata columns (NULL: it has no topic). Its ORDER BY and LIMIT apply inside it.
template <typename OnRow>
SqlStatus scan_subquery(const TableDef& table, Engine& engine, const ScanLimits& limits,
                        OnRow&& on_row) {
  // The status with which the subquery stops once the query above has its rows.
  static constexpr const char* kEnough = "00000";
  struct Sink final : ResultSink {
    OnRow& on_row;
    const bool& enough;
    const size_t declared;  // the input's columns (a view's query may now answer more)
    Sink(OnRow& o, const bool& e, size_t d) : on_row(o), enough(e), declared(d) {}
    SqlStatus begin_rows(const std::vector<std::pair<std::string, Type>>&) override {
      return Unit{};
    }
    SqlStatus row(const Row& row) override {
      if (enough) return sql_error(kEnough, "the query has its rows");
      Row padded(row.begin(),
                 row.begin() + static_cast<std::ptrdiff_t>(std::min(row.size(), declared)));
      padded.resize(declared);
      for (size_t i = 0; i < std::size(kMetadataColumns); ++i)
        padded.push_back(Value::null_of(kMetadataTypes[i]));
      return on_row(std::move(padded));
    }
    SqlStatus begin_copy_out(int16_t) override { return Unit{}; }
    SqlStatus copy_line(std::string_view) override { return Unit{}; }
    SqlStatus statement_done(StatementResult&&) override { return Unit{}; }
  } sink(on_row, limits.enough, table.columns.size());
  auto done =
      run_select(*table.subquery, limits.params, engine, limits.cancel, limits.memory, &sink);
  if (!done.ok()) {
    if (done.error().sqlstate == kEnough) return Unit{};
    return std::move(done.error());
  }
  if (!done->streamed)
    for (const Row& row : done->rows)
      SQL_CHECK(sink.row(row));
  return Unit{};
}

template <typename OnRow>
SqlStatus scan_input(const TableDef& table, Engine& engine, const ScanLimits& limits,
                     uint64_t& skipped, OnRow&& on_row) {
  if (table.subquery) return scan_subquery(table, engine, limits, on_row);
  if (!table.system.empty()) {
    SQL_ASSIGN(std::vector<Row> rows, system_rows(table, engine));
    for (auto& row : rows) {
      if (limits.enough) break;
      for (size_t i = 0; i < std::size(kMetadataColumns); ++i)
        row.push_back(Value::null_of(kMetadataTypes[i]));
      SQL_CHECK(on_row(std::move(row)));
    }
    return Unit{};
  }
  if (table.is_view) {
    if (engine.view_host() == nullptr)
      return sql_error(sqlstate::kFeatureNotSupported, "materialized views are not running");
    SQL_ASSIGN(std::vector<Row> rows, engine.view_host()->read(table.name));
    for (auto& row : rows) {
      if (limits.enough) break;
      for (size_t i = 0; i < std::size(kMetadataColumns); ++i)
        row.push_back(Value::null_of(kMetadataTypes[i]));
      SQL_CHECK(on_row(std::move(row)));
    }
    return Unit{};
  }
  if (!table.has_primary_key()) return scan_table(table, engine, limits, skipped, on_row);
  // Latest per key, in the order keys first appeared; a key seen in several partitions takes
  // the last partition's row (producers keep one key in one partition).
  std::vector<std::optional<Row>> rows;
  std::unordered_map<std::string, size_t> index;
  // The latest rows are held until the scan ends: they count against the memory budget (a
  // replaced row's bytes are given back).
  const bool never_enough = false;
  const ScanLimits whole{limits.cancel, never_enough, limits.memory, limits.params};
  auto apply = [&](const Row& key, std::optional<Row> row) -> SqlStatus {
    std::string k;
    for (const auto& v : key)
      append_key(k, v);
    const size_t bytes = row ? approximate_bytes(*row) : 0;
    auto [it, inserted] = index.try_emplace(k, rows.size());
    if (inserted) {
      SQL_CHECK(limits.memory.charge(bytes + 2 * k.size() + kEntryOverheadBytes,
                                     "the latest row per primary key"));
      rows.push_back(std::move(row));
    } else {
      std::optional<Row>& slot = rows[it->second];
      SQL_CHECK(limits.memory.charge(bytes, "the latest row per primary key"));
      if (slot) limits.memory.release(approximate_bytes(*slot));
      slot = std::move(row);
    }
    return Unit{};
  };
  SqlStatus applied = Unit{};
  SQL_CHECK(scan_table(
      table, engine, whole, skipped,
      [&](Row&& row) -> SqlStatus {
        Row key;
        std::string reason;
        if (!primary_key_of_row(table, row, key, reason)) {
          ++skipped;
          return Unit{};
        }
        return apply(key, std::move(row));
      },
      [&](const storage::RecordView& record) {
        Row key;
        std::string reason;
        if (!applied.ok()) return;
        if (!primary_key_of_tombstone(table, record, key, reason)) {
          ++skipped;
          return;
        }
        applied = apply(key, std::nullopt);
      }));
  SQL_CHECK(applied);
  for (const auto& entry : index)
    limits.memory.release(2 * entry.first.size() + kEntryOverheadBytes);
  index.clear();
  // Each row's share goes back as it moves on (whatever keeps it charges it again).
  for (auto& row : rows) {
    if (limits.enough) break;
    if (!row) continue;
    limits.memory.release(approximate_bytes(*row));
    SQL_CHECK(on_row(std::move(*row)));
  }
  return Unit{};
}

SqlResult<int64_t> eval_count(const std::optional<Expr>& e, const std::vector<Value>& params,
                              int64_t absent) {
  if (!e) return absent;
  EvalContext ctx{.params = &params};
  SQL_ASSIGN(Value v, eval(*e, ctx));
  if (v.null) return absent;
  if (v.i < 0) return sql_error("2201W", "LIMIT/OFFSET must not be negative", e->location);
  return v.i;
}

}  // namespace

SqlResult<int64_t> for_each_record(
    std::span<const std::byte> data,
    const std::function<SqlStatus(int64_t, const storage::RecordView&, int64_t)>& fn,
    std::vector<std::vector<std::byte>>* keep) {
  size_t pos = 0;
  int64_t next = -1;
  while (pos + storage::kBatchHeaderSize <= data.size()) {
    const storage::BatchHeader header = storage::decode_batch_header(data.data() + pos);
    const size_t size = header.size_bytes();
    if (pos + size > data.size()) break;
    std::span<const std::byte> batch(data.data() + pos, size);
    pos += size;
    next = header.next_offset();
    if (header.is_control()) continue;
    std::vector<std::byte> plain;
    Result<std::vector<storage::RecordView>> records = Error(ErrorCode::kOk, "");
    if (header.compression() != 0) {
      auto section = storage::decompress(static_cast<storage::Codec>(header.compression()),
                                         batch.subspan(storage::kBatchHeaderSize), 256u << 20);
      if (!section.ok()) return io_error(section.error());
      plain = std::move(*section);
      records = storage::decode_record_section(plain, header.record_count);
      // The views point into the buffer, whose heap block a move does not relocate.
      if (keep != nullptr) keep->push_back(std::move(plain));
    } else {
      records = storage::decode_records(batch);
    }
    if (!records.ok()) return io_error(records.error());
    for (const auto& record : *records) {
      const int64_t ts = header.timestamp_type() == storage::TimestampType::kLogAppendTime
                             ? header.max_timestamp
                             : header.base_timestamp + record.timestamp_delta;
      SQL_CHECK(fn(header.base_offset + record.offset_delta, record, ts));
    }
  }
  return next;
}

namespace {

// The record's Kafka headers as jsonb, [{"key": "k", "value": "v"}, ...] (value null for a null
// header value; bytes that are not UTF-8 become U+FFFD). Read again from the raw record, which
// RecordView does not split: varint length | attributes | timestampDelta | offsetDelta | key |
// value | header count | headers. NULL when the record is malformed there.
Value record_headers(std::span<const std::byte> raw) {
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  const size_t n = raw.size();
  size_t pos = 0;
  auto varint = [&](int64_t& out) {
    uint64_t v = 0;
    for (int shift = 0; pos < n && shift < 64; shift += 7) {
      const uint8_t b = p[pos++];
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        out = static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
        return true;
      }
    }
    return false;
  };
  auto bytes = [&](int64_t len, std::string_view* out) {
    if (len < 0) return true;
    if (static_cast<uint64_t>(len) > n - pos) return false;
    if (out != nullptr)
      *out = std::string_view(reinterpret_cast<const char*>(p + pos), static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
    return true;
  };
  const Value bad = Value::null_of(Type::kJsonb);
  int64_t length = 0, ts = 0, od = 0, key_len = 0, value_len = 0, count = 0;
  if (!varint(length) || pos >= n) return bad;
  ++pos;  // attributes
  if (!varint(ts) || !varint(od) || !varint(key_len) || !bytes(key_len, nullptr) ||
      !varint(value_len) || !bytes(value_len, nullptr) || !varint(count) || count < 0 ||
      static_cast<uint64_t>(count) > n)
    return bad;
  if (count == 0) return Value::text("[]", Type::kJsonb);
  auto json_string = [](std::string_view s) {
    return nlohmann::json(std::string(s))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string out = "[";
  for (int64_t i = 0; i < count; ++i) {
    int64_t klen = 0, vlen = 0;
    std::string_view k, v;
    if (!varint(klen) || klen < 0 || !bytes(klen, &k) || !varint(vlen) || !bytes(vlen, &v))
      return bad;
    if (i > 0) out += ", ";
    out += "{\"key\": " + json_string(k) + ", \"value\": " + (vlen < 0 ? "null" : json_string(v)) +
           "}";
  }
  out += "]";
  // Through jsonb input for PostgreSQL's string escapes.
  auto j = jsonb_from_text(out);
  return j.ok() ? std::move(*j) : bad;
}

}  // namespace

bool decode_table_record(const TableDef& table, const storage::RecordView& record, int64_t offset,
                         int32_t partition, int64_t timestamp_ms, Row& row, std::string& reason,
                         const std::vector<bool>* used) {
  const size_t declared = table.columns.size();
  row.resize(declared + std::size(kMetadataColumns));
  if (!decode_record_value(table, record.value, row, reason, used)) return false;
  auto wanted = [&](size_t column) { return used == nullptr || (*used)[column]; };
  if (wanted(declared))
    row[declared] =
        record.key ? Value::text(std::string(*record.key)) : Value::null_of(Type::kText);
  else
    row[declared] = Value::null_of(Type::kText);
  row[declared + 1] = Value::integer(Type::kInt8, offset);
  row[declared + 2] = Value::integer(Type::kInt4, partition);
  row[declared + 3] = Value::timestamptz(timestamp_ms * 1000);
  row[declared + 4] =
      wanted(declared + 4) ? record_headers(record.raw) : Value::null_of(Type::kJsonb);
  return true;
}

bool primary_key_of_row(const TableDef& table, const Row& row, Row& key, std::string& reason) {
  key.clear();
  for (size_t k : table.primary_key) {
    if (row[k].null) {
      reason = "primary key column \"" + table.columns[k].name + "\" is null";
      return false;
    }
    key.push_back(row[k]);
  }
  return true;
}

bool primary_key_of_tombstone(const TableDef& table, const storage::RecordView& record, Row& key,
                              std::string& reason) {
  if (!record.key) {
    reason = "a tombstone without a key";
    return false;
  }
  const TableDef keys = key_table_of(table);
  Row values(keys.columns.size());
  std::string why;
  const std::string_view text = *record.key;
  if (decode_json_row(keys, text, values, why)) {
    Row all(table.columns.size());
    for (size_t i = 0; i < table.primary_key.size(); ++i)
      all[table.primary_key[i]] = values[i];
    return primary_key_of_row(table, all, key, reason);
  }
  if (keys.columns.size() == 1) {
    auto v = from_text(keys.columns[0].type, text);
    if (v.ok()) {
      key = {std::move(*v)};
      return true;
    }
  }
  reason = "the tombstone's key is neither a JSON object with the primary key nor its value";
  return false;
}

std::string encode_primary_key(const TableDef& table, const Row& row) {
  Row key;
  for (size_t k : table.primary_key)
    key.push_back(row[k]);
  return encode_json_row(key_table_of(table), key);
}

std::string encode_json_row(const TableDef& table, const Row& row) {
  // Written by hand rather than through a JSON DOM so numeric values keep every digit and
  // their scale (a DOM would round them through double).
  std::string out = "{";
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const Value& v = row[i];
    if (i > 0) out += ',';
    out += nlohmann::json(table.columns[i].name).dump() + ':';
    if (v.null) {
      out += "null";
      continue;
    }
    switch (v.type) {
      case Type::kBool:
        out += v.b ? "true" : "false";
        break;
      case Type::kInt2:
      case Type::kInt4:
      case Type::kInt8:
        out += to_text(v);
        break;
      case Type::kNumeric:  // NaN and the infinities are no JSON numbers: strings, as floats
        out += v.n.is_finite() ? to_text(v) : nlohmann::json(to_text(v)).dump();
        break;
      case Type::kFloat4:
      case Type::kFloat8:
        out += std::isfinite(v.f) ? to_text(v) : nlohmann::json(to_text(v)).dump();
        break;
      case Type::kTimestamptz:
      case Type::kTimestamp: {
        // ISO 8601 (what JSON consumers parse) for finite timestamps in the common era.
        std::string t = format_timestamp(v.i, false);
        if (t.size() >= 19 && t[10] == ' ' && t.find(' ', 11) == std::string::npos) {
          t[10] = 'T';
          if (v.type == Type::kTimestamptz) t += 'Z';
        }
        out += nlohmann::json(t).dump();
        break;
      }
      case Type::kDate:
      case Type::kInterval:
      case Type::kBytea:  // "\\x..." hex, which bytea input reads back
        out += nlohmann::json(to_text(v)).dump();
        break;
      case Type::kJsonb:
        out += v.s;  // canonical JSON text, embedded as JSON
        break;
      default:
        out += nlohmann::json(v.s).dump();
        break;
    }
  }
  return out + "}";
}

namespace {
// An integer token of up to 18 digits (so it cannot overflow), read from its text: simdjson
// would classify the number and then parse it a second time. False for anything else, which the
// general number path handles.
bool small_integer_token(simdjson::ondemand::value& value, int64_t& out) {
  std::string_view raw = value.raw_json_token();
  while (!raw.empty() &&
         (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t' || raw.back() == '\r'))
    raw.remove_suffix(1);
  const bool negative = !raw.empty() && raw.front() == '-';
  if (negative) raw.remove_prefix(1);
  if (raw.empty() || raw.size() > 18) return false;
  int64_t v = 0;
  for (const char c : raw) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  // JSON forbids leading zeros: "01" is not a number simdjson accepted as an integer.
  if (raw.size() > 1 && raw.front() == '0') return false;
  out = negative ? -v : v;
  return true;
}

// Decodes a JSON object's fields into slot(i) for declared column i. Slots start as nulls of
// their column's type; fields that are absent or JSON null leave them so.
// `readable` (when not empty) is the buffer `json` lies in: if SIMDJSON_PADDING bytes after the
// text are inside it (the next records), simdjson reads the text where it is.
template <typename Slot>
bool decode_json_fields(const TableDef& table, std::string_view json, std::string& reason,
                        const std::vector<bool>* used, Slot&& slot,
                        std::span<const std::byte> readable = {}) {
  thread_local simdjson::ondemand::parser parser;
  const auto at = reinterpret_cast<uintptr_t>(json.data());
  const auto begin = reinterpret_cast<uintptr_t>(readable.data());
  const bool in_place = !readable.empty() && at >= begin &&
                        at - begin + json.size() + simdjson::SIMDJSON_PADDING <= readable.size();
  // Otherwise a copy into a reused padded buffer rather than an allocation per record.
  thread_local std::string padded;
  const char* text = json.data();
  size_t capacity = json.size() + simdjson::SIMDJSON_PADDING;
  if (!in_place) {
    padded.assign(json);
    padded.resize(capacity);
    text = padded.data();
    capacity = padded.size();
  }
  auto doc = parser.iterate(text, json.size(), capacity);
  simdjson::ondemand::object obj;
  if (auto error = doc.get_object().get(obj); error != simdjson::SUCCESS) {
    // Say what is wrong: valid JSON of another kind, or bytes that are not JSON (bad UTF-8).
    reason = error == simdjson::INCORRECT_TYPE
                 ? "not a JSON object"
                 : std::string("malformed JSON: ") + simdjson::error_message(error);
    return false;
  }
  const size_t width = table.columns.size();
  // Producers usually write fields in one order: try the column after the last match first.
  size_t hint = 0;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      reason = "malformed JSON";
      return false;
    }
    size_t index = width;
    if (hint < width && table.columns[hint].name == key) {
      index = hint;
    } else {
      // The last column of that name wins, as before.
      for (size_t i = width; i-- > 0;)
        if (table.columns[i].name == key) {
          index = i;
          break;
        }
    }
    if (index == width) continue;  // unknown fields are ignored
    hint = index + 1;
    const Type type = table.columns[index].type;
    if (type == Type::kText && used != nullptr && !(*used)[index]) continue;
    simdjson::ondemand::value value;
    if (field.value().get(value) != simdjson::SUCCESS) {
      reason = "malformed JSON";
      return false;
    }
    simdjson::ondemand::json_type jt;
    if (value.type().get(jt) != simdjson::SUCCESS) {
      reason = "malformed JSON";
      return false;
    }
    if (jt == simdjson::ondemand::json_type::null) continue;
    SqlResult<Value> parsed = Value::null_of(type);
    if (type == Type::kJsonb) {
      // A jsonb column takes the field's JSON as it is (any JSON type).
      std::string_view raw;
      if (simdjson::to_json_string(value).get(raw) != simdjson::SUCCESS) {
        reason = "malformed JSON";
        return false;
      }
      parsed = jsonb_from_text(raw);
    } else if (jt == simdjson::ondemand::json_type::string) {
      std::string_view s;
      if (value.get_string().get(s) != simdjson::SUCCESS) {
        reason = "malformed JSON string";
        return false;
      }
      if (s.find('\0') != std::string_view::npos) {
        // PostgreSQL's text cannot hold U+0000 either (22P05).
        reason = "field \"" + std::string(key) + "\" holds \\u0000, which text cannot hold";
        return false;
      }
      parsed = from_text(type, s);
    } else if (jt == simdjson::ondemand::json_type::boolean) {
      bool b = false;
      if (value.get_bool().get(b) != simdjson::SUCCESS) return false;
      parsed = type == Type::kBool || type == Type::kText
                   ? cast_value(Value::boolean(b), type)
                   : SqlResult<Value>(sql_error(sqlstate::kDatatypeMismatch, "boolean"));
    } else if (int64_t i = 0; jt == simdjson::ondemand::json_type::number && is_integer(type) &&
                              small_integer_token(value, i)) {
      // The common case, an integer for an integer column, without going through a Value.
      const bool fits = type == Type::kInt8 ||
                        (type == Type::kInt4 && i >= INT32_MIN && i <= INT32_MAX) ||
                        (type == Type::kInt2 && i >= INT16_MIN && i <= INT16_MAX);
      if (!fits) {
        reason = "field \"" + std::string(key) + "\" does not fit type " + type_name(type);
        return false;
      }
      // Straight into the slot (a null of this type): no temporary Value.
      Value& out = slot(index);
      out.null = false;
      out.i = i;
      continue;
    } else if (jt == simdjson::ondemand::json_type::number) {
      // The number's own text keeps numeric and bigint values exact.
      std::string_view raw = value.raw_json_token();
      while (!raw.empty() &&
             (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t' || raw.back() == '\r'))
        raw.remove_suffix(1);
      if (is_integer(type) && raw.find_first_of(".eE") != std::string_view::npos) {
        // 1.0 and 1e3 are integers written otherwise; 1.5 is not, and rounding it would change
        // the data.
        parsed = from_text(Type::kNumeric, raw);
        if (parsed.ok() && !numeric_is_integral(parsed->n)) {
          reason = "field \"" + std::string(key) + "\": " + std::string(raw) +
                   " is not an integer (column type " + type_name(type) + ")";
          return false;
        }
        if (parsed.ok()) parsed = cast_value(*parsed, type);
      } else {
        parsed = type == Type::kBool ? SqlResult<Value>(sql_error(sqlstate::kDatatypeMismatch, ""))
                                     : from_text(type, raw);
      }
    } else {
      if (type != Type::kText) {
        reason = "field \"" + std::string(key) + "\" is not a scalar";
        return false;
      }
      std::string_view raw;
      if (simdjson::to_json_string(value).get(raw) != simdjson::SUCCESS) return false;
      parsed = Value::text(std::string(raw));
    }
    if (!parsed.ok()) {
      reason = "field \"" + std::string(key) + "\" does not fit type " + type_name(type);
      return false;
    }
    slot(index) = std::move(*parsed);
  }
  return true;
}

}  // namespace

bool decode_json_row(const TableDef& table, std::string_view json, Row& row, std::string& reason,
                     const std::vector<bool>* used) {
  for (size_t i = 0; i < table.columns.size(); ++i) {
    // A reused row usually still holds nulls of the right type where fields were skipped.
    if (!row[i].null || row[i].type != table.columns[i].type)
      row[i] = Value::null_of(table.columns[i].type);
  }
  return decode_json_fields(table, json, reason, used,
                            [&row](size_t i) -> Value& { return row[i]; });
}

bool append_table_record(const TableDef& table, const storage::RecordView& record, int64_t offset,
                         int32_t partition, int64_t timestamp_ms, const std::vector<bool>& used,
                         const std::vector<uint32_t>& read,
                         std::vector<std::vector<Value>>& columns, Row& scratch,
                         std::string& reason, std::span<const std::byte> readable) {
  const size_t declared = table.columns.size();
  const bool json = table.format != "bytes" && table.format != "text" && table.format != "csv";
  if (!json || !record.value) {
    if (!decode_table_record(table, record, offset, partition, timestamp_ms, scratch, reason,
                             &used))
      return false;
    for (const uint32_t c : read)
      columns[c].push_back(std::move(scratch[c]));
    return true;
  }
  auto type_of = [&](size_t c) {
    return c < declared ? table.columns[c].type : kMetadataTypes[c - declared];
  };
  for (const uint32_t c : read)
    columns[c].push_back(Value::null_of(type_of(c)));
  scratch.resize(declared + std::size(kMetadataColumns));
  // Unread columns that still have to be checked are decoded into the scratch row.
  auto slot = [&](size_t i) -> Value& {
    if (used[i]) return columns[i].back();
    Value& v = scratch[i];
    if (!v.null || v.type != table.columns[i].type) v = Value::null_of(table.columns[i].type);
    return v;
  };
  if (!decode_json_fields(table, *record.value, reason, &used, slot, readable)) {
    for (const uint32_t c : read)
      columns[c].pop_back();
    return false;
  }
  auto metadata = [&](size_t k) -> Value* {
    return used[declared + k] ? &columns[declared + k].back() : nullptr;
  };
  if (Value* v = metadata(0); v != nullptr && record.key)
    *v = Value::text(std::string(*record.key));
  if (Value* v = metadata(1)) *v = Value::integer(Type::kInt8, offset);
  if (Value* v = metadata(2)) *v = Value::integer(Type::kInt4, partition);
  if (Value* v = metadata(3)) *v = Value::timestamptz(timestamp_ms * 1000);
  if (Value* v = metadata(4)) *v = record_headers(record.raw);
  return true;
}

namespace {

const char* const kCanceled = "canceling statement due to user request";

// Hands the rows of a UNION arm to the query above it.
template <typename OnRow>
class ForwardRows final : public ResultSink {
 public:
  explicit ForwardRows(OnRow& on_row) : on_row_(on_row) {}
  SqlStatus begin_rows(const std::vector<std::pair<std::string, Type>>&) override { return Unit{}; }
  SqlStatus row(const Row& row) override { return on_row_(Row(row)); }
  SqlStatus begin_copy_out(int16_t) override { return Unit{}; }
  SqlStatus copy_line(std::string_view) override { return Unit{}; }
  SqlStatus statement_done(StatementResult&&) override { return Unit{}; }

 private:
  OnRow& on_row_;
};

// The status with which a UNION arm stops once the query above has all the rows it needs; it
// never leaves run_union.
constexpr const char* kArmStopped = "00000";

// INTERSECT [ALL] and EXCEPT [ALL]: the first arm's rows are counted by key (equal values
// count as one, as GROUP BY compares them), the second's are matched against those counts,
// then the rows that stay come out in the order the first arm made them.
template <typename OnRow>
SqlStatus run_intersect_except(const Plan& plan, const std::vector<Value>& params, Engine& engine,
                               const std::atomic<bool>& cancel, QueryMemory& memory,
                               const bool& enough, OnRow&& on_row) {
  struct Counted {
    Row first;  // the first of the equal rows, which is the one that comes out
    uint64_t left = 0;
    uint64_t right = 0;
  };
  std::unordered_map<std::string, Counted> counts;
  std::vector<const std::string*> order;  // keys in first-seen order
  const bool intersect = plan.set_op == Plan::SetOp::kIntersect;
  const char* what = intersect ? "the INTERSECT" : "the EXCEPT";
  auto key_of = [](const Row& row) {
    std::string key;
    for (const auto& v : row)
      append_key(key, v);
    return key;
  };
  auto count_left = [&](Row&& row) -> SqlStatus {
    std::string key = key_of(row);
    auto [it, fresh] = counts.try_emplace(std::move(key));
    if (fresh) {
      SQL_CHECK(
          memory.charge(it->first.size() + approximate_bytes(row) + kEntryOverheadBytes, what));
      it->second.first = std::move(row);
      order.push_back(&it->first);
    }
    ++it->second.left;
    return Unit{};
  };
  auto count_right = [&](Row&& row) -> SqlStatus {
    auto it = counts.find(key_of(row));
    if (it != counts.end()) ++it->second.right;
    return Unit{};
  };
  ForwardRows<decltype(count_left)> left_sink(count_left);
  ForwardRows<decltype(count_right)> right_sink(count_right);
  for (ResultSink* sink :
       {static_cast<ResultSink*>(&left_sink), static_cast<ResultSink*>(&right_sink)}) {
    const Plan& arm = *plan.union_arms[sink == &left_sink ? 0 : 1];
    auto done = run_select(arm, params, engine, cancel, memory, sink);
    if (!done.ok()) return std::move(done.error());
  }
  for (const std::string* key : order) {
    const Counted& c = counts.at(*key);
    // Without ALL a row is kept once, when the second arm has it (INTERSECT) or lacks it
    // (EXCEPT).
    uint64_t copies = 0;
    if (plan.union_distinct) {
      copies = (intersect ? c.right > 0 : c.right == 0) ? 1 : 0;
    } else {
      copies = intersect ? std::min(c.left, c.right) : (c.left > c.right ? c.left - c.right : 0);
    }
    for (uint64_t i = 0; i < copies; ++i) {
      if (enough) return Unit{};
      SQL_CHECK(on_row(Row(c.first)));
    }
  }
  return Unit{};
}

// The rows of every arm of a UNION in turn (UNION without ALL: the first of equal rows). Once
// `enough` is set the arm running stops and no further arm starts.
template <typename OnRow>
SqlStatus run_union(const Plan& plan, const std::vector<Value>& params, Engine& engine,
                    const std::atomic<bool>& cancel, QueryMemory& memory, const bool& enough,
                    OnRow&& on_row) {
  if (plan.set_op != Plan::SetOp::kUnion)
    return run_intersect_except(plan, params, engine, cancel, memory, enough, on_row);
  std::unordered_set<std::string> seen;
  auto forward = [&](Row&& row) -> SqlStatus {
    if (enough) return sql_error(kArmStopped, "the query has its rows");
    if (plan.union_distinct) {
      std::string key;
      for (const auto& v : row)
        append_key(key, v);
      const size_t bytes = key.size() + kEntryOverheadBytes;
      if (!seen.insert(std::move(key)).second) return Unit{};
      SQL_CHECK(memory.charge(bytes, "the UNION"));
    }
    return on_row(std::move(row));
  };
  ForwardRows<decltype(forward)> sink(forward);
  for (const auto& arm : plan.union_arms) {
    if (enough) break;
    auto done = run_select(*arm, params, engine, cancel, memory, &sink);
    if (!done.ok()) {
      if (done.error().sqlstate == kArmStopped) break;
      return std::move(done.error());
    }
  }
  return Unit{};
}

// Orders rows as ORDER BY says; equal rows keep the order they came in.
struct RowOrder {
  const std::vector<SortKey>& keys;
  bool operator()(const Row& a, const Row& b) const {
    for (const auto& key : keys) {
      const Value& x = a[key.column];
      const Value& y = b[key.column];
      if (x.null || y.null) {
        if (x.null == y.null) continue;
        return x.null == key.nulls_first;
      }
      int c = compare_values(x, y);
      if (c != 0) return key.descending ? c > 0 : c < 0;
    }
    return false;
  }
};

}  // namespace

namespace {

// The status with which a subquery stops once it has answered enough (EXISTS: a row).
constexpr const char* kSubqueryAnswered = "00000";

// Runs the subqueries in `e` and puts what they answered in their place: a constant for a
// scalar subquery and EXISTS, the set of values for IN.
SqlStatus run_subqueries(Expr& e, const std::vector<Value>& params, Engine& engine,
                         const std::atomic<bool>& cancel, QueryMemory& memory) {
  for (auto& a : e.args)
    SQL_CHECK(run_subqueries(a, params, engine, cancel, memory));
  // A correlated subquery runs per row (CorrelatedRunner), not here.
  if (e.kind != ExprKind::kSubquery || e.correlated) return Unit{};
  const Plan& query = *e.subquery;
  if (e.index == kInSubquery || e.index == kAnySubquery || e.index == kAllSubquery) {
    // IN keeps the distinct value keys (and whether a NULL came); ANY/ALL every value, which
    // its operator compares in turn.
    const bool in = e.index == kInSubquery;
    auto set = std::make_shared<InSet>();
    auto add = [&](Row&& row) -> SqlStatus {
      if (!in) {
        SQL_CHECK(
            memory.charge(approximate_bytes(row) + kEntryOverheadBytes, "the ANY/ALL subquery"));
        set->values.push_back(std::move(row[0]));
        return Unit{};
      }
      if (row[0].null) {
        set->has_null = true;
        return Unit{};
      }
      std::string key;
      append_key(key, row[0]);
      const size_t bytes = key.size() + kEntryOverheadBytes;
      if (set->keys.insert(std::move(key)).second)
        SQL_CHECK(memory.charge(bytes, "the IN subquery"));
      return Unit{};
    };
    ForwardRows<decltype(add)> sink(add);
    auto done = run_select(query, params, engine, cancel, memory, &sink);
    if (!done.ok()) return std::move(done.error());
    e.kind = in ? ExprKind::kInSet : ExprKind::kQuantified;
    if (!in) e.negated = e.index == kAllSubquery;
    e.in_set = std::move(set);
    e.subquery.reset();
    return Unit{};
  }
  std::vector<Row> rows;
  auto collect = [&](Row&& row) -> SqlStatus {
    rows.push_back(std::move(row));
    // EXISTS needs one row; a scalar subquery, a second one to be refused.
    if (rows.size() >= (e.index == kExistsSubquery ? 1u : 2u))
      return sql_error(kSubqueryAnswered, "the subquery has answered");
    return Unit{};
  };
  ForwardRows<decltype(collect)> sink(collect);
  auto done = run_select(query, params, engine, cancel, memory, &sink);
  if (!done.ok() && done.error().sqlstate != kSubqueryAnswered) return std::move(done.error());
  Value v;
  if (e.index == kExistsSubquery) {
    v = Value::boolean(!rows.empty());
  } else if (rows.size() > 1) {
    return sql_error(sqlstate::kCardinalityViolation,
                     "more than one row returned by a subquery used as an expression");
  } else {
    v = rows.empty() ? Value::null_of(e.type) : std::move(rows[0][0]);
  }
  const Type type = e.type;
  const int location = e.location;
  e = Expr{};
  e.kind = ExprKind::kConst;
  e.type = type;
  e.location = location;
  e.value = std::move(v);
  return Unit{};
}

// Calls fn on every expression of `plan` itself (not its inputs' or subqueries'); `PlanT` is
// Plan or const Plan.
template <typename PlanT, typename Fn>
void for_each_expr(PlanT& plan, Fn&& fn) {
  for (auto* o : {&plan.where, &plan.having, &plan.limit, &plan.offset})
    if (*o) fn(**o);
  for (auto* list : {&plan.outputs, &plan.group_keys})
    for (auto& e : *list)
      fn(e);
  for (auto& a : plan.aggs)
    fn(a.arg);
  for (auto& w : plan.windows) {
    for (auto* list : {&w.args, &w.partition, &w.order})
      for (auto& e : *list)
        fn(e);
    fn(w.agg.arg);
    for (auto* o : {&w.start_offset, &w.end_offset})
      if (*o) fn(**o);
  }
  for (auto& j : plan.joins) {
    if (j.condition) fn(*j.condition);
    for (auto* list : {&j.left_keys, &j.right_keys})
      for (auto& e : *list)
        fn(e);
  }
}

// The outer row's columns a correlated subquery reads (kOuterRef indexes), in its arms too.
void outer_columns(const Plan& plan, std::vector<int>& out) {
  auto walk = [&](const Expr& e, auto& self) -> void {
    if (e.kind == ExprKind::kOuterRef && std::find(out.begin(), out.end(), e.index) == out.end())
      out.push_back(e.index);
    for (const auto& a : e.args)
      self(a, self);
  };
  for_each_expr(plan, [&](const Expr& e) { walk(e, walk); });
  for (const auto& arm : plan.union_arms)
    outer_columns(*arm, out);
}

// `plan` with its outer references replaced by the outer row's values.
Plan with_outer_row(const Plan& plan, const Row& outer) {
  Plan copy = plan;
  auto walk = [&](Expr& e, auto& self) -> void {
    if (e.kind == ExprKind::kOuterRef) {
      const Type type = e.type;
      const int location = e.location;
      Value v = outer[static_cast<size_t>(e.index)];
      e = Expr{};
      e.kind = ExprKind::kConst;
      e.type = type;
      e.location = location;
      e.value = std::move(v);
      return;
    }
    for (auto& a : e.args)
      self(a, self);
  };
  for_each_expr(copy, [&](Expr& e) { walk(e, walk); });
  for (auto& arm : copy.union_arms)
    arm = std::make_shared<const Plan>(with_outer_row(*arm, outer));
  return copy;
}

// Runs correlated subqueries for the rows of one run_select: each with the outer row's values
// in place of its outer references, answers remembered per distinct set of those values.
class CorrelatedRunner final : public CorrelatedSubqueries {
 public:
  CorrelatedRunner(const std::vector<Value>& params, Engine& engine,
                   const std::atomic<bool>& cancel, QueryMemory& memory)
      : params_(params), engine_(engine), cancel_(cancel), memory_(memory) {}

  SqlResult<Value> eval(const Expr& subquery, const EvalContext& ctx) const override {
    if (ctx.row == nullptr)
      return sql_error(sqlstate::kFeatureNotSupported,
                       "a correlated subquery in this position is not supported yet",
                       subquery.location);
    Entry& entry = cache_[&subquery];
    if (!entry.columns_known) {
      outer_columns(*subquery.subquery, entry.columns);
      entry.columns_known = true;
    }
    // The answers are remembered by the outer values exactly as they are (1.0 and 1.00 are
    // two keys: the subquery may show them), not by equality.
    std::string key;
    for (int c : entry.columns) {
      const Value& v = (*ctx.row)[static_cast<size_t>(c)];
      key += std::to_string(static_cast<int>(v.type)) + (v.null ? "n" : "v");
      const std::string text = v.null ? std::string() : to_text(v);
      key += std::to_string(text.size()) + ":" + text;
    }
    // The left side of IN/ANY/ALL is the outer query's: evaluated here, for this row, and
    // read by the answer through column i of `needles`.
    Row needles;
    for (const auto& a : subquery.args) {
      SQL_ASSIGN(Value v, sql::eval(a, ctx));
      needles.push_back(std::move(v));
    }
    const EvalContext needle_ctx{.row = &needles, .params = ctx.params};
    auto it = entry.answers.find(key);
    if (it != entry.answers.end()) return sql::eval(it->second, needle_ctx);
    Expr ready = subquery;
    ready.correlated = false;
    for (size_t i = 0; i < ready.args.size(); ++i) {
      Expr placeholder;
      placeholder.kind = ExprKind::kColumn;
      placeholder.index = static_cast<int>(i);
      placeholder.type = ready.args[i].type;
      ready.args[i] = std::move(placeholder);
    }
    ready.subquery = std::make_shared<const Plan>(with_outer_row(*subquery.subquery, *ctx.row));
    // What running it holds (its hash tables, groups) goes back once it has answered; what
    // the answer keeps is charged while it is remembered.
    const size_t before = memory_.used();
    SqlStatus ran = run_subqueries(ready, params_, engine_, cancel_, memory_);
    if (memory_.used() > before) memory_.release(memory_.used() - before);
    SQL_CHECK(ran);
    auto value = sql::eval(ready, needle_ctx);
    if (entry.answers.size() < kMaxAnswers) {
      size_t bytes = key.size() + kEntryOverheadBytes + approximate_bytes(Row{ready.value});
      if (ready.in_set) {
        for (const auto& k : ready.in_set->keys)
          bytes += k.size() + kEntryOverheadBytes;
        bytes += approximate_bytes(ready.in_set->values);
      }
      SQL_CHECK(memory_.charge(bytes, "the answers of a correlated subquery"));
      entry.answers.emplace(std::move(key), std::move(ready));
    }
    return value;
  }

 private:
  static constexpr size_t kMaxAnswers = 4096;  // per subquery
  struct Entry {
    bool columns_known = false;
    std::vector<int> columns;
    std::unordered_map<std::string, Expr> answers;  // the subquery run, by outer values
  };
  const std::vector<Value>& params_;
  Engine& engine_;
  const std::atomic<bool>& cancel_;
  QueryMemory& memory_;
  mutable std::unordered_map<const Expr*, Entry> cache_;
};

// The plan with its subqueries run (they may not refer to its rows, so once is enough).
SqlResult<Plan> with_subqueries_run(const Plan& plan, const std::vector<Value>& params,
                                    Engine& engine, const std::atomic<bool>& cancel,
                                    QueryMemory& memory) {
  Plan copy = plan;
  // The same expressions for_each_expr walks to find outer references (one list of them).
  SqlStatus status = Unit{};
  for_each_expr(copy, [&](Expr& e) {
    if (status.ok()) status = run_subqueries(e, params, engine, cancel, memory);
  });
  SQL_CHECK(status);
  return copy;
}

}  // namespace

SqlResult<StatementResult> run_select(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine, const std::atomic<bool>& cancel,
                                      QueryMemory& memory, ResultSink* sink) {
  if (plan_has_subqueries(plan, /*uncorrelated_only=*/true)) {
    SQL_ASSIGN(const Plan ready, with_subqueries_run(plan, params, engine, cancel, memory));
    return run_select(ready, params, engine, cancel, memory, sink);
  }
  const CorrelatedRunner correlated(params, engine, cancel, memory);
  SQL_ASSIGN(const int64_t limit, eval_count(plan.limit, params, -1));
  SQL_ASSIGN(const int64_t offset, eval_count(plan.offset, params, 0));
  StatementResult result;
  result.returns_rows = true;
  result.streamed = sink != nullptr;
  for (const auto& c : plan.columns)
    result.columns.emplace_back(c.name, c.type);
  if (sink != nullptr) SQL_CHECK(sink->begin_rows(result.columns));
  // LIMIT 0 reads nothing: no row is evaluated, so none can raise an error (as in PostgreSQL).
  if (limit == 0) {
    result.tag = "SELECT 0";
    return result;
  }

  // Rows in result order go to `emit`, which applies OFFSET and LIMIT and sends them to the
  // sink (or keeps them in the result). Once LIMIT rows are out, `enough` stops the inputs.
  const size_t visible = plan.columns.size();
  int64_t passed = 0;
  int64_t emitted = 0;
  bool enough = false;
  auto emit = [&](Row&& out) -> SqlStatus {
    if (enough) return Unit{};
    if (passed < offset) {
      ++passed;
      return Unit{};
    }
    out.resize(visible);
    ++emitted;
    if (limit >= 0 && emitted >= limit) enough = true;
    if (sink != nullptr) return sink->row(out);
    SQL_CHECK(memory.charge(approximate_bytes(out), "the result"));
    result.rows.push_back(std::move(out));
    return Unit{};
  };

  // With ORDER BY, rows wait in `sorting` until the inputs end. With a LIMIT only the first
  // OFFSET + LIMIT rows in order can be sent, so the buffer is cut back to them whenever it
  // holds twice that many (stable: rows kept are older than rows added, ties stay in order).
  const RowOrder order{plan.order};
  std::vector<Row> sorting;
  // (Saturating: ORMs send LIMIT 9223372036854775807.)
  const size_t top_n = limit < 0                    ? 0
                       : offset > INT64_MAX - limit ? SIZE_MAX
                                                    : static_cast<size_t>(limit + offset);
  auto keep_top_n = [&] {
    std::stable_sort(sorting.begin(), sorting.end(), order);
    if (sorting.size() <= top_n) return;
    for (size_t i = top_n; i < sorting.size(); ++i) {
      const size_t bytes = approximate_bytes(sorting[i]);
      memory.release(bytes);
    }
    sorting.resize(top_n);
  };

  // DISTINCT and DISTINCT ON: the keys of the rows already out.
  std::unordered_set<std::string> distinct_rows;
  auto first_of_kind = [&](std::string key) -> SqlResult<bool> {
    const size_t bytes = key.size() + kEntryOverheadBytes;
    if (!distinct_rows.insert(std::move(key)).second) return false;
    SQL_CHECK(memory.charge(bytes, "the DISTINCT"));
    return true;
  };
  auto distinct_on_key = [&](const Row& out) {
    Row key;
    for (size_t c : plan.distinct_on)
      key.push_back(out[c]);
    return encode_key(key);
  };
  auto project_now = [&](const EvalContext& ctx) -> SqlStatus {
    Row out;
    out.reserve(plan.outputs.size());
    for (const auto& e : plan.outputs) {
      SQL_ASSIGN(Value v, eval(e, ctx));
      out.push_back(std::move(v));
    }
    if (plan.distinct) {
      SQL_ASSIGN(bool first, first_of_kind(encode_key(out)));
      if (!first) return Unit{};
    }
    if (plan.order.empty()) {
      if (!plan.distinct_on.empty()) {
        SQL_ASSIGN(bool first, first_of_kind(distinct_on_key(out)));
        if (!first) return Unit{};
      }
      return emit(std::move(out));
    }
    const size_t bytes = approximate_bytes(out);
    SQL_CHECK(memory.charge(bytes, "the sort"));
    sorting.push_back(std::move(out));
    // (Not with DISTINCT ON: rows cut now might have been the first of their kind.)
    if (limit >= 0 && plan.distinct_on.empty() && sorting.size() >= 1024 &&
        sorting.size() / 2 >= top_n)
      keep_top_n();
    return Unit{};
  };
  // With window functions every row (or group) waits until all are in: the windows are
  // computed over them, then they are projected.
  std::vector<WindowInput> window_inputs;
  size_t window_input_bytes = 0;
  auto project = [&](const EvalContext& ctx) -> SqlStatus {
    if (plan.windows.empty()) return project_now(ctx);
    WindowInput in;
    if (ctx.row != nullptr) in.row = *ctx.row;
    if (ctx.groups != nullptr) in.keys = *ctx.groups;
    if (ctx.aggs != nullptr) in.aggs = *ctx.aggs;
    const size_t bytes = approximate_bytes(in.row) + approximate_bytes(in.keys) +
                         approximate_bytes(in.aggs) + kEntryOverheadBytes;
    SQL_CHECK(memory.charge(bytes, "the window functions"));
    window_input_bytes += bytes;
    window_inputs.push_back(std::move(in));
    return Unit{};
  };

  struct Group {
    Row keys;
    std::vector<Accumulator> accs;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> group_index;
  auto consume = [&](Row&& row) -> SqlStatus {
    EvalContext ctx{.row = &row, .params = &params, .correlated = &correlated};
    if (plan.where) {
      SQL_ASSIGN(bool keep, eval_predicate(*plan.where, ctx));
      if (!keep) return Unit{};
    }
    if (!plan.grouped) return project(ctx);
    Row keys;
    for (const auto& k : plan.group_keys) {
      SQL_ASSIGN(Value v, eval(k, ctx));
      keys.push_back(std::move(v));
    }
    std::string encoded = encode_key(keys);
    auto it = group_index.find(encoded);
    if (it == group_index.end()) {
      SQL_CHECK(memory.charge(approximate_bytes(keys) + 2 * encoded.size() +
                                  plan.aggs.size() * sizeof(Accumulator) + kEntryOverheadBytes,
                              "the GROUP BY or DISTINCT"));
      it = group_index.emplace(std::move(encoded), groups.size()).first;
      Group g{std::move(keys), {}};
      for (const auto& spec : plan.aggs)
        g.accs.emplace_back(spec);
      groups.push_back(std::move(g));
    }
    Group& g = groups[it->second];
    for (size_t i = 0; i < plan.aggs.size(); ++i) {
      const AggSpec& spec = plan.aggs[i];
      if (spec.kind == AggKind::kCountStar) {
        SQL_CHECK(g.accs[i].add(Value{}));
      } else {
        SQL_ASSIGN(Value v, eval(spec.arg, ctx));
        SQL_CHECK(g.accs[i].add(v));
      }
    }
    return Unit{};
  };

  // Records that did not decode, per input table (for the NOTICE).
  // (std::map: the counters stay where they are while further inputs are added.)
  std::map<std::string, uint64_t> skipped;
  std::map<std::string, const TableDef*> skipped_defs;  // (the plan outlives the counters)
  auto count_skipped = [&](const TableDef& t) -> uint64_t& {
    skipped_defs[t.name] = &t;
    return skipped[t.name];
  };
  const ScanLimits scan{cancel, enough, memory, params};
  if (!plan.union_arms.empty()) {
    SQL_CHECK(run_union(plan, params, engine, cancel, memory, enough, consume));
  } else if (plan.table && !plan.joins.empty()) {
    // Hash joins: every joined input is read into a hash table on its keys, then the first
    // input streams through them. A RIGHT or FULL join remembers which of its rows matched;
    // once the stream has ended, the others go on with NULLs for every input before them.
    const size_t width = plan.row_width();
    struct Built {
      std::vector<Row> rows;
      std::unordered_map<std::string, std::vector<size_t>> buckets;  // key -> indexes into rows
      std::vector<size_t> all;    // no equality to hash on: every row is a candidate
      std::vector<char> matched;  // RIGHT/FULL: per row
    };
    std::vector<Built> built(plan.joins.size());
    const bool never_enough = false;
    const ScanLimits whole{cancel, never_enough, memory, params};
    for (size_t k = 0; k < plan.joins.size(); ++k) {
      const JoinSpec& spec = plan.joins[k];
      Built& side = built[k];
      Row scratch(width);
      EvalContext ctx{.row = &scratch, .params = &params};
      SQL_CHECK(scan_input(spec.table, engine, whole, count_skipped(spec.table),
                           [&](Row&& row) -> SqlStatus {
                             const size_t bytes = approximate_bytes(row) + kEntryOverheadBytes;
                             std::string key;
                             bool joinable = true;
                             if (!spec.right_keys.empty()) {
                               std::copy(row.begin(), row.end(), scratch.begin() + spec.base);
                               for (const auto& e : spec.right_keys) {
                                 SQL_ASSIGN(Value v, eval(e, ctx));
                                 if (v.null) {  // equal to nothing
                                   joinable = false;
                                   break;
                                 }
                                 append_key(key, v);
                               }
                             }
                             // A row that can match nothing matters only as an unmatched one.
                             if (!joinable && !spec.right_outer) return Unit{};
                             SQL_CHECK(memory.charge(bytes + key.size(), "the hash join"));
                             const size_t index = side.rows.size();
                             side.rows.push_back(std::move(row));
                             if (!joinable) return Unit{};
                             if (spec.right_keys.empty()) {
                               side.all.push_back(index);
                             } else {
                               side.buckets[key].push_back(index);
                             }
                             return Unit{};
                           }));
      if (spec.right_outer) side.matched.assign(side.rows.size(), 0);
    }
    // NULLs of each column's type, for the inputs a row has no match in.
    Row nulls(width);
    {
      size_t c = 0;
      auto fill = [&](const TableDef& t) {
        const size_t declared = t.columns.size();
        for (size_t i = 0; i < input_width(t); ++i)
          nulls[c++] =
              Value::null_of(i < declared ? t.columns[i].type : kMetadataTypes[i - declared]);
      };
      fill(*plan.table);
      for (const auto& j : plan.joins)
        fill(j.table);
    }
    // A join multiplies rows: a single read batch of each input can mean minutes of work, so
    // the cancel flag is checked here too, not only between reads.
    uint32_t until_cancel_check = 0;
    std::function<SqlStatus(Row&, size_t)> probe = [&](Row& row, size_t k) -> SqlStatus {
      if (enough) return Unit{};
      if (++until_cancel_check == 4096) {
        until_cancel_check = 0;
        if (cancel.load()) return sql_error(sqlstate::kQueryCanceled, kCanceled);
      }
      if (k == plan.joins.size()) return consume(Row(row));
      const JoinSpec& spec = plan.joins[k];
      Built& side = built[k];
      EvalContext ctx{.row = &row, .params = &params, .correlated = &correlated};
      const std::vector<size_t>* candidates = &side.all;
      if (!spec.left_keys.empty()) {
        std::string key;
        for (const auto& e : spec.left_keys) {
          SQL_ASSIGN(Value v, eval(e, ctx));
          if (v.null) {
            candidates = nullptr;
            break;
          }
          append_key(key, v);
        }
        if (candidates != nullptr) {
          auto it = side.buckets.find(key);
          candidates = it == side.buckets.end() ? nullptr : &it->second;
        }
      }
      bool matched = false;
      if (candidates != nullptr) {
        for (size_t index : *candidates) {
          const Row& right = side.rows[index];
          std::copy(right.begin(), right.end(), row.begin() + spec.base);
          if (spec.condition) {
            SQL_ASSIGN(bool ok, eval_predicate(*spec.condition, ctx));
            if (!ok) continue;
          }
          matched = true;
          if (spec.right_outer) side.matched[index] = 1;
          SQL_CHECK(probe(row, k + 1));
        }
      }
      if (!matched && spec.left_outer) {
        std::copy(nulls.begin() + spec.base, nulls.begin() + spec.base + input_width(spec.table),
                  row.begin() + spec.base);
        SQL_CHECK(probe(row, k + 1));
      }
      return Unit{};
    };
    SQL_CHECK(scan_input(*plan.table, engine, scan, count_skipped(*plan.table),
                         [&](Row&& row) -> SqlStatus {
                           row.resize(width);
                           return probe(row, 0);
                         }));
    // The RIGHT/FULL joins' rows that matched nothing, in join order (a later RIGHT join sees
    // them as left rows).
    for (size_t k = 0; k < plan.joins.size() && !enough; ++k) {
      const JoinSpec& spec = plan.joins[k];
      if (!spec.right_outer) continue;
      for (size_t index = 0; index < built[k].rows.size() && !enough; ++index) {
        if (built[k].matched[index] != 0) continue;
        Row row = nulls;
        const Row& right = built[k].rows[index];
        std::copy(right.begin(), right.end(), row.begin() + spec.base);
        SQL_CHECK(probe(row, k + 1));
      }
    }
  } else if (plan.table) {
    SQL_CHECK(scan_input(*plan.table, engine, scan, count_skipped(*plan.table), consume));
  } else {
    SQL_CHECK(consume(Row{}));
  }
  if (plan.grouped) {
    if (groups.empty() && plan.group_keys.empty()) {
      Group g;
      for (const auto& spec : plan.aggs)
        g.accs.emplace_back(spec);
      groups.push_back(std::move(g));
    }
    // The index is done with: its keys' share of the budget goes back.
    for (const auto& entry : group_index)
      memory.release(entry.first.size());
    group_index.clear();
    for (const auto& g : groups) {
      if (enough) break;
      Row aggs;
      for (const auto& acc : g.accs) {
        SQL_ASSIGN(Value v, acc.finish());
        aggs.push_back(std::move(v));
      }
      EvalContext ctx{.params = &params, .groups = &g.keys, .aggs = &aggs};
      if (plan.having) {
        SQL_ASSIGN(bool keep, eval_predicate(*plan.having, ctx));
        if (!keep) continue;
      }
      SQL_CHECK(project(ctx));
    }
  }
  if (!plan.windows.empty()) {
    std::vector<Row> values;
    std::vector<size_t> window_order;
    size_t window_bytes = 0;
    SqlStatus computed = compute_windows(plan, window_inputs, params, cancel, memory, values,
                                         window_order, window_bytes);
    window_input_bytes += window_bytes;
    SQL_CHECK(computed);
    for (size_t i : window_order) {
      if (enough) break;
      EvalContext ctx = window_inputs[i].context(params);
      ctx.windows = &values[i];
      SQL_CHECK(project_now(ctx));
    }
    memory.release(window_input_bytes);
  }
  if (!plan.order.empty()) {
    if (limit >= 0 && plan.distinct_on.empty() && sorting.size() > top_n) {
      keep_top_n();
    } else {
      std::stable_sort(sorting.begin(), sorting.end(), order);
    }
    for (auto& row : sorting) {
      if (enough) break;
      if (cancel.load()) return sql_error(sqlstate::kQueryCanceled, kCanceled);
      memory.release(approximate_bytes(row));  // leaves the sort (emit charges what it keeps)
      if (!plan.distinct_on.empty()) {
        SQL_ASSIGN(bool first, first_of_kind(distinct_on_key(row)));
        if (!first) continue;
      }
      SQL_CHECK(emit(std::move(row)));
    }
  }
  result.tag = "SELECT " + std::to_string(emitted);
  for (const auto& [name, n] : skipped) {
    if (n == 0) continue;
    engine.stats().records_skipped += n;
    const TableDef& t = *skipped_defs.at(name);
    result.notices.push_back(std::to_string(n) + " record(s) of table \"" + name +
                             "\" were skipped: " + skipped_records_reason(t) +
                             (t.has_primary_key()
                                  ? " (or had a null primary key, or were tombstones whose key "
                                    "names no row)"
                                  : ""));
  }
  return result;
}

SqlResult<StatementResult> run_insert(const Plan& plan, const std::vector<Value>& params,
                                      Engine& engine, const std::atomic<bool>& cancel,
                                      QueryMemory& memory) {
  const TableDef& table = *plan.table;
  storage::LogManager* log = engine.log();
  if (log == nullptr) return sql_error(sqlstate::kFeatureNotSupported, "tables need storage");
  auto topic = log->topic(table.topic);
  if (!topic)
    return sql_error(sqlstate::kUndefinedTable, "topic \"" + table.topic + "\" of table \"" +
                                                    table.name + "\" does not exist");
  std::vector<Row> selected;
  std::vector<std::string> notices;  // the query's (records it skipped)
  if (plan.insert_query) {
    SQL_ASSIGN(StatementResult source,
               run_select(*plan.insert_query, params, engine, cancel, memory));
    selected = std::move(source.rows);
    notices = std::move(source.notices);
  }
  // The rows to write: VALUES' rows, or one per selected row.
  const size_t count = plan.insert_query ? selected.size() : plan.insert_rows.size();
  std::vector<TopicRecord> keyed;
  std::vector<std::optional<std::string>> payloads;
  for (size_t r = 0; r < count; ++r) {
    if ((r & 1023) == 1023 && cancel.load()) return sql_error(sqlstate::kQueryCanceled, kCanceled);
    const auto& exprs = plan.insert_query ? plan.insert_rows[0] : plan.insert_rows[r];
    EvalContext ctx{.row = plan.insert_query ? &selected[r] : nullptr, .params = &params};
    Row row(table.columns.size());
    for (size_t i = 0; i < table.columns.size(); ++i)
      row[i] = Value::null_of(table.columns[i].type);
    for (size_t i = 0; i < exprs.size(); ++i) {
      SQL_ASSIGN(Value v, eval(exprs[i], ctx));
      row[static_cast<size_t>(plan.insert_columns[i])] = std::move(v);
    }
    if (plan.insert_query) {
      memory.release(approximate_bytes(selected[r]));
      selected[r] = Row();  // done with it
    }
    if (table.has_primary_key()) {
      for (size_t k : table.primary_key)
        if (row[k].null)
          return sql_error("23502", "null value in column \"" + table.columns[k].name +
                                        "\" of relation \"" + table.name +
                                        "\" violates not-null constraint");
      keyed.push_back({encode_primary_key(table, row), encode_record_value(table, row)});
      SQL_CHECK(memory.charge(
          keyed.back().key->size() + (keyed.back().value ? keyed.back().value->size() : 0),
          "the INSERT"));
    } else {
      payloads.push_back(encode_record_value(table, row));
      SQL_CHECK(memory.charge(payloads.back() ? payloads.back()->size() : 0, "the INSERT"));
    }
  }
  StatementResult result;
  result.tag = "INSERT 0 " + std::to_string(count);
  result.notices = std::move(notices);
  if (table.has_primary_key()) {
    // Keyed by the primary key, each key always in the same partition: the changelog order
    // of a key is its partition's order.
    SQL_CHECK(append_to_topic(*log, table.topic, keyed));
    engine.stats().records_inserted += keyed.size();
    return result;
  }
  // One partition per statement, the statements' partitions in turn; batches of at most
  // kInsertBatchBytes (an INSERT ... SELECT can write more than one batch may hold).
  static std::atomic<uint32_t> next_partition{0};
  const int32_t p =
      static_cast<int32_t>(next_partition++ % static_cast<uint32_t>(topic->partitions));
  auto partition = log->partition(table.topic, p);
  if (partition == nullptr) return sql_error(sqlstate::kIoError, "partition vanished");
  constexpr size_t kInsertBatchBytes = 512 * 1024;
  std::vector<storage::OutgoingRecord> records;
  size_t batch_bytes = 0;
  auto flush = [&]() -> SqlStatus {
    if (records.empty()) return Unit{};
    auto batch = storage::encode_batch(records, storage::wall_clock_ms());
    auto appended = partition->append_durable(batch);
    if (!appended.ok()) return io_error(appended.error());
    records.clear();
    batch_bytes = 0;
    return Unit{};
  };
  for (const auto& payload : payloads) {
    records.push_back(
        {std::nullopt, payload ? std::optional<std::string_view>(*payload) : std::nullopt, 0});
    batch_bytes += payload ? payload->size() + 16 : 16;
    if (batch_bytes >= kInsertBatchBytes) SQL_CHECK(flush());
  }
  SQL_CHECK(flush());
  engine.stats().records_inserted += payloads.size();
  return result;
}

std::string dead_letter_json(const std::string& reason, const std::string& view,
                             const std::string& topic, int32_t partition, int64_t offset,
                             std::optional<std::string_view> value, size_t max_bytes) {
  nlohmann::json doc{{"reason", reason},       {"view", view},     {"topic", topic},
                     {"partition", partition}, {"offset", offset}, {"value", nullptr}};
  // Invalid UTF-8 in the original value becomes U+FFFD rather than failing.
  auto dump = [&] { return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  if (!value) return dump();
  doc["value"] = std::string(*value);
  std::string text = dump();
  if (text.size() <= max_bytes) return text;
  // Escaping can make the value longer than its bytes: cut, measure, and cut further until the
  // document fits. A cut inside a UTF-8 sequence turns into U+FFFD, like any invalid byte.
  doc["value_truncated"] = true;
  doc["value_bytes"] = value->size();
  size_t keep = max_bytes > 512 ? max_bytes - 512 : 0;
  for (;;) {
    keep = std::min(keep, value->size());
    doc["value"] = std::string(value->substr(0, keep));
    text = dump();
    if (text.size() <= max_bytes || keep == 0) return text;
    keep = keep * max_bytes / text.size() * 9 / 10;
  }
}

SqlStatus ensure_topic(storage::LogManager& log, const std::string& topic,
                       const storage::ConfigMap& overrides) {
  if (log.topic(topic)) return Unit{};
  auto created = log.create_topic(topic, 1, overrides);
  if (!created.ok() && created.error().code() != ErrorCode::kAlreadyExists)
    return sql_error(sqlstate::kIoError,
                     "cannot create topic \"" + topic + "\": " + created.error().message());
  return Unit{};
}

// Room left in a batch for a record's framing and the batch header.
constexpr int64_t kBatchOverheadBytes = 256;

SqlStatus append_to_topic(storage::LogManager& log, const std::string& topic,
                          const std::vector<TopicRecord>& records,
                          const storage::ConfigMap& overrides) {
  if (records.empty()) return Unit{};
  SQL_CHECK(ensure_topic(log, topic, overrides));
  auto info = log.topic(topic);
  if (!info) return sql_error(sqlstate::kUndefinedTable, "topic \"" + topic + "\" vanished");
  const auto partitions = static_cast<uint32_t>(std::max(1, info->partitions));
  auto config = log.effective_config(topic);
  const size_t batch_limit = std::min<size_t>(
      512u << 10, config.ok() ? static_cast<size_t>(std::max<int64_t>(
                                    config->max_message_bytes - kBatchOverheadBytes, 1))
                              : 512u << 10);
  // Per partition, in order; batches of at most 1000 records and batch_limit bytes.
  std::vector<std::vector<storage::OutgoingRecord>> by_partition(partitions);
  for (const auto& r : records) {
    uint32_t p = 0;
    if (r.key && partitions > 1) {
      uint32_t h = 2166136261u;  // FNV-1a: stable across runs
      for (unsigned char c : *r.key)
        h = (h ^ c) * 16777619u;
      p = h % partitions;
    }
    by_partition[p].push_back({r.key ? std::optional<std::string_view>(*r.key) : std::nullopt,
                               r.value ? std::optional<std::string_view>(*r.value) : std::nullopt,
                               0});
  }
  for (uint32_t p = 0; p < partitions; ++p) {
    const auto& all = by_partition[p];
    if (all.empty()) continue;
    auto partition = log.partition(topic, static_cast<int32_t>(p));
    if (partition == nullptr) return sql_error(sqlstate::kIoError, "partition vanished");
    size_t begin = 0;
    while (begin < all.size()) {
      size_t end = begin;
      size_t bytes = 0;
      // A batch stays within the topic's max.message.bytes (one record always goes, so a
      // record too large on its own is refused by the log with a clear error).
      while (end < all.size() && end - begin < 1000) {
        const size_t size = (all[end].key ? all[end].key->size() : 0) +
                            (all[end].value ? all[end].value->size() : 0) + 32;
        if (end > begin && bytes + size > batch_limit) break;
        bytes += size;
        ++end;
      }
      auto batch = storage::encode_batch(std::span(all).subspan(begin, end - begin),
                                         storage::wall_clock_ms());
      auto appended = partition->append_durable(batch);
      if (!appended.ok()) return io_error(appended.error());
      begin = end;
    }
  }
  return Unit{};
}

}  // namespace eddy::sql

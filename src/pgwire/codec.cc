#include "pgwire/codec.h"

#include "sql/formats.h"

#include "sql/expr.h"

#include <cstring>
#include <limits>

namespace eddy::pgwire {

using sql::SqlError;
using sql::SqlResult;
using sql::Type;
using sql::Value;

bool Reader::need(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}

int8_t Reader::u8() {
  if (!need(1)) return 0;
  return static_cast<int8_t>(data_[pos_++]);
}

int16_t Reader::i16() {
  if (!need(2)) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  pos_ += 2;
  return static_cast<int16_t>((p[0] << 8) | p[1]);
}

int32_t load_i32(const unsigned char* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

int64_t load_i64(const unsigned char* p) {
  return static_cast<int64_t>((static_cast<uint64_t>(static_cast<uint32_t>(load_i32(p))) << 32) |
                              static_cast<uint32_t>(load_i32(p + 4)));
}

// PostgreSQL's binary dates and timestamps count from 2000-01-01; Eddy's from 1970-01-01.
constexpr int64_t kPgEpochDays = 10957;
constexpr int64_t kPgEpochMicros = kPgEpochDays * sql::kMicrosPerDay;

int32_t Reader::i32() {
  if (!need(4)) return 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
  pos_ += 4;
  return load_i32(p);
}

std::string Reader::cstr() {
  if (!ok_) return {};
  const size_t nul = data_.find('\0', pos_);
  if (nul == std::string_view::npos) {
    ok_ = false;
    return {};
  }
  std::string s(data_.substr(pos_, nul - pos_));
  pos_ = nul + 1;
  return s;
}

std::string_view Reader::bytes(int32_t n) {
  if (n < 0 || !need(static_cast<size_t>(n))) {
    ok_ = false;
    return {};
  }
  auto s = data_.substr(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return s;
}

std::optional<StartupPacket> parse_startup(std::string_view body) {
  Reader r(body);
  StartupPacket packet;
  packet.code = r.i32();
  if (!r.ok()) return std::nullopt;
  if (packet.code == kCancelRequestCode) {
    packet.cancel_pid = r.i32();
    packet.cancel_secret = r.i32();
    if (!r.ok()) return std::nullopt;
    return packet;
  }
  if (packet.code != kProtocolVersion3) return packet;  // the caller rejects the version
  for (;;) {
    std::string key = r.cstr();
    if (!r.ok()) return std::nullopt;
    if (key.empty()) break;
    std::string value = r.cstr();
    if (!r.ok()) return std::nullopt;
    packet.params[key] = value;
  }
  return packet;
}

std::optional<ParseMessage> parse_parse(std::string_view body) {
  Reader r(body);
  ParseMessage m;
  m.name = r.cstr();
  m.query = r.cstr();
  const int16_t n = r.i16();
  if (n < 0) return std::nullopt;
  for (int i = 0; i < n && r.ok(); ++i)
    m.param_oids.push_back(static_cast<uint32_t>(r.i32()));
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return m;
}

std::optional<BindMessage> parse_bind(std::string_view body) {
  Reader r(body);
  BindMessage m;
  m.portal = r.cstr();
  m.statement = r.cstr();
  const int16_t nf = r.i16();
  if (nf < 0) return std::nullopt;
  for (int i = 0; i < nf && r.ok(); ++i)
    m.param_formats.push_back(r.i16());
  const int16_t np = r.i16();
  if (np < 0) return std::nullopt;
  for (int i = 0; i < np && r.ok(); ++i) {
    const int32_t len = r.i32();
    if (len == -1) {
      m.params.emplace_back(std::nullopt);
    } else {
      m.params.emplace_back(std::string(r.bytes(len)));
    }
  }
  const int16_t nr = r.i16();
  if (nr < 0) return std::nullopt;
  for (int i = 0; i < nr && r.ok(); ++i)
    m.result_formats.push_back(r.i16());
  if (!r.ok() || !r.at_end()) return std::nullopt;
  for (int16_t f : m.param_formats)
    if (f != 0 && f != 1) return std::nullopt;
  for (int16_t f : m.result_formats)
    if (f != 0 && f != 1) return std::nullopt;
  return m;
}

std::optional<ExecuteMessage> parse_execute(std::string_view body) {
  Reader r(body);
  ExecuteMessage m;
  m.portal = r.cstr();
  m.max_rows = r.i32();
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return m;
}

std::optional<DescribeMessage> parse_describe(std::string_view body) {
  Reader r(body);
  DescribeMessage m;
  m.kind = static_cast<char>(r.u8());
  m.name = r.cstr();
  if (!r.ok() || !r.at_end() || (m.kind != 'S' && m.kind != 'P')) return std::nullopt;
  return m;
}

int16_t format_for(const std::vector<int16_t>& formats, size_t i) {
  if (formats.empty()) return 0;
  if (formats.size() == 1) return formats[0];
  return i < formats.size() ? formats[i] : 0;
}

bool has_binary_format(Type type) {
  switch (type) {
    case Type::kBool:
    case Type::kInt2:
    case Type::kInt4:
    case Type::kInt8:
    case Type::kFloat4:
    case Type::kFloat8:
    case Type::kText:
    case Type::kUnknown:
    case Type::kDate:
    case Type::kTimestamp:
    case Type::kTimestamptz:
    case Type::kInterval:
    case Type::kJsonb:
    case Type::kBytea:
      return true;
    default:
      return false;
  }
}

SqlResult<Value> decode_param(Type type, std::string_view data, int16_t format, uint32_t sent_oid) {
  // Text arrives in the client encoding, UTF8: bytes that are not UTF-8 are refused as
  // PostgreSQL refuses them (bytea's binary form is bytes, not text).
  if (format == 0 || (type == Type::kText && sent_oid != 17)) {
    std::string invalid;
    if (!sql::valid_text(data, &invalid))
      return sql::sql_error("22021", "invalid byte sequence for encoding \"UTF8\": " + invalid);
  }
  if (format == 0) return sql::from_text(type, data);
  auto bad = [&](const char* what) -> SqlError {
    return sql::sql_error(
        "22P03", std::string("incorrect binary data format in bind parameter (") + what + ")");
  };
  // The wire type is what the client declared (or, failing that, the statement's type).
  Type wire = type;
  if (auto t = sql::type_from_oid(sent_oid)) wire = *t;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  Value v;
  switch (wire) {
    case Type::kBool:
      if (data.size() != 1) return bad("bool");
      v = Value::boolean(p[0] != 0);
      break;
    case Type::kInt2:
    case Type::kInt4:
    case Type::kInt8: {
      if (data.size() != 2 && data.size() != 4 && data.size() != 8) return bad("integer");
      int64_t x = static_cast<int8_t>(p[0]);
      for (size_t i = 1; i < data.size(); ++i)
        x = (x << 8) | p[i];
      const Type width = data.size() == 2   ? Type::kInt2
                         : data.size() == 4 ? Type::kInt4
                                            : Type::kInt8;
      v = Value::integer(width, x);
      break;
    }
    case Type::kFloat4: {
      if (data.size() != 4) return bad("real");
      uint32_t bits = static_cast<uint32_t>(load_i32(p));
      float f;
      std::memcpy(&f, &bits, 4);
      v = Value::floating(Type::kFloat4, f);
      break;
    }
    case Type::kFloat8: {
      if (data.size() != 8) return bad("double precision");
      uint64_t bits = 0;
      for (size_t i = 0; i < 8; ++i)
        bits = (bits << 8) | p[i];
      double d;
      std::memcpy(&d, &bits, 8);
      v = Value::floating(Type::kFloat8, d);
      break;
    }
    case Type::kText:
    case Type::kUnknown:
      v = Value::text(std::string(data));
      break;
    case Type::kDate: {
      // PostgreSQL's binary dates count days from 2000-01-01.
      if (data.size() != 4) return bad("date");
      const int32_t days = load_i32(p);
      v = Value::date(days == std::numeric_limits<int32_t>::max()   ? sql::kTimestampInfinity
                      : days == std::numeric_limits<int32_t>::min() ? sql::kTimestampMinusInfinity
                                                                    : int64_t{days} + kPgEpochDays);
      if (!sql::date_in_range(v.i) && v.i != sql::kTimestampInfinity &&
          v.i != sql::kTimestampMinusInfinity)
        return bad("date");
      break;
    }
    case Type::kTimestamp:
    case Type::kTimestamptz: {
      if (data.size() != 8) return bad("timestamp");
      const int64_t micros = load_i64(p);
      if (micros == std::numeric_limits<int64_t>::max() ||
          micros == std::numeric_limits<int64_t>::min()) {
        v = Value::integer(wire, micros);
        break;
      }
      if (micros > std::numeric_limits<int64_t>::max() - kPgEpochMicros) return bad("timestamp");
      v = Value::integer(wire, micros + kPgEpochMicros);
      if (!sql::timestamp_in_range(v.i)) return bad("timestamp");
      break;
    }
    case Type::kBytea:
      v = Value::text(std::string(data), Type::kBytea);
      break;
    case Type::kJsonb: {
      // Binary jsonb is a version byte (1) and the text.
      if (data.empty() || data[0] != 1) return bad("jsonb");
      auto j = sql::jsonb_from_text(data.substr(1));
      if (!j.ok()) return j.error();
      v = std::move(*j);
      break;
    }
    case Type::kInterval: {
      if (data.size() != 16) return bad("interval");
      v = Value::interval(load_i32(p + 12), load_i32(p + 8), load_i64(p));
      break;
    }
    default:
      return sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                            std::string("binary format for type ") + sql::type_name(wire) +
                                " is not supported yet; send it as text");
  }
  if (v.type == type) return v;
  return sql::cast_value(v, type);
}

void Writer::begin(char type) {
  out_ += type;
  start_ = out_.size();
  out_.append(4, '\0');
}

void Writer::end() {
  const auto len = static_cast<uint32_t>(out_.size() - start_);
  for (int i = 0; i < 4; ++i)
    out_[start_ + static_cast<size_t>(i)] = static_cast<char>(len >> (24 - 8 * i));
}

void Writer::i16(int16_t v) {
  out_ += static_cast<char>(static_cast<uint16_t>(v) >> 8);
  out_ += static_cast<char>(v & 0xff);
}

void Writer::i32(int32_t v) {
  for (int i = 0; i < 4; ++i)
    out_ += static_cast<char>(static_cast<uint32_t>(v) >> (24 - 8 * i));
}

void Writer::cstr(const std::string& s) {
  out_ += s;
  out_ += '\0';
}

void Writer::auth_ok() {
  begin('R');
  i32(0);
  end();
}

void Writer::parameter_status(const std::string& name, const std::string& value) {
  begin('S');
  cstr(name);
  cstr(value);
  end();
}

void Writer::backend_key_data(int32_t pid, int32_t secret) {
  begin('K');
  i32(pid);
  i32(secret);
  end();
}

void Writer::ready_for_query(char status) {
  begin('Z');
  out_ += status;
  end();
}

void Writer::row_description(const std::vector<std::pair<std::string, Type>>& columns,
                             const std::vector<int16_t>& formats) {
  begin('T');
  i16(static_cast<int16_t>(columns.size()));
  for (size_t i = 0; i < columns.size(); ++i) {
    const auto& [name, type] = columns[i];
    cstr(name);
    i32(0);  // table oid
    i16(0);  // column number
    i32(static_cast<int32_t>(sql::type_oid(type)));
    i16(sql::type_size(type));
    i32(-1);  // typmod
    i16(format_for(formats, i));
  }
  end();
}

void encode_binary(std::string& out, const Value& v) {
  auto put = [&out](uint64_t bits, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
      out += static_cast<char>(bits >> (8 * i));
  };
  switch (v.type) {
    case Type::kBool:
      out += static_cast<char>(v.b ? 1 : 0);
      break;
    case Type::kInt2:
      put(static_cast<uint64_t>(v.i), 2);
      break;
    case Type::kInt4:
      put(static_cast<uint64_t>(v.i), 4);
      break;
    case Type::kInt8:
      put(static_cast<uint64_t>(v.i), 8);
      break;
    case Type::kFloat4: {
      const float f = static_cast<float>(v.f);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      put(bits, 4);
      break;
    }
    case Type::kFloat8: {
      uint64_t bits;
      std::memcpy(&bits, &v.f, 8);
      put(bits, 8);
      break;
    }
    case Type::kDate: {
      const int64_t days = v.i == sql::kTimestampInfinity ? std::numeric_limits<int32_t>::max()
                           : v.i == sql::kTimestampMinusInfinity
                               ? std::numeric_limits<int32_t>::min()
                               : v.i - kPgEpochDays;
      put(static_cast<uint64_t>(days), 4);
      break;
    }
    case Type::kTimestamp:
    case Type::kTimestamptz: {
      const bool infinite = v.i == sql::kTimestampInfinity || v.i == sql::kTimestampMinusInfinity;
      put(static_cast<uint64_t>(infinite ? v.i : v.i - kPgEpochMicros), 8);
      break;
    }
    case Type::kInterval:
      put(static_cast<uint64_t>(v.i), 8);
      put(static_cast<uint64_t>(static_cast<int64_t>(v.days)), 4);
      put(static_cast<uint64_t>(static_cast<int64_t>(v.months)), 4);
      break;
    case Type::kJsonb:
      out += '\x01';
      out += v.s;
      break;
    case Type::kBytea:
      out += v.s;
      break;
    default:
      out += sql::to_text(v);
  }
}

void Writer::data_row(const sql::Row& row, const std::vector<int16_t>& formats) {
  begin('D');
  i16(static_cast<int16_t>(row.size()));
  for (size_t i = 0; i < row.size(); ++i) {
    const Value& v = row[i];
    if (v.null) {
      i32(-1);
      continue;
    }
    const size_t at = out_.size();
    out_.append(4, '\0');
    if (format_for(formats, i) == 1 && has_binary_format(v.type)) {
      encode_binary(out_, v);
    } else {
      out_ += sql::to_text(v);
    }
    const auto len = static_cast<uint32_t>(out_.size() - at - 4);
    for (int k = 0; k < 4; ++k)
      out_[at + static_cast<size_t>(k)] = static_cast<char>(len >> (24 - 8 * k));
  }
  end();
}

void Writer::command_complete(const std::string& tag) {
  begin('C');
  cstr(tag);
  end();
}

void Writer::empty_query() {
  begin('I');
  end();
}
void Writer::parse_complete() {
  begin('1');
  end();
}
void Writer::bind_complete() {
  begin('2');
  end();
}
void Writer::close_complete() {
  begin('3');
  end();
}
void Writer::no_data() {
  begin('n');
  end();
}
void Writer::portal_suspended() {
  begin('s');
  end();
}

void Writer::parameter_description(const std::vector<Type>& types) {
  begin('t');
  i16(static_cast<int16_t>(types.size()));
  for (Type t : types)
    i32(static_cast<int32_t>(sql::type_oid(t)));
  end();
}

void Writer::error(const char* severity, const std::string& sqlstate, const std::string& message,
                   int position, const std::string& detail, const std::string& hint,
                   const std::string& context) {
  const bool notice = std::strcmp(severity, "NOTICE") == 0;
  begin(notice ? 'N' : 'E');
  out_ += 'S';
  cstr(severity);
  out_ += 'V';
  cstr(severity);
  out_ += 'C';
  cstr(sqlstate);
  out_ += 'M';
  cstr(message);
  if (!detail.empty()) {
    out_ += 'D';
    cstr(detail);
  }
  if (!hint.empty()) {
    out_ += 'H';
    cstr(hint);
  }
  if (position > 0) {
    out_ += 'P';
    cstr(std::to_string(position));
  }
  if (!context.empty()) {
    out_ += 'W';
    cstr(context);
  }
  out_ += '\0';
  end();
}

void Writer::copy_in_response(int16_t columns) {
  begin('G');
  out_ += '\0';
  i16(columns);
  for (int16_t i = 0; i < columns; ++i)
    i16(0);
  end();
}

void Writer::copy_out_response(int16_t columns) {
  begin('H');
  out_ += '\0';
  i16(columns);
  for (int16_t i = 0; i < columns; ++i)
    i16(0);
  end();
}

void Writer::copy_data(std::string_view data) {
  begin('d');
  out_ += data;
  end();
}

void Writer::copy_done() {
  begin('c');
  end();
}

void Writer::notice(const std::string& message) {
  error("NOTICE", "00000", message);
}

sql::SqlResult<std::vector<sql::Value>> decode_bind_params(
    const BindMessage& m, const std::vector<sql::Type>& types,
    const std::vector<uint32_t>& declared_oids) {
  std::vector<sql::Value> params;
  params.reserve(m.params.size());
  for (size_t i = 0; i < m.params.size() && i < types.size(); ++i) {
    if (!m.params[i]) {
      params.push_back(sql::Value::null_of(types[i]));
      continue;
    }
    const uint32_t sent = i < declared_oids.size() ? declared_oids[i] : 0;
    auto v = decode_param(types[i], *m.params[i], format_for(m.param_formats, i), sent);
    if (!v.ok()) {
      v.error().location = -1;  // a parameter has no place in the statement's text
      return std::move(v.error());
    }
    params.push_back(std::move(*v));
  }
  return params;
}

}  // namespace eddy::pgwire

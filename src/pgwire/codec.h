// PostgreSQL frontend/backend protocol 3.0: decoding what clients send and encoding what the
// server answers. Pure functions over byte strings, no I/O, so they can be unit-tested and
// fuzzed on their own.
//
// Every read is bounded by the message it comes from: a Reader never reads past its buffer and
// remembers the first failure, so a malformed message is one check at the end, not a crash.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sql/value.h"

namespace eddy::pgwire {

inline constexpr int32_t kProtocolVersion3 = 196608;  // 3.0
inline constexpr int32_t kSslRequestCode = 80877103;
inline constexpr int32_t kGssEncRequestCode = 80877104;
inline constexpr int32_t kCancelRequestCode = 80877102;
inline constexpr int32_t kMaxStartupBytes = 10000;

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  int8_t u8();
  int16_t i16();
  int32_t i32();
  std::string cstr();  // NUL-terminated
  // `n` bytes; -1 (SQL NULL) is the caller's business.
  std::string_view bytes(int32_t n);
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == data_.size(); }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  bool need(size_t n);
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

int32_t load_i32(const unsigned char* p);

struct StartupPacket {
  int32_t code = 0;  // protocol version or one of the request codes
  std::map<std::string, std::string> params;
  int32_t cancel_pid = 0;
  int32_t cancel_secret = 0;
};
// `body` is the packet after its length word. nullopt when malformed.
std::optional<StartupPacket> parse_startup(std::string_view body);

struct ParseMessage {
  std::string name;
  std::string query;
  std::vector<uint32_t> param_oids;
};
struct BindMessage {
  std::string portal;
  std::string statement;
  std::vector<int16_t> param_formats;
  std::vector<std::optional<std::string>> params;  // nullopt = NULL
  std::vector<int16_t> result_formats;
};
struct ExecuteMessage {
  std::string portal;
  int32_t max_rows = 0;
};
struct DescribeMessage {  // also Close
  char kind = 'S';        // 'S' statement, 'P' portal
  std::string name;
};

std::optional<ParseMessage> parse_parse(std::string_view body);
std::optional<BindMessage> parse_bind(std::string_view body);
std::optional<ExecuteMessage> parse_execute(std::string_view body);
std::optional<DescribeMessage> parse_describe(std::string_view body);

// The format code of parameter or column `i` given a Bind format list (none = all text, one =
// for all, else one each).
int16_t format_for(const std::vector<int16_t>& formats, size_t i);

// Converts a parameter from the wire to the statement's type. Binary is accepted for bool,
// int2/4/8, float4/8 and text (and int widths the client chose differently, e.g. an int8 sent
// for an int4 parameter).
sql::SqlResult<sql::Value> decode_param(sql::Type type, std::string_view data, int16_t format,
                                        uint32_t sent_oid);

// The parameters of a Bind as values of the statement's `types` (`declared_oids`: the types its
// Parse named, 0 where it left them to the server). The caller has checked that the counts and
// the format list fit; the error is the first value that does not convert.
sql::SqlResult<std::vector<sql::Value>> decode_bind_params(
    const BindMessage& m, const std::vector<sql::Type>& types,
    const std::vector<uint32_t>& declared_oids);

// Appends backend messages to `out`.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void auth_ok();
  void parameter_status(const std::string& name, const std::string& value);
  void backend_key_data(int32_t pid, int32_t secret);
  void ready_for_query(char status);
  void row_description(const std::vector<std::pair<std::string, sql::Type>>& columns,
                       const std::vector<int16_t>& formats);
  void data_row(const sql::Row& row, const std::vector<int16_t>& formats);
  void command_complete(const std::string& tag);
  void empty_query();
  void parse_complete();
  void bind_complete();
  void close_complete();
  void no_data();
  void portal_suspended();
  void parameter_description(const std::vector<sql::Type>& types);
  // severity: ERROR, FATAL or NOTICE (NoticeResponse for NOTICE). position: 1-based, 0 = none.
  void error(const char* severity, const std::string& sqlstate, const std::string& message,
             int position = 0, const std::string& detail = {}, const std::string& hint = {},
             const std::string& context = {});
  // COPY: all columns in text format (overall format 0).
  void copy_in_response(int16_t columns);
  void copy_out_response(int16_t columns);
  void copy_data(std::string_view data);
  void copy_done();
  void notice(const std::string& message);
  void raw_byte(char c) { out_ += c; }

 private:
  void begin(char type);
  void end();
  void i16(int16_t v);
  void i32(int32_t v);
  void cstr(const std::string& s);
  std::string& out_;
  size_t start_ = 0;
};

// A column value in binary format (types listed at decode_param); text otherwise.
void encode_binary(std::string& out, const sql::Value& value);
bool has_binary_format(sql::Type type);

}  // namespace eddy::pgwire

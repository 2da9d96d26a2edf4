// libFuzzer target for the PostgreSQL front end: each input is what a client sends after its
// length-prefixed startup packet, i.e. the startup packet (length word included), then frontend
// messages (type byte, length word, body). The startup packet goes through parse_startup();
// each message through the codec's decoder for its type and then, as the connection does,
// into a sql::Session: Query runs every statement of its text, Parse prepares, Bind converts
// parameters and Execute runs the portal, COPY data feeds a COPY in progress. Results are
// encoded with the codec's Writer and dropped. So the fuzzer reaches the message decoders, the
// SQL parser, binder, constant folding and evaluator, parameter decoding and result encoding.
//
// The Engine has no storage (statements over tables answer errors, as they are not under test
// here) and is created once; a Session lives for one input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgwire/codec.h"
#include "pgwire/result_stream.h"
#include "sql/session.h"

namespace {

using namespace eddy;

// Messages after this many in one input are ignored: enough for any protocol sequence, and a
// bound on the time one input may take.
constexpr int kMaxMessages = 64;

// Encodes what a statement sends, like the connection, into a buffer that is then dropped.
class EncodingSink final : public sql::ResultSink {
 public:
  sql::SqlStatus begin_rows(const std::vector<std::pair<std::string, sql::Type>>& c) override {
    pgwire::Writer(out_).row_description(c, formats_);
    return trim();
  }
  sql::SqlStatus row(const sql::Row& row) override {
    pgwire::Writer(out_).data_row(row, formats_);
    return trim();
  }
  sql::SqlStatus begin_copy_out(int16_t columns) override {
    pgwire::Writer(out_).copy_out_response(columns);
    return trim();
  }
  sql::SqlStatus copy_line(std::string_view line) override {
    pgwire::Writer(out_).copy_data(line);
    return trim();
  }
  sql::SqlStatus statement_done(sql::StatementResult&& result) override {
    pgwire::ResultStream::encode_result(out_, result);
    return trim();
  }
  void set_formats(std::vector<int16_t> formats) { formats_ = std::move(formats); }

 private:
  sql::SqlStatus trim() {
    if (out_.size() > (1 << 16)) out_.clear();
    return sql::Unit{};
  }
  std::string out_;
  std::vector<int16_t> formats_;
};

sql::Engine& engine() {
  static std::unique_ptr<sql::Engine> instance = [] {
    auto opened = sql::Engine::open(sql::EngineOptions{});
    if (!opened.ok()) {
      std::fprintf(stderr, "pgwire_fuzzer: cannot open the engine\n");
      std::abort();
    }
    return std::move(*opened);
  }();
  return *instance;
}

struct Prepared {
  std::shared_ptr<sql::PreparedStatement> statement;
  std::vector<uint32_t> oids;
};

struct Portal {
  std::shared_ptr<sql::PreparedStatement> statement;
  std::vector<sql::Value> params;
  std::vector<int16_t> formats;
};

class Client {
 public:
  Client() : session_(engine()) {}

  void message(char type, std::string_view body) {
    switch (type) {
      case 'Q': {
        pgwire::Reader r(body);
        const std::string sql = r.cstr();
        if (!r.ok()) return;
        sink_.set_formats({});
        auto outcome = session_.execute_simple(sql, &sink_);
        // A COPY FROM STDIN waits for 'd' / 'c' / 'f' messages.
        copying_ = !outcome.results.empty() &&
                   outcome.results.back().copy == sql::StatementResult::Copy::kIn;
        return;
      }
      case 'd':
        if (copying_ && !session_.copy_data(body).ok()) copying_ = false;
        return;
      case 'c':
        if (copying_) {
          (void)session_.copy_done();
          copying_ = false;
          (void)session_.resume_simple(&sink_);
        }
        return;
      case 'f':
        if (copying_) {
          (void)session_.copy_fail("fuzz");
          copying_ = false;
        }
        return;
      case 'P': {
        auto m = pgwire::parse_parse(body);
        if (!m) return;
        std::vector<sql::Type> types;
        for (uint32_t oid : m->param_oids) {
          if (oid == 0) {
            types.push_back(sql::Type::kUnknown);
            continue;
          }
          auto t = sql::type_from_oid(oid);
          if (!t) return;
          types.push_back(*t);
        }
        auto prepared = session_.prepare(m->query, types);
        if (prepared.ok()) statements_[m->name] = Prepared{*prepared, m->param_oids};
        return;
      }
      case 'B': {
        auto m = pgwire::parse_bind(body);
        if (!m) return;
        auto it = statements_.find(m->statement);
        if (it == statements_.end()) return;
        const auto& types = it->second.statement->param_types();
        if (m->params.size() != types.size()) return;
        if (m->param_formats.size() > 1 && m->param_formats.size() != m->params.size()) return;
        auto params = pgwire::decode_bind_params(*m, types, it->second.oids);
        if (!params.ok()) return;
        Portal portal{it->second.statement, std::move(*params), m->result_formats};
        portals_[m->portal] = std::move(portal);
        return;
      }
      case 'D':
      case 'C': {
        auto m = pgwire::parse_describe(body);
        if (!m) return;
        if (type == 'C') {
          if (m->kind == 'S')
            statements_.erase(m->name);
          else
            portals_.erase(m->name);
          return;
        }
        std::string out;
        if (m->kind == 'S') {
          auto it = statements_.find(m->name);
          if (it == statements_.end()) return;
          pgwire::Writer(out).parameter_description(it->second.statement->param_types());
          if (it->second.statement->returns_rows())
            pgwire::Writer(out).row_description(it->second.statement->columns(), {});
        } else {
          auto it = portals_.find(m->name);
          if (it == portals_.end()) return;
          if (it->second.statement->returns_rows())
            pgwire::Writer(out).row_description(it->second.statement->columns(),
                                                it->second.formats);
        }
        return;
      }
      case 'E': {
        auto m = pgwire::parse_execute(body);
        if (!m) return;
        auto it = portals_.find(m->portal);
        if (it == portals_.end()) return;
        sink_.set_formats(it->second.formats);
        auto result = session_.execute(*it->second.statement, it->second.params, &sink_);
        if (result.ok() && result->copy == sql::StatementResult::Copy::kIn) {
          (void)session_.copy_fail("fuzz");
        }
        return;
      }
      default:
        return;
    }
  }

 private:
  sql::Session session_;
  EncodingSink sink_;
  std::map<std::string, Prepared> statements_;
  std::map<std::string, Portal> portals_;
  bool copying_ = false;
};

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.size() < 4) return 0;
  // The startup packet: its length word counts itself.
  const uint32_t startup_len = load_be32(data);
  if (startup_len < 8 || startup_len > static_cast<uint32_t>(pgwire::kMaxStartupBytes) ||
      startup_len > input.size())
    return 0;
  auto startup = pgwire::parse_startup(input.substr(4, startup_len - 4));
  if (!startup || startup->code != pgwire::kProtocolVersion3) return 0;
  input.remove_prefix(startup_len);

  Client client;
  for (int n = 0; n < kMaxMessages && input.size() >= 5; ++n) {
    const char type = input[0];
    const uint32_t len = load_be32(reinterpret_cast<const uint8_t*>(input.data()) + 1);
    if (len < 4 || len - 4 > input.size() - 5) return 0;
    client.message(type, input.substr(5, len - 4));
    input.remove_prefix(1 + len);
  }
  return 0;
}

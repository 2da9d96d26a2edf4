#include "pgwire/server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <cstdio>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "common/worker_pool.h"
#include "net/declared_read.h"
#include "net/listener.h"
#include "net/receive_budget.h"
#include "pgwire/codec.h"
#include "pgwire/result_stream.h"
#include "sql/session.h"

namespace eddy::pgwire {

namespace asio = boost::asio;
using asio::ip::tcp;

class PgConnection;

class PgServer::Impl {
 public:
  Impl(PgServerOptions options, sql::Engine& engine)
      : options_(std::move(options)),
        engine_(engine),
        receive_budget_(options_.receive_budget ? options_.receive_budget
                                                : std::make_shared<net::ReceiveBudget>(
                                                      net::kDefaultReceiveBudgetBytes)),
        acceptor_(io_),
        pool_(WorkerPool::Options{
            .name = "pg-query",
            .min_threads = static_cast<size_t>(std::max(options_.query_threads, 1)),
            .max_threads = static_cast<size_t>(
                std::max(options_.max_query_threads, std::max(options_.query_threads, 1))),
        }) {}

  Status bind();
  void run();
  void stop();
  asio::awaitable<void> accept_loop();

  int32_t register_connection(std::weak_ptr<PgConnection> connection, int32_t* secret);
  void unregister(int32_t pid);
  void cancel(int32_t pid, int32_t secret);

  PgServerOptions options_;
  sql::Engine& engine_;
  std::shared_ptr<net::ReceiveBudget> receive_budget_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  WorkerPool pool_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};

  std::mutex mu_;
  int32_t next_pid_ = 1000;
  std::mt19937 random_{std::random_device{}()};
  struct Entry {
    int32_t secret;
    std::weak_ptr<PgConnection> connection;
  };
  std::unordered_map<int32_t, Entry> connections_;
};

namespace {

struct Prepared {
  std::shared_ptr<sql::PreparedStatement> statement;
  std::vector<uint32_t> declared_oids;
};

struct Portal {
  std::shared_ptr<sql::PreparedStatement> statement;
  std::vector<sql::Value> params;
  std::vector<int16_t> result_formats;
  std::optional<sql::StatementResult> result;
  size_t next_row = 0;
  // A SELECT executed with a row limit: its rows, handed out by the Executes that follow.
  std::unique_ptr<sql::Cursor> cursor;
};

// Thrown nowhere: message handlers report protocol errors by returning false after queueing a
// FATAL message; the connection then flushes and closes.
constexpr size_t kFlushThreshold = 256 * 1024;
// COPY data is handed to the query pool in pieces of about this size: parsing stays off the I/O
// thread without a pool round trip per CopyData message (psql sends one per line).
constexpr size_t kCopyChunkBytes = 1 << 20;

}  // namespace

class PgConnection : public std::enable_shared_from_this<PgConnection> {
 public:
  PgConnection(tcp::socket socket, PgServer::Impl& server)
      : socket_(std::move(socket)),
        server_(server),
        strand_(socket_.get_executor()),
        bell_(strand_) {
    boost::system::error_code ec;
    auto endpoint = socket_.remote_endpoint(ec);
    peer_ = ec ? "unknown" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  void start() { asio::co_spawn(strand_, run_loop(shared_from_this()), asio::detached); }

  void close() {
    asio::post(strand_, [self = shared_from_this()] { self->close_on_strand(); });
  }

  void cancel() {
    if (session_) session_->cancel();
    std::lock_guard lock(stream_mu_);
    if (stream_ != nullptr) stream_->wake_for_cancel();
  }

 private:
  static asio::awaitable<void> run_loop(std::shared_ptr<PgConnection> self) {
    co_await self->run();
  }

  struct Message {
    char type = 0;
    std::string body;
  };

  // The next message; nullopt when the connection ended or sent one that is too large (then
  // a FATAL is queued).
  asio::awaitable<std::optional<Message>> read_message() {
    uint8_t header[5];
    auto [ec, n] = co_await asio::async_read(socket_, asio::buffer(header),
                                             asio::as_tuple(asio::use_awaitable));
    if (ec) co_return std::nullopt;
    const int32_t len = load_i32(header + 1);
    if (len < 4 || len - 4 > server_.options_.max_message_bytes) {
      Writer(out_).error("FATAL", "54000",
                         "message of " + std::to_string(len) + " bytes exceeds the maximum of " +
                             std::to_string(server_.options_.max_message_bytes) + " bytes");
      co_return std::nullopt;
    }
    Message m{static_cast<char>(header[0]), {}};
    const auto read = co_await net::read_declared(
        socket_, static_cast<size_t>(len - 4), m.body, server_.receive_budget_.get(),
        std::chrono::milliseconds(server_.options_.stall_timeout_ms));
    if (read == net::DeclaredRead::kStalled) {
      spdlog::warn("pgwire: closing connection from {}: a {}-byte message stopped arriving", peer_,
                   len - 4);
      Writer(out_).error("FATAL", "08006",
                         "the message's bytes stopped arriving; closing the connection");
      co_return std::nullopt;
    }
    if (read != net::DeclaredRead::kComplete) co_return std::nullopt;
    co_return m;
  }

  asio::awaitable<void> run() {
    // A peer that connects and never completes its startup would hold the connection forever.
    asio::steady_timer startup_timer(strand_);
    startup_timer.expires_after(std::chrono::milliseconds(server_.options_.startup_timeout_ms));
    startup_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      spdlog::info("pgwire: closing connection from {}: no startup within {} ms", self->peer_,
                   self->server_.options_.startup_timeout_ms);
      self->close_on_strand();
    });
    const bool started = co_await startup();
    startup_timer.cancel();
    if (started && !closed_) {
      for (;;) {
        auto m = co_await read_message();
        if (!m) break;
        const bool keep_going = co_await handle(m->type, m->body);
        if (!keep_going || closed_ || closed_after_flush_ || lost_) break;
        if (out_.size() >= kFlushThreshold) co_await flush();
      }
    }
    if (session_ && session_->in_copy()) (void)session_->copy_fail("connection closed");
    co_await flush();
    if (pid_ != 0) server_.unregister(pid_);
    close_on_strand();
  }

  // COPY FROM STDIN after the session answered Copy::kIn: CopyInResponse, then the client's
  // CopyData until CopyDone or CopyFail. Data goes to the session in pieces of about
  // kCopyChunkBytes, parsed on the query pool. Returns the COPY's result or its error; after an
  // error the client's remaining CopyData, CopyDone and CopyFail are dropped by handle(), as
  // PostgreSQL does.
  asio::awaitable<sql::SqlResult<sql::StatementResult>> copy_in(int16_t columns) {
    Writer(out_).copy_in_response(columns);
    co_await flush();
    std::string chunk;
    for (;;) {
      auto m = co_await read_message();
      if (!m) {
        lost_ = true;
        co_return session_->copy_fail("connection closed");
      }
      switch (m->type) {
        case 'd': {
          chunk += m->body;
          if (chunk.size() < kCopyChunkBytes) break;
          auto fed = co_await send_copy_chunk(chunk);
          if (!fed.ok()) co_return std::move(fed.error());
          break;
        }
        case 'c': {
          auto fed = co_await send_copy_chunk(chunk);
          if (!fed.ok()) co_return std::move(fed.error());
          co_return co_await offload([this] { return session_->copy_done(); });
        }
        case 'f': {
          Reader r(m->body);
          const std::string message = r.cstr();
          co_return session_->copy_fail(message);
        }
        case 'H':
        case 'S':
          break;  // Flush and Sync mean nothing during COPY FROM STDIN
        case 'X':
          lost_ = true;
          co_return session_->copy_fail("connection closed");
        default: {
          (void)session_->copy_fail("protocol violation");
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02X",
                        static_cast<unsigned>(static_cast<uint8_t>(m->type)));
          co_return sql::sql_error(
              sql::sqlstate::kProtocolViolation,
              std::string("unexpected message type ") + hex + " during COPY from stdin");
        }
      }
    }
  }

  asio::awaitable<sql::SqlStatus> send_copy_chunk(std::string& chunk) {
    if (chunk.empty()) co_return sql::Unit{};
    auto fed = co_await offload([this, &chunk] { return session_->copy_data(chunk); });
    chunk.clear();
    co_return fed;
  }

  void send_copy_out(const sql::StatementResult& r) {
    Writer w(out_);
    w.copy_out_response(r.copy_columns);
    for (const auto& line : r.copy_lines)
      w.copy_data(line);
    w.copy_done();
  }

  asio::awaitable<bool> startup() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      uint8_t len_bytes[4];
      auto [ec, n] = co_await asio::async_read(socket_, asio::buffer(len_bytes),
                                               asio::as_tuple(asio::use_awaitable));
      if (ec) co_return false;
      const int32_t len = load_i32(len_bytes);
      if (len < 8 || len > kMaxStartupBytes) {
        spdlog::warn("pgwire: closing connection from {}: startup packet of {} bytes", peer_, len);
        co_return false;
      }
      std::string body(static_cast<size_t>(len - 4), '\0');
      auto [body_ec, m] = co_await asio::async_read(socket_, asio::buffer(body),
                                                    asio::as_tuple(asio::use_awaitable));
      if (body_ec) co_return false;
      auto packet = parse_startup(body);
      if (!packet) {
        spdlog::warn("pgwire: closing connection from {}: malformed startup packet", peer_);
        co_return false;
      }
      if (packet->code == kSslRequestCode || packet->code == kGssEncRequestCode) {
        out_ += 'N';  // no TLS or GSSAPI encryption yet: the client continues in plain text
        co_await flush();
        continue;
      }
      if (packet->code == kCancelRequestCode) {
        server_.cancel(packet->cancel_pid, packet->cancel_secret);
        co_return false;
      }
      Writer w(out_);
      if (packet->code != kProtocolVersion3) {
        w.error("FATAL", "0A000",
                "unsupported frontend protocol " + std::to_string(packet->code >> 16) + "." +
                    std::to_string(packet->code & 0xffff) + ": server supports 3.0");
        co_return false;
      }
      auto user = packet->params.find("user");
      if (user == packet->params.end() || user->second.empty()) {
        w.error("FATAL", "28000", "no PostgreSQL user name specified in startup packet");
        co_return false;
      }
      auto db = packet->params.find("database");
      const std::string database =
          db == packet->params.end() || db->second.empty() ? user->second : db->second;
      if (database != "eddy") {
        w.error("FATAL", "3D000", "database \"" + database + "\" does not exist", 0,
                "The only database is \"eddy\".");
        co_return false;
      }
      if (packet->params.count("replication") != 0 && packet->params["replication"] != "false") {
        w.error("FATAL", "0A000", "replication connections are not supported");
        co_return false;
      }
      session_ = std::make_unique<sql::Session>(server_.engine_, packet->params);
      session_->set_deallocator([this](const std::string& name) {
        if (name.empty()) {
          statements_.clear();
          return true;
        }
        return statements_.erase(name) != 0;
      });
      sql::Session::PortalHooks hooks;
      hooks.exists = [this](const std::string& name) { return portals_.count(name) != 0; };
      hooks.close = [this](const std::string& name) { return portals_.erase(name) != 0; };
      hooks.close_all = [this] { portals_.clear(); };
      session_->set_portal_hooks(std::move(hooks));
      int32_t secret = 0;
      pid_ = server_.register_connection(weak_from_this(), &secret);
      session_->set_backend_pid(pid_);
      w.auth_ok();
      for (const auto& [name, value] : session_->reported_parameters())
        w.parameter_status(name, value);
      w.backend_key_data(pid_, secret);
      w.ready_for_query(session_->transaction_status());
      co_await flush();
      co_return true;
    }
    co_return false;
  }

  // Runs `fn` on the query pool and resumes on this connection's strand. Callers pass lambdas
  // that capture only pointers and references (into their own frame, which outlives the call):
  // GCC 12 destroys a by-value coroutine parameter twice.
  template <typename Fn>
  asio::awaitable<decltype(std::declval<Fn>()())> offload(Fn fn) {
    using R = decltype(fn());
    auto result =
        co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<R>)>(
            [this, &fn](auto handler) {
              server_.pool_.submit_fn([fn = std::move(fn), handler = std::move(handler)]() mutable {
                std::optional<R> r(fn());
                auto executor = asio::get_associated_executor(handler);
                asio::post(executor, [handler = std::move(handler), r = std::move(r)]() mutable {
                  std::move(handler)(std::move(r));
                });
              });
            },
            asio::use_awaitable);
    co_return std::move(*result);
  }

  // Runs `fn` (a statement sending its results to `stream`) on the query pool, and meanwhile
  // writes each chunk the stream hands over, so rows reach the client while the statement runs.
  // Resumes on this connection's strand with fn's result once the statement has returned and
  // everything it encoded is in out_. Same rule for `fn` as offload().
  template <typename Fn>
  asio::awaitable<decltype(std::declval<Fn>()())> run_streamed(ResultStream& stream, Fn fn) {
    using R = decltype(fn());
    std::optional<R> result;
    {
      std::lock_guard lock(stream_mu_);
      stream_ = &stream;
    }
    server_.pool_.submit_fn([this, &fn, &result] {
      R r = fn();
      asio::post(strand_, [this, &result, r = std::move(r)]() mutable {
        result = std::move(r);
        bell_.cancel();
      });
    });
    for (;;) {
      std::string chunk = stream.take();
      if (!chunk.empty()) {
        out_ += chunk;
        co_await flush();
        if (closed_) stream.stop();
        continue;
      }
      if (result) break;
      // Woken by chunk_ready (a chunk to take) or by the statement's end; both post to the
      // strand, so neither can slip in between the checks above and this wait.
      bell_.expires_at(asio::steady_timer::time_point::max());
      co_await bell_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    {
      std::lock_guard lock(stream_mu_);
      stream_ = nullptr;
    }
    out_ += stream.rest();
    co_return std::move(*result);
  }

  ResultStream make_stream(ResultStream::Protocol protocol, std::vector<int16_t> formats = {}) {
    ResultStream::Callbacks callbacks{
        .chunk_ready = [this] { asio::post(strand_, [this] { bell_.cancel(); }); },
        .stalled =
            [this] {
              spdlog::warn(
                  "pgwire: closing connection from {}: it read none of its results for "
                  "{} ms",
                  peer_, server_.options_.stall_timeout_ms);
              asio::post(strand_, [this] { close_on_strand(); });
            },
    };
    return ResultStream(protocol, session_->cancel_flag(), std::move(callbacks),
                        std::chrono::milliseconds(server_.options_.stall_timeout_ms),
                        std::move(formats));
  }

  void send_error(const sql::SqlError& e, const std::string& sql) {
    Writer(out_).error("ERROR", e.sqlstate, e.message,
                       sql::Session::character_position(sql, e.location), e.detail, e.hint,
                       e.context);
  }

  void send_notices_and_status(const sql::StatementResult& r) {
    Writer w(out_);
    for (const auto& n : r.notices)
      w.notice(n);
  }

  void send_parameter_changes() {
    Writer w(out_);
    for (const auto& [name, value] : session_->take_changed_parameters())
      w.parameter_status(name, value);
  }

  void send_rows(const sql::StatementResult& r, size_t from, size_t to,
                 const std::vector<int16_t>& formats) {
    Writer w(out_);
    for (size_t i = from; i < to; ++i)
      w.data_row(r.rows[i], formats);
  }

  asio::awaitable<bool> handle(char type, const std::string& body) {
    if (skip_until_sync_ && type != 'S' && type != 'X') co_return true;
    switch (type) {
      case 'Q':
        co_await simple_query(body);
        close_portals_if_transaction_ended();
        co_return true;
      case 'P':
        parse(body);
        co_return !closed_;
      case 'B':
        bind(body);
        co_return !closed_;
      case 'D':
        describe(body);
        co_return !closed_;
      case 'E':
        co_await execute(body);
        close_portals_if_transaction_ended();
        co_return !closed_;
      case 'C':
        close_message(body);
        co_return !closed_;
      case 'S':
        skip_until_sync_ = false;
        // The implicit transaction of the messages before Sync ends here.
        if (session_->transaction_status() == 'I') portals_.clear();
        send_parameter_changes();
        Writer(out_).ready_for_query(session_->transaction_status());
        co_await flush();
        co_return true;
      case 'H':
        co_await flush();
        co_return true;
      case 'X':
        co_return false;
      case 'd':
      case 'c':
      case 'f':
        // The rest of a COPY that already failed (PostgreSQL drops them too).
        co_return true;
      case 'F':
        extended_error(sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                                      "the function call protocol is not supported yet"),
                       "");
        co_return true;
      default:
        Writer(out_).error("FATAL", sql::sqlstate::kProtocolViolation,
                           std::string("invalid frontend message type ") +
                               std::to_string(static_cast<int>(static_cast<uint8_t>(type))));
        co_return false;
    }
  }

  asio::awaitable<void> simple_query(const std::string& body) {
    Reader r(body);
    std::string sql = r.cstr();
    if (!r.ok()) {
      Writer(out_).error("FATAL", sql::sqlstate::kProtocolViolation, "malformed Query message");
      closed_after_flush_ = true;
      co_return;
    }
    ResultStream stream = make_stream(ResultStream::Protocol::kSimple);
    auto outcome = co_await run_streamed(
        stream, [this, &sql, &stream] { return session_->execute_simple(sql, &stream); });
    Writer w(out_);
    for (;;) {
      // Every statement but a COPY FROM STDIN went to the stream.
      std::optional<int16_t> copy_columns;
      for (const auto& result : outcome.results) {
        if (result.copy == sql::StatementResult::Copy::kIn) {
          copy_columns = result.copy_columns;
          break;
        }
        ResultStream::encode_result(out_, result);
      }
      if (!copy_columns) break;
      auto copied = co_await copy_in(*copy_columns);
      if (lost_) co_return;
      if (!copied.ok()) {
        outcome = {};
        outcome.error = std::move(copied.error());
        break;
      }
      send_notices_and_status(*copied);
      w.command_complete(copied->tag);
      outcome = co_await run_streamed(stream,
                                      [this, &stream] { return session_->resume_simple(&stream); });
    }
    if (outcome.error) {
      send_error(*outcome.error, sql);
    } else if (outcome.empty) {
      w.empty_query();
    }
    send_parameter_changes();
    w.ready_for_query(session_->transaction_status());
    co_await flush();
  }

  void extended_error(const sql::SqlError& e, const std::string& sql) {
    send_error(e, sql);
    skip_until_sync_ = true;
  }

  void protocol_violation(const char* what) {
    Writer(out_).error("FATAL", sql::sqlstate::kProtocolViolation,
                       std::string("malformed ") + what + " message");
    closed_after_flush_ = true;
    skip_until_sync_ = true;
  }

  void parse(const std::string& body) {
    auto m = parse_parse(body);
    if (!m) return protocol_violation("Parse");
    if (!m->name.empty() && statements_.count(m->name) != 0)
      return extended_error(
          sql::sql_error("42P05", "prepared statement \"" + m->name + "\" already exists"), "");
    std::vector<sql::Type> types;
    for (uint32_t oid : m->param_oids) {
      if (oid == 0) {
        types.push_back(sql::Type::kUnknown);
        continue;
      }
      auto t = sql::type_from_oid(oid);
      if (!t)
        return extended_error(sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                                             "parameter type with OID " + std::to_string(oid) +
                                                 " is not supported yet"),
                              "");
      types.push_back(*t);
    }
    // In a failed transaction block statements are refused when they execute (COMMIT and
    // ROLLBACK still run), not here.
    auto prepared = session_->prepare(m->query, types);
    if (!prepared.ok()) return extended_error(prepared.error(), m->query);
    statements_[m->name] = Prepared{std::move(*prepared), m->param_oids};
    Writer(out_).parse_complete();
  }

  void bind(const std::string& body) {
    auto m = parse_bind(body);
    if (!m) return protocol_violation("Bind");
    auto it = statements_.find(m->statement);
    if (it == statements_.end())
      return extended_error(
          sql::sql_error(sql::sqlstate::kInvalidSqlStatementName,
                         "prepared statement \"" + m->statement + "\" does not exist"),
          "");
    const Prepared& prepared = it->second;
    const auto& types = prepared.statement->param_types();
    if (m->params.size() != types.size())
      return extended_error(
          sql::sql_error(sql::sqlstate::kProtocolViolation,
                         "bind message supplies " + std::to_string(m->params.size()) +
                             " parameters, but prepared statement \"" + m->statement +
                             "\" requires " + std::to_string(types.size())),
          "");
    if (m->param_formats.size() > 1 && m->param_formats.size() != m->params.size())
      return protocol_violation("Bind");
    if (!m->portal.empty() &&
        (portals_.count(m->portal) != 0 || session_->find_cursor(m->portal) != nullptr))
      return extended_error(sql::sql_error("42P03", "cursor \"" + m->portal + "\" already exists"),
                            "");
    Portal portal;
    portal.statement = prepared.statement;
    portal.result_formats = m->result_formats;
    auto params = decode_bind_params(*m, types, prepared.declared_oids);
    if (!params.ok()) return extended_error(params.error(), "");
    portal.params = std::move(*params);
    portals_[m->portal] = std::move(portal);
    Writer(out_).bind_complete();
  }

  void describe(const std::string& body) {
    auto m = parse_describe(body);
    if (!m) return protocol_violation("Describe");
    Writer w(out_);
    if (m->kind == 'S') {
      auto it = statements_.find(m->name);
      if (it == statements_.end())
        return extended_error(
            sql::sql_error(sql::sqlstate::kInvalidSqlStatementName,
                           "prepared statement \"" + m->name + "\" does not exist"),
            "");
      const auto& statement = *it->second.statement;
      w.parameter_description(statement.param_types());
      const auto columns = session_->result_columns(statement);
      if (!columns.empty()) {
        w.row_description(columns, {});
      } else {
        w.no_data();
      }
      return;
    }
    auto it = portals_.find(m->name);
    if (it == portals_.end()) {
      // A cursor DECLARE made is a portal too (psycopg describes its server cursors so).
      if (sql::Cursor* cursor = session_->find_cursor(m->name))
        return w.row_description(cursor->columns(), {});
      return extended_error(sql::sql_error(sql::sqlstate::kInvalidCursorName,
                                           "portal \"" + m->name + "\" does not exist"),
                            "");
    }
    const Portal& portal = it->second;
    const auto columns = session_->result_columns(*portal.statement);
    if (!columns.empty()) {
      w.row_description(columns, portal.result_formats);
    } else {
      w.no_data();
    }
  }

  asio::awaitable<void> execute(const std::string& body) {
    auto m = parse_execute(body);
    if (!m) {
      protocol_violation("Execute");
      co_return;
    }
    auto it = portals_.find(m->portal);
    if (it == portals_.end()) {
      if (sql::Cursor* cursor = session_->find_cursor(m->portal)) {
        co_await execute_cursor(*cursor, m->max_rows, {});
        co_return;
      }
      extended_error(sql::sql_error(sql::sqlstate::kInvalidCursorName,
                                    "portal \"" + m->portal + "\" does not exist"),
                     "");
      co_return;
    }
    Portal& portal = it->second;
    Writer w(out_);
    if (portal.statement->empty()) {
      w.empty_query();
      co_return;
    }
    if (portal.cursor) {
      co_await execute_cursor(*portal.cursor, m->max_rows, portal.result_formats);
      co_return;
    }
    if (!portal.result && m->max_rows > 0 && !portal.statement->is_copy() &&
        !session_->result_columns(*portal.statement).empty()) {
      // A row limit (JDBC's fetchSize): the rows are run into a cursor once, and every
      // Execute takes the next ones from it, however many there are.
      auto statement = portal.statement;
      auto params = portal.params;
      ResultStream idle = make_stream(ResultStream::Protocol::kExtended);
      auto cursor = co_await run_streamed(
          idle, [this, &statement, &params] { return session_->open_cursor(*statement, params); });
      it = portals_.find(m->portal);
      if (it == portals_.end()) co_return;
      if (!cursor.ok()) {
        extended_error(cursor.error(), statement->sql());
        co_return;
      }
      it->second.cursor = std::move(*cursor);
      co_await execute_cursor(*it->second.cursor, m->max_rows, it->second.result_formats);
      co_return;
    }
    if (!portal.result) {
      auto statement = portal.statement;
      auto params = portal.params;
      // Without a row limit the rows stream as they are made; with one they are kept for the
      // Executes that follow (within work_mem).
      ResultStream stream = make_stream(ResultStream::Protocol::kExtended, portal.result_formats);
      ResultStream* sink = m->max_rows == 0 ? &stream : nullptr;
      auto result = co_await run_streamed(stream, [this, &statement, &params, sink] {
        return session_->execute(*statement, params, sink);
      });
      // The portal map may have changed while the statement ran (it cannot: this connection
      // reads no message meanwhile), but look it up again rather than trust the reference.
      it = portals_.find(m->portal);
      if (it == portals_.end()) co_return;
      if (!result.ok()) {
        extended_error(result.error(), statement->sql());
        co_return;
      }
      if (result->copy == sql::StatementResult::Copy::kIn) {
        auto copied = co_await copy_in(result->copy_columns);
        if (lost_) co_return;
        if (!copied.ok()) {
          extended_error(copied.error(), "");
          co_return;
        }
        result = std::move(copied);
      }
      it = portals_.find(m->portal);
      if (it == portals_.end()) co_return;
      if (result->streamed) {
        ResultStream::encode_result(out_, *result);
        // Run to completion: executing the portal again answers no rows.
        sql::StatementResult done;
        done.returns_rows = result->returns_rows;
        done.tag = result->copy == sql::StatementResult::Copy::kOut ? result->tag : "SELECT 0";
        it->second.result = std::move(done);
        co_return;
      }
      it->second.result = std::move(*result);
    }
    Portal& p = it->second;
    const auto& r = *p.result;
    if (r.copy == sql::StatementResult::Copy::kOut && p.next_row == 0) {
      send_copy_out(r);
      send_notices_and_status(r);
      w.command_complete(r.tag);
      co_return;
    }
    const size_t total = r.rows.size();
    size_t end = total;
    if (m->max_rows > 0) end = std::min(total, p.next_row + static_cast<size_t>(m->max_rows));
    const size_t from = p.next_row;
    send_rows(r, from, end, p.result_formats);
    p.next_row = end;
    if (end < total) {
      w.portal_suspended();
      co_return;
    }
    send_notices_and_status(r);
    std::string tag = r.tag;
    if (tag.rfind("SELECT ", 0) == 0) tag = "SELECT " + std::to_string(end - from);
    w.command_complete(tag);
  }

  // The next `max_rows` (0: all) rows of a cursor; PortalSuspended when that many came, as
  // PostgreSQL answers even when no row is left (the next Execute then completes).
  asio::awaitable<void> execute_cursor(sql::Cursor& cursor, int32_t max_rows,
                                       std::vector<int16_t> formats) {
    ResultStream stream = make_stream(ResultStream::Protocol::kExtended, std::move(formats));
    auto sent = co_await run_streamed(stream, [this, &cursor, max_rows, &stream] {
      return session_->fetch_forward(cursor, max_rows, &stream);
    });
    if (!sent.ok()) {
      extended_error(sent.error(), "");
      co_return;
    }
    Writer w(out_);
    if (max_rows > 0 && *sent == max_rows) {  // (0 or less: no limit)
      w.portal_suspended();
    } else {
      w.command_complete(cursor.completion_tag(*sent));
    }
  }

  // A COMMIT or ROLLBACK closes every portal of the transaction, as in PostgreSQL (protocol
  // portals are never WITH HOLD).
  void close_portals_if_transaction_ended() {
    if (session_->transactions_ended() == transactions_seen_) return;
    transactions_seen_ = session_->transactions_ended();
    portals_.clear();
  }

  void close_message(const std::string& body) {
    auto m = parse_describe(body);
    if (!m) return protocol_violation("Close");
    if (m->kind == 'S') {
      statements_.erase(m->name);
    } else if (portals_.erase(m->name) == 0) {
      session_->close_cursor(m->name);  // a DECLAREd cursor is a portal too
    }
    Writer(out_).close_complete();
  }

  asio::awaitable<void> flush() {
    if (out_.empty() || closed_) co_return;
    std::string data;
    data.swap(out_);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) close_on_strand();
    if (closed_after_flush_) close_on_strand();
  }

  void close_on_strand() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  PgServer::Impl& server_;
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer bell_;  // wakes run_streamed (a chunk is ready, or the statement ended)
  std::mutex stream_mu_;     // guards stream_, which cancel() reaches from another thread
  ResultStream* stream_ = nullptr;
  std::string peer_;
  std::string out_;
  std::unique_ptr<sql::Session> session_;
  int32_t pid_ = 0;
  std::map<std::string, Prepared> statements_;
  std::map<std::string, Portal> portals_;
  uint64_t transactions_seen_ = 0;  // session_->transactions_ended() when portals_ was last valid
  bool skip_until_sync_ = false;
  bool closed_ = false;
  bool closed_after_flush_ = false;
  bool lost_ = false;  // the client went away in the middle of a COPY
};

int32_t PgServer::Impl::register_connection(std::weak_ptr<PgConnection> connection,
                                            int32_t* secret) {
  std::lock_guard lock(mu_);
  const int32_t pid = next_pid_++;
  *secret = static_cast<int32_t>(random_());
  connections_[pid] = Entry{*secret, std::move(connection)};
  return pid;
}

void PgServer::Impl::unregister(int32_t pid) {
  std::lock_guard lock(mu_);
  connections_.erase(pid);
}

void PgServer::Impl::cancel(int32_t pid, int32_t secret) {
  std::shared_ptr<PgConnection> target;
  {
    std::lock_guard lock(mu_);
    auto it = connections_.find(pid);
    if (it == connections_.end() || it->second.secret != secret) return;  // ignored, as in PG
    target = it->second.connection.lock();
  }
  if (target) target->cancel();
}

Status PgServer::Impl::bind() {
  RETURN_IF_ERROR(
      net::open_listener(acceptor_, options_.listen_host, options_.listen_port, "pgwire"));
  return ok_status();
}

asio::awaitable<void> PgServer::Impl::accept_loop() {
  return net::accept_connections(acceptor_, io_, stopped_, "pgwire", [this](tcp::socket socket) {
    std::make_shared<PgConnection>(std::move(socket), *this)->start();
  });
}

void PgServer::Impl::run() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  for (int i = 0; i < std::max(options_.io_threads, 1); ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
}

void PgServer::Impl::stop() {
  if (stopped_.exchange(true)) return;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  std::vector<std::shared_ptr<PgConnection>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [pid, entry] : connections_) {
      if (auto c = entry.connection.lock()) open.push_back(std::move(c));
    }
  }
  for (auto& c : open) {
    c->cancel();
    c->close();
  }
  // Statements still running finish (or see the cancel) before storage goes away.
  pool_.shutdown();
  io_.stop();
  for (auto& thread : threads_)
    thread.join();
  threads_.clear();
}

PgServer::PgServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PgServer::~PgServer() {
  stop();
}

Result<std::unique_ptr<PgServer>> PgServer::start(PgServerOptions options, sql::Engine& engine) {
  auto impl = std::make_unique<Impl>(std::move(options), engine);
  RETURN_IF_ERROR(impl->bind());
  impl->run();
  spdlog::info("pgwire on {}:{}", impl->options_.listen_host,
               impl->acceptor_.local_endpoint().port());
  return std::unique_ptr<PgServer>(new PgServer(std::move(impl)));
}

int PgServer::bound_port() const {
  boost::system::error_code ec;
  auto endpoint = impl_->acceptor_.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void PgServer::stop() {
  impl_->stop();
}

}  // namespace eddy::pgwire

// The PostgreSQL wire protocol listener: psql, libpq, psycopg and JDBC-style clients talk to the
// SQL engine through it.
//
// Each connection is one Asio coroutine on its own strand: it reads a message, handles it and
// writes the answers before reading the next, so a client that does not read its results stops
// being read (backpressure) and a connection's messages are answered in order. Statements run on
// a small query thread pool, never on the I/O thread, because table scans read the log and
// INSERT waits for fsync. Asio stays out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace eddy::sql {
class Engine;
}
namespace eddy::net {
class ReceiveBudget;
}

namespace eddy::pgwire {

struct PgServerOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 6875;  // 0 = any free port
  int io_threads = 1;
  // Statements run on a pool that keeps `query_threads` threads and starts more as statements
  // run at once, up to `max_query_threads`: a short statement never waits behind long ones
  // while fewer than that many run.
  int query_threads = 2;
  int max_query_threads = 64;
  int64_t max_message_bytes = 64 * 1024 * 1024;
  // A connection that has not completed its startup (startup packet, parameters) by then is
  // closed, like PostgreSQL's authentication_timeout.
  int64_t startup_timeout_ms = 60000;
  // A message whose bytes stop arriving for this long closes its connection; so does a client
  // that reads none of a statement's results for this long (the statement ends and frees its
  // query thread).
  int64_t stall_timeout_ms = 60000;
  // Memory all connections may hold for messages still arriving (shared with the Kafka
  // listener by `eddy serve`); null: the server keeps a budget of its own, of 256 MiB.
  std::shared_ptr<net::ReceiveBudget> receive_budget;
};

class PgServer {
 public:
  static Result<std::unique_ptr<PgServer>> start(PgServerOptions options, sql::Engine& engine);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int bound_port() const;
  // Stops accepting, closes connections, waits for running statements, joins the threads.
  void stop();

  class Impl;

 private:
  explicit PgServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eddy::pgwire

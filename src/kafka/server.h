// The Kafka listener: accepts TCP connections and serves the Kafka protocol on them.
//
// Each connection reads size-prefixed requests, hands each to its API handler and writes the
// responses back in request order, while later requests are already being handled (pipelining:
// a producer's next batch is appended while the previous one waits for its fsync). A connection
// stops reading while the responses it owes exceed a memory budget. Malformed input closes only
// that connection, with one log line.
//
// Only Connection::read_requests and Connection::pump_writes touch the socket, and request
// handling sees frames, not the socket: TLS (an ssl::stream in place of the socket) and SASL (an
// authentication step before the first request is dispatched) fit there without changes to the
// handlers. Asio stays out of this header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "kafka/protocol.h"

namespace eddy::storage {
class LogManager;
}
namespace eddy::groups {
class GroupCoordinator;
}
namespace eddy::net {
class ReceiveBudget;
}

namespace eddy::kafka {

struct KafkaServerOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 9092;        // 0 = any free port
  std::string advertise_host{};  // empty: the listen host
  int advertise_port = 0;        // 0: the bound port
  std::string cluster_id{};
  int threads = 2;
  int64_t max_request_bytes = 100 * 1024 * 1024;  // socket.request.max.bytes
  int64_t max_inflight_bytes = 64 * 1024 * 1024;  // per connection, responses owed
  int64_t idle_timeout_ms = 600000;               // connections.max.idle.ms
  int64_t stall_timeout_ms = 60000;  // a request whose bytes stop arriving closes its connection
  bool auto_create_topics = true;
  int32_t default_partitions = 1;
  // Serves the group and offset APIs; without it they answer COORDINATOR_NOT_AVAILABLE.
  groups::GroupCoordinator* groups = nullptr;
  // Memory all connections may hold for requests still arriving (shared with the pgwire
  // listener by `eddy serve`); null: the server keeps a budget of its own, of 256 MiB.
  std::shared_ptr<net::ReceiveBudget> receive_budget;
};

class KafkaServer {
 public:
  // Binds and starts serving on background threads.
  static Result<std::unique_ptr<KafkaServer>> start(KafkaServerOptions options,
                                                    storage::LogManager& log);
  ~KafkaServer();
  KafkaServer(const KafkaServer&) = delete;
  KafkaServer& operator=(const KafkaServer&) = delete;

  int bound_port() const;
  // Stops accepting, closes connections, joins the threads.
  void stop();

  class Impl;

 private:
  explicit KafkaServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eddy::kafka

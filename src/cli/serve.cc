#include "cli/serve.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "cli/logging.h"
#include "groups/group_coordinator.h"
#include "kafka/server.h"
#include "net/receive_budget.h"
#include "pgwire/server.h"
#include "sql/session.h"
#include "storage/log_manager.h"
#include "stream/stream_engine.h"

namespace eddy::cli {
namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

storage::TopicConfig storage_defaults(const ServeConfig& config) {
  storage::TopicConfig defaults;
  defaults.segment_bytes = config.segment_bytes;
  defaults.segment_ms = config.segment_ms;
  defaults.retention_ms = config.retention_ms;
  defaults.retention_bytes = config.retention_bytes;
  defaults.flush_messages = config.flush_messages;
  defaults.flush_ms = config.flush_ms;
  return defaults;
}

}  // namespace

int run_serve(const ServeConfig& config) {
  init_logging(config.log_level);  // synchronous logger: starts no thread

  // Blocked before any thread exists so every thread created below inherits the mask and the
  // signals stay pending until sigwait() collects them.
  const sigset_t signals = shutdown_signals();
  if (int rc = pthread_sigmask(SIG_BLOCK, &signals, nullptr); rc != 0) {
    spdlog::error("cannot block shutdown signals: {}", std::strerror(rc));
    return 1;
  }

  if (!config.config_file.empty()) spdlog::info("config file {}", config.config_file);
  for (const auto& spec : serve_options())
    spdlog::debug("{} = {}", spec.name, spec.show(config));

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data dir {}: {}", config.data_dir, ec.message());
    return 1;
  }

  auto storage = storage::LogManager::open(storage::LogManagerOptions{
      .data_dir = config.data_dir,
      .defaults = storage_defaults(config),
      .max_open_files = static_cast<size_t>(config.max_open_files),
      .retention_check_interval_ms = config.retention_check_interval_ms,
      .producer_id_expiration_ms = config.producer_id_expiration_ms,
      .disk_reserve_bytes = static_cast<uint64_t>(config.disk_reserve_bytes),
  });
  if (!storage.ok()) {
    spdlog::error("cannot open storage: {}", storage.error().message());
    return 1;
  }

  auto listen = parse_host_port(config.kafka_listen);
  auto pg_listen = parse_host_port(config.pg_listen);
  if (!pg_listen) {
    spdlog::error("pg-listen '{}' is not HOST:PORT", config.pg_listen);
    return 2;
  }
  if (!listen) {
    spdlog::error("kafka-listen '{}' is not HOST:PORT", config.kafka_listen);
    return 2;
  }
  std::optional<std::pair<std::string, int>> advertise;
  if (!config.kafka_advertise.empty()) {
    advertise = parse_host_port(config.kafka_advertise);
    if (!advertise) {
      spdlog::error("kafka-advertise '{}' is not HOST:PORT", config.kafka_advertise);
      return 2;
    }
  }
  auto cluster_id = (*storage)->cluster_id();
  if (!cluster_id.ok()) {
    spdlog::error("cannot read the cluster id: {}", cluster_id.error().message());
    return 1;
  }
  if (config.group_min_session_timeout_ms > config.group_max_session_timeout_ms) {
    spdlog::error("group-min-session-timeout-ms ({}) exceeds group-max-session-timeout-ms ({})",
                  config.group_min_session_timeout_ms, config.group_max_session_timeout_ms);
    return 2;
  }
  auto coordinator = groups::GroupCoordinator::open(
      **storage,
      groups::CoordinatorOptions{
          .offsets_partitions = static_cast<int32_t>(config.offsets_topic_num_partitions),
          .min_session_timeout_ms = config.group_min_session_timeout_ms,
          .max_session_timeout_ms = config.group_max_session_timeout_ms,
          .initial_rebalance_delay_ms = config.group_initial_rebalance_delay_ms,
          .offsets_retention_ms = config.offsets_retention_minutes * 60 * 1000,
          .retention_check_interval_ms = config.offsets_retention_check_interval_ms,
      });
  if (!coordinator.ok()) {
    spdlog::error("cannot start the group coordinator: {}", coordinator.error().message());
    return 1;
  }
  auto receive_budget =
      std::make_shared<net::ReceiveBudget>(static_cast<size_t>(config.receive_buffer_max_bytes));
  auto kafka = kafka::KafkaServer::start(
      kafka::KafkaServerOptions{
          .listen_host = listen->first,
          .listen_port = listen->second,
          .advertise_host = advertise ? advertise->first : "",
          .advertise_port = advertise ? advertise->second : 0,
          .cluster_id = *cluster_id,
          .max_request_bytes = config.socket_request_max_bytes,
          .auto_create_topics = config.auto_create_topics == "true",
          .default_partitions = static_cast<int32_t>(config.num_partitions),
          .groups = coordinator->get(),
          .receive_budget = receive_budget,
      },
      **storage);
  if (!kafka.ok()) {
    spdlog::error("cannot start the Kafka listener: {}", kafka.error().message());
    return 1;
  }

  auto engine = sql::Engine::open(sql::EngineOptions{
      .log = storage->get(),
      .data_dir = config.data_dir,
      .default_partitions = static_cast<int32_t>(config.num_partitions),
  });
  if (!engine.ok()) {
    spdlog::error("cannot open the SQL catalog: {}", engine.error().message());
    return 1;
  }
  auto stream = stream::StreamEngine::open(stream::StreamOptions{
      .log = storage->get(),
      .state_dir = (std::filesystem::path(config.data_dir) / "state").string(),
      .cache_bytes = static_cast<size_t>(config.state_cache_bytes),
      .checkpoint_interval_ms = config.view_checkpoint_interval_ms,
      .poll_interval_ms = config.view_poll_interval_ms,
      .workers = static_cast<int>(config.stream_workers),
  });
  if (!stream.ok()) {
    spdlog::error("cannot open the stream state: {}", stream.error().message());
    return 1;
  }
  (*engine)->set_view_host(stream->get());
  if (auto started = (*engine)->start_views(); !started.ok()) {
    // Serving goes on: the log and the other views are fine, and the views named can be dropped.
    spdlog::error("{}", started.error().message);
  }
  auto pg = pgwire::PgServer::start(
      pgwire::PgServerOptions{
          .listen_host = pg_listen->first,
          .listen_port = pg_listen->second,
          .max_message_bytes = config.pg_max_message_bytes,
          .startup_timeout_ms = config.pg_startup_timeout_ms,
          .stall_timeout_ms = config.pg_stall_timeout_ms,
          .receive_budget = receive_budget,
      },
      **engine);
  if (!pg.ok()) {
    spdlog::error("cannot start the pgwire listener: {}", pg.error().message());
    return 1;
  }

  spdlog::info("eddy serving, data dir {}, kafka on {}:{}", config.data_dir, listen->first,
               (*kafka)->bound_port());

  int signal_number = 0;
  if (int rc = sigwait(&signals, &signal_number); rc != 0) {
    spdlog::error("sigwait failed: {}", std::strerror(rc));
    return 1;
  }
  spdlog::info("received {}, shutting down", strsignal(signal_number));

  // Order matters: stop taking requests, then flush storage (its durability callbacks post into
  // the stopped server, which is destroyed only after storage has drained them).
  // SQL statements may be appending or scanning: finish them before storage closes.
  (*pg)->stop();
  (*kafka)->stop();
  // Waiting JoinGroup/SyncGroup answers hold connections; drop them before storage closes.
  (*coordinator)->close();
  // Views finish their step (ending in a checkpoint) and RocksDB closes before storage does.
  (*engine)->set_view_host(nullptr);
  (*stream)->stop();
  if (Status closed = (*storage)->close(); !closed.ok()) {
    spdlog::error("storage did not close cleanly: {}", closed.error().message());
    return 1;
  }

  spdlog::info("shutdown complete");
  return 0;
}

}  // namespace eddy::cli

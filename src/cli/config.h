// Settings for `eddy serve` and the one place that merges them from their four sources.
//
// Every option is described once in serve_options(); the command-line flag, the YAML key and the
// environment variable are all derived from its name, so adding a setting is one field in
// ServeConfig plus one row in the table. Precedence: command line > environment > config file >
// default. Loading is separated from CLI11 and the real environment so tests can drive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace eddy::cli {

struct ServeConfig {
  std::string data_dir = "./eddy-data";
  std::string log_level = "info";  // trace|debug|info|warn|error
  // Path of the YAML file the values were read from; empty when none was used.
  std::string config_file;

  // Storage engine. -1 means "unlimited" for retention and "unset" for flush-ms.
  int64_t segment_bytes = 1073741824;
  int64_t segment_ms = 604800000;
  int64_t retention_ms = 604800000;
  int64_t retention_bytes = -1;
  int64_t flush_messages = 1;
  int64_t flush_ms = -1;
  int64_t max_open_files = 256;
  int64_t retention_check_interval_ms = 60000;
  // Kafka's producer.id.expiration.ms and transactional.id.expiration.ms (the latter is accepted
  // for configuration parity; it takes effect once transactions exist).
  int64_t producer_id_expiration_ms = 86400000;
  int64_t disk_reserve_bytes = 16 << 20;
  int64_t transactional_id_expiration_ms = 604800000;

  // Group coordinator (Kafka's names, dashed).
  int64_t group_initial_rebalance_delay_ms = 3000;
  int64_t group_min_session_timeout_ms = 6000;
  int64_t group_max_session_timeout_ms = 1800000;
  int64_t offsets_topic_num_partitions = 1;
  int64_t offsets_retention_minutes = 10080;
  int64_t offsets_retention_check_interval_ms = 600000;

  // Kafka listener. kafka_advertise empty = the listen address.
  std::string kafka_listen = "127.0.0.1:9092";
  std::string kafka_advertise;
  std::string auto_create_topics = "true";
  int64_t num_partitions = 1;
  int64_t socket_request_max_bytes = 104857600;

  // PostgreSQL wire protocol listener (SQL).
  std::string pg_listen = "127.0.0.1:6875";
  int64_t pg_max_message_bytes = 67108864;
  int64_t pg_startup_timeout_ms = 60000;
  int64_t pg_stall_timeout_ms = 60000;

  // Both listeners: memory all connections together may hold for requests still arriving.
  int64_t receive_buffer_max_bytes = 268435456;  // net::kDefaultReceiveBudgetBytes

  // Stream engine (materialized views).
  int64_t state_cache_bytes = 67108864;
  int64_t view_checkpoint_interval_ms = 100;
  int64_t view_poll_interval_ms = 20;
  int64_t stream_workers = 2;
};

// Splits "HOST:PORT" (an IPv6 host may be in brackets); nullopt when malformed.
std::optional<std::pair<std::string, int>> parse_host_port(const std::string& text);

// One settable option. `name` is the dashed spelling: flag --<name>, YAML key <name>,
// environment variable EDDY_<NAME_WITH_UNDERSCORES>.
struct OptionSpec {
  std::string name;
  std::string help;
  // Parses `text` into the config, or explains why it is not acceptable (without naming the
  // source; the loader adds that).
  std::function<Status(ServeConfig&, const std::string& text)> parse;
  // Renders the current value, for --help defaults and the startup log.
  std::function<std::string(const ServeConfig&)> show;
};

const std::vector<OptionSpec>& serve_options();

// "data-dir" -> "EDDY_DATA_DIR".
std::string env_var_name(std::string_view option_name);

// The config file itself is chosen by --config, else EDDY_CONFIG; it cannot name itself.
inline constexpr const char* kConfigFlag = "config";

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads the real process environment.
std::optional<std::string> process_env(const std::string& name);

struct ConfigSources {
  // Option name (dashed, no leading "--") -> raw command-line text, only for flags given.
  std::map<std::string, std::string> flags;
  // --config value, if given.
  std::optional<std::string> config_path;
  EnvLookup env = process_env;
};

// Errors are kInvalidArgument (unknown key, bad value, malformed YAML) or kNotFound (missing
// config file); messages name the file, key, flag or variable at fault.
Result<ServeConfig> load_serve_config(const ConfigSources& sources);

// Applies a YAML document (already read into memory) on top of `config`. `origin` names the
// document in errors. Exposed for tests.
Status apply_yaml_config(ServeConfig& config, const std::string& yaml_text,
                         const std::string& origin);

}  // namespace eddy::cli

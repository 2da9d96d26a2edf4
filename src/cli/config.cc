#include "cli/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace eddy::cli {

// Splits "host:port" (IPv6 hosts in brackets); empty result on malformed input.
std::optional<std::pair<std::string, int>> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    port = port * 10 + (text[i] - '0');
    if (port > 65535) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  return std::make_pair(host, port);
}

namespace {

Error invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

// The field helpers turn a member pointer plus its validation rule into the parse/show pair of an
// OptionSpec, which is what keeps each table row to a single line.
struct Field {
  std::function<Status(ServeConfig&, const std::string&)> parse;
  std::function<std::string(const ServeConfig&)> show;
};

Field string_field(std::string ServeConfig::*member) {
  return {[member](ServeConfig& c, const std::string& text) -> Status {
            if (text.empty()) return invalid("must not be empty");
            c.*member = text;
            return ok_status();
          },
          [member](const ServeConfig& c) { return c.*member; }};
}

// HOST:PORT; empty is allowed only for optional addresses.
Field host_port_field(std::string ServeConfig::*member, bool optional) {
  return {[member, optional](ServeConfig& c, const std::string& text) -> Status {
            if (!(optional && text.empty()) && !parse_host_port(text)) {
              return invalid("must be HOST:PORT");
            }
            c.*member = text;
            return ok_status();
          },
          [member](const ServeConfig& c) { return c.*member; }};
}

Field choice_field(std::string ServeConfig::*member, std::vector<std::string> choices) {
  return {[member, choices](ServeConfig& c, const std::string& text) -> Status {
            for (const auto& choice : choices) {
              if (text == choice) {
                c.*member = text;
                return ok_status();
              }
            }
            std::string list;
            for (const auto& choice : choices)
              list += (list.empty() ? "" : "|") + choice;
            return invalid("must be one of " + list);
          },
          [member](const ServeConfig& c) { return c.*member; }};
}

Field int_field(int64_t ServeConfig::*member, int64_t min,
                int64_t max = std::numeric_limits<int64_t>::max()) {
  return {
      [member, min, max](ServeConfig& c, const std::string& text) -> Status {
        int64_t value = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (ec == std::errc::result_out_of_range) return invalid("is out of range");
        if (ec != std::errc() || ptr != end || text.empty()) {
          return invalid("must be an integer");
        }
        if (value < min || value > max) {
          return invalid("must be between " + std::to_string(min) + " and " + std::to_string(max));
        }
        c.*member = value;
        return ok_status();
      },
      [member](const ServeConfig& c) { return std::to_string(c.*member); }};
}

OptionSpec option(std::string name, std::string help, Field field) {
  return {std::move(name), std::move(help), std::move(field.parse), std::move(field.show)};
}

const OptionSpec* find_option(const std::string& name) {
  for (const auto& spec : serve_options()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status apply_value(ServeConfig& config, const OptionSpec& spec, const std::string& text,
                   const std::string& source) {
  Status status = spec.parse(config, text);
  if (status.ok()) return status;
  return invalid(source + ": invalid value '" + text + "' for " + spec.name + ": " +
                 status.error().message());
}

}  // namespace

const std::vector<OptionSpec>& serve_options() {
  using C = ServeConfig;
  static const std::vector<OptionSpec> kOptions = {
      option("data-dir", "Directory holding all durable state", string_field(&C::data_dir)),
      option("log-level", "Log verbosity",
             choice_field(&C::log_level, {"trace", "debug", "info", "warn", "error"})),
      option("segment-bytes", "Roll a log segment once it reaches this size",
             int_field(&C::segment_bytes, 14, 2147483647)),
      option("segment-ms", "Roll a log segment once it is this old", int_field(&C::segment_ms, 1)),
      option("retention-ms", "Delete segments older than this (-1 = unlimited)",
             int_field(&C::retention_ms, -1)),
      option("retention-bytes", "Cap on partition size before old segments go (-1 = unlimited)",
             int_field(&C::retention_bytes, -1)),
      option("flush-messages", "fsync after this many appended messages",
             int_field(&C::flush_messages, 1)),
      option("flush-ms", "fsync at least this often (-1 = unset)", int_field(&C::flush_ms, -1)),
      option("max-open-files", "Upper bound on segment files kept open",
             int_field(&C::max_open_files, 1)),
      option("retention-check-interval-ms", "How often retention is enforced",
             int_field(&C::retention_check_interval_ms, 1)),
      option("group-initial-rebalance-delay-ms",
             "How long an empty group's first rebalance waits for more members",
             int_field(&C::group_initial_rebalance_delay_ms, 0, 300000)),
      option("group-min-session-timeout-ms", "Smallest session timeout a consumer may ask for",
             int_field(&C::group_min_session_timeout_ms, 1, 3600000)),
      option("group-max-session-timeout-ms", "Largest session timeout a consumer may ask for",
             int_field(&C::group_max_session_timeout_ms, 1, 86400000)),
      option("offsets-topic-num-partitions",
             "Partitions of __consumer_offsets when it is created (fixed afterwards)",
             int_field(&C::offsets_topic_num_partitions, 1, 1000)),
      option("offsets-retention-minutes",
             "Committed offsets of an empty group are deleted after this long",
             int_field(&C::offsets_retention_minutes, 1)),
      option("offsets-retention-check-interval-ms", "How often expired offsets are looked for",
             int_field(&C::offsets_retention_check_interval_ms, 1)),
      option("producer-id-expiration-ms",
             "Forget an idempotent producer's state after this long without a write",
             int_field(&C::producer_id_expiration_ms, 1, 2147483647)),
      option("disk-reserve-bytes",
             "Space held back in the data directory so deletions work on a full disk (0 = none)",
             int_field(&C::disk_reserve_bytes, 0)),
      option("transactional-id-expiration-ms",
             "Expiry of idle transactional ids (accepted; transactions are not supported yet)",
             int_field(&C::transactional_id_expiration_ms, 1, 2147483647)),
      option("kafka-listen", "HOST:PORT the Kafka protocol listens on (port 0 = any free port)",
             host_port_field(&C::kafka_listen, false)),
      option("kafka-advertise", "HOST:PORT clients are told to connect to (default: listen)",
             host_port_field(&C::kafka_advertise, true)),
      option("auto-create-topics", "Create unknown topics when clients ask for their metadata",
             choice_field(&C::auto_create_topics, {"true", "false"})),
      option("num-partitions", "Partitions of automatically created topics",
             int_field(&C::num_partitions, 1, 100000)),
      option("socket-request-max-bytes", "Largest Kafka request accepted",
             int_field(&C::socket_request_max_bytes, 1024, 1073741824)),
      option("pg-listen",
             "HOST:PORT the PostgreSQL wire protocol listens on (port 0 = any free port)",
             host_port_field(&C::pg_listen, false)),
      option("pg-max-message-bytes", "Largest PostgreSQL protocol message accepted",
             int_field(&C::pg_max_message_bytes, 1024, 1073741824)),
      option("pg-startup-timeout-ms",
             "Close a PostgreSQL connection that has not completed its startup by then",
             int_field(&C::pg_startup_timeout_ms, 1, 3600000)),
      option("pg-stall-timeout-ms",
             "Close a PostgreSQL connection whose message stops arriving, or that reads none "
             "of its results, for this long",
             int_field(&C::pg_stall_timeout_ms, 1, 3600000)),
      option("receive-buffer-max-bytes",
             "Memory all connections together may hold for requests whose bytes are still "
             "arriving (readers wait beyond it)",
             int_field(&C::receive_buffer_max_bytes, 1048576, int64_t{1} << 40)),
      option("state-cache-bytes",
             "Aggregate state a materialized view keeps in memory (the rest is in RocksDB)",
             int_field(&C::state_cache_bytes, 0, int64_t{1} << 40)),
      option("view-checkpoint-interval-ms",
             "Longest run of view processing between two checkpoints of state and positions",
             int_field(&C::view_checkpoint_interval_ms, 1, 3600000)),
      option("view-poll-interval-ms",
             "Longest wait of idle views between looks for new source records (new records wake "
             "them at once)",
             int_field(&C::view_poll_interval_ms, 1, 60000)),
      option("stream-workers", "Threads that run materialized views",
             int_field(&C::stream_workers, 1, 64)),
  };
  return kOptions;
}

std::string env_var_name(std::string_view option_name) {
  std::string out = "EDDY_";
  for (char ch : option_name) {
    out += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return out;
}

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Status apply_yaml_config(ServeConfig& config, const std::string& yaml_text,
                         const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return invalid(origin + ": malformed YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                   e.msg);
  }
  if (!root || root.IsNull()) return ok_status();  // empty file: nothing to override
  if (!root.IsMap()) return invalid(origin + ": top level must be a mapping of key: value");

  std::set<std::string> seen;
  for (const auto& entry : root) {
    const std::string where = origin + ":" + std::to_string(entry.first.Mark().line + 1);
    if (!entry.first.IsScalar()) return invalid(where + ": keys must be plain strings");
    const std::string key = entry.first.Scalar();
    const OptionSpec* spec = find_option(key);
    if (spec == nullptr) return invalid(where + ": unknown key '" + key + "'");
    if (!seen.insert(key).second) return invalid(where + ": duplicate key '" + key + "'");
    if (!entry.second.IsScalar()) {
      return invalid(where + ": key '" + key + "' must have a single scalar value");
    }
    RETURN_IF_ERROR(apply_value(config, *spec, entry.second.Scalar(), where));
  }
  return ok_status();
}

Result<ServeConfig> load_serve_config(const ConfigSources& sources) {
  ServeConfig config;

  std::optional<std::string> path = sources.config_path;
  std::string path_source = "--config";
  if (!path) {
    path = sources.env(env_var_name(kConfigFlag));
    path_source = env_var_name(kConfigFlag);
  }
  if (path) {
    if (path->empty()) return invalid(path_source + ": config file path is empty");
    std::ifstream in(*path);
    if (!in) {
      return Error(ErrorCode::kNotFound,
                   "config file '" + *path + "' (from " + path_source + ") cannot be opened");
    }
    std::stringstream text;
    text << in.rdbuf();
    RETURN_IF_ERROR(apply_yaml_config(config, text.str(), "config file " + *path));
    config.config_file = *path;
  }

  for (const auto& spec : serve_options()) {
    const std::string var = env_var_name(spec.name);
    if (auto value = sources.env(var)) {
      RETURN_IF_ERROR(apply_value(config, spec, *value, "environment variable " + var));
    }
  }

  for (const auto& [name, text] : sources.flags) {
    const OptionSpec* spec = find_option(name);
    if (spec == nullptr) return invalid("unknown option --" + name);
    RETURN_IF_ERROR(apply_value(config, *spec, text, "--" + name));
  }
  return config;
}

}  // namespace eddy::cli

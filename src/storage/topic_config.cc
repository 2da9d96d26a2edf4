#include "storage/topic_config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <string_view>

namespace eddy::storage {
namespace {

constexpr int64_t kMaxInt32 = 2147483647;
constexpr int64_t kMaxInt64 = INT64_MAX;

Error bad_value(const std::string& key, const std::string& why) {
  return Error(ErrorCode::kInvalidArgument, "config " + key + ": " + why);
}

// Kafka trims numbers and booleans before parsing them.
std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

Result<int64_t> parse_int(const std::string& key, const std::string& raw, int64_t min,
                          int64_t max) {
  const std::string value = trimmed(raw);
  int64_t parsed = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
  if (ec != std::errc() || ptr != end || value.empty()) {
    return bad_value(key, "'" + raw + "' is not an integer");
  }
  if (parsed < min || parsed > max) {
    return bad_value(
        key, value + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return parsed;
}

Result<bool> parse_bool(const std::string& key, const std::string& raw) {
  std::string value = trimmed(raw);
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (value == "true") return true;
  if (value == "false") return false;
  return bad_value(key, "'" + raw + "' is not true or false");
}

Result<double> parse_double(const std::string& key, const std::string& raw, double min,
                            double max) {
  const std::string value = trimmed(raw);
  double parsed = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
  if (ec != std::errc() || ptr != end || value.empty() || !std::isfinite(parsed)) {
    return bad_value(key, "'" + raw + "' is not a number");
  }
  if (parsed < min || parsed > max) {
    return bad_value(
        key, value + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return parsed;
}

// As Java's Double.toString writes the values a ratio takes: "0.5", "1.0".
std::string show_double(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = s.find(separator);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

// Kafka's form for replication throttles: "*" or partition:broker pairs.
Status check_throttled_replicas(const std::string& key, const std::string& value) {
  const auto items = config_list_items(value);
  if (items.size() == 1 && items[0] == "*") return ok_status();
  for (const auto& item : items) {
    const auto sides = split(item, ':');
    if (sides.size() != 2 || !all_digits(sides[0]) || !all_digits(sides[1])) {
      return bad_value(key, "'" + value + "' is not '*' or a list of partition:broker pairs");
    }
  }
  return ok_status();
}

// The versions Kafka 3.3 names message formats by ("0.10.2", "2.8", "3.0-IV1", ...). Kafka
// reads the first three parts of a 0.x version and the first two of a later one, so "0.10.0.0"
// and "2.8.1" name versions too; the last part it reads may carry "-IV<n>".
bool is_kafka_version(std::string_view text) {
  const auto parts = split(text, '.');
  if (parts.size() < 2 || !all_digits(parts[0])) return false;
  const bool zero = parts[0] == "0";
  const size_t read = zero ? 3 : 2;
  if (parts.size() < read) return false;
  if (zero ? !(parts[1] == "8" || parts[1] == "9" || parts[1] == "10" || parts[1] == "11")
           : !(parts[0] == "1" || parts[0] == "2" || parts[0] == "3")) {
    return false;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    if (i + 1 == read) {
      const size_t iv = part.find("-IV");
      if (iv != std::string_view::npos) {
        if (!all_digits(part.substr(iv + 3))) return false;
        part = part.substr(0, iv);
      }
    }
    if (!all_digits(part)) return false;
  }
  return true;
}

Status check_message_format_version(const std::string& key, const std::string& value) {
  if (is_kafka_version(trimmed(value))) return ok_status();
  return bad_value(key, "'" + value + "' is not a Kafka version such as 3.0-IV1");
}

// How one key is validated, stored and shown. Keys Eddy acts on write a TopicConfig field;
// passive keys only check the value (`check`) and keep its normalized text.
struct Setting {
  TopicConfigKey key;
  std::function<Status(TopicConfig&, const std::string&)> apply{};  // null: passive
  std::function<std::string(const TopicConfig&)> show{};
  std::function<Status(const std::string&)> check{};
  std::string passive_default{};
};

Setting int_setting(const char* key, const char* broker_name, ConfigType type,
                    int64_t TopicConfig::*field, int64_t min, int64_t max) {
  return Setting{.key = {key, type, broker_name, true},
                 .apply = [=](TopicConfig& c, const std::string& v) -> Status {
                   ASSIGN_OR_RETURN(c.*field, parse_int(key, v, min, max));
                   return ok_status();
                 },
                 .show = [=](const TopicConfig& c) { return std::to_string(c.*field); }};
}

Setting passive_int(const char* key, const char* broker_name, ConfigType type, int64_t min,
                    int64_t max, const char* fallback) {
  return Setting{.key = {key, type, broker_name, false},
                 .check = [=](const std::string& v) -> Status {
                   RETURN_IF_ERROR(parse_int(key, v, min, max));
                   return ok_status();
                 },
                 .passive_default = fallback};
}

Setting passive_bool(const char* key, const char* broker_name, const char* fallback) {
  return Setting{.key = {key, ConfigType::kBoolean, broker_name, false},
                 .check = [=](const std::string& v) -> Status {
                   RETURN_IF_ERROR(parse_bool(key, v));
                   return ok_status();
                 },
                 .passive_default = fallback};
}

Setting passive_throttle(const char* key) {
  return Setting{.key = {key, ConfigType::kList, "", false},
                 .check = [=](const std::string& v) { return check_throttled_replicas(key, v); },
                 .passive_default = ""};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = [] {
    std::vector<Setting> s = {
        Setting{.key = {"cleanup.policy", ConfigType::kList, "log.cleanup.policy", true},
                .apply = [](TopicConfig& c, const std::string& v) -> Status {
                  auto items = config_list_items(v);
                  std::sort(items.begin(), items.end());
                  items.erase(std::unique(items.begin(), items.end()), items.end());
                  const std::string set = join_config_list(items);
                  if (set == "delete") {
                    c.cleanup_policy = CleanupPolicy::kDelete;
                  } else if (set == "compact") {
                    c.cleanup_policy = CleanupPolicy::kCompact;
                  } else if (set == "compact,delete") {
                    c.cleanup_policy = CleanupPolicy::kCompactAndDelete;
                  } else {
                    return bad_value("cleanup.policy",
                                     "'" + v + "' is not one of delete, compact, compact,delete");
                  }
                  return ok_status();
                },
                .show = [](const TopicConfig& c) -> std::string {
                  switch (c.cleanup_policy) {
                    case CleanupPolicy::kDelete:
                      return "delete";
                    case CleanupPolicy::kCompact:
                      return "compact";
                    case CleanupPolicy::kCompactAndDelete:
                      return "compact,delete";
                  }
                  return "delete";
                }},
        Setting{.key = {"compression.type", ConfigType::kString, "compression.type", true},
                .apply = [](TopicConfig& c, const std::string& raw) -> Status {
                  static const char* kAllowed[] = {"producer", "uncompressed", "gzip",
                                                   "snappy",   "lz4",          "zstd"};
                  const std::string v = trimmed(raw);
                  for (const char* allowed : kAllowed) {
                    if (v == allowed) {
                      c.compression_type = v;
                      return ok_status();
                    }
                  }
                  return bad_value("compression.type",
                                   "'" + raw +
                                       "' is not one of producer, uncompressed, gzip, snappy, "
                                       "lz4, zstd");
                },
                .show = [](const TopicConfig& c) { return c.compression_type; }},
        int_setting("delete.retention.ms", "log.cleaner.delete.retention.ms", ConfigType::kLong,
                    &TopicConfig::delete_retention_ms, 0, kMaxInt64),
        // Eddy's FileDeleter shrinks and removes files once no reader holds them.
        passive_int("file.delete.delay.ms", "log.segment.delete.delay.ms", ConfigType::kLong, 0,
                    kMaxInt64, "60000"),
        int_setting("flush.messages", "log.flush.interval.messages", ConfigType::kLong,
                    &TopicConfig::flush_messages, 1, kMaxInt64),
        int_setting("flush.ms", "log.flush.interval.ms", ConfigType::kLong, &TopicConfig::flush_ms,
                    -1, kMaxInt64),
        passive_throttle("follower.replication.throttled.replicas"),
        int_setting("index.interval.bytes", "log.index.interval.bytes", ConfigType::kInt,
                    &TopicConfig::index_interval_bytes, 0, kMaxInt32),
        passive_throttle("leader.replication.throttled.replicas"),
        // Compaction runs on its own schedule over every sealed segment.
        passive_int("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", ConfigType::kLong,
                    1, kMaxInt64, "9223372036854775807"),
        int_setting("max.message.bytes", "message.max.bytes", ConfigType::kInt,
                    &TopicConfig::max_message_bytes, 0, kMaxInt32),
        // Eddy stores and serves only the v2 record format.
        passive_bool("message.downconversion.enable", "log.message.downconversion.enable", "true"),
        Setting{.key = {"message.format.version", ConfigType::kString, "log.message.format.version",
                        false},
                .check =
                    [](const std::string& v) {
                      return check_message_format_version("message.format.version", v);
                    },
                .passive_default = "3.0-IV1"},
        int_setting("message.timestamp.difference.max.ms",
                    "log.message.timestamp.difference.max.ms", ConfigType::kLong,
                    &TopicConfig::message_timestamp_difference_max_ms, 0, kMaxInt64),
        Setting{.key = {"message.timestamp.type", ConfigType::kString, "log.message.timestamp.type",
                        true},
                .apply = [](TopicConfig& c, const std::string& raw) -> Status {
                  const std::string v = trimmed(raw);
                  if (v == "CreateTime") {
                    c.message_timestamp_type = TimestampType::kCreateTime;
                  } else if (v == "LogAppendTime") {
                    c.message_timestamp_type = TimestampType::kLogAppendTime;
                  } else {
                    return bad_value("message.timestamp.type",
                                     "'" + raw + "' is not CreateTime or LogAppendTime");
                  }
                  return ok_status();
                },
                .show = [](const TopicConfig& c) -> std::string {
                  return c.message_timestamp_type == TimestampType::kCreateTime ? "CreateTime"
                                                                                : "LogAppendTime";
                }},
        Setting{.key = {"min.cleanable.dirty.ratio", ConfigType::kDouble,
                        "log.cleaner.min.cleanable.ratio", false},
                .check = [](const std::string& v) -> Status {
                  RETURN_IF_ERROR(parse_double("min.cleanable.dirty.ratio", v, 0, 1));
                  return ok_status();
                },
                .passive_default = "0.5"},
        int_setting("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", ConfigType::kLong,
                    &TopicConfig::min_compaction_lag_ms, 0, kMaxInt64),
        // One node holds the only replica: every acknowledged write is on all in-sync replicas.
        passive_int("min.insync.replicas", "min.insync.replicas", ConfigType::kInt, 1, kMaxInt32,
                    "1"),
        passive_bool("preallocate", "log.preallocate", "false"),
        int_setting("retention.bytes", "log.retention.bytes", ConfigType::kLong,
                    &TopicConfig::retention_bytes, -1, kMaxInt64),
        int_setting("retention.ms", "log.retention.ms", ConfigType::kLong,
                    &TopicConfig::retention_ms, -1, kMaxInt64),
        // Segments store positions as 32-bit values, so a segment stays below 2 GiB.
        int_setting("segment.bytes", "log.segment.bytes", ConfigType::kInt,
                    &TopicConfig::segment_bytes, 14, kMaxInt32),
        // Eddy's indexes grow with their segment instead of being preallocated.
        passive_int("segment.index.bytes", "log.index.size.max.bytes", ConfigType::kInt, 4,
                    kMaxInt32, "10485760"),
        passive_int("segment.jitter.ms", "log.roll.jitter.ms", ConfigType::kLong, 0, kMaxInt64,
                    "0"),
        int_setting("segment.ms", "log.roll.ms", ConfigType::kLong, &TopicConfig::segment_ms, 1,
                    kMaxInt64),
        // There is no other replica to elect.
        passive_bool("unclean.leader.election.enable", "unclean.leader.election.enable", "false"),
    };
    return s;
  }();
  return all;
}

const Setting* find_setting(const std::string& key) {
  for (const auto& s : settings()) {
    if (key == s.key.name) return &s;
  }
  return nullptr;
}

Error unknown_key(const std::string& key) {
  return Error(ErrorCode::kInvalidArgument, "unknown topic config '" + key + "'");
}

}  // namespace

std::vector<std::string> config_list_items(const std::string& value) {
  std::vector<std::string> items;
  const std::string all = trimmed(value);
  if (all.empty()) return items;
  size_t start = 0;
  for (;;) {
    const size_t comma = all.find(',', start);
    items.push_back(trimmed(all.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

std::string join_config_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ",") + item;
  return out;
}

Result<std::string> check_typed_value(const std::string& key, ConfigType type,
                                      const std::string& value) {
  switch (type) {
    case ConfigType::kBoolean: {
      ASSIGN_OR_RETURN(bool parsed, parse_bool(key, value));
      return std::string(parsed ? "true" : "false");
    }
    case ConfigType::kShort: {
      ASSIGN_OR_RETURN(int64_t parsed, parse_int(key, value, INT16_MIN, INT16_MAX));
      return std::to_string(parsed);
    }
    case ConfigType::kInt: {
      ASSIGN_OR_RETURN(int64_t parsed, parse_int(key, value, INT32_MIN, INT32_MAX));
      return std::to_string(parsed);
    }
    case ConfigType::kLong: {
      ASSIGN_OR_RETURN(int64_t parsed, parse_int(key, value, INT64_MIN, INT64_MAX));
      return std::to_string(parsed);
    }
    case ConfigType::kDouble: {
      ASSIGN_OR_RETURN(double parsed, parse_double(key, value, -HUGE_VAL, HUGE_VAL));
      return show_double(parsed);
    }
    case ConfigType::kList:
      return join_config_list(config_list_items(value));
    case ConfigType::kString:
    case ConfigType::kClass:
      return trimmed(value);
    case ConfigType::kPassword:
      return value;
  }
  return value;
}

std::shared_ptr<const ConfigMap> TopicConfig::passive_defaults() {
  static const auto defaults = [] {
    auto map = std::make_shared<ConfigMap>();
    for (const auto& s : settings()) {
      if (!s.apply) (*map)[s.key.name] = s.passive_default;
    }
    return std::shared_ptr<const ConfigMap>(std::move(map));
  }();
  return defaults;
}

Result<TopicConfig> TopicConfig::resolve(const TopicConfig& base, const ConfigMap& overrides) {
  TopicConfig config = base;
  std::shared_ptr<ConfigMap> passive;  // made on the first passive override
  for (const auto& [key, value] : overrides) {
    const Setting* setting = find_setting(key);
    if (setting == nullptr) return unknown_key(key);
    if (setting->apply) {
      RETURN_IF_ERROR(setting->apply(config, value));
    } else {
      RETURN_IF_ERROR(setting->check(value));
      if (!passive) passive = std::make_shared<ConfigMap>(*config.passive);
      (*passive)[key] = normalize(key, value);
    }
  }
  if (passive) config.passive = std::move(passive);
  return config;
}

Status TopicConfig::validate(const std::string& key, const std::string& value) {
  const Setting* setting = find_setting(key);
  if (setting == nullptr) return unknown_key(key);
  if (!setting->apply) return setting->check(value);
  TopicConfig scratch;
  return setting->apply(scratch, value);
}

std::string TopicConfig::normalize(const std::string& key, const std::string& value) {
  const Setting* setting = find_setting(key);
  if (setting == nullptr) return value;
  auto normalized = check_typed_value(key, setting->key.type, value);
  return normalized.ok() ? *normalized : value;
}

ConfigMap TopicConfig::normalize_all(const ConfigMap& overrides) {
  ConfigMap normalized;
  for (const auto& [key, value] : overrides)
    normalized[key] = normalize(key, value);
  return normalized;
}

ConfigMap TopicConfig::to_map() const {
  ConfigMap map = *passive;
  for (const auto& s : settings()) {
    if (s.show) map[s.key.name] = s.show(*this);
  }
  return map;
}

const std::vector<TopicConfigKey>& TopicConfig::keys() {
  static const std::vector<TopicConfigKey> keys = [] {
    std::vector<TopicConfigKey> k;
    for (const auto& s : settings())
      k.push_back(s.key);
    return k;
  }();
  return keys;
}

const TopicConfigKey* TopicConfig::find_key(const std::string& name) {
  for (const auto& k : keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const TopicConfigKey* TopicConfig::find_by_broker_name(const std::string& broker_name) {
  if (broker_name.empty()) return nullptr;
  for (const auto& k : keys()) {
    if (k.broker_name == broker_name) return &k;
  }
  return nullptr;
}

}  // namespace eddy::storage

#include "storage/topic_config.h"

#include <charconv>
#include <functional>

namespace eddy::storage {
namespace {

Result<int64_t> parse_int(const std::string& key, const std::string& value, int64_t min,
                          int64_t max) {
  int64_t parsed = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, parsed);
  if (ec != std::errc() || ptr != end || value.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "config " + key + ": '" + value + "' is not an integer");
  }
  if (parsed < min || parsed > max) {
    return Error(ErrorCode::kInvalidArgument, "config " + key + ": " + value + " is outside [" +
                                                  std::to_string(min) + ", " + std::to_string(max) +
                                                  "]");
  }
  return parsed;
}

struct Setting {
  const char* key;
  std::function<Status(TopicConfig&, const std::string&)> apply;
  std::function<std::string(const TopicConfig&)> show;
};

constexpr int64_t kMaxInt32 = 2147483647;
constexpr int64_t kMaxInt64 = INT64_MAX;

Setting int_setting(const char* key, int64_t TopicConfig::*field, int64_t min, int64_t max) {
  return Setting{key,
                 [=](TopicConfig& c, const std::string& v) -> Status {
                   ASSIGN_OR_RETURN(c.*field, parse_int(key, v, min, max));
                   return ok_status();
                 },
                 [=](const TopicConfig& c) { return std::to_string(c.*field); }};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> all = {
      // Segments store positions as 32-bit values, so a segment stays below 2 GiB.
      int_setting("segment.bytes", &TopicConfig::segment_bytes, 14, kMaxInt32),
      int_setting("segment.ms", &TopicConfig::segment_ms, 1, kMaxInt64),
      int_setting("retention.ms", &TopicConfig::retention_ms, -1, kMaxInt64),
      int_setting("retention.bytes", &TopicConfig::retention_bytes, -1, kMaxInt64),
      int_setting("delete.retention.ms", &TopicConfig::delete_retention_ms, 0, kMaxInt64),
      int_setting("min.compaction.lag.ms", &TopicConfig::min_compaction_lag_ms, 0, kMaxInt64),
      int_setting("flush.messages", &TopicConfig::flush_messages, 1, kMaxInt64),
      int_setting("flush.ms", &TopicConfig::flush_ms, -1, kMaxInt64),
      int_setting("max.message.bytes", &TopicConfig::max_message_bytes, 0, kMaxInt32),
      int_setting("index.interval.bytes", &TopicConfig::index_interval_bytes, 0, kMaxInt32),
      Setting{"cleanup.policy",
              [](TopicConfig& c, const std::string& v) -> Status {
                if (v == "delete") {
                  c.cleanup_policy = CleanupPolicy::kDelete;
                } else if (v == "compact") {
                  c.cleanup_policy = CleanupPolicy::kCompact;
                } else if (v == "compact,delete" || v == "delete,compact") {
                  c.cleanup_policy = CleanupPolicy::kCompactAndDelete;
                } else {
                  return Error(ErrorCode::kInvalidArgument,
                               "config cleanup.policy: '" + v +
                                   "' is not one of delete, compact, compact,delete");
                }
                return ok_status();
              },
              [](const TopicConfig& c) -> std::string {
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
      Setting{"compression.type",
              [](TopicConfig& c, const std::string& v) -> Status {
                static const char* kAllowed[] = {"producer", "uncompressed", "gzip",
                                                 "snappy",   "lz4",          "zstd"};
                for (const char* allowed : kAllowed) {
                  if (v == allowed) {
                    c.compression_type = v;
                    return ok_status();
                  }
                }
                return Error(ErrorCode::kInvalidArgument,
                             "config compression.type: '" + v +
                                 "' is not one of producer, uncompressed, gzip, snappy, lz4, "
                                 "zstd");
              },
              [](const TopicConfig& c) { return c.compression_type; }},
      Setting{"message.timestamp.type",
              [](TopicConfig& c, const std::string& v) -> Status {
                if (v == "CreateTime") {
                  c.message_timestamp_type = TimestampType::kCreateTime;
                } else if (v == "LogAppendTime") {
                  c.message_timestamp_type = TimestampType::kLogAppendTime;
                } else {
                  return Error(ErrorCode::kInvalidArgument,
                               "config message.timestamp.type: '" + v +
                                   "' is not CreateTime or LogAppendTime");
                }
                return ok_status();
              },
              [](const TopicConfig& c) -> std::string {
                return c.message_timestamp_type == TimestampType::kCreateTime ? "CreateTime"
                                                                              : "LogAppendTime";
              }},
  };
  return all;
}

const Setting* find_setting(const std::string& key) {
  for (const auto& s : settings()) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

}  // namespace

Result<TopicConfig> TopicConfig::resolve(const TopicConfig& base, const ConfigMap& overrides) {
  TopicConfig config = base;
  for (const auto& [key, value] : overrides) {
    const Setting* setting = find_setting(key);
    if (setting == nullptr) {
      return Error(ErrorCode::kInvalidArgument, "unknown topic config '" + key + "'");
    }
    RETURN_IF_ERROR(setting->apply(config, value));
  }
  return config;
}

Status TopicConfig::validate(const std::string& key, const std::string& value) {
  TopicConfig scratch;
  const Setting* setting = find_setting(key);
  if (setting == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "unknown topic config '" + key + "'");
  }
  return setting->apply(scratch, value);
}

ConfigMap TopicConfig::to_map() const {
  ConfigMap map;
  for (const auto& s : settings())
    map[s.key] = s.show(*this);
  return map;
}

const std::vector<std::string>& TopicConfig::known_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& s : settings())
      k.emplace_back(s.key);
    return k;
  }();
  return keys;
}

}  // namespace eddy::storage

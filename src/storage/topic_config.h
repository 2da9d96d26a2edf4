// Per-topic settings of the log, with Kafka's names, defaults and validation.
//
// A topic stores only the keys that were set on it (overrides); everything else comes from the
// broker defaults at the moment of use, so changing a broker default changes every topic that did
// not override it, as in Kafka.
//
// Every topic config Kafka 3.3 defines is accepted, validated as Kafka validates it, stored and
// described. The ones that mean nothing on a single node, or that Eddy does not act on yet, are
// kept as text in `passive` (see `TopicConfig::acts_on`); src/kafka/README.md lists them.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/record_batch.h"

namespace eddy::storage {

using ConfigMap = std::map<std::string, std::string>;

enum class CleanupPolicy { kDelete, kCompact, kCompactAndDelete };

// Kafka's ConfigType (DescribeConfigs v3+), so a client knows how to parse a value.
enum class ConfigType : int8_t {
  kBoolean = 1,
  kString = 2,
  kInt = 3,
  kShort = 4,
  kLong = 5,
  kDouble = 6,
  kList = 7,
  kClass = 8,
  kPassword = 9,
};

// Checks that `value` parses as `type` the way Kafka parses it (numbers and booleans trimmed,
// ints within 32 bits, shorts within 16) and returns it normalized: "True" -> "true", " 5" -> "5",
// "a, b" -> "a,b". kInvalidArgument names `key`.
Result<std::string> check_typed_value(const std::string& key, ConfigType type,
                                      const std::string& value);
// A list config's items, trimmed ("a, b" -> {"a", "b"}; "" -> none), and back.
std::vector<std::string> config_list_items(const std::string& value);
std::string join_config_list(const std::vector<std::string>& items);

// One topic config key as Kafka defines it.
struct TopicConfigKey {
  std::string name;
  ConfigType type;
  // The broker config that gives the key's default ("log.retention.ms" for "retention.ms"),
  // empty when the key has none.
  std::string broker_name;
  // Eddy's behaviour follows the value (false: accepted, stored and described only).
  bool acts_on;
};

struct TopicConfig {
  int64_t segment_bytes = 1073741824;  // 1 GiB
  int64_t segment_ms = 604800000;      // 7 days
  int64_t retention_ms = 604800000;    // 7 days; -1 = unlimited
  int64_t retention_bytes = -1;        // unlimited
  CleanupPolicy cleanup_policy = CleanupPolicy::kDelete;
  int64_t delete_retention_ms = 86400000;  // tombstones live 1 day after compaction sees them
  int64_t min_compaction_lag_ms = 0;
  // flush_messages == 1 (default): every append is acknowledged only once fsynced.
  // Otherwise appends are acknowledged from the page cache and a background flush runs after
  // `flush_messages` unflushed records or `flush_ms` since the first unflushed append.
  int64_t flush_messages = 1;
  int64_t flush_ms = -1;  // -1 = no time-based flush
  int64_t max_message_bytes = 1048588;
  int64_t index_interval_bytes = 4096;
  std::string compression_type = "producer";
  TimestampType message_timestamp_type = TimestampType::kCreateTime;
  // With CreateTime, a batch whose timestamps lie further than this from the broker's clock is
  // refused (INVALID_TIMESTAMP), as Kafka refuses it.
  int64_t message_timestamp_difference_max_ms = std::numeric_limits<int64_t>::max();
  // Values of the keys Eddy accepts but does not act on, normalized, by key; always complete.
  // Shared and never changed in place, so copying a TopicConfig (the produce path does, per
  // request) copies a pointer, not the map; resolve() makes a new map when it sets one.
  std::shared_ptr<const ConfigMap> passive = passive_defaults();

  bool durable_appends() const { return flush_messages <= 1 || flush_ms == 0; }
  bool compacts() const { return cleanup_policy != CleanupPolicy::kDelete; }
  bool deletes() const { return cleanup_policy != CleanupPolicy::kCompact; }

  // Applies `overrides` (Kafka config names) on top of `base`. Unknown keys and bad values are
  // errors naming the key.
  static Result<TopicConfig> resolve(const TopicConfig& base, const ConfigMap& overrides);
  // Checks one key/value without applying it.
  static Status validate(const std::string& key, const std::string& value);
  // The value as stored and described: numbers and booleans trimmed, lists without blanks
  // around items ("delete, compact" -> "delete,compact"). Call after validate().
  static std::string normalize(const std::string& key, const std::string& value);
  static ConfigMap normalize_all(const ConfigMap& overrides);
  // All keys with their values as strings (for DescribeConfigs).
  ConfigMap to_map() const;
  // Every key, in Kafka's alphabetical order.
  static const std::vector<TopicConfigKey>& keys();
  static const TopicConfigKey* find_key(const std::string& name);
  // The topic key a broker config name gives the default of, or null.
  static const TopicConfigKey* find_by_broker_name(const std::string& broker_name);

 private:
  static std::shared_ptr<const ConfigMap> passive_defaults();
};

}  // namespace eddy::storage

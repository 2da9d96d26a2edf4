// Per-topic settings of the log, with Kafka's names, defaults and validation.
//
// A topic stores only the keys that were set on it (overrides); everything else comes from the
// broker defaults at the moment of use, so changing a broker default changes every topic that did
// not override it, as in Kafka.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/record_batch.h"

namespace eddy::storage {

using ConfigMap = std::map<std::string, std::string>;

enum class CleanupPolicy { kDelete, kCompact, kCompactAndDelete };

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

  bool durable_appends() const { return flush_messages <= 1 || flush_ms == 0; }
  bool compacts() const { return cleanup_policy != CleanupPolicy::kDelete; }
  bool deletes() const { return cleanup_policy != CleanupPolicy::kCompact; }

  // Applies `overrides` (Kafka config names) on top of `base`. Unknown keys and bad values are
  // errors naming the key.
  static Result<TopicConfig> resolve(const TopicConfig& base, const ConfigMap& overrides);
  // Checks one key/value without applying it.
  static Status validate(const std::string& key, const std::string& value);
  // All keys with their values as strings (for DescribeConfigs).
  ConfigMap to_map() const;
  static const std::vector<std::string>& known_keys();
};

}  // namespace eddy::storage

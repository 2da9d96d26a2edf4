// The records the group coordinator keeps in the internal compacted topic __consumer_offsets.
//
// They use Kafka's own key and value layouts (offset commit key v1 / value v3, group metadata
// key v2 / value v3), so anything that can read Kafka's __consumer_offsets can read Eddy's, and
// compaction by key keeps exactly the latest commit per (group, topic, partition) and the latest
// metadata per group. A null value is a tombstone (deleted offsets or group).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace eddy::groups {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = 0;
};

struct StoredMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string subscription;  // the member's metadata for the chosen protocol
  std::string assignment;
};

struct StoredGroup {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t state_timestamp_ms = -1;
  std::vector<StoredMember> members;
};

std::string encode_offset_key(const std::string& group, const TopicPartition& tp);
std::string encode_offset_value(const CommittedOffset& offset);
std::string encode_group_key(const std::string& group);
std::string encode_group_value(const StoredGroup& group);

struct OffsetsRecord {
  enum class Kind { kOffset, kGroup };
  Kind kind = Kind::kOffset;
  std::string group;
  TopicPartition partition;                // kOffset only
  std::optional<CommittedOffset> offset;   // kOffset: nullopt = tombstone
  std::optional<StoredGroup> group_value;  // kGroup: nullopt = tombstone
};

// Decodes one record of the topic. Accepts every key version Kafka has written (0–2) and the
// value versions 0–3; anything else is an error naming what was found.
Result<OffsetsRecord> decode_offsets_record(std::optional<std::string_view> key,
                                            std::optional<std::string_view> value);

// The partition of __consumer_offsets that holds a group: Kafka's rule
// (abs(Java String.hashCode) mod partitions), so it never changes for a given count.
int32_t offsets_partition_for(const std::string& group, int32_t partitions);

}  // namespace eddy::groups

// One consumer group's state inside the coordinator: its members, the generation, the chosen
// protocol and its committed offsets. Only GroupCoordinator touches it, under its lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "groups/group_coordinator.h"
#include "groups/offsets_topic.h"

namespace eddy::groups {

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };

// Kafka's names, as ListGroups and DescribeGroups report them.
const char* state_name(GroupState state);

struct Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;  // in the member's order of preference
  std::string assignment;
  std::function<void(JoinResult)> pending_join;
  std::function<void(SyncResult)> pending_sync;
  int64_t session_deadline_ms = 0;
  uint64_t join_order = 0;  // leader choice prefers the earliest joiner

  const std::string* metadata_for(const std::string& protocol) const;
};

struct StoredCommit {
  CommittedOffset value;
  int64_t log_offset = -1;  // where the commit lives in __consumer_offsets; later ones win
  // A tombstone at log_offset: kept (not erased) while commits are in flight, so a commit
  // appended before the tombstone but acknowledged after it cannot bring the offset back.
  bool deleted = false;
};

struct Group {
  std::string id;
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  std::string protocol_type;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  std::map<std::string, Member> members;              // by member id
  std::map<std::string, std::string> static_members;  // instance id -> member id
  std::map<std::string, int64_t> pending_members;     // member id -> deadline (v4 round trip)
  std::map<TopicPartition, StoredCommit> offsets;
  int64_t state_timestamp_ms = 0;
  // PreparingRebalance: when joining stops waiting for members; CompletingRebalance: when the
  // leader's SyncGroup is overdue. -1 when no deadline runs.
  int64_t rebalance_deadline_ms = -1;
  bool initial_delay = false;     // the current PreparingRebalance is the empty group's first
  int64_t group_log_offset = -1;  // last group metadata record applied from the log
  bool metadata_stored = false;   // a metadata record of this group is in the log
  uint64_t next_join_order = 0;
  // Commits appended but not yet durable: deletion and expiry wait for them, so a tombstone is
  // never overtaken by a commit written before it.
  int pending_commits = 0;

  bool has_live_offsets() const;

  bool all_members_joined() const;
  int32_t max_rebalance_timeout_ms() const;
  // Protocols every member supports.
  std::set<std::string> candidate_protocols() const;
  // Kafka's vote: each member votes for its most preferred candidate; most votes wins.
  std::optional<std::string> select_protocol() const;
  bool supports(const std::string& protocol_type, const std::vector<Protocol>& protocols) const;
  // Topics the members subscribe to, when the group uses Kafka's consumer protocol.
  std::set<std::string> subscribed_topics() const;
  StoredGroup to_stored(int64_t now_ms) const;
};

// "clientId-<uuid>", as Kafka forms member ids.
std::string new_member_id(const std::string& prefix);

}  // namespace eddy::groups

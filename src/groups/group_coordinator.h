// The consumer group coordinator (Kafka's classic group protocol) and the home of committed
// offsets.
//
// Members join a group, one of them (the leader) computes the partition assignment with a
// protocol every member supports, and the coordinator hands each member its share; session and
// rebalance timeouts evict members that stop responding, and generations fence members that
// missed a rebalance. Static members (group.instance.id) keep their place across restarts
// inside the session timeout. Committed offsets and group metadata are appended to the
// compacted topic __consumer_offsets and become visible only once durable; on start the
// coordinator replays that topic, so groups resume where they stopped.
//
// The API is independent of the Kafka wire format: the kafka handlers decode requests into the
// structs below and encode the results. Results that have to wait (JoinGroup until the
// rebalance completes, SyncGroup until the leader's assignment is stored, commits until
// durable) arrive through callbacks, called at most once, on any thread, never while the
// coordinator's lock is held.
//
// Thread safety: every public method may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "groups/offsets_topic.h"
#include "kafka/errors.h"

namespace eddy::storage {
class LogManager;
}

namespace eddy::groups {

// The coordinator's outcomes are Kafka's error codes: the group protocol defines them.
using GroupError = kafka::KafkaError;

struct CoordinatorOptions {
  // Partitions of __consumer_offsets when this data directory creates it; an existing topic
  // keeps its count (a group's partition is a function of the count).
  int32_t offsets_partitions = 1;
  int64_t min_session_timeout_ms = 6000;     // group.min.session.timeout.ms
  int64_t max_session_timeout_ms = 1800000;  // group.max.session.timeout.ms
  // group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits for
  // more members, so a group starting together gets one assignment instead of several.
  int64_t initial_rebalance_delay_ms = 3000;
  int64_t offsets_retention_ms = 7 * 24 * 3600 * 1000LL;  // offsets.retention.minutes
  int64_t retention_check_interval_ms = 600000;           // offsets.retention.check.interval.ms
  size_t max_metadata_bytes = 4096;                       // offset.metadata.max.bytes
  std::function<int64_t()> clock{};  // ms since the epoch; the wall clock when empty
  // False in unit tests, which drive timeouts with tick().
  bool run_timer_thread = true;
};

struct Protocol {
  std::string name;
  std::string metadata;
};

struct JoinRequest {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> instance_id;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  std::string client_id;
  std::string client_host;
  // JoinGroup v4+: a member without an id is first given one (MEMBER_ID_REQUIRED) and must
  // join again with it, so a client that times out does not leave ghost members behind.
  bool require_known_member_id = false;
};

struct JoinedMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string metadata;
};

struct JoinResult {
  GroupError error = GroupError::kNone;
  int32_t generation = -1;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinedMember> members;  // the leader's only
};

struct SyncRequest {
  std::string group_id;
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> protocol_type;                      // v5+
  std::optional<std::string> protocol_name;                      // v5+
  std::vector<std::pair<std::string, std::string>> assignments;  // member id, assignment
};

struct SyncResult {
  GroupError error = GroupError::kNone;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

struct MemberIdentity {
  std::string member_id;
  std::optional<std::string> instance_id;
};

struct LeaveResult {
  GroupError error = GroupError::kNone;
  std::vector<GroupError> members;  // one per requested member, same order
};

struct OffsetToCommit {
  TopicPartition partition;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

struct CommitRequest {
  std::string group_id;
  int32_t generation = -1;  // -1 with an empty member id: a commit outside group membership
  std::string member_id;
  std::optional<std::string> instance_id;
  std::vector<OffsetToCommit> offsets;
};

struct FetchedOffset {
  TopicPartition partition;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  GroupError error = GroupError::kNone;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;
  std::string state;
};

struct DescribedMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;
  std::string assignment;
};

struct GroupDescription {
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<DescribedMember> members;
};

struct PartitionLag {
  TopicPartition partition;
  int64_t committed = -1;
  int64_t log_end = -1;  // the high watermark: what a consumer can read
  int64_t lag = 0;
};

struct Group;

class GroupCoordinator {
 public:
  // Creates __consumer_offsets when missing and loads every group and committed offset from it.
  static Result<std::unique_ptr<GroupCoordinator>> open(storage::LogManager& log,
                                                        CoordinatorOptions options);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  void join(JoinRequest request, std::function<void(JoinResult)> done);
  void sync(SyncRequest request, std::function<void(SyncResult)> done);
  GroupError heartbeat(const std::string& group_id, int32_t generation,
                       const std::string& member_id, const std::optional<std::string>& instance_id);
  LeaveResult leave(const std::string& group_id, const std::vector<MemberIdentity>& members);

  // `done` gets one error per offset, in request order, once the commit is durable (or failed).
  void commit(CommitRequest request, std::function<void(std::vector<GroupError>)> done);
  // Committed offsets of `partitions`, or of every partition the group has committed when
  // nullopt. Partitions without a commit get offset -1.
  std::vector<FetchedOffset> fetch_offsets(
      const std::string& group_id, const std::optional<std::vector<TopicPartition>>& partitions);

  // Groups whose state is in `states` (all when empty); state names as Kafka spells them.
  std::vector<GroupListing> list_groups(const std::vector<std::string>& states);
  // An unknown group is described as "Dead" with no members, as Kafka does.
  GroupDescription describe_group(const std::string& group_id);
  // One error per group, once the deletions are durable.
  void delete_groups(std::vector<std::string> group_ids,
                     std::function<void(std::vector<GroupError>)> done);
  // Deletes committed offsets of partitions the group is not subscribed to. `done` gets a
  // group-level error and one error per partition.
  void delete_offsets(std::string group_id, std::vector<TopicPartition> partitions,
                      std::function<void(GroupError, std::vector<GroupError>)> done);

  // Consumer lag of every partition the group has committed: log end minus committed offset.
  std::vector<PartitionLag> lag(const std::string& group_id);

  // Runs due timeouts (session, rebalance, pending members) and offset expiry as of `now_ms`.
  // The timer thread calls it; unit tests without the thread call it directly.
  void tick(int64_t now_ms);

  // Stops the timer and drops every waiting callback without calling it (the listener is
  // already stopped). Idempotent.
  void close();

 private:
  struct Deferred;
  struct PendingWrite;

  GroupCoordinator(storage::LogManager& log, CoordinatorOptions options);
  Status load();
  int64_t now() const;
  void timer_loop();
  // Starts the durability waits and calls the callbacks decided under the lock.
  void run(Deferred& later);

  Group& group_locked(const std::string& id);
  void prepare_rebalance_locked(Group& group, Deferred& later);
  void maybe_complete_join_locked(Group& group, Deferred& later);
  void complete_join_locked(Group& group, Deferred& later);
  void remove_member_locked(Group& group, const std::string& member_id, Deferred& later);
  void store_assignment_locked(Group& group, Deferred& later);
  void expire_locked(int64_t now_ms, Deferred& later);
  void expire_offsets_locked(int64_t now_ms, Deferred& later);
  JoinResult join_result_locked(const Group& group, const std::string& member_id,
                                bool for_leader) const;
  // Appends `records` for `group_id` to its __consumer_offsets partition; `done` runs (on
  // another thread, without the lock) once they are durable, with the offset of the first.
  void write_locked(const std::string& group_id,
                    std::vector<std::pair<std::string, std::optional<std::string>>> records,
                    Deferred& later, std::function<void(Status, int64_t)> done);
  void apply_record_locked(const OffsetsRecord& record, int64_t log_offset);

  storage::LogManager& log_;
  CoordinatorOptions options_;
  int32_t offsets_partitions_ = 1;

  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  bool closed_ = false;
  int64_t next_retention_check_ms_ = 0;

  std::condition_variable timer_cv_;
  std::thread timer_;
};

}  // namespace eddy::groups

#include "groups/group_coordinator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "batch_builder.h"
#include "kafka/wire.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage_test_util.h"

namespace eddy::groups {
namespace {

using namespace std::chrono_literals;
using storage::TempDir;

constexpr int32_t kSessionMs = 10000;
constexpr int32_t kRebalanceMs = 20000;
constexpr int64_t kRetentionMs = 3600000;

// Kafka's ConsumerProtocolSubscription v0: version, topics, user data.
std::string subscription(const std::vector<std::string>& topics) {
  kafka::WireWriter w(false);
  w.i16(0);
  w.array_length(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics)
    w.string(t);
  w.nullable_bytes(std::nullopt);
  return kafka::bytes_string(w.take());
}

template <typename T>
T await(std::future<T>& f) {
  EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
  return f.get();
}

template <typename T>
bool ready(std::future<T>& f) {
  return f.wait_for(0s) == std::future_status::ready;
}

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void TearDown() override { shut(); }

  void open() {
    auto log = storage::LogManager::open({.data_dir = dir_.path() + "/" + data_subdir_,
                                          .background_threads = false,
                                          .clock = clock_.clock()});
    ASSERT_TRUE(log.ok()) << log.error().message();
    log_ = std::move(*log);
    for (const char* topic : {"orders", "other"}) {
      if (!log_->topic(topic)) {
        ASSERT_TRUE(log_->create_topic(topic, 4).ok());
      }
    }
    CoordinatorOptions options;
    options.initial_rebalance_delay_ms = initial_delay_ms_;
    options.offsets_partitions = offsets_partitions_;
    options.offsets_retention_ms = kRetentionMs;
    options.retention_check_interval_ms = 1000;
    options.clock = clock_.clock();
    options.run_timer_thread = false;
    auto coordinator = GroupCoordinator::open(*log_, options);
    ASSERT_TRUE(coordinator.ok()) << coordinator.error().message();
    coordinator_ = std::move(*coordinator);
  }
  void shut() {
    if (coordinator_) coordinator_->close();
    if (log_) {
      ASSERT_TRUE(log_->close().ok());
    }
    coordinator_.reset();
    log_.reset();
  }
  void reopen() {
    shut();
    open();
  }
  int64_t now() const { return clock_.now->load(); }
  void advance(int64_t ms) {
    clock_.advance(ms);
    coordinator_->tick(now());
  }

  JoinRequest join_request(const std::string& member_id = "",
                           std::optional<std::string> instance = std::nullopt,
                           std::vector<Protocol> protocols = {}) {
    JoinRequest r;
    r.group_id = "g";
    r.member_id = member_id;
    r.instance_id = std::move(instance);
    r.session_timeout_ms = kSessionMs;
    r.rebalance_timeout_ms = kRebalanceMs;
    r.protocol_type = "consumer";
    r.protocols = protocols.empty() ? std::vector<Protocol>{{"range", subscription({"orders"})}}
                                    : std::move(protocols);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.require_known_member_id = true;
    return r;
  }
  std::future<JoinResult> join(JoinRequest r) {
    auto p = std::make_shared<std::promise<JoinResult>>();
    auto f = p->get_future();
    coordinator_->join(std::move(r), [p](JoinResult x) { p->set_value(std::move(x)); });
    return f;
  }
  // The v4 round trip: the first join only hands out a member id.
  std::string member_id_for(JoinRequest r) {
    auto first = join(std::move(r));
    JoinResult result = await(first);
    EXPECT_EQ(result.error, GroupError::kMemberIdRequired);
    EXPECT_FALSE(result.member_id.empty());
    return result.member_id;
  }
  std::future<SyncResult> sync(const std::string& member, int32_t generation,
                               std::vector<std::pair<std::string, std::string>> assignments = {},
                               std::optional<std::string> instance = std::nullopt) {
    SyncRequest r;
    r.group_id = "g";
    r.member_id = member;
    r.generation = generation;
    r.instance_id = std::move(instance);
    r.assignments = std::move(assignments);
    auto p = std::make_shared<std::promise<SyncResult>>();
    auto f = p->get_future();
    coordinator_->sync(std::move(r), [p](SyncResult x) { p->set_value(std::move(x)); });
    return f;
  }
  std::vector<GroupError> commit(const std::string& member, int32_t generation,
                                 std::vector<OffsetToCommit> offsets,
                                 const std::string& group = "g") {
    CommitRequest r{group, generation, member, std::nullopt, std::move(offsets)};
    auto p = std::make_shared<std::promise<std::vector<GroupError>>>();
    auto f = p->get_future();
    coordinator_->commit(std::move(r), [p](std::vector<GroupError> e) { p->set_value(e); });
    return await(f);
  }
  int64_t committed(const std::string& group, const std::string& topic, int32_t partition) {
    auto fetched =
        coordinator_->fetch_offsets(group, std::vector<TopicPartition>{{topic, partition}});
    return fetched.at(0).offset;
  }
  // Two members, both through the first rebalance (generation 1 for A, 2 with B) and synced.
  struct Pair {
    std::string a, b;
    int32_t generation = 0;
  };
  Pair stable_pair(std::optional<std::string> a_instance = std::nullopt) {
    Pair pair;
    pair.a = a_instance ? "" : member_id_for(join_request());
    auto a_join = join(join_request(pair.a, a_instance));
    JoinResult a1 = await(a_join);
    EXPECT_EQ(a1.error, GroupError::kNone);
    pair.a = a1.member_id;
    auto a_sync = sync(pair.a, a1.generation, {{pair.a, "A-all"}}, a_instance);
    EXPECT_EQ(await(a_sync).assignment, "A-all");

    pair.b = member_id_for(join_request());
    auto b_join = join(join_request(pair.b));
    EXPECT_FALSE(ready(b_join));
    auto a_rejoin = join(join_request(pair.a, a_instance));
    JoinResult a2 = await(a_rejoin), b2 = await(b_join);
    EXPECT_EQ(a2.generation, a1.generation + 1);
    EXPECT_EQ(b2.generation, a2.generation);
    pair.generation = a2.generation;
    auto b_sync = sync(pair.b, pair.generation);
    auto a_sync2 =
        sync(pair.a, pair.generation, {{pair.a, "A-half"}, {pair.b, "B-half"}}, a_instance);
    EXPECT_EQ(await(a_sync2).assignment, "A-half");
    EXPECT_EQ(await(b_sync).assignment, "B-half");
    return pair;
  }

  TempDir dir_;
  storage::FakeClock clock_;
  int64_t initial_delay_ms_ = 0;
  int32_t offsets_partitions_ = 1;
  std::string data_subdir_ = "data";
  std::unique_ptr<storage::LogManager> log_;
  std::unique_ptr<GroupCoordinator> coordinator_;
};

TEST_F(CoordinatorTest, SingleMemberJoinsSyncsHeartbeatsAndCommits) {
  const std::string id = member_id_for(join_request());
  auto joined = join(join_request(id));
  JoinResult r = await(joined);
  ASSERT_EQ(r.error, GroupError::kNone);
  EXPECT_EQ(r.generation, 1);
  EXPECT_EQ(r.leader, id);
  EXPECT_EQ(r.member_id, id);
  EXPECT_EQ(r.protocol_name, "range");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].metadata, subscription({"orders"}));

  auto synced = sync(id, 1, {{id, "everything"}});
  SyncResult s = await(synced);
  EXPECT_EQ(s.error, GroupError::kNone);
  EXPECT_EQ(s.assignment, "everything");
  EXPECT_EQ(coordinator_->describe_group("g").state, "Stable");

  EXPECT_EQ(coordinator_->heartbeat("g", 1, id, std::nullopt), GroupError::kNone);
  EXPECT_EQ(coordinator_->heartbeat("g", 0, id, std::nullopt), GroupError::kIllegalGeneration);
  EXPECT_EQ(coordinator_->heartbeat("g", 1, "nobody", std::nullopt), GroupError::kUnknownMemberId);
  EXPECT_EQ(coordinator_->heartbeat("nogroup", 1, id, std::nullopt), GroupError::kUnknownMemberId);

  auto batch = testing::build_value_batch(50, 10);
  ASSERT_TRUE(log_->partition("orders", 0)->append_durable(batch).ok());
  auto errors = commit(id, 1, {{{"orders", 0}, 42, -1, "meta"}});
  EXPECT_EQ(errors, std::vector<GroupError>{GroupError::kNone});
  auto fetched = coordinator_->fetch_offsets("g", std::nullopt);
  ASSERT_EQ(fetched.size(), 1u);
  EXPECT_EQ(fetched[0].offset, 42);
  EXPECT_EQ(fetched[0].metadata, "meta");
  EXPECT_EQ(committed("g", "orders", 1), -1);
  auto lag = coordinator_->lag("g");
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].log_end, 50);
  EXPECT_EQ(lag[0].lag, 8);
}

TEST_F(CoordinatorTest, NewMemberTriggersRebalanceAndProtocolIsChosenByAll) {
  const std::string a = member_id_for(join_request());
  const std::vector<Protocol> both = {{"range", "ra"}, {"roundrobin", "rr"}};
  auto a_join = join(join_request(a, std::nullopt, both));
  JoinResult a1 = await(a_join);
  ASSERT_EQ(a1.protocol_name, "range");
  auto a_sync = sync(a, 1, {{a, "x"}});
  ASSERT_EQ(await(a_sync).error, GroupError::kNone);

  // B supports only roundrobin: the group must switch to it.
  const std::string b = member_id_for(join_request("", std::nullopt, {{"roundrobin", "rr-b"}}));
  auto b_join = join(join_request(b, std::nullopt, {{"roundrobin", "rr-b"}}));
  EXPECT_FALSE(ready(b_join));
  EXPECT_EQ(coordinator_->describe_group("g").state, "PreparingRebalance");
  EXPECT_EQ(coordinator_->heartbeat("g", 1, a, std::nullopt), GroupError::kRebalanceInProgress);
  // Commits of the current generation still go through while members rejoin.
  EXPECT_EQ(commit(a, 1, {{{"orders", 0}, 5, -1, std::nullopt}})[0], GroupError::kNone);

  auto a_rejoin = join(join_request(a, std::nullopt, both));
  JoinResult a2 = await(a_rejoin), b2 = await(b_join);
  EXPECT_EQ(a2.generation, 2);
  EXPECT_EQ(a2.protocol_name, "roundrobin");
  EXPECT_EQ(a2.leader, a);
  ASSERT_EQ(a2.members.size(), 2u);
  for (const auto& m : a2.members)
    EXPECT_EQ(m.metadata, m.member_id == a ? "rr" : "rr-b");
  EXPECT_TRUE(b2.members.empty());
  EXPECT_EQ(b2.leader, a);

  // Until the leader's assignment is stored, the group is not stable.
  EXPECT_EQ(commit(b, 2, {{{"orders", 0}, 6, -1, std::nullopt}})[0],
            GroupError::kRebalanceInProgress);
  EXPECT_EQ(commit(a, 1, {{{"orders", 0}, 6, -1, std::nullopt}})[0],
            GroupError::kIllegalGeneration);

  // A member speaking another protocol type or no common protocol is refused.
  JoinRequest other = join_request();
  other.protocol_type = "connect";
  auto refused = join(other);
  EXPECT_EQ(await(refused).error, GroupError::kInconsistentGroupProtocol);
  auto refused2 = join(join_request("", std::nullopt, {{"sticky", "s"}}));
  EXPECT_EQ(await(refused2).error, GroupError::kInconsistentGroupProtocol);
}

TEST_F(CoordinatorTest, MajorityVoteChoosesAmongCommonProtocols) {
  const std::vector<Protocol> range_first = {{"range", ""}, {"roundrobin", ""}};
  const std::vector<Protocol> rr_first = {{"roundrobin", ""}, {"range", ""}};
  std::vector<std::future<JoinResult>> joins;
  initial_delay_ms_ = 3000;
  reopen();
  for (const auto* protocols : {&rr_first, &range_first, &range_first}) {
    const std::string id = member_id_for(join_request("", std::nullopt, *protocols));
    joins.push_back(join(join_request(id, std::nullopt, *protocols)));
  }
  // The first rebalance of an empty group waits for the initial delay.
  advance(2999);
  EXPECT_FALSE(ready(joins[0]));
  advance(1);
  for (auto& f : joins)
    EXPECT_EQ(await(f).protocol_name, "range");
}

TEST_F(CoordinatorTest, SilentMemberIsEvictedAfterItsSessionTimeout) {
  Pair pair = stable_pair();
  advance(kSessionMs / 2);
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.a, std::nullopt), GroupError::kNone);
  advance(kSessionMs / 2 + 1);  // B last spoke more than a session timeout ago
  EXPECT_EQ(coordinator_->describe_group("g").members.size(), 1u);
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.b, std::nullopt),
            GroupError::kUnknownMemberId);
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.a, std::nullopt),
            GroupError::kRebalanceInProgress);
  auto rejoin = join(join_request(pair.a));
  JoinResult r = await(rejoin);
  EXPECT_EQ(r.generation, pair.generation + 1);
  EXPECT_EQ(r.members.size(), 1u);
}

TEST_F(CoordinatorTest, MemberThatDoesNotRejoinIsDroppedAtTheRebalanceTimeout) {
  Pair pair = stable_pair();
  const std::string c = member_id_for(join_request());
  auto c_join = join(join_request(c));
  auto a_join = join(join_request(pair.a));
  // B keeps heartbeating but never rejoins.
  for (int i = 0; i < 4; ++i) {
    advance(kRebalanceMs / 4 - 1);
    EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.b, std::nullopt),
              GroupError::kRebalanceInProgress);
    EXPECT_FALSE(ready(a_join));
  }
  advance(10);
  JoinResult a = await(a_join), cr = await(c_join);
  EXPECT_EQ(a.generation, pair.generation + 1);
  EXPECT_EQ(a.members.size(), 2u);
  EXPECT_EQ(cr.error, GroupError::kNone);
  EXPECT_EQ(coordinator_->heartbeat("g", a.generation, pair.b, std::nullopt),
            GroupError::kUnknownMemberId);
}

TEST_F(CoordinatorTest, LeaderThatNeverSyncsStartsANewRebalance) {
  const std::string a = member_id_for(join_request());
  auto a_join = join(join_request(a));
  ASSERT_EQ(await(a_join).generation, 1);
  const std::string b = member_id_for(join_request());
  auto b_join = join(join_request(b));
  auto a_rejoin = join(join_request(a));
  ASSERT_EQ(await(b_join).generation, 2);
  ASSERT_EQ(await(a_rejoin).generation, 2);
  auto b_sync = sync(b, 2);
  advance(kRebalanceMs);  // the leader A never sends its assignment
  EXPECT_EQ(await(b_sync).error, GroupError::kRebalanceInProgress);
  EXPECT_EQ(coordinator_->heartbeat("g", 2, a, std::nullopt), GroupError::kUnknownMemberId);
  auto b_rejoin = join(join_request(b));
  JoinResult r = await(b_rejoin);
  EXPECT_EQ(r.generation, 3);
  EXPECT_EQ(r.leader, b);
}

TEST_F(CoordinatorTest, StaticMemberRestartKeepsItsAssignmentWithoutRebalance) {
  Pair pair = stable_pair("instance-a");
  // A restarts: it joins with no member id and its group.instance.id.
  auto rejoined = join(join_request("", "instance-a"));
  JoinResult r = await(rejoined);
  ASSERT_EQ(r.error, GroupError::kNone);
  EXPECT_EQ(r.generation, pair.generation);
  EXPECT_NE(r.member_id, pair.a);
  // It was the leader; the old id tells it not to compute a new assignment.
  EXPECT_EQ(r.leader, pair.a);
  EXPECT_TRUE(r.members.empty());
  EXPECT_EQ(coordinator_->describe_group("g").state, "Stable");
  auto s = sync(r.member_id, pair.generation, {}, "instance-a");
  EXPECT_EQ(await(s).assignment, "A-half");
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.b, std::nullopt), GroupError::kNone);
  // The previous incarnation is fenced.
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.a, "instance-a"),
            GroupError::kFencedInstanceId);
  EXPECT_EQ(coordinator_->leave("g", {{pair.a, "instance-a"}}).members,
            std::vector<GroupError>{GroupError::kFencedInstanceId});
  // Leaving by instance id removes it and rebalances.
  EXPECT_EQ(coordinator_->leave("g", {{"", "instance-a"}}).members,
            std::vector<GroupError>{GroupError::kNone});
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.b, std::nullopt),
            GroupError::kRebalanceInProgress);
}

TEST_F(CoordinatorTest, CommitErrorsAreKafkas) {
  Pair pair = stable_pair();
  auto one = [](const std::string& topic, int32_t p) {
    return std::vector<OffsetToCommit>{{{topic, p}, 1, -1, std::nullopt}};
  };
  EXPECT_EQ(commit("stranger", pair.generation, one("orders", 0))[0], GroupError::kUnknownMemberId);
  EXPECT_EQ(commit(pair.a, pair.generation - 1, one("orders", 0))[0],
            GroupError::kIllegalGeneration);
  EXPECT_EQ(commit("", -1, one("orders", 0))[0], GroupError::kUnknownMemberId);
  EXPECT_EQ(commit(pair.a, pair.generation, one("missing", 0))[0],
            GroupError::kUnknownTopicOrPartition);
  EXPECT_EQ(commit(pair.a, pair.generation, one("orders", 4))[0],
            GroupError::kUnknownTopicOrPartition);
  std::vector<OffsetToCommit> big = one("orders", 1);
  big[0].metadata = std::string(5000, 'm');
  EXPECT_EQ(commit(pair.a, pair.generation, big)[0], GroupError::kOffsetMetadataTooLarge);
  // None of the refused commits landed.
  EXPECT_TRUE(coordinator_->fetch_offsets("g", std::nullopt).empty());
  EXPECT_EQ(commit("x", 3, one("orders", 0), "unknown-group")[0], GroupError::kIllegalGeneration);
  // A consumer that assigns partitions itself commits outside any membership.
  EXPECT_EQ(commit("", -1, one("orders", 2), "standalone")[0], GroupError::kNone);
  EXPECT_EQ(committed("standalone", "orders", 2), 1);
  EXPECT_EQ(coordinator_->leave("g", {{"stranger", std::nullopt}}).members,
            std::vector<GroupError>{GroupError::kUnknownMemberId});
  auto stale_sync = sync(pair.a, pair.generation - 1);
  EXPECT_EQ(await(stale_sync).error, GroupError::kIllegalGeneration);
  auto unknown_join = join(join_request("made-up"));
  EXPECT_EQ(await(unknown_join).error, GroupError::kUnknownMemberId);
  JoinRequest tiny = join_request();
  tiny.session_timeout_ms = 10;
  auto refused = join(tiny);
  EXPECT_EQ(await(refused).error, GroupError::kInvalidSessionTimeout);
}

TEST_F(CoordinatorTest, GroupsAndOffsetsSurviveRestart) {
  Pair pair = stable_pair();
  ASSERT_EQ(commit(pair.a, pair.generation,
                   {{{"orders", 0}, 10, 3, "a"}, {{"orders", 1}, 11, -1, std::nullopt}})[0],
            GroupError::kNone);
  ASSERT_EQ(commit(pair.b, pair.generation, {{{"orders", 0}, 12, -1, "b"}})[0], GroupError::kNone);
  reopen();
  GroupDescription d = coordinator_->describe_group("g");
  EXPECT_EQ(d.state, "Stable");
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_EQ(committed("g", "orders", 0), 12);
  EXPECT_EQ(committed("g", "orders", 1), 11);
  auto fetched = coordinator_->fetch_offsets("g", std::vector<TopicPartition>{{"orders", 0}});
  EXPECT_EQ(fetched[0].metadata, "b");
  // Members carry on with their generation; a consumer restarting resumes from the commits.
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.a, std::nullopt), GroupError::kNone);
  auto s = sync(pair.b, pair.generation);
  EXPECT_EQ(await(s).assignment, "B-half");
  // Members that do not come back are evicted after their session timeout.
  advance(kSessionMs / 2);
  EXPECT_EQ(coordinator_->heartbeat("g", pair.generation, pair.a, std::nullopt), GroupError::kNone);
  advance(kSessionMs / 2 + 1);
  EXPECT_EQ(coordinator_->describe_group("g").members.size(), 1u);
}

TEST_F(CoordinatorTest, OffsetsOfAnEmptyGroupExpire) {
  ASSERT_EQ(commit("", -1, {{{"orders", 0}, 7, -1, std::nullopt}}, "idle")[0], GroupError::kNone);
  Pair pair = stable_pair();
  ASSERT_EQ(commit(pair.a, pair.generation, {{{"orders", 1}, 9, -1, std::nullopt}})[0],
            GroupError::kNone);
  advance(kRetentionMs + 1000);
  reopen();  // expiry tombstones are durable once the log closes
  EXPECT_EQ(committed("idle", "orders", 0), -1);
  auto listed = coordinator_->list_groups({});
  EXPECT_TRUE(std::none_of(listed.begin(), listed.end(),
                           [](const GroupListing& g) { return g.group_id == "idle"; }));
  // "g" only became empty when its silent members were evicted at this tick: its offsets are
  // kept for the retention period from that moment.
  EXPECT_EQ(committed("g", "orders", 1), 9);
}

TEST_F(CoordinatorTest, DeletingGroupsAndOffsets) {
  Pair pair = stable_pair();
  ASSERT_EQ(commit(pair.a, pair.generation,
                   {{{"orders", 0}, 1, -1, std::nullopt}, {{"other", 0}, 2, -1, std::nullopt}})[0],
            GroupError::kNone);
  auto delete_groups = [&](std::vector<std::string> ids) {
    auto p = std::make_shared<std::promise<std::vector<GroupError>>>();
    auto f = p->get_future();
    coordinator_->delete_groups(std::move(ids), [p](auto e) { p->set_value(e); });
    return await(f);
  };
  auto delete_offsets = [&](std::vector<TopicPartition> tps) {
    auto p = std::make_shared<std::promise<std::pair<GroupError, std::vector<GroupError>>>>();
    auto f = p->get_future();
    coordinator_->delete_offsets("g", std::move(tps), [p](GroupError e, auto per) {
      p->set_value({e, per});
    });
    return await(f);
  };
  EXPECT_EQ(delete_groups({"g", "nope"}),
            (std::vector<GroupError>{GroupError::kNonEmptyGroup, GroupError::kGroupIdNotFound}));
  auto [top, per] = delete_offsets({{"orders", 0}, {"other", 0}});
  EXPECT_EQ(top, GroupError::kNone);
  EXPECT_EQ(per, (std::vector<GroupError>{GroupError::kGroupSubscribedToTopic, GroupError::kNone}));
  EXPECT_EQ(committed("g", "other", 0), -1);
  EXPECT_EQ(committed("g", "orders", 0), 1);

  coordinator_->leave("g", {{pair.a, std::nullopt}, {pair.b, std::nullopt}});
  EXPECT_EQ(coordinator_->describe_group("g").state, "Empty");
  EXPECT_EQ(delete_groups({"g"}), std::vector<GroupError>{GroupError::kNone});
  EXPECT_EQ(coordinator_->describe_group("g").state, "Dead");
  reopen();
  EXPECT_EQ(coordinator_->describe_group("g").state, "Dead");
  EXPECT_EQ(committed("g", "orders", 0), -1);
}

TEST_F(CoordinatorTest, EveryRecordOfAGroupGoesToItsOwnOffsetsPartition) {
  offsets_partitions_ = 4;
  shut();
  data_subdir_ = "data4";  // a fresh data directory: the partition count is fixed at creation
  open();
  const std::string group = "g";
  const int32_t home = offsets_partition_for(group, 4);
  Pair pair = stable_pair();
  ASSERT_EQ(commit(pair.a, pair.generation, {{{"other", 1}, 3, -1, std::nullopt}})[0],
            GroupError::kNone);
  for (int32_t p = 0; p < 4; ++p) {
    const int64_t end = log_->partition(kOffsetsTopic, p)->log_end_offset();
    if (p == home) {
      EXPECT_GT(end, 0) << "partition " << p;
    } else {
      EXPECT_EQ(end, 0) << "partition " << p << " holds records of group " << group;
    }
  }
  auto p = std::make_shared<std::promise<GroupError>>();
  auto f = p->get_future();
  coordinator_->delete_offsets(group, {{"other", 1}}, [p](GroupError e, auto) { p->set_value(e); });
  EXPECT_EQ(await(f), GroupError::kNone);
  EXPECT_EQ(committed(group, "other", 1), -1);
  reopen();
  EXPECT_EQ(committed(group, "other", 1), -1);
  EXPECT_EQ(coordinator_->describe_group(group).members.size(), 2u);
}

TEST_F(CoordinatorTest, ReplacedStaticMemberIsFencedNotUnknown) {
  Pair pair = stable_pair("instance-a");
  auto rejoined = join(join_request("", "instance-a"));
  ASSERT_EQ(await(rejoined).error, GroupError::kNone);
  // The old incarnation comes back with its old member id: it must stop, not rejoin.
  auto old = join(join_request(pair.a, "instance-a"));
  EXPECT_EQ(await(old).error, GroupError::kFencedInstanceId);
  auto unknown_instance = join(join_request(pair.b, "instance-z"));
  EXPECT_EQ(await(unknown_instance).error, GroupError::kUnknownMemberId);
}

TEST_F(CoordinatorTest, OffsetsOnlyCommitsNameNoMemberAndEmptyGroupsWithoutOffsetsGo) {
  const std::vector<OffsetToCommit> one = {{{"orders", 0}, 1, -1, std::nullopt}};
  EXPECT_EQ(commit("", -1, one, "store")[0], GroupError::kNone);
  EXPECT_EQ(commit("someone", -1, one, "store")[0], GroupError::kUnknownMemberId);
  // A group whose members left without committing disappears at the next retention check.
  const std::string id = member_id_for(join_request());
  auto joined = join(join_request(id));
  ASSERT_EQ(await(joined).error, GroupError::kNone);
  coordinator_->leave("g", {{id, std::nullopt}});
  EXPECT_EQ(coordinator_->describe_group("g").state, "Empty");
  advance(1000);
  reopen();
  EXPECT_EQ(coordinator_->describe_group("g").state, "Dead");
  EXPECT_EQ(committed("store", "orders", 0), 1);
}

}  // namespace
}  // namespace eddy::groups

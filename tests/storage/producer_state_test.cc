// Idempotent producers in the log: Kafka's sequence and epoch rules, duplicates acknowledged with
// their original offsets, the producer snapshot, rebuilding the state after clean and unclean
// stops, retention and expiry, and producer ids that survive restarts.
#include <gtest/gtest.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/crc32c.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/producer_ids.h"
#include "storage/producer_state.h"
#include "storage_test_util.h"

namespace eddy::storage {
namespace {

using testing::build_batch;
using testing::build_idempotent_batch;
using testing::build_value_batch;

class ProducerStateTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> open_log(bool clean = true, RecoveryOutcome* outcome = nullptr) {
    auto log = PartitionLog::open(cache_,
                                  {.dir = dir(),
                                   .config = config_,
                                   .clock = clock_.clock(),
                                   .producer_id_expiration_ms = kExpirationMs},
                                  clean, outcome);
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message());
    return log.ok() ? std::move(*log) : nullptr;
  }

  std::string dir() const { return dir_.path() + "/p0"; }

  // Appends a batch of `count` records from `pid` and returns the result (or the error).
  Result<AppendResult> send(PartitionLog& log, int64_t pid, int16_t epoch, int32_t seq,
                            int count = 2) {
    auto batch = build_idempotent_batch(pid, epoch, seq, count, "r", *clock_.now);
    return log.append_durable(batch);
  }

  AppendResult sent(PartitionLog& log, int64_t pid, int16_t epoch, int32_t seq, int count = 2) {
    auto result = send(log, pid, epoch, seq, count);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message());
    return result.ok() ? *result : AppendResult{};
  }

  ErrorCode error_of(Result<AppendResult> result) {
    return result.ok() ? ErrorCode::kOk : result.error().code();
  }

  // Every batch in the log, in order.
  std::vector<BatchHeader> all_batches(PartitionLog& log) {
    std::vector<BatchHeader> out;
    int64_t offset = log.log_start_offset();
    while (offset < log.log_end_offset()) {
      auto read = log.read(offset, {.read_uncommitted = true});
      EXPECT_TRUE(read.ok());
      if (!read.ok() || read->data.empty()) break;
      for (const auto& h : headers_of(read->data)) {
        out.push_back(h);
        offset = h.next_offset();
      }
    }
    return out;
  }

  std::vector<std::string> snapshot_files() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir())) {
      if (entry.path().extension() == ".snapshot") names.push_back(entry.path().filename());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  static constexpr int64_t kExpirationMs = 3'600'000;
  TempDir dir_;
  FileCache cache_{posix_file_system(), 64};
  FakeClock clock_;
  TopicConfig config_{};
};

TEST_F(ProducerStateTest, RetryOfEachOfTheLastFiveBatchesIsAcknowledgedWithItsOriginalOffsets) {
  auto log = open_log();
  std::vector<AppendResult> originals;
  for (int i = 0; i < 6; ++i)
    originals.push_back(sent(*log, 7, 0, 2 * i));
  const int64_t end = log->log_end_offset();
  ASSERT_EQ(end, 12);
  for (int i = 1; i < 6; ++i) {
    auto retry = sent(*log, 7, 0, 2 * i);
    EXPECT_TRUE(retry.duplicate) << i;
    EXPECT_EQ(retry.base_offset, originals[i].base_offset) << i;
    EXPECT_EQ(retry.last_offset, originals[i].last_offset) << i;
  }
  EXPECT_EQ(log->log_end_offset(), end);
  // The sixth-last batch is no longer cached: like Kafka, its retry is out of order.
  EXPECT_EQ(error_of(send(*log, 7, 0, 0)), ErrorCode::kOutOfSequence);
  EXPECT_EQ(all_batches(*log).size(), 6u);
  // Same first sequence but a different range is not a duplicate.
  EXPECT_EQ(error_of(send(*log, 7, 0, 10, 1)), ErrorCode::kOutOfSequence);
  EXPECT_EQ(sent(*log, 7, 0, 12).base_offset, 12);
}

TEST_F(ProducerStateTest, SequenceGapIsOutOfOrderAndWritesNothing) {
  auto log = open_log();
  sent(*log, 3, 0, 0);
  auto gap = send(*log, 3, 0, 3);
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code(), ErrorCode::kOutOfSequence);
  EXPECT_NE(gap.error().message().find("does not follow the last sequence 1"), std::string::npos)
      << gap.error().message();
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(sent(*log, 3, 0, 2).base_offset, 2);
}

TEST_F(ProducerStateTest, OlderEpochIsFencedAndNewEpochMustStartAtZero) {
  auto log = open_log();
  sent(*log, 5, 0, 0);
  sent(*log, 5, 0, 2);
  EXPECT_EQ(error_of(send(*log, 5, 1, 4)), ErrorCode::kOutOfSequence);
  EXPECT_EQ(error_of(send(*log, 5, 1, 1)), ErrorCode::kOutOfSequence);
  auto bumped = sent(*log, 5, 1, 0);
  EXPECT_FALSE(bumped.duplicate);
  EXPECT_EQ(bumped.base_offset, 4);
  // A retry from the old epoch is no duplicate any more: it is fenced.
  EXPECT_EQ(error_of(send(*log, 5, 0, 2)), ErrorCode::kStaleEpoch);
  EXPECT_EQ(error_of(send(*log, 5, 0, 4)), ErrorCode::kStaleEpoch);
  EXPECT_EQ(log->producer(5)->epoch, 1);
  EXPECT_EQ(log->producer(5)->count, 1);
  EXPECT_EQ(log->log_end_offset(), 6);
}

TEST_F(ProducerStateTest, UnknownProducerMayStartAtAnySequence) {
  auto log = open_log();
  // KIP-360: the broker cannot tell a new producer from one whose state expired, so it accepts.
  EXPECT_EQ(sent(*log, 11, 4, 42).base_offset, 0);
  EXPECT_EQ(error_of(send(*log, 11, 4, 45)), ErrorCode::kOutOfSequence);
  EXPECT_EQ(sent(*log, 11, 4, 44).base_offset, 2);
}

TEST_F(ProducerStateTest, SequencesWrapFromInt32MaxToZero) {
  auto log = open_log();
  sent(*log, 1, 0, INT32_MAX - 1, 2);  // sequences MAX-1, MAX
  EXPECT_EQ(log->producer(1)->last().last_seq, INT32_MAX);
  EXPECT_EQ(error_of(send(*log, 1, 0, 1)), ErrorCode::kOutOfSequence);
  sent(*log, 1, 0, 0, 1);
  // A batch whose own records wrap.
  sent(*log, 2, 0, INT32_MAX - 1, 4);  // MAX-1, MAX, 0, 1
  EXPECT_EQ(log->producer(2)->last().last_seq, 1);
  auto retry = sent(*log, 2, 0, INT32_MAX - 1, 4);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(sent(*log, 2, 0, 2, 1).base_offset, 7);
}

TEST_F(ProducerStateTest, TransactionalAndMalformedIdempotentBatchesAreRefused) {
  auto log = open_log();
  auto txn = build_batch({.records = {{std::nullopt, "v", 0}},
                          .producer_id = 1,
                          .producer_epoch = 0,
                          .base_sequence = 0,
                          .transactional = true});
  auto refused = log->append(txn);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(refused.error().message().find("transactional"), std::string::npos);
  auto no_sequence = build_idempotent_batch(1, 0, -1, 1);
  EXPECT_EQ(error_of(log->append(no_sequence)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->producer_count(), 0u);
}

TEST_F(ProducerStateTest, PlainBatchesInterleaveAndADuplicateInAMultiBatchAppendWritesNothing) {
  auto log = open_log();
  auto plain = build_value_batch(3, 10);
  ASSERT_TRUE(log->append_durable(plain).ok());
  sent(*log, 9, 0, 0);  // offsets 3-4
  ASSERT_TRUE(log->append_durable(plain).ok());
  // As in Kafka, an append holding a duplicate is answered as that duplicate, whole.
  auto two = build_idempotent_batch(9, 0, 2, 2);
  auto dup = build_idempotent_batch(9, 0, 0, 2);
  two.insert(two.end(), dup.begin(), dup.end());
  auto result = log->append_durable(two);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->duplicate);
  EXPECT_EQ(result->base_offset, 3);
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(log->producer(9)->last().last_seq, 1);
}

TEST_F(ProducerStateTest, SnapshotRoundTripsAndRejectsDamage) {
  ProducerStateMap map;
  for (int64_t pid = 0; pid < 20; ++pid) {
    for (int i = 0; i < static_cast<int>(pid % 8); ++i) {
      BatchHeader h;
      h.producer_id = pid * 1000;
      h.producer_epoch = static_cast<int16_t>(pid % 3);
      h.base_sequence = 10 * i;
      h.last_offset_delta = 9;
      h.base_offset = pid * 100 + i * 10;
      h.max_timestamp = 1000 + i;
      map.replay(h);
    }
  }
  ASSERT_EQ(map.size(), 17u);
  const auto bytes = map.encode(4242);
  auto decoded = ProducerStateMap::decode(bytes, 4242);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_TRUE(*decoded == map);
  EXPECT_EQ(decoded->encode(4242), bytes);
  EXPECT_EQ(decoded->find(7000)->count, 5);  // 7 batches, the last 5 kept
  EXPECT_EQ(decoded->find(7000)->batches[0].first_seq, 20);

  EXPECT_EQ(ProducerStateMap::decode(bytes, 4243).error().code(), ErrorCode::kCorrupt);
  for (size_t i = 0; i < bytes.size(); i += 7) {
    auto damaged = bytes;
    damaged[i] ^= std::byte{0x40};
    EXPECT_FALSE(ProducerStateMap::decode(damaged, 4242).ok()) << "byte " << i;
  }
  for (size_t cut = 0; cut < bytes.size(); cut += 13) {
    EXPECT_FALSE(ProducerStateMap::decode(std::span(bytes.data(), cut), 4242).ok()) << cut;
  }
  // A huge producer count with a valid CRC is refused before anything is sized by it.
  auto lying = ProducerStateMap{}.encode(1);
  store_be32(lying.data() + 14, INT32_MAX);
  store_be32(lying.data() + lying.size() - 4,
             static_cast<int32_t>(crc32c(lying.data(), lying.size() - 4)));
  EXPECT_EQ(ProducerStateMap::decode(lying, 1).error().code(), ErrorCode::kCorrupt);
}

TEST_F(ProducerStateTest, CleanRestartRestoresTheStateFromTheSnapshot) {
  auto log = open_log();
  for (int i = 0; i < 3; ++i)
    sent(*log, 21, 2, 2 * i);
  const ProducerEntry before = *log->producer(21);
  ASSERT_TRUE(log->close().ok());
  log.reset();
  EXPECT_EQ(snapshot_files(), std::vector<std::string>{"00000000000000000006.snapshot"});
  RecoveryOutcome outcome;
  log = open_log(true, &outcome);
  EXPECT_EQ(outcome.producers, 1);
  EXPECT_EQ(*log->producer(21), before);
  auto retry = sent(*log, 21, 2, 2);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.base_offset, 2);
  EXPECT_EQ(error_of(send(*log, 21, 2, 7)), ErrorCode::kOutOfSequence);
}

class UncleanRestartTest : public ProducerStateTest, public ::testing::WithParamInterface<bool> {};

// A crash (the log dropped without close) after rolls: the state comes back from the newest
// snapshot plus the batches after it, or, with the snapshots removed, from the whole log.
TEST_P(UncleanRestartTest, StateIsRebuiltFromTheLog) {
  const bool keep_snapshots = GetParam();
  config_.segment_bytes = 1024;
  auto log = open_log();
  for (int i = 0; i < 40; ++i) {
    sent(*log, 100 + i % 4, 0, 2 * (i / 4));
    if (i % 3 == 0) {
      auto plain = build_value_batch(1, 40);
      ASSERT_TRUE(log->append_durable(plain).ok());
    }
  }
  ASSERT_GT(log->segment_count(), 3u);
  ASSERT_FALSE(log->producer_snapshot_offsets().empty());
  std::map<int64_t, ProducerEntry> before;
  for (int64_t pid = 100; pid < 104; ++pid)
    before[pid] = *log->producer(pid);
  const int64_t end = log->log_end_offset();
  log.reset();  // no close: no final snapshot, no clean marker
  if (!keep_snapshots) {
    for (const auto& name : snapshot_files())
      std::filesystem::remove(dir() + "/" + name);
  }
  RecoveryOutcome outcome;
  log = open_log(false, &outcome);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(outcome.producers, 4);
  for (int64_t pid = 100; pid < 104; ++pid)
    EXPECT_EQ(*log->producer(pid), before[pid]) << pid;
  // The retry of a batch written after the last roll is still recognised.
  auto retry = sent(*log, 103, 0, 18);
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.base_offset, before[103].last().first_offset);
  EXPECT_EQ(log->log_end_offset(), end);
}

INSTANTIATE_TEST_SUITE_P(Snapshots, UncleanRestartTest, ::testing::Values(true, false),
                         [](const auto& info) {
                           return info.param ? "FromSnapshot" : "WithoutSnapshot";
                         });

TEST_F(ProducerStateTest, DamagedNewestSnapshotFallsBackToAnOlderOneAndTheLog) {
  config_.segment_bytes = 1024;
  auto log = open_log();
  for (int i = 0; i < 30; ++i)
    sent(*log, 8, 0, 3 * i, 3);
  const ProducerEntry before = *log->producer(8);
  ASSERT_TRUE(log->close().ok());
  log.reset();
  auto names = snapshot_files();
  ASSERT_EQ(names.size(), 2u);
  {
    std::fstream f(dir() + "/" + names.back(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x7f');
  }
  log = open_log(true);
  EXPECT_EQ(*log->producer(8), before);
  EXPECT_EQ(snapshot_files(), std::vector<std::string>{names.front()});
}

TEST_F(ProducerStateTest, RetentionForgetsProducersWhoseDataIsGone) {
  config_.segment_ms = 10'000;  // producer 2 starts a new segment
  config_.retention_ms = 60'000;
  config_.segment_bytes = 1024;
  auto log = open_log();
  for (int i = 0; i < 10; ++i)
    sent(*log, 1, 0, 2 * i);  // old data only
  clock_.advance(50'000);
  for (int i = 0; i < 10; ++i)
    sent(*log, 2, 0, 2 * i);
  clock_.advance(20'000);  // producer 1's segments are 70 s old, producer 2's 20 s
  ASSERT_GT(log->apply_retention().segments_deleted, 0);
  EXPECT_FALSE(log->producer(1).has_value());
  ASSERT_TRUE(log->producer(2).has_value());
  for (int64_t offset : log->producer_snapshot_offsets())
    EXPECT_GE(offset, log->log_start_offset());
  // The forgotten producer is unknown again: any sequence is accepted.
  EXPECT_FALSE(sent(*log, 1, 0, 100).duplicate);
  ASSERT_TRUE(log->close().ok());
  log.reset();
  log = open_log(true);
  EXPECT_EQ(log->producer(1)->last().first_seq, 100);
  EXPECT_TRUE(log->producer(2).has_value());
}

TEST_F(ProducerStateTest, IdleProducersExpireInTheBackgroundAndAtOpen) {
  auto log = open_log();
  sent(*log, 1, 0, 0);
  clock_.advance(kExpirationMs / 2);
  sent(*log, 2, 0, 0);
  clock_.advance(kExpirationMs / 2 - 1);
  EXPECT_EQ(log->expire_producers(), 0u);
  clock_.advance(1);
  EXPECT_EQ(log->expire_producers(), 1u);
  EXPECT_FALSE(log->producer(1).has_value());
  EXPECT_TRUE(log->producer(2).has_value());
  ASSERT_TRUE(log->close().ok());
  log.reset();
  clock_.advance(kExpirationMs / 2);
  log = open_log(true);
  EXPECT_EQ(log->producer_count(), 0u);
}

TEST_F(ProducerStateTest, TruncationForgetsTheCutBatches) {
  ProducerStateMap map;
  for (int i = 0; i < 4; ++i) {
    BatchHeader h;
    h.producer_id = 1;
    h.producer_epoch = 0;
    h.base_sequence = i;
    h.base_offset = 10 * i;
    map.replay(h);
  }
  BatchHeader other;
  other.producer_id = 2;
  other.producer_epoch = 0;
  other.base_sequence = 0;
  other.base_offset = 25;
  map.replay(other);
  map.truncate_from(20);
  EXPECT_EQ(map.find(1)->count, 2);
  EXPECT_EQ(map.find(1)->last().last_offset, 10);
  EXPECT_EQ(map.find(2), nullptr);
}

TEST_F(ProducerStateTest, ProducerIdsAreNeverReusedAcrossRestarts) {
  const std::string path = dir_.path() + "/producer_ids";
  std::set<int64_t> seen;
  int64_t last = -1;
  for (int run = 0; run < 3; ++run) {
    auto ids = ProducerIdAllocator::open(posix_file_system(), path);
    ASSERT_TRUE(ids.ok()) << ids.error().message();
    for (int i = 0; i < (run == 1 ? 1500 : 3); ++i) {
      auto id = ids->allocate();
      ASSERT_TRUE(id.ok());
      EXPECT_GT(*id, last);
      EXPECT_TRUE(seen.insert(*id).second);
      EXPECT_TRUE(ids->issued(*id));
      last = *id;
    }
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out);
    f.seekp(25);
    f.put('9');
  }
  auto damaged = ProducerIdAllocator::open(posix_file_system(), path);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code(), ErrorCode::kCorrupt);
}

TEST_F(ProducerStateTest, LogManagerIssuesFreshIdsAfterACrash) {
  LogManagerOptions options{.data_dir = dir_.path() + "/data", .background_threads = false};
  int64_t first;
  {
    auto manager = LogManager::open(options);
    ASSERT_TRUE(manager.ok());
    first = *(*manager)->allocate_producer_id();
    EXPECT_EQ(*(*manager)->allocate_producer_id(), first + 1);
    // The block is reserved durably before its first id is returned, so a crash here would
    // not matter either.
  }
  auto manager = LogManager::open(options);
  ASSERT_TRUE(manager.ok());
  EXPECT_TRUE((*manager)->producer_id_issued(first + 1));
  EXPECT_GE(*(*manager)->allocate_producer_id(), first + ProducerIdAllocator::kBlockSize);
}

}  // namespace
}  // namespace eddy::storage

// Bad disks: ENOSPC, short writes and fsync failures fail the append with a clear error, leave
// nothing partial visible, keep the log readable and let later appends continue.
#include <gtest/gtest.h>

#include <cerrno>

#include "common/fault_injection.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage_test_util.h"

namespace eddy::storage {
namespace {

using testing::build_value_batch;
using Op = FaultInjectionFileSystem::Op;

class FaultTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> open_log() {
    auto log = PartitionLog::open(cache_, {.dir = dir_.path() + "/p", .config = config_}, true);
    EXPECT_TRUE(log.ok());
    return std::move(*log);
  }
  void expect_readable(PartitionLog& log, int64_t end) {
    int64_t offset = 0;
    while (offset < end) {
      auto read = log.read(offset, {});
      ASSERT_TRUE(read.ok());
      ASSERT_FALSE(read->data.empty());
      for (const auto& h : headers_of(read->data)) {
        ASSERT_EQ(h.base_offset, offset);
        ASSERT_EQ(check_batch(read->data, 1 << 20).defect, BatchDefect::kNone);
        offset = h.next_offset();
      }
    }
    EXPECT_EQ(offset, end);
  }

  TempDir dir_;
  FaultInjectionFileSystem fs_{posix_file_system()};
  FileCache cache_{fs_, 16};
  TopicConfig config_{.segment_bytes = 2048};
};

TEST_F(FaultTest, NoSpaceWithShortWriteFailsAppendAndLeavesNothingVisible) {
  auto log = open_log();
  for (int i = 0; i < 3; ++i) {
    auto batch = build_value_batch(2, 50);
    ASSERT_TRUE(log->append_durable(batch).ok());
  }
  fs_.inject({.op = Op::kWrite, .nth = 1, .error = ENOSPC, .partial_bytes = 40});
  auto batch = build_value_batch(2, 50);
  auto failed = log->append_durable(batch);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kNoSpace);
  EXPECT_NE(failed.error().message().find("No space left"), std::string::npos);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->high_watermark(), 6);
  expect_readable(*log, 6);
  // The disk recovers: appends continue at the next offset, over the partial bytes.
  auto next = build_value_batch(1, 50);
  auto ok = log->append_durable(next);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->base_offset, 6);
  expect_readable(*log, 7);
  // And a restart after an unclean stop agrees.
  log.reset();
  auto reopened = PartitionLog::open(cache_, {.dir = dir_.path() + "/p", .config = config_}, false);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->log_end_offset(), 7);
  expect_readable(**reopened, 7);
}

TEST_F(FaultTest, FsyncFailureFailsWaitersAndCutsUndurableData) {
  auto log = open_log();
  auto first = build_value_batch(2, 50);
  ASSERT_TRUE(log->append_durable(first).ok());
  fs_.inject({.op = Op::kSync, .nth = 1, .error = EIO});
  auto batch = build_value_batch(2, 50);
  auto failed = log->append_durable(batch);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kIoError);
  EXPECT_EQ(log->log_end_offset(), 2);
  EXPECT_EQ(log->high_watermark(), 2);
  expect_readable(*log, 2);
  auto again = build_value_batch(1, 50);
  auto ok = log->append_durable(again);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->base_offset, 2);
  expect_readable(*log, 3);
}

TEST_F(FaultTest, ErrorsAtEveryWriteAndSyncOfARollingWorkload) {
  // Fail the Nth write or fsync for a range of N: every outcome is either a success with the
  // expected offset or a clean error, and the log stays consistent throughout.
  for (Op op : {Op::kWrite, Op::kSync, Op::kOpen}) {
    for (uint64_t nth = 1; nth <= 12; ++nth) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " nth " + std::to_string(nth));
      TempDir dir;
      FileCache cache(fs_, 4);
      auto log = PartitionLog::open(cache, {.dir = dir.path(), .config = config_}, true);
      ASSERT_TRUE(log.ok());
      fs_.inject({.op = op, .nth = nth, .error = ENOSPC, .partial_bytes = 17});
      int64_t expected_end = 0;
      int failures = 0;
      for (int i = 0; i < 30; ++i) {
        auto batch = build_value_batch(3, 60);
        auto result = (*log)->append_durable(batch);
        if (result.ok()) {
          ASSERT_EQ(result->base_offset, expected_end);
          expected_end += 3;
        } else {
          ++failures;
        }
        ASSERT_EQ((*log)->high_watermark(), expected_end);
      }
      fs_.clear();
      EXPECT_LE(failures, 1);
      expect_readable(**log, expected_end);
      log->reset();
      auto reopened = PartitionLog::open(cache, {.dir = dir.path(), .config = config_}, false);
      ASSERT_TRUE(reopened.ok()) << reopened.error().message();
      EXPECT_EQ((*reopened)->log_end_offset(), expected_end);
      expect_readable(**reopened, expected_end);
    }
  }
}

TEST_F(FaultTest, FailedCatalogWriteLeavesNoHalfCreatedTopic) {
  {
    auto manager = LogManager::open(
        {.data_dir = dir_.path() + "/data", .background_threads = false, .fs = &fs_});
    ASSERT_TRUE(manager.ok());
    fs_.inject({.op = Op::kRename, .nth = 1, .error = EIO});
    auto created = (*manager)->create_topic("t", 3);
    ASSERT_FALSE(created.ok());
    EXPECT_FALSE((*manager)->topic("t").has_value());
    EXPECT_EQ((*manager)->partition("t", 0), nullptr);
    ASSERT_TRUE((*manager)->create_topic("t", 2).ok());
  }
  auto manager = LogManager::open({.data_dir = dir_.path() + "/data", .background_threads = false});
  ASSERT_TRUE(manager.ok());
  ASSERT_TRUE((*manager)->topic("t").has_value());
  EXPECT_EQ((*manager)->topic("t")->partitions, 2);
}

}  // namespace
}  // namespace eddy::storage

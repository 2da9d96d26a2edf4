#include "storage/file_deleter.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

#include "common/fault_injection.h"
#include "storage/partition_log.h"
#include "storage/segment.h"
#include "storage_test_util.h"

namespace eddy::storage {
namespace {

using testing::build_value_batch;
namespace fs = std::filesystem;

void write_file(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  const std::string block(64 << 10, 'x');
  for (size_t left = bytes; left > 0;) {
    const size_t n = std::min(left, block.size());
    out.write(block.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
}

class FileDeleterTest : public ::testing::Test {
 protected:
  TempDir dir_;
  FaultInjectionFileSystem fs_{posix_file_system()};
  FileDeleterOptions steps_{.step_bytes = 1 << 20, .pause = std::chrono::microseconds(0)};
};

TEST_F(FileDeleterTest, ShrinksInStepsThenRemoves) {
  const std::string path = dir_.path() + "/big";
  write_file(path, (10 << 20) + 1);
  FileDeleter deleter(fs_, steps_);
  deleter.submit({.files = {path}});
  deleter.wait_idle();
  EXPECT_FALSE(fs::exists(path));
  // 10 MiB + 1 byte in 1 MiB steps: ten truncations (each fsynced), then the unlink.
  EXPECT_EQ(fs_.calls(FaultInjectionFileSystem::Op::kTruncate), 10u);
  EXPECT_GE(fs_.calls(FaultInjectionFileSystem::Op::kSync), 10u);
  EXPECT_EQ(deleter.files_deleted(), 1u);
  EXPECT_EQ(deleter.bytes_deleted(), (10u << 20) + 1);
}

TEST_F(FileDeleterTest, WaitsUntilNobodyHoldsTheFiles) {
  const std::string path = dir_.path() + "/held";
  write_file(path, 3 << 20);
  auto reader = std::make_shared<int>(0);
  std::mutex mu;
  std::condition_variable asked_cv;
  int asked = 0;
  FileDeleter deleter(fs_, {.step_bytes = 1 << 20,
                            .pause = std::chrono::microseconds(0),
                            .unused_poll = std::chrono::milliseconds(1)});
  deleter.submit({.files = {path}, .unused = [&, held = std::weak_ptr<int>(reader)] {
                    std::lock_guard lock(mu);
                    ++asked;
                    asked_cv.notify_all();
                    return held.expired();
                  }});
  {
    std::unique_lock lock(mu);
    asked_cv.wait(lock, [&] { return asked >= 3; });  // looked at it three times, still held
  }
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(fs_.calls(FaultInjectionFileSystem::Op::kTruncate), 0u);
  reader.reset();
  deleter.wait_idle();
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(FileDeleterTest, StopRemovesWhatIsLeftAtOnce) {
  const std::string path = dir_.path() + "/left";
  write_file(path, 4 << 20);
  auto reader = std::make_shared<int>(0);
  FileDeleter deleter(fs_, steps_);
  deleter.submit({.files = {path}, .unused = [reader] { return reader.use_count() == 1; }});
  auto held = reader;  // never released before stop()
  deleter.stop();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(fs_.calls(FaultInjectionFileSystem::Op::kTruncate), 0u);
  // After stop, submissions are deleted on the caller's thread.
  const std::string late = dir_.path() + "/late";
  write_file(late, 1 << 20);
  deleter.submit({.files = {late}});
  EXPECT_FALSE(fs::exists(late));
}

TEST_F(FileDeleterTest, RemovesATreeFileByFile) {
  const std::string tree = dir_.path() + "/topic-1";
  fs::create_directories(tree + "/0");
  fs::create_directories(tree + "/1");
  write_file(tree + "/0/00000000000000000000.log", 3 << 20);
  write_file(tree + "/1/00000000000000000000.log", 2 << 20);
  write_file(tree + "/1/00000000000000000000.index", 100);
  FileDeleter deleter(fs_, steps_);
  deleter.submit({.tree = tree});
  deleter.wait_idle();
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_EQ(deleter.files_deleted(), 3u);
  EXPECT_EQ(fs_.calls(FaultInjectionFileSystem::Op::kTruncate), 2u + 1u);
}

// Retention hands whole segments over: their files are renamed at once (a restart never sees
// them half-shrunk under their real names) and go once the log no longer holds them.
TEST_F(FileDeleterTest, RetentionRetiresSegmentsAndAStartRemovesLeftovers) {
  FakeClock clock;
  FileCache cache(fs_, 64);
  FileDeleter deleter(fs_, steps_);
  const std::string dir = dir_.path() + "/p0";
  const TopicConfig config{.segment_bytes = 1024, .retention_ms = 60'000};
  {
    auto log = PartitionLog::open(
        cache, {.dir = dir, .config = config, .clock = clock.clock(), .deleter = &deleter}, true);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 20; ++i) {
      auto batch = build_value_batch(2, 100, "old", *clock.now);
      ASSERT_TRUE((*log)->append_durable(batch).ok());
    }
    clock.advance(100'000);
    const auto outcome = (*log)->apply_retention();
    ASSERT_GT(outcome.segments_deleted, 0);
    deleter.wait_idle();
    EXPECT_EQ((*log)->log_start_offset(), 40);
    for (const auto& entry : fs::directory_iterator(dir))
      EXPECT_EQ(entry.path().string().find(Segment::kDeletedSuffix), std::string::npos)
          << entry.path();
    EXPECT_GE(deleter.files_deleted(), 3u * static_cast<uint64_t>(outcome.segments_deleted));
    ASSERT_TRUE((*log)->close().ok());
  }
  // A crash in the middle of a deletion leaves `.deleted` files; the next open removes them and
  // does not take them for segments.
  write_file(dir + "/00000000000000000000.log.deleted", 5000);
  write_file(dir + "/00000000000000000000.index.deleted", 10);
  auto reopened =
      PartitionLog::open(cache, {.dir = dir, .config = config, .clock = clock.clock()}, false);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message();
  EXPECT_FALSE(fs::exists(dir + "/00000000000000000000.log.deleted"));
  EXPECT_FALSE(fs::exists(dir + "/00000000000000000000.index.deleted"));
  EXPECT_EQ((*reopened)->log_start_offset(), 40);
  EXPECT_EQ((*reopened)->log_end_offset(), 40);
}

}  // namespace
}  // namespace eddy::storage

// Recovery after unclean stops: torn tails at every byte, single-byte corruption, and the
// agreement of rebuilt indexes with the data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/partition_log.h"
#include "storage_test_util.h"

namespace eddy::storage {
namespace {

namespace fs = std::filesystem;
using testing::build_value_batch;

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const std::string& path, const std::vector<char>& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A reference log: 8 batches of varied sizes in one segment, closed uncleanly (no close()).
    FileCache cache(posix_file_system(), 16);
    auto log = PartitionLog::open(cache, {.dir = source_dir(), .config = config_}, true);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 8; ++i) {
      auto batch = build_value_batch(1 + i % 3, 20 + 7 * i, "r" + std::to_string(i));
      auto result = (*log)->append_durable(batch);
      ASSERT_TRUE(result.ok());
      boundaries_.push_back({result->base_offset, result->last_offset + 1, total_});
      total_ += batch.size();
    }
    original_ = read_file(source_dir() + "/" + Segment::file_name(0, "log"));
    ASSERT_EQ(original_.size(), total_);
  }

  std::string source_dir() const { return dir_.path() + "/source"; }
  std::string work_dir() const { return dir_.path() + "/work"; }

  // Opens a copy of the reference log whose data file is `data`, as after a crash.
  std::unique_ptr<PartitionLog> open_damaged(const std::vector<char>& data, RecoveryOutcome* out) {
    fs::remove_all(work_dir());
    fs::create_directories(work_dir());
    write_file(work_dir() + "/" + Segment::file_name(0, "log"), data);
    // A fresh cache: the previous iteration's descriptors point at files that were replaced.
    cache_ = std::make_unique<FileCache>(posix_file_system(), 16);
    auto log = PartitionLog::open(*cache_, {.dir = work_dir(), .config = config_}, false, out);
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message());
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Asserts the recovered log holds exactly the first `batches` reference batches, readable at
  // every offset through the rebuilt index, and continues at the right offset.
  void expect_prefix(PartitionLog& log, size_t batches) {
    const int64_t end = batches == 0 ? 0 : boundaries_[batches - 1].next;
    const uint64_t bytes =
        batches == 0 ? 0 : (batches < boundaries_.size() ? boundaries_[batches].position : total_);
    ASSERT_EQ(log.log_end_offset(), end);
    ASSERT_EQ(log.size_bytes(), bytes);
    for (int64_t offset = 0; offset < end; ++offset) {
      auto read = log.read(offset, {.max_bytes = 1});
      ASSERT_TRUE(read.ok());
      auto headers = headers_of(read->data);
      ASSERT_EQ(headers.size(), 1u);
      ASSERT_LE(headers[0].base_offset, offset);
      ASSERT_GE(headers[0].last_offset(), offset);
    }
    auto all = log.read(0, {.max_bytes = 1 << 20});
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->data.size(), bytes);
    ASSERT_EQ(0, std::memcmp(all->data.data(), original_.data(), bytes));
    auto next = build_value_batch(1, 5, "after");
    auto appended = log.append_durable(next);
    ASSERT_TRUE(appended.ok());
    ASSERT_EQ(appended->base_offset, end);
  }

  struct Boundary {
    int64_t base;
    int64_t next;
    uint64_t position;
  };

  TempDir dir_;
  TopicConfig config_{.index_interval_bytes = 64};
  std::unique_ptr<FileCache> cache_;
  std::vector<Boundary> boundaries_;
  uint64_t total_ = 0;
  std::vector<char> original_;
};

TEST_F(RecoveryTest, TruncationAtEveryByteOfTheLastBatchesKeepsTheCompletePrefix) {
  const uint64_t from = boundaries_[boundaries_.size() - 3].position;
  for (uint64_t cut = from; cut <= total_; ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    std::vector<char> data(original_.begin(), original_.begin() + static_cast<long>(cut));
    RecoveryOutcome outcome;
    auto log = open_damaged(data, &outcome);
    ASSERT_NE(log, nullptr);
    size_t complete = 0;
    while (complete < boundaries_.size() &&
           (complete + 1 < boundaries_.size() ? boundaries_[complete + 1].position : total_) <=
               cut) {
      ++complete;
    }
    const uint64_t kept = complete == 0                   ? 0
                          : complete < boundaries_.size() ? boundaries_[complete].position
                                                          : total_;
    EXPECT_EQ(outcome.bytes_dropped, cut - kept);
    expect_prefix(*log, complete);
  }
}

TEST_F(RecoveryTest, AnyFlippedByteDropsItsBatchAndEverythingAfter) {
  const size_t first_damaged = boundaries_.size() - 2;
  for (uint64_t at = boundaries_[first_damaged].position; at < total_; ++at) {
    SCOPED_TRACE("flipped byte " + std::to_string(at));
    std::vector<char> data = original_;
    data[at] = static_cast<char>(data[at] ^ 0xFF);
    size_t batch = first_damaged;
    while (batch + 1 < boundaries_.size() && boundaries_[batch + 1].position <= at)
      ++batch;
    RecoveryOutcome outcome;
    auto log = open_damaged(data, &outcome);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(outcome.bytes_dropped, total_ - boundaries_[batch].position);
    expect_prefix(*log, batch);
  }
}

TEST_F(RecoveryTest, GarbageAfterTheLastBatchIsTruncated) {
  std::vector<char> data = original_;
  data.insert(data.end(), 1000, '\0');  // preallocated zeros, as after a crash mid-extend
  RecoveryOutcome outcome;
  auto log = open_damaged(data, &outcome);
  EXPECT_EQ(outcome.bytes_dropped, 1000u);
  expect_prefix(*log, boundaries_.size());
}

TEST_F(RecoveryTest, DamagedIndexOfASealedSegmentIsRebuilt) {
  TempDir dir;
  const TopicConfig config{.segment_bytes = 1024, .index_interval_bytes = 128};
  {
    FileCache cache(posix_file_system(), 16);
    auto log = PartitionLog::open(cache, {.dir = dir.path(), .config = config}, true);
    for (int i = 0; i < 40; ++i) {
      auto batch = build_value_batch(2, 60);
      ASSERT_TRUE((*log)->append_durable(batch).ok());
    }
    ASSERT_TRUE((*log)->close().ok());
  }
  // Damage: one index truncated to half an entry, another removed, a third with garbage.
  write_file(dir.path() + "/" + Segment::file_name(0, "index"), {'x', 'y', 'z'});
  auto bases = std::vector<int64_t>{};
  for (auto& entry : fs::directory_iterator(dir.path())) {
    if (entry.path().extension() == ".log") bases.push_back(std::stoll(entry.path().stem()));
  }
  std::sort(bases.begin(), bases.end());
  ASSERT_GT(bases.size(), 3u);
  fs::remove(dir.path() + "/" + Segment::file_name(bases[1], "timeindex"));
  write_file(dir.path() + "/" + Segment::file_name(bases[2], "index"),
             std::vector<char>(16, '\x7f'));
  FileCache cache(posix_file_system(), 16);
  auto log = PartitionLog::open(cache, {.dir = dir.path(), .config = config}, true);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->log_end_offset(), 80);
  for (int64_t offset = 0; offset < 80; ++offset) {
    auto headers = headers_of((*log)->read(offset, {.max_bytes = 1})->data);
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_EQ(headers[0].base_offset, offset - offset % 2);
  }
}

}  // namespace
}  // namespace eddy::storage

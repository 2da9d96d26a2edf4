#include "storage/partition_log.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "storage/records.h"
#include "storage_test_util.h"

namespace eddy::storage {
namespace {

using testing::build_batch;
using testing::build_value_batch;

class PartitionLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<PartitionLog> open_log(TopicConfig config, bool clean = true,
                                         RecoveryOutcome* outcome = nullptr) {
    auto log = PartitionLog::open(
        cache_, {.dir = dir_.path() + "/p0", .config = config, .clock = clock_.clock()}, clean,
        outcome);
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message());
    return log.ok() ? std::move(*log) : nullptr;
  }

  AppendResult append(PartitionLog& log, std::vector<std::byte> batch) {
    auto result = log.append_durable(batch);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message());
    return result.ok() ? *result : AppendResult{};
  }

  TempDir dir_;
  FileCache cache_{posix_file_system(), 64};
  FakeClock clock_;
};

TEST_F(PartitionLogTest, AssignsOffsetsAndReadsBack) {
  auto log = open_log({});
  EXPECT_EQ(append(*log, build_value_batch(3, 10)).base_offset, 0);
  auto second = append(*log, build_value_batch(5, 10));
  EXPECT_EQ(second.base_offset, 3);
  EXPECT_EQ(second.last_offset, 7);
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(log->high_watermark(), 8);

  auto read = log->read(0, {});
  ASSERT_TRUE(read.ok());
  auto headers = headers_of(read->data);
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].base_offset, 0);
  EXPECT_EQ(headers[1].base_offset, 3);
  // A read in the middle of a batch returns that whole batch (Kafka semantics).
  auto mid = log->read(5, {});
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(headers_of(mid->data).front().base_offset, 3);
  // At the log end: nothing, no error. Past it: out of range.
  EXPECT_TRUE(log->read(8, {})->data.empty());
  EXPECT_EQ(log->read(9, {}).error().code(), ErrorCode::kOutOfRange);
}

TEST_F(PartitionLogTest, RejectsCorruptAndOversizedBatches) {
  auto log = open_log({.max_message_bytes = 200});
  auto batch = build_value_batch(2, 10);
  batch[batch.size() - 1] ^= std::byte{1};
  auto corrupt = log->append(batch);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().code(), ErrorCode::kCorrupt);
  auto big_batch = build_value_batch(1, 500);
  auto big = log->append(big_batch);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), ErrorCode::kTooLarge);
  auto truncated = build_value_batch(2, 10);
  truncated.resize(truncated.size() - 3);
  EXPECT_EQ(log->append(truncated).error().code(), ErrorCode::kCorrupt);
  // A CRC-valid batch claiming more offsets than records would burn offsets: refused.
  auto sparse = build_value_batch(2, 10);
  store_be32(sparse.data() + 23, 1000);  // lastOffsetDelta
  update_batch_crc(sparse);
  EXPECT_EQ(log->append(sparse).error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(log->log_end_offset(), 0);
}

TEST_F(PartitionLogTest, MaxBytesReturnsWholeBatchesAndAtLeastOne) {
  auto log = open_log({});
  for (int i = 0; i < 10; ++i)
    append(*log, build_value_batch(4, 100));
  const size_t one = build_value_batch(4, 100).size();
  auto read = log->read(0, {.max_bytes = one * 3 + one / 2});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(headers_of(read->data).size(), 3u);
  EXPECT_EQ(read->data.size(), one * 3);
  auto tiny = log->read(0, {.max_bytes = 10});
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->data.size(), one);  // first batch even past max_bytes
  auto strict = log->read(0, {.max_bytes = 10, .min_one_batch = false});
  EXPECT_TRUE(strict->data.empty());
}

TEST_F(PartitionLogTest, RollsBySizeAndLookupsWorkAcrossSegments) {
  auto log = open_log({.segment_bytes = 4096, .index_interval_bytes = 512});
  for (int i = 0; i < 100; ++i)
    append(*log, build_value_batch(2, 100));
  EXPECT_GT(log->segment_count(), 5u);
  for (int64_t offset = 0; offset < 200; ++offset) {
    auto read = log->read(offset, {.max_bytes = 1});
    ASSERT_TRUE(read.ok());
    auto headers = headers_of(read->data);
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_LE(headers[0].base_offset, offset);
    EXPECT_GE(headers[0].last_offset(), offset);
  }
  // Sealed segments stay the same after a clean reopen; no scan needed.
  auto segments = log->segment_base_offsets();
  ASSERT_TRUE(log->close().ok());
  log.reset();
  RecoveryOutcome outcome;
  auto reopened = open_log({.segment_bytes = 4096, .index_interval_bytes = 512}, true, &outcome);
  EXPECT_EQ(outcome.segments_scanned, 0);
  EXPECT_EQ(reopened->segment_base_offsets(), segments);
  EXPECT_EQ(reopened->log_end_offset(), 200);
  for (int64_t offset = 0; offset < 200; offset += 7) {
    auto headers = headers_of(reopened->read(offset, {.max_bytes = 1})->data);
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_LE(headers[0].base_offset, offset);
    EXPECT_GE(headers[0].last_offset(), offset);
  }
  EXPECT_EQ(append(*reopened, build_value_batch(1, 10)).base_offset, 200);
}

TEST_F(PartitionLogTest, RollsByAge) {
  auto log = open_log({.segment_ms = 1000});
  // Timestamps come from the fake clock so segment age follows it.
  append(*log, build_value_batch(1, 10, "a", *clock_.now));
  append(*log, build_value_batch(1, 10, "a", *clock_.now));
  EXPECT_EQ(log->segment_count(), 1u);
  clock_.advance(1500);
  append(*log, build_value_batch(1, 10, "b", *clock_.now));
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log->segment_base_offsets().back(), 2);
}

TEST_F(PartitionLogTest, TimestampLookupFindsFirstBatchAtOrAfter) {
  auto log = open_log({.segment_bytes = 2048, .index_interval_bytes = 256});
  const int64_t t0 = 1'000'000;
  for (int i = 0; i < 50; ++i)
    append(*log, build_value_batch(2, 50, "t", t0 + i * 10));
  for (int i = 0; i < 50; ++i) {
    auto found = log->offset_for_timestamp(t0 + i * 10 - 5);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, i * 2) << i;
    EXPECT_EQ(*log->offset_for_timestamp(t0 + i * 10), i * 2);
  }
  EXPECT_EQ(*log->offset_for_timestamp(t0 + 10'000), -1);
}

TEST_F(PartitionLogTest, LogAppendTimeOverwritesTimestampAndKeepsCrcValid) {
  auto log = open_log({.message_timestamp_type = TimestampType::kLogAppendTime});
  auto result = append(*log, build_value_batch(2, 10, "x", 5));
  EXPECT_EQ(result.log_append_time_ms, *clock_.now);
  auto read = log->read(0, {});
  auto headers = headers_of(read->data);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(headers[0].max_timestamp, *clock_.now);
  EXPECT_EQ(check_batch(read->data, 1 << 20).defect, BatchDefect::kNone);
}

TEST_F(PartitionLogTest, RetentionByTimeDeletesWholeSegmentsAndAdvancesLogStart) {
  TopicConfig config{.segment_bytes = 1024, .retention_ms = 60'000};
  auto log = open_log(config);
  const int64_t t0 = *clock_.now;
  for (int i = 0; i < 20; ++i)
    append(*log, build_value_batch(2, 100, "old", t0));
  clock_.advance(30'000);
  for (int i = 0; i < 5; ++i)
    append(*log, build_value_batch(2, 100, "new", *clock_.now));
  clock_.advance(40'000);  // "old" is 70 s old, "new" 40 s
  auto outcome = log->apply_retention();
  EXPECT_GT(outcome.segments_deleted, 0);
  // Whole segments only: the one holding both old and new records stays.
  const int64_t start = log->log_start_offset();
  EXPECT_GT(start, 20);
  EXPECT_LE(start, 40);
  EXPECT_EQ(log->read(start - 1, {}).error().code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(headers_of(log->read(start, {})->data).front().base_offset, start);
  clock_.advance(100'000);  // everything expired: even the active segment goes after a roll
  log->apply_retention();
  EXPECT_EQ(log->log_start_offset(), 50);
  EXPECT_EQ(log->log_end_offset(), 50);
  EXPECT_EQ(append(*log, build_value_batch(1, 10)).base_offset, 50);
}

// read_slice names the bytes read() would copy, without reading them: same start, cut at
// max_bytes (even inside a batch), the first batch whole only when asked.
TEST_F(PartitionLogTest, ReadSliceCoversWhatReadReturns) {
  auto log = open_log({});
  for (int i = 0; i < 10; ++i)
    append(*log, build_value_batch(4, 100));  // batches of 4 records, ~500 bytes each
  auto whole = log->read(8, {.max_bytes = 1 << 20});
  ASSERT_TRUE(whole.ok());
  auto slice = log->read_slice(9, {.max_bytes = 1 << 20});
  ASSERT_TRUE(slice.ok());
  ASSERT_NE(slice->file, nullptr);
  EXPECT_EQ(slice->length, whole->data.size());
  std::vector<std::byte> bytes(slice->length);
  ASSERT_EQ(*slice->file->read_at(slice->position, bytes), bytes.size());
  EXPECT_EQ(bytes, whole->data);
  EXPECT_EQ(slice->high_watermark, 40);
  EXPECT_EQ(slice->log_end_offset, 40);

  const size_t batch = headers_of(whole->data).front().size_bytes();
  auto cut = log->read_slice(0, {.max_bytes = batch + 10});
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->length, batch + 10);  // one batch and the start of the next, as Kafka sends
  auto first_only = log->read_slice(0, {.max_bytes = 10, .min_one_batch = true});
  EXPECT_EQ(first_only->length, batch);
  auto none = log->read_slice(0, {.max_bytes = 10, .min_one_batch = false});
  EXPECT_EQ(none->length, 0u);
  EXPECT_EQ(log->read_slice(40, {})->length, 0u);
  EXPECT_EQ(log->read_slice(41, {}).error().code(), ErrorCode::kOutOfRange);
  // The slice holds its segment: retention's deleter waits for it.
  EXPECT_GE(slice->segment.use_count(), 2);
}

TEST_F(PartitionLogTest, RetentionBySize) {
  auto log = open_log({.segment_bytes = 1024, .retention_ms = -1, .retention_bytes = 3000});
  for (int i = 0; i < 40; ++i)
    append(*log, build_value_batch(1, 100));
  log->apply_retention();
  EXPECT_LE(log->size_bytes(), 3000u + 1024u);
  EXPECT_GE(log->size_bytes(), 3000u - 1024u);
  EXPECT_GT(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_end_offset(), 40);
}

TEST_F(PartitionLogTest, CompactionKeepsLatestPerKeyAndExpiresTombstones) {
  TopicConfig config{.segment_bytes = 600,
                     .cleanup_policy = CleanupPolicy::kCompact,
                     .delete_retention_ms = 10'000};
  auto log = open_log(config);
  auto keyed = [&](const std::string& key, std::optional<std::string> value) {
    return build_batch({.base_timestamp = *clock_.now, .records = {{key, value, 0}}});
  };
  for (int round = 0; round < 10; ++round) {
    for (const char* key : {"a", "b", "c"}) {
      append(*log, keyed(key, std::string(key) + "-" + std::to_string(round)));
    }
  }
  append(*log, keyed("b", std::nullopt));  // tombstone for b at offset 30
  for (int i = 0; i < 10; ++i)
    append(*log, keyed("z", "filler-to-seal-" + std::to_string(i)));
  const int64_t end = log->log_end_offset();

  auto collect = [&] {
    std::map<std::string, std::pair<int64_t, std::optional<std::string>>> latest;
    std::vector<int64_t> offsets;
    int64_t offset = log->log_start_offset();
    while (offset < log->log_end_offset()) {
      auto read = log->read(offset, {});
      if (!read.ok() || read->data.empty()) break;
      size_t pos = 0;
      while (pos < read->data.size()) {
        std::span<const std::byte> batch(read->data.data() + pos, read->data.size() - pos);
        BatchHeader h = decode_batch_header(batch.data());
        auto records = decode_records(batch.first(h.size_bytes()));
        EXPECT_TRUE(records.ok());
        for (const auto& r : *records) {
          offsets.push_back(h.base_offset + r.offset_delta);
          std::optional<std::string> value;
          if (!r.null_value) value = "v";
          latest[std::string(*r.key)] = {h.base_offset + r.offset_delta, value};
        }
        offset = h.next_offset();
        pos += h.size_bytes();
      }
    }
    return std::make_pair(latest, offsets);
  };
  auto [before, before_offsets] = collect();
  auto removed = log->compact();
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_GT(*removed, 0u);
  auto [after, after_offsets] = collect();
  EXPECT_LT(after_offsets.size(), before_offsets.size());
  // Latest value of each key survives with its original offset; the tombstone is still there.
  EXPECT_EQ(after["a"].first, before["a"].first);
  EXPECT_EQ(after["c"].first, before["c"].first);
  EXPECT_EQ(after["b"].first, 30);
  EXPECT_FALSE(after["b"].second.has_value());
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_TRUE(std::is_sorted(after_offsets.begin(), after_offsets.end()));

  clock_.advance(20'000);  // past delete.retention.ms: the tombstone goes
  ASSERT_TRUE(log->compact().ok());
  auto [final_state, final_offsets] = collect();
  EXPECT_EQ(final_state.count("b"), 0u);
  EXPECT_EQ(final_state["a"].first, before["a"].first);

  // Compacted segments survive an unclean reopen with consistent indexes.
  log.reset();
  RecoveryOutcome outcome;
  auto reopened = open_log(config, /*clean=*/false, &outcome);
  EXPECT_EQ(outcome.bytes_dropped, 0u);
  EXPECT_EQ(reopened->log_end_offset(), end);
  EXPECT_EQ(append(*reopened, keyed("a", "again")).base_offset, end);
}

TEST_F(PartitionLogTest, CompactionRunsAlongsideAppendsAndReads) {
  TopicConfig config{
      .segment_bytes = 2048, .cleanup_policy = CleanupPolicy::kCompact, .flush_messages = 1000};
  auto log = open_log(config);
  constexpr int kAppends = 3000, kKeys = 17;
  std::atomic<bool> done{false};
  std::atomic<int> compactions{0};
  std::thread compactor([&] {
    while (!done) {
      auto removed = log->compact();
      ASSERT_TRUE(removed.ok()) << removed.error().message();
      ++compactions;
    }
  });
  std::thread reader([&] {
    while (!done) {
      int64_t offset = log->log_start_offset();
      while (offset < log->high_watermark()) {
        auto read = log->read(offset, {.max_bytes = 4096});
        ASSERT_TRUE(read.ok()) << read.error().message();
        if (read->data.empty()) break;
        for (const auto& h : headers_of(read->data)) {
          ASSERT_GE(h.base_offset, offset);
          offset = h.next_offset();
        }
      }
    }
  });
  for (int i = 0; i < kAppends; ++i) {
    auto batch =
        build_batch({.records = {{"k" + std::to_string(i % kKeys), std::to_string(i), 0}}});
    auto result = log->append(batch);
    ASSERT_TRUE(result.ok());
    ASSERT_EQ(result->base_offset, i);
  }
  done = true;
  compactor.join();
  reader.join();
  EXPECT_GT(compactions.load(), 0);
  ASSERT_TRUE(log->compact().ok());
  // Every key's latest value is still there, and compaction shrank the log.
  std::map<std::string, std::string> latest;
  for (int64_t offset = 0; offset < log->log_end_offset();) {
    auto read = log->read(offset, {});
    ASSERT_TRUE(read.ok());
    if (read->data.empty()) break;
    size_t pos = 0;
    while (pos < read->data.size()) {
      BatchHeader h = decode_batch_header(read->data.data() + pos);
      auto records = decode_records({read->data.data() + pos, h.size_bytes()});
      ASSERT_TRUE(records.ok());
      for (const auto& r : *records) {
        latest[std::string(*r.key)] = std::to_string(h.base_offset + r.offset_delta);
      }
      offset = h.next_offset();
      pos += h.size_bytes();
    }
  }
  ASSERT_EQ(latest.size(), static_cast<size_t>(kKeys));
  for (int k = 0; k < kKeys; ++k) {
    const int last = kAppends - 1 - ((kAppends - 1 - k) % kKeys);
    EXPECT_EQ(latest["k" + std::to_string(k)], std::to_string(last));
  }
  EXPECT_LT(log->size_bytes(), 16u * 1024);  // ~225 KB before compaction
}

TEST_F(PartitionLogTest, ConcurrentDurableAppendsShareFsyncs) {
  auto log = open_log({});
  constexpr int kThreads = 4, kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto batch = build_value_batch(1, 20, "t" + std::to_string(t));
        auto result = log->append_durable(batch);
        if (!result.ok() || log->high_watermark() <= result->last_offset) ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->log_end_offset(), kThreads * kPerThread);
  EXPECT_EQ(log->high_watermark(), kThreads * kPerThread);
  std::set<int64_t> bases;
  for (int64_t offset = 0; offset < kThreads * kPerThread;) {
    auto read = log->read(offset, {});
    ASSERT_TRUE(read.ok());
    for (const auto& h : headers_of(read->data)) {
      EXPECT_EQ(h.base_offset, offset);
      offset = h.next_offset();
    }
  }
}

TEST_F(PartitionLogTest, IntervalFlushMakesDataVisibleBeforeFsync) {
  auto log = open_log({.flush_messages = 1000, .flush_ms = 50});
  auto batch = build_value_batch(3, 10);
  auto result = log->append(batch);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->needs_flush);
  EXPECT_EQ(log->high_watermark(), 3);
  EXPECT_FALSE(log->flush_due(*clock_.now));
  clock_.advance(60);
  EXPECT_TRUE(log->flush_due(*clock_.now));
  ASSERT_TRUE(log->flush().ok());
  EXPECT_FALSE(log->flush_due(*clock_.now));
}

}  // namespace
}  // namespace eddy::storage

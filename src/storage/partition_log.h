// The log of one topic partition: an ordered list of segments, the offsets that name every
// record, durability, visibility to readers, retention and recovery.
//
// Offsets: log_start_offset <= high_watermark <= log_end_offset. Appends get offsets from the
// log end. Readers see records below the high watermark only. With durable appends (the
// default, flush.messages=1) the high watermark is the flushed offset, so a reader never sees a
// record that a crash could take back; with interval flushing it is the log end.
//
// Group commit: an appender that must wait for durability calls wait_durable(). Whoever finds no
// fsync running becomes the leader and fsyncs everything written so far; the others wait for it
// and are released together. Appends continue while an fsync is running, and the next leader's
// fsync covers all of them.
//
// Failure: if writing a batch fails, the log end does not move and nothing becomes visible. If
// an fsync fails, the kernel may have dropped the dirty pages, so everything after the last
// durable offset is cut off and every waiter for it gets the error; earlier data stays readable.
//
// Idempotent producers: batches carrying a producer id are checked against the partition's
// producer state (producer_state.h) under the append lock, so the check and the write are one
// step. A retried batch is not written again: the append returns its original offsets with
// `duplicate` set. The state is snapshotted at every roll and clean close and rebuilt at open.
//
// Thread safety: all public methods are safe to call concurrently.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/file_cache.h"
#include "storage/producer_state.h"
#include "storage/segment.h"
#include "storage/topic_config.h"

namespace eddy::storage {

class FileDeleter;

using Clock = std::function<int64_t()>;  // milliseconds since the epoch
int64_t wall_clock_ms();

struct PartitionOptions {
  std::string dir{};
  TopicConfig config{};
  Clock clock = wall_clock_ms;
  // Called (outside all locks) after the high watermark advances, so long-polling readers can
  // wake up. Must be cheap and must not call back into this log synchronously.
  std::function<void()> on_visible{};
  // Kafka's producer.id.expiration.ms: producers idle this long are forgotten.
  int64_t producer_id_expiration_ms = 86400000;
  // Where segments dropped by retention go to be deleted gently; null: unlinked at once.
  FileDeleter* deleter = nullptr;
};

struct AppendResult {
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time_ms = -1;  // -1 unless the topic uses LogAppendTime
  int64_t log_start_offset = 0;
  int record_count = 0;
  // The batches repeat ones already in the log (an idempotent producer's retry): nothing was
  // written and the offsets are those of the original.
  bool duplicate = false;
  // When true the append is not yet durable (or, with interval flushing, flush.messages was
  // reached): call wait_durable(last_offset, generation) or LogManager::when_durable.
  bool needs_flush = false;
  uint64_t generation = 0;
};

struct ReadOptions {
  size_t max_bytes = 1 << 20;
  // Return the first batch even when it exceeds max_bytes (Kafka's fetch rule).
  bool min_one_batch = true;
  // Read up to the log end instead of the high watermark (internal readers only).
  bool read_uncommitted = false;
};

// The partition's offsets as a read saw them.
struct ReadOffsets {
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
};

struct ReadResult : ReadOffsets {
  std::vector<std::byte> data{};  // whole batches, possibly none
};

// Where the bytes of a read lie in a segment file, for sends that go from the file straight to
// a socket (sendfile). Holding the slice keeps the segment (so retention's deleter leaves its
// file alone) and the open file alive.
struct ReadSlice : ReadOffsets {
  std::shared_ptr<const void> segment{};
  std::shared_ptr<File> file{};
  uint64_t position = 0;
  uint64_t length = 0;  // 0: nothing to read
};

struct RetentionOutcome {
  int segments_deleted = 0;
  uint64_t bytes_deleted = 0;
};

struct RecoveryOutcome {
  int segments = 0;
  int segments_scanned = 0;
  uint64_t bytes_dropped = 0;
  int producers = 0;  // idempotent producers whose state was restored
};

class PartitionLog {
 public:
  // Opens or creates the partition in options.dir. After an unclean stop (`clean` false) the
  // active segment is scanned, checked batch by batch and truncated at the first damage.
  static Result<std::unique_ptr<PartitionLog>> open(FileCache& cache, PartitionOptions options,
                                                    bool clean, RecoveryOutcome* outcome = nullptr);
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Validates and appends whole v2 batches. Offsets are assigned in place in `batches`.
  Result<AppendResult> append(std::span<std::byte> batches);
  // Blocks until the append that returned `generation` is durable up to `last_offset`.
  Status wait_durable(int64_t last_offset, uint64_t generation);
  // append + wait_durable when needed.
  Result<AppendResult> append_durable(std::span<std::byte> batches);

  // Fsyncs what has been written; returns the first error.
  Status flush();
  // For interval flushing: whether flush.messages or flush.ms says a flush is due now.
  bool flush_due(int64_t now_ms) const;

  Result<ReadResult> read(int64_t offset, const ReadOptions& options);
  // The same range as read() without reading it, except that it ends at max_bytes even inside a
  // batch (as Kafka's fetch does; clients drop a partial last batch and fetch it again). The
  // first batch is whole when min_one_batch asks for it; without it, a first batch larger than
  // max_bytes gives an empty slice.
  Result<ReadSlice> read_slice(int64_t offset, const ReadOptions& options);
  // Offset of the first batch whose timestamp >= `timestamp_ms`; -1 when there is none.
  Result<int64_t> offset_for_timestamp(int64_t timestamp_ms);

  int64_t log_start_offset() const;
  int64_t log_end_offset() const;
  int64_t high_watermark() const;
  uint64_t size_bytes() const;
  size_t segment_count() const;
  // Base offsets of all segments, oldest first (for tests and tools).
  std::vector<int64_t> segment_base_offsets() const;

  RetentionOutcome apply_retention();
  // Kafka's DeleteRecords: makes `offset` the log start offset (-1: the high watermark), so the
  // records below it are gone for readers, durably (file `log-start-offset`), and deletes the
  // segments wholly below it. Returns the log start offset afterwards; an offset above the high
  // watermark is kOutOfRange, one below the current start changes nothing.
  Result<int64_t> delete_records_before(int64_t offset);
  void set_config(const TopicConfig& config);
  TopicConfig config() const;
  const std::string& dir() const { return options_.dir; }

  // Runs one compaction pass over the sealed segments (cleanup.policy=compact): keeps the latest
  // record of each key, drops tombstones older than delete.retention.ms. Returns bytes removed.
  // Appends and reads continue meanwhile; each rewritten segment is swapped in atomically.
  Result<uint64_t> compact();

  // Forgets producers idle longer than producer_id_expiration_ms; returns how many.
  size_t expire_producers();
  // The state of one idempotent producer, or nullopt when the partition does not know it.
  std::optional<ProducerEntry> producer(int64_t producer_id) const;
  size_t producer_count() const;
  // Offsets of the producer-state snapshots on disk, oldest first (for tests and tools).
  std::vector<int64_t> producer_snapshot_offsets() const;

  // Flushes and writes indexes and the producer snapshot so the next open needs no scan.
  // `defer_index_sync`: the index files are written without an fsync each; the caller makes
  // them durable (FileSystem::sync_filesystem) before anything relies on them.
  Status close(bool defer_index_sync = false);

 private:
  PartitionLog(FileCache& cache, PartitionOptions options);

  Status roll_locked(int64_t now_ms);
  // The first offset readers may see: the first segment's base, or DeleteRecords' offset.
  int64_t log_start_locked() const;
  // Hands segments taken out of segments_ to the deleter (or removes their files at once).
  void discard_segments(const std::vector<std::shared_ptr<Segment>>& doomed, const char* why);
  // Loads the newest usable producer snapshot and replays the batches after it.
  Status load_producer_state(const std::vector<std::string>& names);
  // Writes the producer state as of the log end; failures are logged, never fatal, because the
  // state can always be rebuilt from an older snapshot plus the log.
  void write_producer_snapshot_locked();
  // Removes snapshots below the log start and all but the newest few.
  void prune_producer_snapshots_locked();
  Status flush_once();
  void on_fsync_failure_locked(Segment& segment, const Error& error);
  // Runs one fsync as the group-commit leader; `flush_lock` holds flush_mu_ on entry and exit.
  Status lead_flush(std::unique_lock<std::mutex>& flush_lock);
  std::shared_ptr<Segment> segment_for_locked(int64_t offset) const;
  // Where a read at `offset` starts: the segment, the position of the batch holding the offset
  // and the end of what may be read there; null segment when there is nothing to read. Fills
  // `offsets` and takes files_mu_ shared into `files_lock`.
  struct ReadStart {
    std::shared_ptr<Segment> segment;
    uint64_t position = 0;
    uint64_t limit = 0;
  };
  Result<ReadStart> locate(int64_t offset, const ReadOptions& options, ReadOffsets& offsets,
                           std::shared_lock<std::shared_mutex>& files_lock);
  uint64_t visible_limit_locked(const Segment& segment) const;

  FileCache& cache_;
  PartitionOptions options_;

  mutable std::shared_mutex mu_;
  std::map<int64_t, std::shared_ptr<Segment>> segments_;  // by base offset
  std::shared_ptr<Segment> active_;
  int64_t high_watermark_ = 0;
  int64_t flushed_offset_ = 0;  // every offset below is durable
  uint64_t flushed_size_ = 0;   // bytes of the active segment known durable
  uint64_t generation_ = 0;     // bumped when undurable data is cut off
  Error last_flush_error_{ErrorCode::kOk, ""};
  int64_t unflushed_messages_ = 0;
  int64_t first_unflushed_ms_ = -1;
  bool closed_ = false;
  int64_t last_append_error_log_ms_ = INT64_MIN / 2;  // for logging failed appends once a while
  int64_t suppressed_append_errors_ = 0;
  bool failed_ = false;  // an fsync failed in a way that cannot be cut off: no more writes
  ProducerStateMap producers_;
  std::set<int64_t> snapshots_;  // offsets of the producer snapshots on disk
  // Everything below this offset is covered by a snapshot on disk (the log start when there is
  // none), so a close only writes a new one when the log grew past it.
  int64_t snapshot_covered_ = 0;

  std::mutex flush_mu_;  // taken before mu_, never after
  std::condition_variable flush_cv_;
  bool flush_running_ = false;

  // Offsets below were deleted by DeleteRecords, though their segment may remain.
  int64_t deleted_below_ = 0;
  std::mutex delete_records_mu_;  // one DeleteRecords at a time; taken before files_mu_

  std::mutex compaction_mu_;  // one compaction at a time
  // Held shared by readers for a whole read and exclusively while segment files are replaced
  // (compaction) or removed (retention), so a reader never mixes old positions with new files.
  // Taken before mu_.
  mutable std::shared_mutex files_mu_;
};

}  // namespace eddy::storage

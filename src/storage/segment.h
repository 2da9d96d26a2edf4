// One segment of a partition's log: a file of record batches plus its sparse indexes.
//
// Files (in the partition directory, named by the segment's base offset, 20 digits):
//   00000000000000000000.log        the batches, exactly as on the wire
//   00000000000000000000.index      offset index: 8-byte entries, big-endian
//                                     uint32 offset - base_offset | uint32 file position
//   00000000000000000000.timeindex  time index: 12-byte entries, big-endian
//                                     int64 max timestamp so far | uint32 offset - base_offset
// An offset-index entry points at the start of a batch (its base offset); one is added at the
// first batch and then whenever index_interval_bytes have been appended since the last. A time
// index entry is added alongside when the batch raises the segment's max timestamp. Both are
// sorted, so lookups are binary searches followed by a short forward scan of batch headers.
//
// The active (last) segment keeps its indexes in memory and writes them when it is sealed or the
// log closes cleanly; after a crash they are rebuilt by the recovery scan. Sealed segments are
// immutable and their indexes are searched in the files with positioned reads, so memory does not
// grow with the amount of data. All mutation happens under the owning PartitionLog's lock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/file_cache.h"
#include "storage/record_batch.h"

namespace eddy::storage {

struct OffsetIndexEntry {
  uint32_t relative_offset;
  uint32_t position;
};

struct TimeIndexEntry {
  int64_t timestamp;
  uint32_t relative_offset;
};

inline constexpr size_t kOffsetIndexEntrySize = 8;
inline constexpr size_t kTimeIndexEntrySize = 12;

// What a recovery scan found.
struct ScanOutcome {
  uint64_t valid_bytes = 0;
  uint64_t dropped_bytes = 0;
  int batches = 0;
  BatchDefect defect = BatchDefect::kNone;
};

class Segment {
 public:
  // "00000000000000000042.<extension>", the naming of every per-offset file of a partition.
  static std::string file_name(int64_t base_offset, const char* extension);
  // The offset in such a name; -1 when `name` is not one with this extension.
  static int64_t parse_file_name(const std::string& name, const std::string& extension);

  // Creates empty files for a new segment.
  static Result<std::shared_ptr<Segment>> create(FileCache& cache, const std::string& dir,
                                                 int64_t base_offset, int64_t now_ms);
  // Opens an existing segment. With `scan`, every batch is read and CRC-checked, a damaged tail
  // is truncated and the indexes rebuilt; otherwise the data is trusted and only the end of the
  // log (after the last index entry) is read. Indexes that fail a sanity check are rebuilt.
  static Result<std::shared_ptr<Segment>> open(FileCache& cache, const std::string& dir,
                                               int64_t base_offset, bool scan, bool active,
                                               int64_t index_interval_bytes, int64_t now_ms,
                                               ScanOutcome* outcome);

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  int64_t base_offset() const { return base_offset_; }
  int64_t next_offset() const { return next_offset_; }
  uint64_t size_bytes() const { return size_; }
  int64_t max_timestamp() const { return max_timestamp_; }
  // When this process created or opened the segment. segment.ms counts from here rather than
  // from producer timestamps (which may be arbitrarily old), so a restart restarts the clock.
  int64_t created_ms() const { return created_ms_; }
  bool sealed() const { return sealed_; }
  bool empty() const { return size_ == 0; }
  const std::string& log_path() const { return log_path_; }

  Result<std::shared_ptr<File>> log_file() { return cache_.get(log_path_); }

  // Appends `batches` (offsets already assigned, first batch's base offset == next_offset()).
  // On failure the segment's visible state is unchanged; bytes past size_bytes() are garbage
  // that the next append overwrites.
  Status append(std::span<const std::byte> batches, int64_t index_interval_bytes);
  // Forgets bytes past `size` (after a failed flush or recovery).
  Status truncate_to(uint64_t size, int64_t next_offset);

  // Position of the batch with the greatest base offset <= `offset` known to the index (a lower
  // bound to scan forward from).
  Result<uint32_t> index_floor(int64_t offset) const;
  // Position of the batch containing `offset`, or of the first batch after it; size_bytes() when
  // no batch in [index_floor(offset), limit) ends at or after it.
  Result<uint64_t> find_position(int64_t offset, uint64_t limit);
  // The forward scan of find_position from a known batch start `from` (an index_floor result).
  // Reads only the data file, so it needs no lock once `from` and `limit` are known.
  Result<uint64_t> scan_to(int64_t offset, uint64_t from, uint64_t limit);
  // Calls `visit` with the header of every batch from the batch starting at `position` to the
  // end, reading the data file in chunks (bodies are skipped, never parsed).
  Status visit_batch_headers(uint64_t position,
                             const std::function<void(const BatchHeader&)>& visit);
  // Offset of the first batch whose max timestamp >= `timestamp`, or -1.
  Result<int64_t> find_offset_by_timestamp(int64_t timestamp);

  // Writes indexes to files and fsyncs log and indexes; the segment becomes immutable.
  Status seal();
  // Writes the in-memory indexes of the active segment (clean shutdown).
  // `sync` false: written without fsync (the caller syncs the file system afterwards).
  Status write_indexes(bool sync = true);
  Status sync_log();
  // Removes the segment's files.
  Status remove_files();
  // Renames the segment's files to `<name>.deleted` (log last, so a crash in between leaves a
  // segment that only lacks its indexes, which open() rebuilds) and returns the new paths for a
  // FileDeleter; the next start removes `.deleted` files left over.
  Result<std::vector<std::string>> retire_files();
  static constexpr const char* kDeletedSuffix = ".deleted";

 private:
  Segment(FileCache& cache, std::string dir, int64_t base_offset);

  Status scan_and_rebuild(int64_t index_interval_bytes, bool strict_offsets, ScanOutcome* outcome);
  Status load_sealed_indexes(int64_t index_interval_bytes);
  Status recover_tail_from(uint64_t position);
  void maybe_index(const BatchHeader& header, uint64_t position, int64_t index_interval_bytes);
  Result<OffsetIndexEntry> read_offset_entry(File& file, uint64_t i) const;
  Result<TimeIndexEntry> read_time_entry(File& file, uint64_t i) const;

  FileCache& cache_;
  const std::string dir_;
  const int64_t base_offset_;
  const std::string log_path_;
  const std::string index_path_;
  const std::string time_index_path_;

  uint64_t size_ = 0;
  int64_t next_offset_;
  int64_t max_timestamp_ = -1;
  int64_t created_ms_ = 0;
  bool sealed_ = false;
  uint64_t bytes_since_index_ = 0;
  // In memory while active; empty once sealed (then the files are searched).
  std::vector<OffsetIndexEntry> offset_index_;
  std::vector<TimeIndexEntry> time_index_;
  uint64_t sealed_offset_entries_ = 0;
  uint64_t sealed_time_entries_ = 0;
  // The segment size the index files on disk describe (UINT64_MAX: unknown or stale).
  uint64_t indexes_on_disk_for_size_ = UINT64_MAX;
};

}  // namespace eddy::storage

#include "storage/segment.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

namespace eddy::storage {
namespace {

constexpr size_t kScanChunk = 1 << 20;
constexpr size_t kScanReadAhead = 8 << 20;
// Batches larger than a segment cannot exist, so a recovery scan bounds lengths by this.
constexpr size_t kMaxBatchOnDisk = size_t{1} << 31;

std::vector<std::byte> encode_offset_index(const std::vector<OffsetIndexEntry>& entries) {
  std::vector<std::byte> out(entries.size() * kOffsetIndexEntrySize);
  for (size_t i = 0; i < entries.size(); ++i) {
    store_be32(out.data() + i * 8, static_cast<int32_t>(entries[i].relative_offset));
    store_be32(out.data() + i * 8 + 4, static_cast<int32_t>(entries[i].position));
  }
  return out;
}

std::vector<std::byte> encode_time_index(const std::vector<TimeIndexEntry>& entries) {
  std::vector<std::byte> out(entries.size() * kTimeIndexEntrySize);
  for (size_t i = 0; i < entries.size(); ++i) {
    store_be64(out.data() + i * 12, entries[i].timestamp);
    store_be32(out.data() + i * 12 + 8, static_cast<int32_t>(entries[i].relative_offset));
  }
  return out;
}

Status write_index_file(FileCache& cache, const std::string& path, std::span<const std::byte> bytes,
                        bool sync) {
  ASSIGN_OR_RETURN(auto file, cache.get(path, /*create=*/true));
  RETURN_IF_ERROR(file->truncate(0));
  if (!bytes.empty()) RETURN_IF_ERROR(file->write_at(0, bytes));
  return sync ? file->sync() : ok_status();
}

}  // namespace

std::string Segment::file_name(int64_t base_offset, const char* extension) {
  char name[64];
  std::snprintf(name, sizeof(name), "%020lld.%s", static_cast<long long>(base_offset), extension);
  return name;
}

int64_t Segment::parse_file_name(const std::string& name, const std::string& extension) {
  if (name.size() != 20 + 1 + extension.size()) return -1;
  if (name.compare(21, std::string::npos, extension) != 0 || name[20] != '.') return -1;
  int64_t value = 0;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    if (value > (INT64_MAX - 9) / 10) return -1;
    value = value * 10 + (name[i] - '0');
  }
  return value;
}

Segment::Segment(FileCache& cache, std::string dir, int64_t base_offset)
    : cache_(cache),
      dir_(std::move(dir)),
      base_offset_(base_offset),
      log_path_(join_path(dir_, file_name(base_offset, "log"))),
      index_path_(join_path(dir_, file_name(base_offset, "index"))),
      time_index_path_(join_path(dir_, file_name(base_offset, "timeindex"))),
      next_offset_(base_offset) {}

Result<std::shared_ptr<Segment>> Segment::create(FileCache& cache, const std::string& dir,
                                                 int64_t base_offset, int64_t now_ms) {
  std::shared_ptr<Segment> segment(new Segment(cache, dir, base_offset));
  ASSIGN_OR_RETURN(auto file, cache.get(segment->log_path_, /*create=*/true));
  // A file left by a roll that crashed before any append may exist; it holds no acknowledged data.
  RETURN_IF_ERROR(file->truncate(0));
  segment->created_ms_ = now_ms;
  return segment;
}

Result<std::shared_ptr<Segment>> Segment::open(FileCache& cache, const std::string& dir,
                                               int64_t base_offset, bool scan, bool active,
                                               int64_t index_interval_bytes, int64_t now_ms,
                                               ScanOutcome* outcome) {
  std::shared_ptr<Segment> segment(new Segment(cache, dir, base_offset));
  ASSIGN_OR_RETURN(auto file, segment->log_file());
  ASSIGN_OR_RETURN(segment->size_, file->size());
  segment->created_ms_ = now_ms;
  bool trusted = false;
  if (!scan) {
    Status loaded = segment->load_sealed_indexes(index_interval_bytes);
    if (loaded.ok()) {
      trusted = true;
    } else {
      spdlog::warn("segment {}: {}; rebuilding its indexes", segment->log_path_,
                   loaded.error().message());
    }
  }
  if (!trusted) RETURN_IF_ERROR(segment->scan_and_rebuild(index_interval_bytes, active, outcome));

  if (!active) {
    if (!trusted) RETURN_IF_ERROR(segment->seal());
    segment->sealed_ = true;
    segment->offset_index_.clear();
    segment->time_index_.clear();
  } else if (trusted) {
    // Active segment opened after a clean stop: its indexes come back into memory.
    ASSIGN_OR_RETURN(auto index_file, cache.get(segment->index_path_));
    for (uint64_t i = 0; i < segment->sealed_offset_entries_; ++i) {
      ASSIGN_OR_RETURN(auto e, segment->read_offset_entry(*index_file, i));
      segment->offset_index_.push_back(e);
    }
    ASSIGN_OR_RETURN(auto time_file, cache.get(segment->time_index_path_));
    for (uint64_t i = 0; i < segment->sealed_time_entries_; ++i) {
      ASSIGN_OR_RETURN(auto e, segment->read_time_entry(*time_file, i));
      segment->time_index_.push_back(e);
    }
    segment->sealed_offset_entries_ = 0;
    segment->sealed_time_entries_ = 0;
    segment->indexes_on_disk_for_size_ = segment->size_;
  }
  return segment;
}

Result<OffsetIndexEntry> Segment::read_offset_entry(File& file, uint64_t i) const {
  std::byte buf[kOffsetIndexEntrySize];
  ASSIGN_OR_RETURN(size_t n, file.read_at(i * kOffsetIndexEntrySize, buf));
  if (n != sizeof(buf)) return Error(ErrorCode::kCorrupt, "short read of " + index_path_);
  return OffsetIndexEntry{static_cast<uint32_t>(load_be32(buf)),
                          static_cast<uint32_t>(load_be32(buf + 4))};
}

Result<TimeIndexEntry> Segment::read_time_entry(File& file, uint64_t i) const {
  std::byte buf[kTimeIndexEntrySize];
  ASSIGN_OR_RETURN(size_t n, file.read_at(i * kTimeIndexEntrySize, buf));
  if (n != sizeof(buf)) return Error(ErrorCode::kCorrupt, "short read of " + time_index_path_);
  return TimeIndexEntry{load_be64(buf), static_cast<uint32_t>(load_be32(buf + 8))};
}

// Checks the index files of a segment that was closed cleanly, without reading them whole:
// sizes are whole entries, the last offset entry points at a batch with the matching base
// offset, and walking the batches after it ends exactly at the end of the log.
Status Segment::load_sealed_indexes(int64_t index_interval_bytes) {
  (void)index_interval_bytes;
  FileSystem& fs = cache_.fs();
  ASSIGN_OR_RETURN(bool has_index, fs.exists(index_path_));
  ASSIGN_OR_RETURN(bool has_time, fs.exists(time_index_path_));
  if (!has_index || !has_time) return Error(ErrorCode::kNotFound, "index files missing");
  ASSIGN_OR_RETURN(auto index_file, cache_.get(index_path_));
  ASSIGN_OR_RETURN(auto time_file, cache_.get(time_index_path_));
  ASSIGN_OR_RETURN(uint64_t index_size, index_file->size());
  ASSIGN_OR_RETURN(uint64_t time_size, time_file->size());
  if (index_size % kOffsetIndexEntrySize != 0 || time_size % kTimeIndexEntrySize != 0) {
    return Error(ErrorCode::kCorrupt, "index size is not a whole number of entries");
  }
  sealed_offset_entries_ = index_size / kOffsetIndexEntrySize;
  sealed_time_entries_ = time_size / kTimeIndexEntrySize;
  if (size_ == 0) {
    if (sealed_offset_entries_ != 0) return Error(ErrorCode::kCorrupt, "index of empty log");
    return ok_status();
  }
  if (sealed_offset_entries_ == 0) return Error(ErrorCode::kCorrupt, "empty index");
  ASSIGN_OR_RETURN(auto last, read_offset_entry(*index_file, sealed_offset_entries_ - 1));
  if (last.position + kBatchHeaderSize > size_) {
    return Error(ErrorCode::kCorrupt, "index points past the end of the log");
  }
  ASSIGN_OR_RETURN(auto log, log_file());
  std::byte header[kBatchHeaderSize];
  ASSIGN_OR_RETURN(size_t n, log->read_at(last.position, header));
  if (n != kBatchHeaderSize ||
      decode_batch_header(header).base_offset != base_offset_ + last.relative_offset) {
    return Error(ErrorCode::kCorrupt, "last index entry does not match the log");
  }
  if (sealed_time_entries_ > 0) {
    ASSIGN_OR_RETURN(auto t, read_time_entry(*time_file, sealed_time_entries_ - 1));
    max_timestamp_ = t.timestamp;
  }
  return recover_tail_from(last.position);
}

// Walks batch headers from `position` to the end of the log to find the next offset.
Status Segment::recover_tail_from(uint64_t position) {
  ASSIGN_OR_RETURN(auto log, log_file());
  uint64_t pos = position;
  while (pos < size_) {
    std::byte header[kBatchHeaderSize];
    ASSIGN_OR_RETURN(size_t n, log->read_at(pos, header));
    if (n != kBatchHeaderSize) return Error(ErrorCode::kCorrupt, "torn batch header");
    BatchHeader h = decode_batch_header(header);
    if (h.batch_length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead) ||
        pos + h.size_bytes() > size_ || h.base_offset < next_offset_) {
      return Error(ErrorCode::kCorrupt, "invalid batch at position " + std::to_string(pos));
    }
    next_offset_ = h.next_offset();
    max_timestamp_ = std::max(max_timestamp_, h.max_timestamp);
    pos += h.size_bytes();
  }
  return ok_status();
}

Status Segment::scan_and_rebuild(int64_t index_interval_bytes, bool strict_offsets,
                                 ScanOutcome* outcome) {
  ScanOutcome local;
  ScanOutcome& out = outcome ? *outcome : local;
  out = ScanOutcome{};
  offset_index_.clear();
  time_index_.clear();
  sealed_offset_entries_ = sealed_time_entries_ = 0;
  bytes_since_index_ = 0;
  next_offset_ = base_offset_;
  max_timestamp_ = -1;

  ASSIGN_OR_RETURN(auto log, log_file());
  const uint64_t file_size = size_;
  std::vector<std::byte> buffer;
  uint64_t pos = 0;
  // Sequential hint plus an explicit request for the next chunks, so the disk reads ahead while
  // this thread checks CRCs instead of the two taking turns.
  const int fd = log->native_handle();
  if (fd >= 0) (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  while (pos < file_size) {
    if (fd >= 0) {
      (void)::posix_fadvise(fd, static_cast<off_t>(pos + kScanChunk),
                            static_cast<off_t>(kScanReadAhead), POSIX_FADV_WILLNEED);
    }
    // Read at least one whole batch: first its header, then as much as its length says (bounded
    // by what the file holds, so a lying length never drives a large allocation).
    size_t want = static_cast<size_t>(std::min<uint64_t>(kScanChunk, file_size - pos));
    buffer.resize(want);
    ASSIGN_OR_RETURN(size_t got, log->read_at(pos, buffer));
    buffer.resize(got);
    size_t consumed = 0;
    bool stop = false;
    while (consumed < buffer.size()) {
      std::span<const std::byte> rest(buffer.data() + consumed, buffer.size() - consumed);
      BatchCheck check = check_batch(rest, kMaxBatchOnDisk);
      if (check.defect == BatchDefect::kIncomplete) {
        const uint64_t at = pos + consumed;
        const bool chunk_cut = pos + buffer.size() < file_size;
        if (consumed > 0 && chunk_cut) break;  // continue reading from this batch's start
        if (consumed == 0 && rest.size() >= kBatchHeaderSize &&
            at + check.header.size_bytes() <= file_size &&
            buffer.size() < check.header.size_bytes()) {
          // A batch larger than the chunk: read it whole (bounded by the file size above).
          buffer.resize(check.header.size_bytes());
          ASSIGN_OR_RETURN(size_t n, log->read_at(pos, buffer));
          buffer.resize(n);
          continue;
        }
      }
      // Fields outside the CRC are checked against what the broker wrote: offsets follow each
      // other (exactly in the active segment; compaction leaves gaps in sealed ones) and the
      // leader epoch is ours.
      if (check.defect == BatchDefect::kNone &&
          (check.header.base_offset < next_offset_ ||
           (strict_offsets && check.header.base_offset != next_offset_) ||
           check.header.partition_leader_epoch != kLeaderEpoch)) {
        check.defect = BatchDefect::kBadContents;
      }
      if (check.defect != BatchDefect::kNone) {
        out.defect = check.defect;
        stop = true;
        break;
      }
      const BatchHeader& h = check.header;
      maybe_index(h, pos + consumed, index_interval_bytes);
      next_offset_ = h.next_offset();
      consumed += h.size_bytes();
      ++out.batches;
    }
    pos += consumed;
    if (stop || consumed == 0) break;
  }
  out.valid_bytes = pos;
  out.dropped_bytes = file_size - pos;
  if (pos < file_size) RETURN_IF_ERROR(log->truncate(pos));
  // What survived the crash may exist only in the page cache; it becomes visible now, so it
  // must be durable first.
  if (file_size > 0) RETURN_IF_ERROR(log->sync());
  size_ = pos;
  return ok_status();
}

void Segment::maybe_index(const BatchHeader& h, uint64_t position, int64_t index_interval_bytes) {
  const uint32_t relative = static_cast<uint32_t>(h.base_offset - base_offset_);
  if (offset_index_.empty() ||
      bytes_since_index_ >= static_cast<uint64_t>(std::max<int64_t>(index_interval_bytes, 0))) {
    offset_index_.push_back({relative, static_cast<uint32_t>(position)});
    if (h.max_timestamp > max_timestamp_ &&
        (time_index_.empty() || h.max_timestamp > time_index_.back().timestamp)) {
      time_index_.push_back({h.max_timestamp, relative});
    }
    bytes_since_index_ = 0;
  }
  bytes_since_index_ += h.size_bytes();
  max_timestamp_ = std::max(max_timestamp_, h.max_timestamp);
}

Status Segment::append(std::span<const std::byte> batches, int64_t index_interval_bytes) {
  ASSIGN_OR_RETURN(auto log, log_file());
  Status written = log->write_at(size_, batches);
  if (!written.ok()) {
    // Remove the partial bytes so no later recovery can mistake them for acknowledged data.
    (void)log->truncate(size_);
    return written;
  }
  size_t pos = 0;
  while (pos < batches.size()) {
    BatchHeader h = decode_batch_header(batches.data() + pos);
    maybe_index(h, size_ + pos, index_interval_bytes);
    next_offset_ = h.next_offset();
    pos += h.size_bytes();
  }
  size_ += batches.size();
  return ok_status();
}

Status Segment::truncate_to(uint64_t size, int64_t next_offset) {
  // Memory forgets the tail even if the file cannot be shortened: the next append overwrites it.
  size_ = size;
  next_offset_ = next_offset;
  while (!offset_index_.empty() && offset_index_.back().position >= size) {
    offset_index_.pop_back();
  }
  const uint32_t limit = static_cast<uint32_t>(next_offset - base_offset_);
  while (!time_index_.empty() && time_index_.back().relative_offset >= limit) {
    time_index_.pop_back();
  }
  max_timestamp_ = time_index_.empty() ? -1 : time_index_.back().timestamp;
  bytes_since_index_ = 0;
  // The max timestamp may be understated until the next index entry; it only delays retention.
  ASSIGN_OR_RETURN(auto log, log_file());
  return log->truncate(size);
}

Result<uint32_t> Segment::index_floor(int64_t offset) const {
  if (offset <= base_offset_) return 0u;
  const uint64_t relative = static_cast<uint64_t>(offset - base_offset_);
  if (!sealed_) {
    auto it = std::upper_bound(
        offset_index_.begin(), offset_index_.end(), relative,
        [](uint64_t value, const OffsetIndexEntry& e) { return value < e.relative_offset; });
    if (it == offset_index_.begin()) return 0u;
    return std::prev(it)->position;
  }
  if (sealed_offset_entries_ == 0) return 0u;
  ASSIGN_OR_RETURN(auto file, cache_.get(index_path_));
  uint64_t lo = 0, hi = sealed_offset_entries_;  // find last entry with relative <= target
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    ASSIGN_OR_RETURN(auto e, read_offset_entry(*file, mid));
    if (e.relative_offset <= relative) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  ASSIGN_OR_RETURN(auto e, read_offset_entry(*file, lo));
  return e.relative_offset <= relative ? e.position : 0u;
}

Result<uint64_t> Segment::find_position(int64_t offset, uint64_t limit) {
  ASSIGN_OR_RETURN(uint32_t floor, index_floor(offset));
  return scan_to(offset, floor, limit);
}

Result<uint64_t> Segment::scan_to(int64_t offset, uint64_t from, uint64_t limit) {
  ASSIGN_OR_RETURN(auto log, log_file());
  uint64_t pos = from;
  while (pos + kBatchHeaderSize <= limit) {
    std::byte header[kBatchHeaderSize];
    ASSIGN_OR_RETURN(size_t n, log->read_at(pos, header));
    if (n != kBatchHeaderSize) break;
    BatchHeader h = decode_batch_header(header);
    if (h.batch_length <= 0) return Error(ErrorCode::kCorrupt, "bad batch in " + log_path_);
    if (h.last_offset() >= offset) return pos;
    pos += h.size_bytes();
  }
  return limit;
}

Status Segment::visit_batch_headers(uint64_t position,
                                    const std::function<void(const BatchHeader&)>& visit) {
  constexpr size_t kHeaderScanChunk = 64 << 10;
  ASSIGN_OR_RETURN(auto log, log_file());
  std::vector<std::byte> buffer(kHeaderScanChunk);
  uint64_t buffer_start = 0;
  size_t buffered = 0;
  for (uint64_t pos = position; pos < size_;) {
    if (pos < buffer_start || pos + kBatchHeaderSize > buffer_start + buffered) {
      const auto want = static_cast<size_t>(std::min<uint64_t>(kHeaderScanChunk, size_ - pos));
      buffer_start = pos;
      ASSIGN_OR_RETURN(buffered, log->read_at(pos, std::span(buffer.data(), want)));
    }
    if (pos + kBatchHeaderSize > buffer_start + buffered) {
      return Error(ErrorCode::kCorrupt,
                   "torn batch header at position " + std::to_string(pos) + " of " + log_path_);
    }
    const BatchHeader h = decode_batch_header(buffer.data() + (pos - buffer_start));
    if (h.batch_length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead) ||
        pos + h.size_bytes() > size_) {
      return Error(ErrorCode::kCorrupt,
                   "invalid batch at position " + std::to_string(pos) + " of " + log_path_);
    }
    visit(h);
    pos += h.size_bytes();
  }
  return ok_status();
}

Result<int64_t> Segment::find_offset_by_timestamp(int64_t timestamp) {
  if (max_timestamp_ < timestamp) return int64_t{-1};
  // The greatest time-index entry below the target: no batch up to it reaches the target.
  int64_t start_offset = base_offset_;
  if (!sealed_) {
    auto it = std::lower_bound(
        time_index_.begin(), time_index_.end(), timestamp,
        [](const TimeIndexEntry& e, int64_t value) { return e.timestamp < value; });
    if (it != time_index_.begin()) start_offset = base_offset_ + std::prev(it)->relative_offset + 1;
  } else if (sealed_time_entries_ > 0) {
    ASSIGN_OR_RETURN(auto file, cache_.get(time_index_path_));
    int64_t lo = -1, hi = static_cast<int64_t>(sealed_time_entries_);
    while (hi - lo > 1) {  // last entry with timestamp < target
      int64_t mid = lo + (hi - lo) / 2;
      ASSIGN_OR_RETURN(auto e, read_time_entry(*file, static_cast<uint64_t>(mid)));
      if (e.timestamp < timestamp) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    if (lo >= 0) {
      ASSIGN_OR_RETURN(auto e, read_time_entry(*file, static_cast<uint64_t>(lo)));
      start_offset = base_offset_ + e.relative_offset + 1;
    }
  }
  ASSIGN_OR_RETURN(uint64_t pos, find_position(start_offset, size_));
  ASSIGN_OR_RETURN(auto log, log_file());
  while (pos + kBatchHeaderSize <= size_) {
    std::byte header[kBatchHeaderSize];
    ASSIGN_OR_RETURN(size_t n, log->read_at(pos, header));
    if (n != kBatchHeaderSize) break;
    BatchHeader h = decode_batch_header(header);
    if (h.batch_length <= 0) return Error(ErrorCode::kCorrupt, "bad batch in " + log_path_);
    if (h.max_timestamp >= timestamp) return h.base_offset;
    pos += h.size_bytes();
  }
  return int64_t{-1};
}

Status Segment::write_indexes(bool sync) {
  // Unchanged since they were written or found valid at open: a clean stop of many idle
  // partitions then costs no writes at all.
  if (indexes_on_disk_for_size_ == size_) return ok_status();
  std::vector<TimeIndexEntry> times = time_index_;
  if (max_timestamp_ >= 0 && (times.empty() || times.back().timestamp < max_timestamp_)) {
    // Record the segment's overall max so a later open knows it without a scan.
    times.push_back({max_timestamp_, static_cast<uint32_t>(next_offset_ - 1 - base_offset_)});
  }
  RETURN_IF_ERROR(write_index_file(cache_, index_path_, encode_offset_index(offset_index_), sync));
  RETURN_IF_ERROR(write_index_file(cache_, time_index_path_, encode_time_index(times), sync));
  sealed_offset_entries_ = offset_index_.size();
  sealed_time_entries_ = times.size();
  indexes_on_disk_for_size_ = size_;
  return ok_status();
}

Status Segment::sync_log() {
  ASSIGN_OR_RETURN(auto log, log_file());
  return log->sync();
}

Status Segment::seal() {
  if (sealed_) return ok_status();
  RETURN_IF_ERROR(sync_log());
  RETURN_IF_ERROR(write_indexes());
  sealed_ = true;
  offset_index_.clear();
  offset_index_.shrink_to_fit();
  time_index_.clear();
  time_index_.shrink_to_fit();
  return ok_status();
}

Status Segment::remove_files() {
  FileSystem& fs = cache_.fs();
  for (const std::string* path : {&log_path_, &index_path_, &time_index_path_}) {
    cache_.forget(*path);
    Status removed = fs.remove(*path);
    if (!removed.ok() && removed.error().code() != ErrorCode::kNotFound) return removed;
  }
  return ok_status();
}

Result<std::vector<std::string>> Segment::retire_files() {
  FileSystem& fs = cache_.fs();
  std::vector<std::string> retired;
  for (const std::string* path : {&index_path_, &time_index_path_, &log_path_}) {
    cache_.forget(*path);
    std::string target = *path + kDeletedSuffix;
    Status renamed = fs.rename(*path, target);
    if (renamed.ok()) {
      retired.push_back(std::move(target));
    } else if (renamed.error().code() != ErrorCode::kNotFound) {
      return renamed.error();
    }
  }
  return retired;
}

}  // namespace eddy::storage

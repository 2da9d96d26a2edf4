// Log compaction for cleanup.policy=compact (PartitionLog::compact).
//
// Pass 1 maps every key in the sealed segments to its latest offset. Pass 2 rewrites each
// sealed segment that holds superseded records or expired tombstones into
// <base>.log.cleaned, keeping offsets (batches keep their base offset and last offset delta, so
// consumers' positions stay valid). The swap is crash-safe: .cleaned is fsynced and renamed to
// .log.swap (the commit point), then over .log; PartitionLog::open finishes or discards a swap
// that a crash interrupted. The active segment is never compacted, so appends never wait.
// Compressed batches are kept whole (their records are not decoded here).
#include <spdlog/spdlog.h>

#include <string>
#include <unordered_map>

#include "storage/partition_log.h"
#include "storage/records.h"

namespace eddy::storage {
namespace {

// Bounds the key map's memory; segments past the point where it fills wait for the next pass.
constexpr size_t kMaxKeysPerPass = 1 << 20;

template <typename Visit>
Status for_each_batch(Segment& segment, Visit&& visit) {
  ASSIGN_OR_RETURN(auto file, segment.log_file());
  std::vector<std::byte> batch;
  uint64_t pos = 0;
  while (pos + kBatchHeaderSize <= segment.size_bytes()) {
    std::byte header[kBatchHeaderSize];
    ASSIGN_OR_RETURN(size_t n, file->read_at(pos, header));
    if (n != kBatchHeaderSize) return Error(ErrorCode::kCorrupt, "short read in " + file->path());
    BatchHeader h = decode_batch_header(header);
    if (h.batch_length <= 0 || pos + h.size_bytes() > segment.size_bytes()) {
      return Error(ErrorCode::kCorrupt, "bad batch in " + file->path());
    }
    batch.resize(h.size_bytes());
    ASSIGN_OR_RETURN(n, file->read_at(pos, batch));
    if (n != batch.size()) return Error(ErrorCode::kCorrupt, "short read in " + file->path());
    RETURN_IF_ERROR(visit(h, std::span<const std::byte>(batch)));
    pos += h.size_bytes();
  }
  return ok_status();
}

}  // namespace

Result<uint64_t> PartitionLog::compact() {
  std::lock_guard compaction_lock(compaction_mu_);
  std::vector<std::shared_ptr<Segment>> sealed;
  TopicConfig config;
  {
    std::shared_lock lock(mu_);
    if (closed_) return uint64_t{0};
    config = options_.config;
    for (const auto& [base, segment] : segments_) {
      if (segment != active_) sealed.push_back(segment);
    }
  }
  if (sealed.empty()) return uint64_t{0};
  const int64_t now = options_.clock();

  std::unordered_map<std::string, int64_t> latest;
  size_t usable = 0;
  for (const auto& segment : sealed) {
    if (now - segment->max_timestamp() < config.min_compaction_lag_ms) break;
    Status scanned = for_each_batch(*segment, [&](const BatchHeader& h, auto bytes) -> Status {
      if (h.compression() != 0 || h.is_control()) return ok_status();
      ASSIGN_OR_RETURN(auto records, decode_records(bytes));
      for (const auto& r : records) {
        if (r.key) latest[std::string(*r.key)] = h.base_offset + r.offset_delta;
      }
      return ok_status();
    });
    RETURN_IF_ERROR(scanned);
    ++usable;
    if (latest.size() >= kMaxKeysPerPass) break;
  }

  uint64_t removed_total = 0;
  FileSystem& fs = cache_.fs();
  for (size_t i = 0; i < usable; ++i) {
    auto& segment = sealed[i];
    std::vector<std::byte> output;
    bool changed = false;
    const std::string cleaned_path = segment->log_path() + ".cleaned";
    ASSIGN_OR_RETURN(auto out_file, fs.open(cleaned_path, {.create = true}));
    RETURN_IF_ERROR(out_file->truncate(0));
    uint64_t out_pos = 0;
    Status rewritten = for_each_batch(*segment, [&](const BatchHeader& h, auto bytes) -> Status {
      if (h.compression() != 0 || h.is_control()) {
        RETURN_IF_ERROR(out_file->write_at(out_pos, bytes));
        out_pos += bytes.size();
        return ok_status();
      }
      ASSIGN_OR_RETURN(auto records, decode_records(bytes));
      std::vector<RecordView> keep;
      const bool tombstones_expired = now - h.max_timestamp >= config.delete_retention_ms;
      for (const auto& r : records) {
        const int64_t offset = h.base_offset + r.offset_delta;
        if (r.key) {
          auto it = latest.find(std::string(*r.key));
          if (it != latest.end() && it->second != offset) continue;  // superseded
          if (r.null_value && tombstones_expired) continue;
        }
        keep.push_back(r);
      }
      if (keep.size() == records.size()) {
        RETURN_IF_ERROR(out_file->write_at(out_pos, bytes));
        out_pos += bytes.size();
        return ok_status();
      }
      changed = true;
      if (keep.empty()) return ok_status();
      output = rebuild_batch(bytes, keep);
      RETURN_IF_ERROR(out_file->write_at(out_pos, output));
      out_pos += output.size();
      return ok_status();
    });
    if (!rewritten.ok() || !changed) {
      out_file.reset();
      (void)fs.remove(cleaned_path);
      RETURN_IF_ERROR(rewritten);
      continue;
    }
    RETURN_IF_ERROR(out_file->sync());
    out_file.reset();
    const std::string swap_path = segment->log_path() + ".swap";
    RETURN_IF_ERROR(fs.rename(cleaned_path, swap_path));
    RETURN_IF_ERROR(fs.sync_dir(options_.dir));

    // Commit point passed: swap the files and the in-memory segment together.
    std::unique_lock files_lock(files_mu_);
    std::unique_lock lock(mu_);
    auto current = segments_.find(segment->base_offset());
    if (current == segments_.end() || current->second != segment) {
      // Retention removed the segment meanwhile: the rewrite is moot.
      (void)fs.remove(swap_path);
      continue;
    }
    const uint64_t old_size = segment->size_bytes();
    cache_.forget(segment->log_path());
    RETURN_IF_ERROR(fs.rename(swap_path, segment->log_path()));
    for (const char* ext : {"index", "timeindex"}) {
      std::string path = join_path(options_.dir, Segment::file_name(segment->base_offset(), ext));
      cache_.forget(path);
      (void)fs.remove(path);
    }
    ASSIGN_OR_RETURN(auto replacement,
                     Segment::open(cache_, options_.dir, segment->base_offset(), /*scan=*/true,
                                   /*active=*/false, config.index_interval_bytes, now, nullptr));
    RETURN_IF_ERROR(fs.sync_dir(options_.dir));
    segments_[segment->base_offset()] = replacement;
    removed_total += old_size - replacement->size_bytes();
  }
  if (removed_total > 0) {
    spdlog::info("compaction of {} removed {} bytes", options_.dir, removed_total);
  }
  return removed_total;
}

}  // namespace eddy::storage

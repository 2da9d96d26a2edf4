#include "storage/partition_log.h"

#include "storage/file_deleter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <climits>

namespace eddy::storage {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

constexpr auto kSlowFsync = std::chrono::seconds(1);
constexpr int64_t kAppendErrorLogIntervalMs = 10000;

constexpr const char* kSnapshotExtension = "snapshot";
// DeleteRecords' log start offset, in decimal; absent until the first DeleteRecords.
constexpr const char* kLogStartFile = "log-start-offset";
constexpr uint64_t kMaxLogStartFileBytes = 64;
// Two, so a snapshot found damaged at open still leaves an older one to start from.
constexpr size_t kSnapshotsKept = 2;
// About a million producers with 5 batches each; a larger file is damage, not state.
constexpr uint64_t kMaxSnapshotBytes = uint64_t{256} << 20;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

PartitionLog::PartitionLog(FileCache& cache, PartitionOptions options)
    : cache_(cache), options_(std::move(options)) {}

PartitionLog::~PartitionLog() = default;

Result<std::unique_ptr<PartitionLog>> PartitionLog::open(FileCache& cache, PartitionOptions options,
                                                         bool clean, RecoveryOutcome* outcome) {
  RecoveryOutcome local;
  RecoveryOutcome& out = outcome ? *outcome : local;
  FileSystem& fs = cache.fs();
  RETURN_IF_ERROR(fs.create_dirs(options.dir));
  std::unique_ptr<PartitionLog> log(new PartitionLog(cache, std::move(options)));
  const std::string& dir = log->options_.dir;
  const int64_t now = log->options_.clock();

  ASSIGN_OR_RETURN(auto names, fs.list_dir(dir));
  // A compaction that reached its commit point (the .log.swap rename) is completed; anything
  // earlier is discarded.
  for (const auto& name : names) {
    if (ends_with(name, ".log.swap")) {
      std::string base = name.substr(0, name.size() - 5);
      RETURN_IF_ERROR(fs.rename(join_path(dir, name), join_path(dir, base)));
      std::string stem = base.substr(0, base.size() - 4);
      for (const char* ext : {".index", ".timeindex"}) {
        Status removed = fs.remove(join_path(dir, stem + ext));
        (void)removed;  // missing is fine: the open below rebuilds them
      }
      clean = false;
    }
  }
  ASSIGN_OR_RETURN(names, fs.list_dir(dir));
  std::vector<int64_t> bases;
  for (const auto& name : names) {
    if (ends_with(name, ".cleaned") || ends_with(name, ".swap") || ends_with(name, ".tmp") ||
        ends_with(name, Segment::kDeletedSuffix)) {
      RETURN_IF_ERROR(fs.remove(join_path(dir, name)));
      continue;
    }
    int64_t base = Segment::parse_file_name(name, "log");
    if (base >= 0) bases.push_back(base);
  }
  std::sort(bases.begin(), bases.end());

  const int64_t interval = log->options_.config.index_interval_bytes;
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool active = i + 1 == bases.size();
    const bool scan = active && !clean;
    ScanOutcome scanned;
    auto segment = Segment::open(cache, dir, bases[i], scan, active, interval, now, &scanned);
    if (!segment.ok()) {
      return Error(segment.error().code(), "opening segment " + std::to_string(bases[i]) + " of " +
                                               dir + ": " + segment.error().message());
    }
    if (scan) ++out.segments_scanned;
    if (scanned.dropped_bytes > 0) {
      spdlog::warn("recovery of {}: truncated {} bytes after offset {} ({}), kept {} batches",
                   (*segment)->log_path(), scanned.dropped_bytes, (*segment)->next_offset(),
                   batch_defect_name(scanned.defect), scanned.batches);
      out.bytes_dropped += scanned.dropped_bytes;
    }
    if (!log->segments_.empty() &&
        log->segments_.rbegin()->second->next_offset() > (*segment)->base_offset()) {
      return Error(ErrorCode::kCorrupt, "segments of " + dir + " overlap at offset " +
                                            std::to_string((*segment)->base_offset()));
    }
    log->segments_[bases[i]] = *segment;
  }
  if (log->segments_.empty()) {
    ASSIGN_OR_RETURN(auto segment, Segment::create(cache, dir, 0, now));
    RETURN_IF_ERROR(fs.sync_dir(dir));
    log->segments_[0] = segment;
  }
  out.segments = static_cast<int>(log->segments_.size());
  log->active_ = log->segments_.rbegin()->second;
  log->high_watermark_ = log->active_->next_offset();
  log->flushed_offset_ = log->active_->next_offset();
  log->flushed_size_ = log->active_->size_bytes();
  if (std::find(names.begin(), names.end(), kLogStartFile) != names.end()) {
    const std::string path = join_path(dir, kLogStartFile);
    ASSIGN_OR_RETURN(auto bytes, read_whole_file(fs, path, kMaxLogStartFileBytes));
    std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    int64_t start = -1;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), start);
    if (ec != std::errc() || ptr != text.data() + text.size() || start < 0) {
      return Error(ErrorCode::kCorrupt, path + " does not hold an offset");
    }
    // Never past the log end: the end is where the next record goes.
    log->deleted_below_ = std::min(start, log->active_->next_offset());
  }
  RETURN_IF_ERROR(log->load_producer_state(names));
  out.producers = static_cast<int>(log->producers_.size());
  return log;
}

Status PartitionLog::load_producer_state(const std::vector<std::string>& names) {
  FileSystem& fs = cache_.fs();
  const int64_t start = segments_.begin()->second->base_offset();
  const int64_t end = active_->next_offset();
  std::vector<int64_t> offsets;
  for (const auto& name : names) {
    const int64_t offset = Segment::parse_file_name(name, kSnapshotExtension);
    if (offset >= 0) offsets.push_back(offset);
  }
  std::sort(offsets.rbegin(), offsets.rend());
  int64_t replay_from = start;
  bool loaded = false;
  for (int64_t offset : offsets) {
    const std::string path =
        join_path(options_.dir, Segment::file_name(offset, kSnapshotExtension));
    // A snapshot past the log end describes data a crash took back; one below the log start
    // only knows producers whose data retention deleted.
    bool keep = offset >= start && offset <= end;
    if (keep && !loaded) {
      auto bytes = read_whole_file(fs, path, kMaxSnapshotBytes);
      auto state = bytes.ok() ? ProducerStateMap::decode(*bytes, offset)
                              : Result<ProducerStateMap>(bytes.error());
      if (state.ok()) {
        producers_ = std::move(*state);
        replay_from = offset;
        loaded = true;
      } else {
        spdlog::warn("ignoring producer snapshot {}: {}", path, state.error().message());
        keep = false;
      }
    }
    if (keep) {
      snapshots_.insert(offset);
      continue;
    }
    Status removed = fs.remove(path);
    if (!removed.ok()) spdlog::warn("removing {}: {}", path, removed.error().message());
  }
  for (const auto& [base, segment] : segments_) {
    if (segment->next_offset() <= replay_from) continue;
    uint64_t position = 0;
    if (base < replay_from) {
      ASSIGN_OR_RETURN(position, segment->find_position(replay_from, segment->size_bytes()));
    }
    RETURN_IF_ERROR(segment->visit_batch_headers(position, [&](const BatchHeader& h) {
      if (h.base_offset >= replay_from) producers_.replay(h);
    }));
  }
  producers_.drop_below(start);
  producers_.expire(options_.clock(), options_.producer_id_expiration_ms);
  snapshot_covered_ = snapshots_.empty() ? start : *snapshots_.rbegin();
  return ok_status();
}

void PartitionLog::write_producer_snapshot_locked() {
  const int64_t offset = active_->next_offset();
  const std::string path = join_path(options_.dir, Segment::file_name(offset, kSnapshotExtension));
  Status written = write_file_atomically(cache_.fs(), path, producers_.encode(offset));
  if (!written.ok()) {
    spdlog::warn("writing producer snapshot {}: {}; the next start replays more of the log", path,
                 written.error().message());
    return;
  }
  snapshots_.insert(offset);
  prune_producer_snapshots_locked();
}

void PartitionLog::prune_producer_snapshots_locked() {
  const int64_t start = segments_.begin()->second->base_offset();
  while (!snapshots_.empty() &&
         (snapshots_.size() > kSnapshotsKept || *snapshots_.begin() < start)) {
    const std::string path =
        join_path(options_.dir, Segment::file_name(*snapshots_.begin(), kSnapshotExtension));
    Status removed = cache_.fs().remove(path);
    if (!removed.ok()) spdlog::warn("removing {}: {}", path, removed.error().message());
    snapshots_.erase(snapshots_.begin());
  }
  snapshot_covered_ = snapshots_.empty() ? start : *snapshots_.rbegin();
}

Status PartitionLog::roll_locked(int64_t now_ms) {
  // The new segment's file exists before the old one is sealed, so a failure leaves the old
  // segment active and writable, and a crash leaves at worst an empty newer file.
  ASSIGN_OR_RETURN(auto segment,
                   Segment::create(cache_, options_.dir, active_->next_offset(), now_ms));
  Status ready = cache_.fs().sync_dir(options_.dir);
  if (ready.ok()) {
    ready = active_->sync_log();
    if (!ready.ok()) on_fsync_failure_locked(*active_, ready.error());
  }
  if (ready.ok()) ready = active_->seal();
  if (!ready.ok()) {
    (void)segment->remove_files();
    return ready;
  }
  // Everything in the sealed segment is now durable.
  flushed_offset_ = std::max(flushed_offset_, active_->next_offset());
  high_watermark_ = std::max(high_watermark_, active_->next_offset());
  segments_[segment->base_offset()] = segment;
  active_ = segment;
  flushed_size_ = 0;
  write_producer_snapshot_locked();
  return ok_status();
}

void PartitionLog::on_fsync_failure_locked(Segment& segment, const Error& error) {
  // After a failed fsync the kernel may have dropped dirty pages (and will not report it
  // again), so nothing past the last durable point can be trusted: cut it off.
  spdlog::error("fsync of {} failed: {}; discarding unflushed appends after offset {}",
                segment.log_path(), error.message(), flushed_offset_);
  if (&segment == active_.get()) {
    Status truncated = active_->truncate_to(flushed_size_, flushed_offset_);
    if (!truncated.ok()) {
      spdlog::error("truncating {} failed: {}", segment.log_path(), truncated.error().message());
    }
    // Retries of the discarded batches must be written again, not acknowledged as duplicates.
    producers_.truncate_from(flushed_offset_);
  } else {
    // The failure belongs to a segment sealed meanwhile, whose seal may have consumed the
    // error report: its contents cannot be vouched for, so stop taking writes.
    failed_ = true;
    spdlog::error("partition {} refuses writes until restart", options_.dir);
  }
  ++generation_;
  last_flush_error_ = error;
  high_watermark_ = std::min(high_watermark_, std::max(flushed_offset_, segments_.begin()->first));
  // A DeleteRecords up to data that was just cut off must not leave the start past the end.
  deleted_below_ = std::min(deleted_below_, active_->next_offset());
  unflushed_messages_ = 0;
  first_unflushed_ms_ = -1;
}

Result<AppendResult> PartitionLog::append(std::span<std::byte> batches) {
  TopicConfig config;
  {
    std::shared_lock lock(mu_);
    config = options_.config;
  }
  // Validation reads only the caller's bytes: no lock needed.
  // Kafka applies max.message.bytes to the whole batch, log overhead included.
  const size_t max_batch = static_cast<size_t>(config.max_message_bytes);
  ASSIGN_OR_RETURN(int batch_count, validate_batches(batches, max_batch));
  (void)batch_count;
  if (batches.size() > static_cast<uint64_t>(config.segment_bytes)) {
    return Error(ErrorCode::kTooLarge, "append of " + std::to_string(batches.size()) +
                                           " bytes is larger than segment.bytes");
  }

  std::unique_lock lock(mu_);
  if (closed_) return Error(ErrorCode::kClosed, "partition " + options_.dir + " is closed");
  if (failed_) {
    return Error(ErrorCode::kIoError,
                 "partition " + options_.dir + " is read-only after an fsync failure");
  }
  const int64_t now = options_.clock();
  int64_t next = active_->next_offset();

  // Offsets within a segment are 32-bit relative to its base; positions are 32-bit too.
  int64_t records_in_append = 0;
  bool producer_check = false;
  for (size_t pos = 0; pos < batches.size();) {
    BatchHeader h = decode_batch_header(batches.data() + pos);
    records_in_append += int64_t{h.last_offset_delta} + 1;
    producer_check |= needs_producer_check(h);
    pos += h.size_bytes();
  }
  const bool too_big =
      active_->size_bytes() + batches.size() > static_cast<uint64_t>(config.segment_bytes);
  const bool too_old = now - active_->created_ms() >= config.segment_ms;
  if (records_in_append > INT32_MAX) {
    return Error(ErrorCode::kInvalidArgument, "append spans more than 2^31 offsets");
  }
  const bool offsets_overflow = next + records_in_append - active_->base_offset() > INT32_MAX;
  if (!active_->empty() && (too_big || too_old || offsets_overflow)) {
    RETURN_IF_ERROR(roll_locked(now));
  }

  AppendResult result;
  result.base_offset = next;
  result.log_append_time_ms =
      config.message_timestamp_type == TimestampType::kLogAppendTime ? now : -1;
  ProducerStateMap::Plan plan;
  if (producer_check) {
    ASSIGN_OR_RETURN(plan, producers_.prepare(batches, next, result.log_append_time_ms));
    if (plan.duplicate) {
      const ProducerBatch& original = *plan.duplicate;
      AppendResult duplicate;
      duplicate.duplicate = true;
      duplicate.base_offset = original.first_offset;
      duplicate.last_offset = original.last_offset;
      duplicate.log_append_time_ms = result.log_append_time_ms >= 0 ? original.timestamp : -1;
      duplicate.log_start_offset = log_start_locked();
      duplicate.generation = generation_;
      // The original may still await its fsync: the retry is acknowledged no earlier.
      duplicate.needs_flush = config.durable_appends() && original.last_offset >= flushed_offset_;
      return duplicate;
    }
  }
  for (size_t pos = 0; pos < batches.size();) {
    std::byte* batch = batches.data() + pos;
    BatchHeader h = decode_batch_header(batch);
    set_base_offset(batch, next);
    set_partition_leader_epoch(batch, kLeaderEpoch);
    if (result.log_append_time_ms >= 0) {
      set_log_append_time(std::span<std::byte>(batch, h.size_bytes()), now);
    }
    result.record_count += h.record_count;
    next += int64_t{h.last_offset_delta} + 1;
    pos += h.size_bytes();
  }
  result.last_offset = next - 1;

  Status written = active_->append(batches, config.index_interval_bytes);
  if (!written.ok()) {
    // Nothing past the previous end is visible; the next append overwrites the partial bytes.
    // Logged once per interval: a full disk fails every append, and every retry.
    if (now - last_append_error_log_ms_ >= kAppendErrorLogIntervalMs) {
      spdlog::error("append to {} failed: {}{}", options_.dir, written.error().message(),
                    suppressed_append_errors_ > 0
                        ? fmt::format(" ({} more failed appends since the last report)",
                                      suppressed_append_errors_)
                        : std::string());
      last_append_error_log_ms_ = now;
      suppressed_append_errors_ = 0;
    } else {
      ++suppressed_append_errors_;
    }
    return written.error();
  }
  if (producer_check) producers_.commit(plan);
  result.log_start_offset = log_start_locked();
  result.generation = generation_;
  if (config.durable_appends()) {
    result.needs_flush = true;
    return result;
  }
  high_watermark_ = active_->next_offset();
  if (unflushed_messages_ == 0) first_unflushed_ms_ = now;
  unflushed_messages_ += result.record_count;
  // flush.messages reached: the appender triggers the fsync itself (acknowledgement need not
  // wait for it), so at most flush.messages - 1 acknowledged records are ever unflushed.
  result.needs_flush = config.flush_messages > 1 && unflushed_messages_ >= config.flush_messages;
  lock.unlock();
  if (options_.on_visible) options_.on_visible();
  return result;
}

Status PartitionLog::flush_once() {
  std::shared_ptr<Segment> segment;
  int64_t target_offset;
  uint64_t target_size;
  uint64_t generation;
  {
    std::shared_lock lock(mu_);
    segment = active_;
    target_offset = active_->next_offset();
    target_size = active_->size_bytes();
    generation = generation_;
    if (target_offset <= flushed_offset_) return ok_status();
  }
  const auto started = std::chrono::steady_clock::now();
  Status synced = segment->sync_log();
  const auto took = std::chrono::steady_clock::now() - started;
  if (took >= kSlowFsync) {
    // A disk this slow delays every acknowledgement and every consumer of the partition.
    spdlog::warn("fsync of {} took {} ms", options_.dir,
                 std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  }
  std::unique_lock lock(mu_);
  if (generation != generation_) return last_flush_error_;
  if (synced.ok()) {
    if (target_offset > flushed_offset_) {
      flushed_offset_ = target_offset;
      if (segment == active_) flushed_size_ = std::max(flushed_size_, target_size);
    }
    const bool advanced = flushed_offset_ > high_watermark_;
    high_watermark_ = std::max(high_watermark_, flushed_offset_);
    if (active_->next_offset() <= flushed_offset_) {
      unflushed_messages_ = 0;
      first_unflushed_ms_ = -1;
    }
    lock.unlock();
    if (advanced && options_.on_visible) options_.on_visible();
    return ok_status();
  }
  on_fsync_failure_locked(*segment, synced.error());
  return synced;
}

Status PartitionLog::wait_durable(int64_t last_offset, uint64_t generation) {
  std::unique_lock flush_lock(flush_mu_);
  for (;;) {
    {
      std::shared_lock lock(mu_);
      if (generation != generation_) return last_flush_error_;
      if (flushed_offset_ > last_offset) return ok_status();
    }
    if (!flush_running_) {
      Status flushed = lead_flush(flush_lock);
      if (!flushed.ok()) return flushed.error();
      continue;
    }
    flush_cv_.wait(flush_lock);
  }
}

Result<AppendResult> PartitionLog::append_durable(std::span<std::byte> batches) {
  ASSIGN_OR_RETURN(AppendResult result, append(batches));
  if (result.needs_flush) RETURN_IF_ERROR(wait_durable(result.last_offset, result.generation));
  return result;
}

Status PartitionLog::lead_flush(std::unique_lock<std::mutex>& flush_lock) {
  flush_running_ = true;
  flush_lock.unlock();
  Status flushed = flush_once();
  flush_lock.lock();
  flush_running_ = false;
  flush_cv_.notify_all();
  return flushed;
}

Status PartitionLog::flush() {
  std::unique_lock flush_lock(flush_mu_);
  flush_cv_.wait(flush_lock, [&] { return !flush_running_; });
  return lead_flush(flush_lock);
}

bool PartitionLog::flush_due(int64_t now_ms) const {
  std::shared_lock lock(mu_);
  if (unflushed_messages_ == 0) return false;
  const auto& c = options_.config;
  if (c.flush_messages > 1 && unflushed_messages_ >= c.flush_messages) return true;
  return c.flush_ms >= 0 && now_ms - first_unflushed_ms_ >= c.flush_ms;
}

std::shared_ptr<Segment> PartitionLog::segment_for_locked(int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second;
}

uint64_t PartitionLog::visible_limit_locked(const Segment& segment) const {
  if (&segment != active_.get()) return segment.size_bytes();
  return options_.config.durable_appends() ? flushed_size_ : segment.size_bytes();
}

Result<PartitionLog::ReadStart> PartitionLog::locate(
    int64_t offset, const ReadOptions& options, ReadOffsets& offsets,
    std::shared_lock<std::shared_mutex>& files_lock) {
  int64_t& log_start_offset = offsets.log_start_offset;
  int64_t& log_end_offset = offsets.log_end_offset;
  int64_t& high_watermark = offsets.high_watermark;
  files_lock = std::shared_lock(files_mu_);
  std::shared_ptr<Segment> segment;
  uint64_t limit = 0;
  uint32_t floor = 0;
  int64_t visible_end;
  {
    std::shared_lock lock(mu_);
    log_start_offset = log_start_locked();
    log_end_offset = active_->next_offset();
    high_watermark = high_watermark_;
    visible_end = options.read_uncommitted ? log_end_offset : high_watermark;
    if (offset < log_start_offset || offset > log_end_offset) {
      return Error(ErrorCode::kOutOfRange, "offset " + std::to_string(offset) + " is outside [" +
                                               std::to_string(log_start_offset) + ", " +
                                               std::to_string(log_end_offset) + "]");
    }
    if (offset >= visible_end) return ReadStart{};
    segment = segment_for_locked(offset);
    limit = options.read_uncommitted ? segment->size_bytes() : visible_limit_locked(*segment);
    // The active segment's in-memory index changes under appends: search it under the lock.
    ASSIGN_OR_RETURN(floor, segment->index_floor(offset));
  }
  // Segments after a compaction or an empty roll can leave a gap: move to the next segment
  // until one holds a batch at or after the offset.
  for (;;) {
    ASSIGN_OR_RETURN(uint64_t position, segment->scan_to(offset, floor, limit));
    if (position < limit) return ReadStart{std::move(segment), position, limit};
    std::shared_lock lock(mu_);
    auto next = segments_.upper_bound(segment->base_offset());
    if (next == segments_.end()) return ReadStart{};
    segment = next->second;
    if (segment->base_offset() >= visible_end) return ReadStart{};
    offset = std::max(offset, segment->base_offset());
    limit = options.read_uncommitted ? segment->size_bytes() : visible_limit_locked(*segment);
    floor = 0;  // from the first batch of the next segment
  }
}

Result<ReadResult> PartitionLog::read(int64_t offset, const ReadOptions& options) {
  ReadResult result;
  std::shared_lock<std::shared_mutex> files_lock;
  ASSIGN_OR_RETURN(ReadStart start, locate(offset, options, result, files_lock));
  if (!start.segment) return result;
  const uint64_t position = start.position;
  ASSIGN_OR_RETURN(auto file, start.segment->log_file());
  const uint64_t available = start.limit - position;
  size_t want = static_cast<size_t>(std::min<uint64_t>(available, options.max_bytes));
  if (want < kBatchHeaderSize && options.min_one_batch) {
    want = static_cast<size_t>(std::min<uint64_t>(available, kBatchHeaderSize));
  }
  result.data.resize(want);
  ASSIGN_OR_RETURN(size_t got, file->read_at(position, result.data));
  result.data.resize(got);
  // Keep whole batches only; the first one whole even past max_bytes when asked.
  size_t end = 0;
  while (end + kBatchHeaderSize <= result.data.size()) {
    BatchHeader h = decode_batch_header(result.data.data() + end);
    if (h.batch_length <= 0)
      return Error(ErrorCode::kCorrupt, "bad batch in " + start.segment->log_path());
    if (end + h.size_bytes() > result.data.size()) break;
    end += h.size_bytes();
  }
  if (end == 0 && options.min_one_batch && result.data.size() >= kBatchHeaderSize) {
    BatchHeader h = decode_batch_header(result.data.data());
    if (position + h.size_bytes() > start.limit) {
      return Error(ErrorCode::kCorrupt, "batch past end");
    }
    result.data.resize(h.size_bytes());
    ASSIGN_OR_RETURN(size_t n, file->read_at(position, result.data));
    if (n != h.size_bytes()) return Error(ErrorCode::kIoError, "short read");
    end = n;
  }
  result.data.resize(end);
  return result;
}

Result<ReadSlice> PartitionLog::read_slice(int64_t offset, const ReadOptions& options) {
  ReadSlice slice;
  std::shared_lock<std::shared_mutex> files_lock;
  ASSIGN_OR_RETURN(ReadStart start, locate(offset, options, slice, files_lock));
  if (!start.segment) return slice;
  ASSIGN_OR_RETURN(slice.file, start.segment->log_file());
  const uint64_t available = start.limit - start.position;
  if (available < kBatchHeaderSize) {
    return Error(ErrorCode::kCorrupt, "short batch in " + start.segment->log_path());
  }
  std::array<std::byte, kBatchHeaderSize> header;
  ASSIGN_OR_RETURN(size_t got, slice.file->read_at(start.position, header));
  if (got != header.size()) return Error(ErrorCode::kIoError, "short read");
  const BatchHeader first = decode_batch_header(header.data());
  if (first.batch_length <= 0 || first.size_bytes() > available) {
    return Error(ErrorCode::kCorrupt, "bad batch in " + start.segment->log_path());
  }
  uint64_t length = std::min<uint64_t>(available, options.max_bytes);
  if (first.size_bytes() > length) {
    if (!options.min_one_batch) return slice;
    length = first.size_bytes();
  }
  slice.position = start.position;
  slice.length = length;
  slice.segment = std::move(start.segment);
  return slice;
}

Result<int64_t> PartitionLog::offset_for_timestamp(int64_t timestamp_ms) {
  std::shared_lock files_lock(files_mu_);
  // Held throughout: the active segment's time index changes under appends. Timestamp lookups
  // are rare (ListOffsets), so briefly delaying appends is the simpler trade.
  std::shared_lock lock(mu_);
  const int64_t visible_end = high_watermark_;
  for (const auto& [base, segment] : segments_) {
    if (segment->max_timestamp() < timestamp_ms) continue;
    ASSIGN_OR_RETURN(int64_t offset, segment->find_offset_by_timestamp(timestamp_ms));
    if (offset >= 0 && offset < visible_end) return std::max(offset, log_start_locked());
    if (offset >= visible_end) break;
  }
  return int64_t{-1};
}

int64_t PartitionLog::log_start_locked() const {
  return std::max(deleted_below_, segments_.begin()->second->base_offset());
}

int64_t PartitionLog::log_start_offset() const {
  std::shared_lock lock(mu_);
  return log_start_locked();
}

int64_t PartitionLog::log_end_offset() const {
  std::shared_lock lock(mu_);
  return active_->next_offset();
}

int64_t PartitionLog::high_watermark() const {
  std::shared_lock lock(mu_);
  return high_watermark_;
}

uint64_t PartitionLog::size_bytes() const {
  std::shared_lock lock(mu_);
  uint64_t total = 0;
  for (const auto& [base, segment] : segments_)
    total += segment->size_bytes();
  return total;
}

size_t PartitionLog::segment_count() const {
  std::shared_lock lock(mu_);
  return segments_.size();
}

std::vector<int64_t> PartitionLog::segment_base_offsets() const {
  std::shared_lock lock(mu_);
  std::vector<int64_t> bases;
  for (const auto& [base, segment] : segments_)
    bases.push_back(base);
  return bases;
}

void PartitionLog::set_config(const TopicConfig& config) {
  std::unique_lock lock(mu_);
  options_.config = config;
}

TopicConfig PartitionLog::config() const {
  std::shared_lock lock(mu_);
  return options_.config;
}

RetentionOutcome PartitionLog::apply_retention() {
  RetentionOutcome outcome;
  std::vector<std::shared_ptr<Segment>> doomed;
  std::unique_lock files_lock(files_mu_);
  {
    std::unique_lock lock(mu_);
    const TopicConfig& c = options_.config;
    if (closed_ || !c.deletes()) return outcome;
    const int64_t now = options_.clock();
    uint64_t total = 0;
    for (const auto& [base, segment] : segments_)
      total += segment->size_bytes();
    // A sealed segment without timestamps (emptied by compaction) must not hold back the
    // deletion of the ones after it.
    auto expired = [&](const Segment& s) {
      if (c.retention_ms < 0) return false;
      if (s.empty() && &s != active_.get()) return true;
      return s.max_timestamp() >= 0 && s.max_timestamp() < now - c.retention_ms;
    };
    auto oversize = [&](const Segment& s) {
      return c.retention_bytes >= 0 &&
             total - s.size_bytes() >= static_cast<uint64_t>(c.retention_bytes);
    };
    // The active segment is only deleted after it is rolled, and only when it has expired or
    // alone exceeds the size limit, and all its data is visible (durable).
    if (segments_.size() == 1 ||
        std::all_of(segments_.begin(), std::prev(segments_.end()),
                    [&](const auto& kv) { return expired(*kv.second) || oversize(*kv.second); })) {
      if (!active_->empty() && (expired(*active_) || oversize(*active_)) &&
          high_watermark_ >= active_->next_offset()) {
        Status rolled = roll_locked(now);
        if (!rolled.ok()) {
          spdlog::error("retention roll of {} failed: {}", options_.dir, rolled.error().message());
        }
      }
    }
    while (segments_.size() > 1) {
      auto& oldest = *segments_.begin()->second;
      if (!expired(oldest) && !oversize(oldest)) break;
      total -= oldest.size_bytes();
      outcome.bytes_deleted += oldest.size_bytes();
      doomed.push_back(segments_.begin()->second);
      segments_.erase(segments_.begin());
    }
    if (!doomed.empty()) {
      const size_t dropped = producers_.drop_below(log_start_locked());
      if (dropped > 0) spdlog::info("retention: forgot {} producers of {}", dropped, options_.dir);
      prune_producer_snapshots_locked();
    }
  }
  outcome.segments_deleted = static_cast<int>(doomed.size());
  discard_segments(doomed, "retention");
  if (outcome.segments_deleted > 0) {
    spdlog::info("retention deleted {} segments ({} bytes) of {}", outcome.segments_deleted,
                 outcome.bytes_deleted, options_.dir);
  }
  return outcome;
}

void PartitionLog::discard_segments(const std::vector<std::shared_ptr<Segment>>& doomed,
                                    const char* why) {
  for (const auto& segment : doomed) {
    if (options_.deleter) {
      // Shrunk step by step once no reader holds the segment any more (see FileDeleter).
      auto retired = segment->retire_files();
      if (retired.ok()) {
        options_.deleter->submit({.files = std::move(*retired),
                                  .unused = [segment] { return segment.use_count() == 1; }});
        continue;
      }
      spdlog::warn("{}: {}; deleting at once", why, retired.error().message());
    }
    // Readers holding the segment keep their open descriptors; the files vanish when they finish.
    Status removed = segment->remove_files();
    if (!removed.ok()) spdlog::error("{}: {}", why, removed.error().message());
  }
}

Result<int64_t> PartitionLog::delete_records_before(int64_t offset) {
  std::lock_guard serial(delete_records_mu_);
  int64_t target = offset;
  {
    std::shared_lock lock(mu_);
    if (closed_) return Error(ErrorCode::kClosed, "partition " + options_.dir + " is closed");
    const int64_t start = log_start_locked();
    if (target == -1) target = high_watermark_;
    if (target < 0 || target > high_watermark_) {
      return Error(ErrorCode::kOutOfRange,
                   "offset " + std::to_string(offset) + " is outside [" + std::to_string(start) +
                       ", " + std::to_string(high_watermark_) + "] (log start, high watermark)");
    }
    if (target <= start) return start;
  }
  // Durable before any reader is told: a crash after the answer must not bring records back.
  // The high watermark and the start only grow, so the check above still holds.
  const std::string text = std::to_string(target) + "\n";
  RETURN_IF_ERROR(write_file_atomically(
      cache_.fs(), join_path(options_.dir, kLogStartFile),
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size())));
  std::vector<std::shared_ptr<Segment>> doomed;
  int64_t start = 0;
  {
    std::unique_lock files_lock(files_mu_);
    std::unique_lock lock(mu_);
    deleted_below_ = std::max(deleted_below_, target);
    while (segments_.size() > 1 && segments_.begin()->second != active_ &&
           segments_.begin()->second->next_offset() <= deleted_below_) {
      doomed.push_back(segments_.begin()->second);
      segments_.erase(segments_.begin());
    }
    start = log_start_locked();
    producers_.drop_below(start);
    if (!doomed.empty()) prune_producer_snapshots_locked();
  }
  discard_segments(doomed, "delete records");
  spdlog::info("delete records: log start of {} is now {} ({} segments deleted)", options_.dir,
               start, doomed.size());
  return start;
}

Status PartitionLog::close(bool defer_index_sync) {
  {
    std::unique_lock lock(mu_);
    if (closed_) return ok_status();
    closed_ = true;  // first, so no append slips in after the final flush
  }
  RETURN_IF_ERROR(flush());
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(active_->write_indexes(/*sync=*/!defer_index_sync));
  if (active_->next_offset() > snapshot_covered_) write_producer_snapshot_locked();
  return ok_status();
}

size_t PartitionLog::expire_producers() {
  std::unique_lock lock(mu_);
  const size_t expired = producers_.expire(options_.clock(), options_.producer_id_expiration_ms);
  if (expired > 0) spdlog::info("expired {} idle producers of {}", expired, options_.dir);
  return expired;
}

std::optional<ProducerEntry> PartitionLog::producer(int64_t producer_id) const {
  std::shared_lock lock(mu_);
  const ProducerEntry* entry = producers_.find(producer_id);
  return entry ? std::optional<ProducerEntry>(*entry) : std::nullopt;
}

size_t PartitionLog::producer_count() const {
  std::shared_lock lock(mu_);
  return producers_.size();
}

std::vector<int64_t> PartitionLog::producer_snapshot_offsets() const {
  std::shared_lock lock(mu_);
  return {snapshots_.begin(), snapshots_.end()};
}

}  // namespace eddy::storage

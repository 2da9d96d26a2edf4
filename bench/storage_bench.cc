// Storage engine benchmark: measures the log against the raw capabilities of the machine.
//
// Usage: storage_bench [--dir DIR] [--quick] [--keep]
//
// Every figure is printed next to the machine's own comparison point (raw fdatasync bandwidth,
// raw buffered writes, memcpy), because absolute numbers mean little across machines; the
// targets are ratios (durable appends vs fdatasync) or absolute bounds (read GB/s, recovery s).
// Sizes: MB = 10^6 bytes, GB = 10^9 bytes; MiB/GiB are binary.
//
// This is a plain program rather than a Google Benchmark suite: the phases depend on each other
// (read what was written, recover what a killed writer left) and several run in a child process.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "batch_builder.h"
#include "storage/log_manager.h"
#include "storage/record_batch.h"

namespace {

namespace fs = std::filesystem;
using eddy::storage::LogManager;
using eddy::storage::LogManagerOptions;
using eddy::storage::PartitionLog;
using eddy::storage::TopicConfig;
using Clock = std::chrono::steady_clock;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;
constexpr size_t kGiB = 1024 * kMiB;
// The log's batches in these runs are about this size, and so are the raw writes they are
// compared with: the comparison is per write size, not against the disk's best case.
constexpr size_t kWriteSize = 16 * kKiB;
constexpr const char* kTopic = "bench";

// Sizes and time limits of one run.
struct Plan {
  double timed_phase_s;     // time per side (raw / log) of each durable row
  size_t raw_sync_cap;      // byte cap of the raw pwrite+fdatasync loop, per durable row
  size_t raw_nosync_bytes;  // bytes of the raw buffered write
  size_t durable_cap;       // byte cap of each durable-append run
  size_t interval_bytes;    // bytes of each interval-flush run (also what is read back)
  size_t recovery_bytes;    // size of the log recovered after an unclean stop
  int read_passes;          // passes over the log / memcpy buffer; the best one counts
};

constexpr Plan kFullPlan{3.0, 128 * kMiB, 256 * kMiB, 192 * kMiB, 256 * kMiB, 1 * kGiB, 3};
constexpr Plan kQuickPlan{1.0, 32 * kMiB, 32 * kMiB, 32 * kMiB, 32 * kMiB, 128 * kMiB, 2};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "storage_bench: %s\n", what.c_str());
  std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) {
  die(what + ": " + std::strerror(errno));
}

template <typename R>
void check(const R& result, const std::string& what) {
  if (!result.ok()) die(what + ": " + result.error().message());
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double mb_per_s(double bytes, double seconds) {
  return bytes / seconds / 1e6;
}

// Finds the mount holding `path` in /proc/self/mountinfo: file system type and source device.
std::string describe_filesystem(const std::string& path) {
  std::error_code ec;
  const std::string real = fs::canonical(path, ec).string();
  std::ifstream in("/proc/self/mountinfo");
  std::string line, best_mount, best_desc = "unknown";
  while (std::getline(in, line)) {
    // Fields: id parent major:minor root mount-point options [optional...] - type source ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount;
    fields >> id >> parent >> dev >> root >> mount;
    const size_t sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream tail(line.substr(sep + 3));
    std::string type, source;
    tail >> type >> source;
    const bool contains = real == mount || mount == "/" ||
                          (real.compare(0, mount.size(), mount) == 0 && real[mount.size()] == '/');
    if (contains && mount.size() >= best_mount.size()) {
      best_mount = mount;
      best_desc = type + " on " + source + " (mounted at " + mount + ")";
    }
  }
  return best_desc;
}

bool is_memory_fs(const std::string& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return false;
  constexpr long kTmpfsMagic = 0x01021994;
  constexpr long kRamfsMagic = 0x858458f6;
  return st.f_type == kTmpfsMagic || st.f_type == kRamfsMagic;
}

// /tmp is often tmpfs, where fdatasync is free and every figure would be meaningless: prefer a
// directory on a real disk.
std::string default_base_dir() {
  if (!is_memory_fs("/tmp")) return "/tmp";
  if (fs::is_directory("/work") && !is_memory_fs("/work")) return "/work";
  return fs::current_path().string();
}

// Phases must not pay for the previous phase's dirty pages being written back.
void settle() {
  ::sync();
}

std::vector<std::byte> pattern_buffer(size_t size) {
  std::vector<std::byte> buf(size);
  for (size_t i = 0; i < size; ++i)
    buf[i] = static_cast<std::byte>((i * 131 + 7) & 0xff);
  return buf;
}

int open_fresh(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die_errno("open " + path);
  return fd;
}

void pwrite_all(int fd, const std::vector<std::byte>& buf, off_t offset) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pwrite(fd, buf.data() + done, buf.size() - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die_errno("pwrite");
    done += static_cast<size_t>(n);
  }
}

struct Throughput {
  double bytes = 0;
  double records = 0;
  double seconds = 0;
  double mbps() const { return mb_per_s(bytes, seconds); }
  double records_per_s() const { return records / seconds; }
};

Throughput& operator+=(Throughput& a, const Throughput& b) {
  a.bytes += b.bytes;
  a.records += b.records;
  a.seconds += b.seconds;
  return a;
}

// A plain file appended to with pwrite(16 KiB) + fdatasync, in time slices. Appending to a
// growing file, as the log's active segment does, makes each fdatasync also commit the new
// file size: the same work the log's fsync does per batch.
class RawSyncFile {
 public:
  explicit RawSyncFile(std::string path)
      : path_(std::move(path)), buf_(pattern_buffer(kWriteSize)), fd_(open_fresh(path_)) {}
  ~RawSyncFile() {
    ::close(fd_);
    fs::remove(path_);
  }

  // Writes for `seconds` or until `byte_cap` more bytes were written.
  Throughput run(double seconds, size_t byte_cap) {
    Throughput t;
    const auto start = Clock::now();
    size_t written = 0;
    while (written < byte_cap && seconds_since(start) < seconds) {
      pwrite_all(fd_, buf_, static_cast<off_t>(offset_));
      if (::fdatasync(fd_) != 0) die_errno("fdatasync " + path_);
      offset_ += buf_.size();
      written += buf_.size();
    }
    t.seconds = seconds_since(start);
    t.bytes = static_cast<double>(written);
    t.records = static_cast<double>(written / buf_.size());
    return t;
  }

 private:
  std::string path_;
  std::vector<std::byte> buf_;
  int fd_;
  size_t offset_ = 0;
};

Throughput raw_buffered_writes(const std::string& dir, const Plan& plan) {
  const std::string path = dir + "/raw-nosync.dat";
  const auto buf = pattern_buffer(kWriteSize);
  int fd = open_fresh(path);
  settle();
  Throughput t;
  const auto start = Clock::now();
  for (size_t offset = 0; offset < plan.raw_nosync_bytes; offset += buf.size()) {
    pwrite_all(fd, buf, static_cast<off_t>(offset));
  }
  t.seconds = seconds_since(start);
  t.bytes = static_cast<double>(plan.raw_nosync_bytes);
  t.records = t.bytes / static_cast<double>(buf.size());
  ::close(fd);
  fs::remove(path);
  return t;
}

// Records of `record_size` bytes, as many as fit in about kWriteSize.
std::vector<std::byte> sized_batch(size_t record_size, const std::string& tag) {
  // Per-record framing (length, attributes, deltas, key/value lengths, headers) is ~8-10
  // bytes for these sizes.
  const int count = std::max<int>(
      1, static_cast<int>((kWriteSize - eddy::storage::kBatchHeaderSize) / (record_size + 10)));
  return eddy::testing::build_value_batch(count, record_size, tag);
}

std::unique_ptr<LogManager> open_manager(const std::string& dir, const TopicConfig& defaults) {
  LogManagerOptions options;
  options.data_dir = dir;
  options.defaults = defaults;
  auto manager = LogManager::open(options);
  check(manager, "open " + dir);
  return std::move(*manager);
}

std::shared_ptr<PartitionLog> create_partition(LogManager& manager) {
  check(manager.create_topic(kTopic, 1), "create_topic");
  auto log = manager.partition(kTopic, 0);
  if (!log) die("partition missing after create_topic");
  return log;
}

// `threads` appenders on one partition, each appending its own ~16 KiB batch over and over
// (append() rewrites the base offset in place, which the CRC does not cover, so the same
// buffer stays valid). Stops after `time_limit` seconds or `byte_cap` bytes.
Throughput run_appenders(PartitionLog& log, int threads, size_t record_size, double time_limit,
                         size_t byte_cap, bool durable) {
  std::atomic<size_t> bytes{0};
  std::atomic<size_t> records{0};
  std::latch start_line(threads + 1);
  std::vector<std::thread> workers;
  Clock::time_point start;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      auto batch = sized_batch(record_size, "t" + std::to_string(i));
      const auto header = eddy::storage::decode_batch_header(batch.data());
      start_line.arrive_and_wait();
      for (;;) {
        // Claim the bytes first so the cap holds across threads.
        if (bytes.fetch_add(batch.size()) + batch.size() > byte_cap) {
          bytes.fetch_sub(batch.size());
          break;
        }
        auto appended = durable ? log.append_durable(batch) : log.append(batch);
        check(appended, "append");
        records.fetch_add(static_cast<size_t>(header.record_count));
        if (seconds_since(start) >= time_limit) break;
      }
    });
  }
  start = Clock::now();
  start_line.arrive_and_wait();
  for (auto& w : workers)
    w.join();
  return Throughput{static_cast<double>(bytes.load()), static_cast<double>(records.load()),
                    seconds_since(start)};
}

TopicConfig durable_config() {
  TopicConfig c;  // flush.messages=1: the default, every append fsynced before it returns
  c.retention_ms = -1;
  return c;
}

TopicConfig interval_config() {
  TopicConfig c;
  c.flush_messages = 100000;
  c.flush_ms = 1000;
  c.retention_ms = -1;
  return c;
}

struct DurableFigures {
  Throughput raw;  // the raw pwrite + fdatasync loop, interleaved with the log runs
  Throughput log;
};

// fsync latency on shared or virtual disks drifts by large factors within seconds, so a raw
// figure taken at another moment is no fair yardstick: the raw loop and the log run in
// alternating short slices and each side sums its slices.
DurableFigures durable_appends(const std::string& base, const Plan& plan, size_t record_size,
                               int threads) {
  constexpr int kSlices = 6;
  const std::string dir = base + "/durable";
  settle();
  DurableFigures f;
  {
    RawSyncFile raw(base + "/raw-sync.dat");
    auto manager = open_manager(dir, durable_config());
    auto log = create_partition(*manager);
    const double slice_s = plan.timed_phase_s / kSlices;
    for (int i = 0; i < kSlices; ++i) {
      f.raw += raw.run(slice_s, plan.raw_sync_cap / kSlices);
      f.log += run_appenders(*log, threads, record_size, slice_s, plan.durable_cap / kSlices, true);
    }
    check(manager->close(), "close");
  }
  fs::remove_all(dir);
  return f;
}

struct ReadFigures {
  double best_gbps = 0;
  double mean_gbps = 0;
  double bytes = 0;
};

// Reads the whole partition as a consumer would (1 MiB fetches) from the page cache.
ReadFigures read_partition(PartitionLog& log, int passes) {
  ReadFigures f;
  double total_gbps = 0;
  for (int pass = 0; pass < passes; ++pass) {
    size_t bytes = 0;
    int64_t next = log.log_start_offset();
    const int64_t end = log.high_watermark();
    const auto start = Clock::now();
    while (next < end) {
      auto read = log.read(next, eddy::storage::ReadOptions{.max_bytes = 1 * kMiB});
      check(read, "read");
      if (read->data.empty()) die("empty read below the high watermark");
      // Only the last batch's header is needed to continue: walk headers without copying.
      size_t pos = 0, last = 0;
      while (pos < read->data.size()) {
        last = pos;
        pos += eddy::storage::decode_batch_header(read->data.data() + pos).size_bytes();
      }
      next = eddy::storage::decode_batch_header(read->data.data() + last).next_offset();
      bytes += read->data.size();
    }
    const double gbps = static_cast<double>(bytes) / seconds_since(start) / 1e9;
    f.best_gbps = std::max(f.best_gbps, gbps);
    total_gbps += gbps;
    f.bytes = static_cast<double>(bytes);
  }
  f.mean_gbps = total_gbps / passes;
  return f;
}

// The machine's copy bandwidth in the same shape as a read: 1 MiB chunks out of a buffer much
// larger than the CPU caches into a 1 MiB destination.
double memcpy_gbps(size_t size, int passes) {
  auto src = pattern_buffer(size);
  std::vector<std::byte> dst(kMiB);
  double best = 0;
  volatile std::byte sink{};
  for (int pass = 0; pass < passes; ++pass) {
    const auto start = Clock::now();
    for (size_t off = 0; off + kMiB <= size; off += kMiB) {
      std::memcpy(dst.data(), src.data() + off, kMiB);
      sink = dst[off % kMiB];  // keeps the copy from being optimised away
    }
    best = std::max(best, static_cast<double>(size) / seconds_since(start) / 1e9);
  }
  (void)sink;
  return best;
}

struct IntervalFigures {
  Throughput small, large;
  ReadFigures read;
};

IntervalFigures interval_appends(const std::string& base, const Plan& plan) {
  IntervalFigures f;
  for (size_t record_size : {size_t{100}, size_t{1024}}) {
    const std::string dir = base + "/interval";
    settle();
    auto manager = open_manager(dir, interval_config());
    auto log = create_partition(*manager);
    // No time limit: a fixed amount of data, so the read phase below has a known size.
    Throughput t = run_appenders(*log, 1, record_size, 1e9, plan.interval_bytes, false);
    if (record_size == 100) {
      f.small = t;
    } else {
      f.large = t;
      check(log->flush(), "flush");
      f.read = read_partition(*log, plan.read_passes);
    }
    check(manager->close(), "close");
    manager.reset();
    fs::remove_all(dir);
  }
  return f;
}

struct RecoveryRun {
  double seconds = 0;
  eddy::storage::StartupReport report;
  int64_t log_end = 0;
  uint64_t size = 0;
};

RecoveryRun timed_open(const std::string& dir) {
  RecoveryRun r;
  const auto start = Clock::now();
  auto manager = open_manager(dir, interval_config());
  r.seconds = seconds_since(start);
  r.report = manager->startup_report();
  auto log = manager->partition(kTopic, 0);
  if (!log) die("recovered log has no partition");
  r.log_end = log->log_end_offset();
  r.size = log->size_bytes();
  check(manager->close(), "close");
  return r;
}

// Drops the (clean, already written back) page-cache pages of every file under `dir`.
void evict_page_cache(const std::string& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die_errno("open " + entry.path().string());
    if (::fdatasync(fd) != 0) die_errno("fdatasync");
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

struct RecoveryFigures {
  RecoveryRun unclean_warm, clean, unclean_cold;
};

RecoveryFigures recovery(const std::string& base, const Plan& plan) {
  const std::string dir = base + "/recovery";
  settle();
  // The writer runs in a child that ends with _exit() after flushing, so no clean-shutdown
  // marker is written: the next open sees exactly what a killed broker leaves behind (minus
  // torn writes). The parent has no threads at this point, so fork() is safe.
  pid_t pid = ::fork();
  if (pid < 0) die_errno("fork");
  if (pid == 0) {
    TopicConfig config = interval_config();
    // One segment holds everything: the whole log is the active segment, the worst case for
    // the recovery scan.
    config.segment_bytes = static_cast<int64_t>(plan.recovery_bytes + kMiB);
    auto manager = open_manager(dir, config);
    auto log = create_partition(*manager);
    run_appenders(*log, 1, 1024, 1e9, plan.recovery_bytes, false);
    check(log->flush(), "flush");
    if (log->segment_count() != 1) die("recovery log rolled a segment");
    std::fflush(nullptr);
    _exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) die_errno("waitpid");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("recovery writer failed");

  RecoveryFigures f;
  f.unclean_warm = timed_open(dir);  // closes cleanly afterwards
  f.clean = timed_open(dir);
  // Cold cache: what a restart after a power loss or reboot pays. Removing the marker after a
  // clean close makes the open treat the stop as unclean, with the data identical.
  evict_page_cache(dir);
  fs::remove(dir + "/.clean_shutdown");
  f.unclean_cold = timed_open(dir);
  fs::remove_all(dir);
  return f;
}

std::string verdict(bool met) {
  return met ? "met" : "MISSED";
}

void print_recovery(const char* name, const RecoveryRun& r) {
  std::printf(
      "  %-26s %8.3f s  clean=%d segments_scanned=%d bytes_dropped=%llu "
      "log_end=%lld size=%.1f MiB (%.2f GB/s)\n",
      name, r.seconds, r.report.clean ? 1 : 0, r.report.segments_scanned,
      static_cast<unsigned long long>(r.report.bytes_dropped), static_cast<long long>(r.log_end),
      static_cast<double>(r.size) / kMiB, static_cast<double>(r.size) / r.seconds / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  std::string base_dir;
  bool quick = false;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--keep") {
      keep = true;
    } else if (arg == "--dir" && i + 1 < argc) {
      base_dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: storage_bench [--dir DIR] [--quick] [--keep]\n");
      return 2;
    }
  }
  if (base_dir.empty()) base_dir = default_base_dir();
  spdlog::set_level(spdlog::level::warn);  // open/close info lines would drown the table
  const Plan& plan = quick ? kQuickPlan : kFullPlan;

  std::string tmpl = base_dir + "/eddy-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) die_errno("mkdtemp in " + base_dir);
  const std::string dir = tmpl;
  std::printf("storage_bench%s: %s\n", quick ? " --quick" : "", dir.c_str());
  std::printf(
      "file system: %s%s\n", describe_filesystem(dir).c_str(),
      is_memory_fs(dir) ? "  WARNING: memory file system, fsync figures are meaningless" : "");
  std::printf("cpus: %u\n\n", std::thread::hardware_concurrency());
  std::fflush(stdout);

  auto step = [](const char* what) {
    std::printf("running: %s\n", what);
    std::fflush(stdout);
  };

  step("raw pwrite(16 KiB), no sync");
  const Throughput raw_nosync = raw_buffered_writes(dir, plan);

  struct DurableRow {
    size_t record_size;
    int threads;
    Throughput raw;  // raw fdatasync loop interleaved with this run (see durable_appends)
    Throughput t;
  };
  std::vector<DurableRow> durable;
  for (size_t record_size : {size_t{100}, size_t{1024}}) {
    for (int threads : {1, 4}) {
      step(("durable append, " + std::to_string(record_size) + " B records, " +
            std::to_string(threads) + " thread(s), interleaved with raw pwrite + fdatasync")
               .c_str());
      const DurableFigures f = durable_appends(dir, plan, record_size, threads);
      durable.push_back({record_size, threads, f.raw, f.log});
    }
  }
  step("interval-flush append and page-cache read");
  const IntervalFigures interval = interval_appends(dir, plan);
  step("memcpy");
  const double memcpy_bw = memcpy_gbps(plan.interval_bytes, plan.read_passes);
  step("recovery");
  const RecoveryFigures rec = recovery(dir, plan);

  if (!keep) fs::remove_all(dir);

  const auto small_batch = sized_batch(100, "x");
  const auto large_batch = sized_batch(1024, "x");
  std::printf(
      "\nbatches: 100 B records -> %zu B batches (%d records); 1 KiB records -> %zu B "
      "batches (%d records)\n\n",
      small_batch.size(), eddy::storage::decode_batch_header(small_batch.data()).record_count,
      large_batch.size(), eddy::storage::decode_batch_header(large_batch.data()).record_count);

  std::printf("| measurement | result | comparison point | ratio |\n");
  std::printf("|---|---|---|---|\n");
  for (const auto& row : durable) {
    std::printf(
        "| raw pwrite 16 KiB + fdatasync (interleaved with %zu B, %d thr.) | %.1f MB/s (%.0f "
        "syncs/s) "
        "| | |\n",
        row.record_size, row.threads, row.raw.mbps(), row.raw.records_per_s());
  }
  std::printf("| raw pwrite 16 KiB, no sync | %.1f MB/s | | |\n", raw_nosync.mbps());
  for (const auto& row : durable) {
    std::printf(
        "| durable append, %zu B records, %d thread%s | %.1f MB/s, %.0f records/s | "
        "raw fdatasync %.1f MB/s | %.0f%% |\n",
        row.record_size, row.threads, row.threads == 1 ? "" : "s", row.t.mbps(),
        row.t.records_per_s(), row.raw.mbps(), 100 * row.t.mbps() / row.raw.mbps());
  }
  for (const auto* t : {&interval.small, &interval.large}) {
    std::printf(
        "| interval-flush append, %s records, 1 thread | %.1f MB/s, %.0f records/s | "
        "raw no-sync %.1f MB/s | %.0f%% |\n",
        t == &interval.small ? "100 B" : "1024 B", t->mbps(), t->records_per_s(), raw_nosync.mbps(),
        100 * t->mbps() / raw_nosync.mbps());
  }
  std::printf(
      "| sequential read, page cache, 1 MiB fetches (%.0f MiB, best of %d; mean %.2f) | "
      "%.2f GB/s | memcpy %.2f GB/s | %.0f%% |\n",
      interval.read.bytes / kMiB, plan.read_passes, interval.read.mean_gbps,
      interval.read.best_gbps, memcpy_bw, 100 * interval.read.best_gbps / memcpy_bw);
  std::printf("| open after unclean stop, %zu MiB active segment, warm cache | %.3f s | | |\n",
              plan.recovery_bytes / kMiB, rec.unclean_warm.seconds);
  std::printf("| open after unclean stop, %zu MiB active segment, cold cache | %.3f s | | |\n",
              plan.recovery_bytes / kMiB, rec.unclean_cold.seconds);
  std::printf("| open after clean stop, same data | %.3f s | | |\n", rec.clean.seconds);

  std::printf("\nrecovery details:\n");
  print_recovery("unclean stop, warm cache:", rec.unclean_warm);
  print_recovery("clean stop:", rec.clean);
  print_recovery("unclean stop, cold cache:", rec.unclean_cold);

  // Targets from the storage issue. Durable appends are judged on the single-thread figure
  // (same write pattern as the raw loop); group commit can only add to it.
  double durable_min = 1e300;
  for (const auto& row : durable) {
    if (row.threads == 1) durable_min = std::min(durable_min, row.t.mbps() / row.raw.mbps());
  }
  const double recovery_scale =
      static_cast<double>(kGiB) / static_cast<double>(plan.recovery_bytes);
  std::printf("\ntargets:\n");
  std::printf(
      "  durable append >= 80%% of raw fdatasync bandwidth: worst single-thread %.0f%% -> %s\n",
      100 * durable_min, verdict(durable_min >= 0.8).c_str());
  std::printf("  reads >= 2 GB/s from page cache: %.2f GB/s -> %s\n", interval.read.best_gbps,
              verdict(interval.read.best_gbps >= 2.0).c_str());
  std::printf("  recovery of 1 GiB <= 1 s (warm cache%s): %.3f s -> %s\n",
              quick ? ", scaled from the quick run's size" : "",
              rec.unclean_warm.seconds * recovery_scale,
              verdict(rec.unclean_warm.seconds * recovery_scale <= 1.0).c_str());
  return 0;
}

// Kill -9 crash test for durable appends.
//
// A child process (crash_child.cc) appends with the default durability (flush.messages=1) from
// several threads and reports every acknowledged batch. Each round the test lets it acknowledge
// a random number of batches, kills it with SIGKILL and starts it again on the same data
// directory. Whatever the moment of the kill, every acknowledged batch must survive the restart
// byte for byte, and the offsets must continue without gaps.
//
// Synchronisation is by the child's output only (poll with a deadline, never sleeps).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "storage/log_manager.h"
#include "storage/record_batch.h"

#ifndef CRASH_CHILD_BINARY
#error "CRASH_CHILD_BINARY must name the storage_crash_child executable"
#endif

namespace eddy::storage {
namespace {

constexpr int kRounds = 20;
constexpr int kMaxAcksBeforeKill = 200;
// Generous: a round normally takes well under a second, but CI disks can stall on fsync.
constexpr auto kRoundDeadline = std::chrono::seconds(30);

struct Ack {
  int64_t base_offset;
  int64_t last_offset;
  uint32_t crc;
};

class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/eddy-crash-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One incarnation of the child with its stdout connected to a pipe we read line by line.
class Child {
 public:
  explicit Child(const std::string& data_dir) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    pid_ = ::fork();
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      ::close(fds[0]);
      ::close(fds[1]);
      return;
    }
    if (pid_ == 0) {
      // In the child only async-signal-safe calls until exec.
      ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the new descriptor
      const char* binary = CRASH_CHILD_BINARY;
      ::execl(binary, binary, data_dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }

  ~Child() {
    kill_and_reap();
    if (fd_ >= 0) ::close(fd_);
  }

  // The next complete line, or nullopt at end of file or when `deadline` passed.
  std::optional<std::string> read_line(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (eof_ || fd_ < 0) return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{fd_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) {
        ADD_FAILURE() << "poll: " << std::strerror(errno);
        return std::nullopt;
      }
      if (ready == 0) continue;  // re-check the deadline
      char chunk[4096];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ADD_FAILURE() << "read: " << std::strerror(errno);
        return std::nullopt;
      }
      if (n == 0) eof_ = true;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // SIGKILL and waitpid; returns the wait status (or -1 when there was no child).
  int kill_and_reap() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

  // Whatever the child managed to write before it died; only valid after kill_and_reap().
  bool at_eof() const { return eof_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

std::optional<Ack> parse_ack(const std::string& line) {
  std::istringstream in(line);
  std::string tag;
  Ack ack{};
  if (!(in >> tag >> ack.base_offset >> ack.last_offset >> ack.crc) || tag != "ACK") {
    return std::nullopt;
  }
  return ack;
}

TEST(CrashTest, AcknowledgedAppendsSurviveKill9) {
  ScratchDir dir;
  std::map<int64_t, Ack> acked;  // by base offset
  int64_t max_acked_next = 0;    // max acked last offset + 1
  std::mt19937 rng(20240611);    // fixed seed: a failure replays the same kill points

  const auto started = std::chrono::steady_clock::now();
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const int kill_after = std::uniform_int_distribution<int>(1, kMaxAcksBeforeKill)(rng);
    const auto deadline = std::chrono::steady_clock::now() + kRoundDeadline;
    Child child(dir.path());

    std::optional<std::string> ready = child.read_line(deadline);
    ASSERT_TRUE(ready.has_value()) << "child did not report READY";
    int64_t log_end = -1;
    ASSERT_EQ(std::sscanf(ready->c_str(), "READY %ld", &log_end), 1) << *ready;
    // Recovery must never lose an acknowledged offset.
    ASSERT_GE(log_end, max_acked_next);

    auto record = [&](const Ack& ack) {
      ASSERT_LE(ack.base_offset, ack.last_offset);
      ASSERT_GE(ack.base_offset, log_end) << "acked offset below this incarnation's start";
      auto [it, inserted] = acked.emplace(ack.base_offset, ack);
      ASSERT_TRUE(inserted) << "offset " << ack.base_offset << " acknowledged twice";
      max_acked_next = std::max(max_acked_next, ack.last_offset + 1);
    };

    for (int seen = 0; seen < kill_after;) {
      std::optional<std::string> line = child.read_line(deadline);
      ASSERT_TRUE(line.has_value()) << "child died or stalled after " << seen << " acks";
      std::optional<Ack> ack = parse_ack(*line);
      ASSERT_TRUE(ack.has_value()) << "unexpected line: " << *line;
      record(*ack);
      ++seen;
    }
    const int status = child.kill_and_reap();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "child ended by itself, status " << status;
    // Lines the child wrote before the kill are acknowledgements too: drain them to end of file.
    while (std::optional<std::string> line = child.read_line(deadline)) {
      std::optional<Ack> ack = parse_ack(*line);
      ASSERT_TRUE(ack.has_value()) << "unexpected line: " << *line;
      record(*ack);
    }
    ASSERT_TRUE(child.at_eof()) << "pipe not closed after the child was reaped";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%d rounds, %zu acknowledged batches, %.1f s\n", kRounds, acked.size(), seconds);

  // Final check in-process: recovery after the last kill, then a full scan of the log.
  LogManagerOptions options;
  options.data_dir = dir.path();
  options.background_threads = false;
  auto manager = LogManager::open(options);
  ASSERT_TRUE(manager.ok()) << manager.error().message();
  EXPECT_FALSE((*manager)->startup_report().clean);
  std::shared_ptr<PartitionLog> log = (*manager)->partition("crash", 0);
  ASSERT_NE(log, nullptr);
  const int64_t log_end = log->log_end_offset();
  ASSERT_GE(log_end, max_acked_next);
  ASSERT_EQ(log->log_start_offset(), 0);

  std::map<int64_t, Ack> stored;  // every batch in the log, by base offset
  int64_t next = 0;
  while (next < log_end) {
    auto read = log->read(next, ReadOptions{.max_bytes = 1 << 20});
    ASSERT_TRUE(read.ok()) << "read at " << next << ": " << read.error().message();
    ASSERT_FALSE(read->data.empty()) << "nothing readable at " << next << " below " << log_end;
    const std::vector<std::byte>& data = read->data;
    for (size_t pos = 0; pos < data.size();) {
      ASSERT_LE(pos + kBatchHeaderSize, data.size());
      BatchHeader h = decode_batch_header(data.data() + pos);
      ASSERT_LE(pos + h.size_bytes(), data.size());
      // No gaps: each batch starts right after the previous one.
      ASSERT_EQ(h.base_offset, next) << "offset gap or overlap";
      stored[h.base_offset] =
          Ack{h.base_offset, h.last_offset(), crc32c(data.data() + pos, h.size_bytes())};
      next = h.next_offset();
      pos += h.size_bytes();
    }
  }
  EXPECT_EQ(next, log_end);

  for (const auto& [base, ack] : acked) {
    auto it = stored.find(base);
    ASSERT_NE(it, stored.end()) << "acknowledged batch at " << base << " missing";
    EXPECT_EQ(it->second.last_offset, ack.last_offset) << "batch at " << base;
    EXPECT_EQ(it->second.crc, ack.crc) << "batch at " << base << " differs from what was acked";
  }
  // The topic used small segments so that the kills also landed around segment rolls.
  EXPECT_GT(log->segment_count(), 1u);
  ASSERT_TRUE((*manager)->close().ok());
}

}  // namespace
}  // namespace eddy::storage

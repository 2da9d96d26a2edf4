// Child process for crash_test.cc: appends durably to the "crash" topic until it is killed.
//
// Usage: storage_crash_child DATA_DIR
//
// Protocol on stdout, one line per write(2) so a SIGKILL can never leave half a line:
//   READY <log_end_offset>                 once, after the log was opened (and recovered)
//   ACK <base_offset> <last_offset> <crc>  after each append_durable() returned OK; <crc> is the
//                                          CRC-32C of the batch bytes as stored (offsets assigned)
// Errors go to stderr and end the process with status 2, which the parent reports as a failure
// (it only ever expects death by SIGKILL).
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "batch_builder.h"
#include "common/crc32c.h"
#include "storage/log_manager.h"

namespace {

using eddy::storage::LogManager;
using eddy::storage::LogManagerOptions;
using eddy::storage::TopicConfig;

constexpr const char* kTopic = "crash";
// Several appenders so that group commit (one fsync releasing several waiters) is what gets
// killed mid-flight, not just a single append/fsync loop.
constexpr int kAppenders = 3;

std::mutex protocol_mu;
// The pipe to the parent. Library logging (spdlog writes to stdout) is moved to stderr at start
// so that only protocol lines reach the parent.
int protocol_fd = STDOUT_FILENO;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "crash_child: %s\n", what.c_str());
  std::fflush(stderr);
  _exit(2);
}

// Writes the whole line with as few write(2) calls as the kernel allows; lines are far below
// PIPE_BUF, so in practice this is one atomic write.
void emit(const std::string& line) {
  std::lock_guard lock(protocol_mu);
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(protocol_fd, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The parent went away (EPIPE): nobody is listening, stop quietly.
      _exit(3);
    }
    done += static_cast<size_t>(n);
  }
}

void append_loop(eddy::storage::PartitionLog& log, int thread_index) {
  // Seeded by pid and thread so every incarnation writes different values: a batch left over
  // from an earlier round can never be mistaken for a newer one with the same hash.
  std::mt19937_64 rng(static_cast<uint64_t>(::getpid()) * 131 + thread_index);
  const std::string id_prefix =
      "p" + std::to_string(::getpid()) + "-t" + std::to_string(thread_index) + "-s";
  for (uint64_t seq = 0;; ++seq) {
    // A few records of varied size, so batches straddle segment and index boundaries.
    const int records = 1 + static_cast<int>(rng() % 4);
    const size_t value_size = 64 + rng() % 2048;
    std::vector<std::byte> batch =
        eddy::testing::build_value_batch(records, value_size, id_prefix + std::to_string(seq));
    auto appended = log.append_durable(batch);
    if (!appended.ok()) die("append_durable failed: " + appended.error().message());
    // append() rewrote the base offset in place: the hash covers the bytes exactly as stored.
    const uint32_t crc = eddy::crc32c(batch.data(), batch.size());
    emit("ACK " + std::to_string(appended->base_offset) + " " +
         std::to_string(appended->last_offset) + " " + std::to_string(crc) + "\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) die("usage: storage_crash_child DATA_DIR");
  // If the test process dies, do not leave an appender running forever.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe shows up as EPIPE in emit()
  protocol_fd = ::dup(STDOUT_FILENO);
  if (protocol_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) die("dup of stdout failed");

  TopicConfig defaults;
  defaults.segment_bytes = 256 * 1024;  // small, so segments roll many times during the test
  defaults.retention_ms = -1;           // nothing may disappear for a reason other than a bug
  // flush_messages keeps its default (1): every acknowledged append is fsynced.
  LogManagerOptions options;
  options.data_dir = argv[1];
  options.defaults = defaults;
  auto manager = LogManager::open(options);
  if (!manager.ok()) die("open failed: " + manager.error().message());

  if (!(*manager)->topic(kTopic)) {
    auto created = (*manager)->create_topic(kTopic, 1);
    if (!created.ok()) die("create_topic failed: " + created.error().message());
  }
  std::shared_ptr<eddy::storage::PartitionLog> log = (*manager)->partition(kTopic, 0);
  if (!log) die("partition crash/0 missing");

  emit("READY " + std::to_string(log->log_end_offset()) + "\n");

  std::vector<std::thread> threads;
  for (int i = 0; i < kAppenders; ++i)
    threads.emplace_back(append_loop, std::ref(*log), i);
  // The appenders never return; the parent ends this process with SIGKILL.
  for (auto& t : threads)
    t.join();
  return 0;
}

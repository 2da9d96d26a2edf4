// libFuzzer target for the request path: each input is one request frame (the bytes after the
// size prefix), parsed by parse_request() and, when a handler accepts the key and version, run
// through that handler against a real LogManager in a temporary directory. So the fuzzer reaches
// every API's body decoder and the storage calls a decoded request leads to (topic creation,
// produce validation, fetch reads, config changes).
//
// The log is recreated every kRunsPerLog inputs so topics the fuzzer creates cannot pile up and
// slow every later run. Timers the handlers ask for run at once, a bounded number of rounds, so
// long polls terminate; data wake-ups are dropped (nothing else produces while a handler runs).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "common/file_io.h"
#include "groups/group_coordinator.h"
#include "kafka/protocol.h"
#include "kafka/request.h"
#include "storage/log_manager.h"

namespace {

namespace fs = std::filesystem;
using namespace eddy;

constexpr int kRunsPerLog = 1000;
constexpr int kTimerRounds = 4;

class ImmediateServices final : public kafka::AsyncServices {
 public:
  Cancel after(int64_t, std::function<void()> fn) override {
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    timers_.push_back([cancelled, fn = std::move(fn)] {
      if (!*cancelled) fn();
    });
    return [cancelled] { *cancelled = true; };
  }
  void on_data(const std::string&, int32_t, std::weak_ptr<void>, std::function<void()>) override {}

  void run_timers() {
    for (int round = 0; round < kTimerRounds && !timers_.empty(); ++round) {
      auto due = std::move(timers_);
      timers_.clear();
      for (auto& fn : due)
        fn();
    }
    timers_.clear();
  }

 private:
  std::deque<std::function<void()>> timers_;
};

// The POSIX file system minus what makes fuzzing slow without finding anything: fsyncs are
// skipped (durability is not under test here), and directories beyond kMaxDirsPerLog fail with
// ENOSPC, so a request for 100000 partitions costs a few hundred mkdirs and exercises the
// storage error path instead of filling the disk.
constexpr int kMaxDirsPerLog = 512;

class NoSyncFile final : public File {
 public:
  explicit NoSyncFile(std::unique_ptr<File> base) : base_(std::move(base)) {}
  Result<size_t> read_at(uint64_t offset, std::span<std::byte> out) override {
    return base_->read_at(offset, out);
  }
  Status write_at(uint64_t offset, std::span<const std::byte> data) override {
    return base_->write_at(offset, data);
  }
  Status sync() override { return ok_status(); }
  Status truncate(uint64_t size) override { return base_->truncate(size); }
  Result<uint64_t> size() override { return base_->size(); }
  int native_handle() const override { return base_->native_handle(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<File> base_;
};

class FuzzFileSystem final : public FileSystem {
 public:
  void reset_quota() { dirs_ = 0; }

  Result<std::unique_ptr<File>> open(const std::string& path, OpenOptions options) override {
    auto file = base_.open(path, options);
    if (!file.ok()) return file.error();
    return std::unique_ptr<File>(std::make_unique<NoSyncFile>(std::move(*file)));
  }
  Status remove(const std::string& path) override { return base_.remove(path); }
  Status remove_all(const std::string& path) override { return base_.remove_all(path); }
  Status rename(const std::string& from, const std::string& to) override {
    return base_.rename(from, to);
  }
  Status create_dirs(const std::string& path) override {
    if (++dirs_ > kMaxDirsPerLog) return errno_error(ENOSPC, "create_dirs (fuzz quota)", path);
    return base_.create_dirs(path);
  }
  Status sync_dir(const std::string&) override { return ok_status(); }
  Status sync_filesystem(const std::string&) override { return ok_status(); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return base_.list_dir(path);
  }
  Result<bool> exists(const std::string& path) override { return base_.exists(path); }

 private:
  FileSystem& base_ = posix_file_system();
  std::atomic<int> dirs_{0};
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "request_fuzzer: %s\n", message.c_str());
  std::abort();
}

class Harness {
 public:
  Harness() {
    std::string tmpl = (fs::temp_directory_path() / "eddy-request-fuzzer-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) die("mkdtemp failed");
    root_ = tmpl;
    broker_.cluster_id = "fuzz-cluster-id-000000";
    std::atexit([] { fs::remove_all(instance().root_); });
  }

  static Harness& instance() {
    static Harness harness;
    return harness;
  }

  storage::LogManager& log() {
    if (!log_ || runs_ % kRunsPerLog == 0) reopen();
    ++runs_;
    return *log_;
  }

  const kafka::BrokerIdentity& broker() const { return broker_; }
  // Opened with the log; null when the fault-injecting file system refused its topic.
  groups::GroupCoordinator* groups() { return groups_.get(); }

 private:
  void reopen() {
    if (groups_) groups_->close();
    if (log_) {
      if (Status closed = log_->close(); !closed.ok()) die(closed.error().to_string());
      log_.reset();
    }
    groups_.reset();
    fs::remove_all(root_ / "data");
    files_.reset_quota();
    auto opened = storage::LogManager::open(
        {.data_dir = (root_ / "data").string(), .background_threads = false, .fs = &files_});
    if (!opened.ok()) die(opened.error().to_string());
    log_ = std::move(*opened);
    groups::CoordinatorOptions options;
    options.run_timer_thread = false;
    options.initial_rebalance_delay_ms = 0;
    auto coordinator = groups::GroupCoordinator::open(*log_, options);
    if (coordinator.ok()) groups_ = std::move(*coordinator);
  }

  fs::path root_;
  FuzzFileSystem files_;
  kafka::BrokerIdentity broker_;
  std::unique_ptr<storage::LogManager> log_;
  std::unique_ptr<groups::GroupCoordinator> groups_;
  uint64_t runs_ = 0;
};

// Tracks the handler contract: respond at most once, and never after reporting malformed input.
struct ResponseProbe {
  std::mutex mu;
  int responses = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
  auto parsed = kafka::parse_request(frame);
  if (!parsed.ok()) return 0;
  if (parsed->error != kafka::RequestErrorKind::kNone) {
    if (kafka::answers_unsupported_version(*parsed)) (void)kafka::unsupported_api_versions_body();
    return 0;
  }
  if (parsed->body_offset > frame.size()) die("body offset past the frame");

  Harness& harness = Harness::instance();
  kafka::RequestContext context{
      .api_key = parsed->handler->key,
      .api_version = parsed->api_version,
      .correlation_id = parsed->correlation_id,
      .client_id = parsed->client_id,
      .log = harness.log(),
      .broker = harness.broker(),
      .groups = harness.groups(),
      .client_host = "/127.0.0.1",
  };
  ImmediateServices services;
  auto probe = std::make_shared<ResponseProbe>();
  // Responses may arrive later on a storage thread (acks=-1 waits for fsync), hence the
  // shared probe rather than a reference to this frame.
  kafka::Respond respond = [probe](kafka::ResponseBody) {
    std::lock_guard lock(probe->mu);
    if (++probe->responses > 1) die("handler responded twice");
  };
  kafka::WireReader body = kafka::body_reader(frame, *parsed);
  const bool well_formed = parsed->handler->handle(context, body, services, respond);
  if (!well_formed) {
    std::lock_guard lock(probe->mu);
    if (probe->responses != 0) die("handler responded to a request it called malformed");
    return 0;
  }
  services.run_timers();
  return 0;
}

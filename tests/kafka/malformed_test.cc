// Hostile-client tests: run the real `eddy serve` and throw malformed Kafka traffic at it over
// raw TCP. After each abuse the server must either close that connection or answer it, and
// afterwards it must still serve a well-formed client, keep a bounded RSS, and stop cleanly on
// SIGTERM. Every wait is bounded by a deadline and driven by poll()/condition variables, never
// by sleeping.
//
// The handler registry (linked from eddy_kafka) says which APIs and versions exist, so the
// garbage-body sweep covers each supported API without a second list to keep in step.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kafka/protocol.h"
#include "kafka/wire.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::byte>;
using namespace std::chrono_literals;
using eddy::kafka::ApiKey;
using eddy::kafka::WireWriter;

constexpr auto kStartTimeout = 30s;  // generous: sanitizer builds start slowly on busy hosts
constexpr auto kExitTimeout = 30s;
constexpr auto kReplyTimeout = 10s;  // per connection, for the close or the answer
constexpr int64_t kMaxRequestBytes = 100 * 1024 * 1024;  // socket.request.max.bytes default
constexpr long kMaxRssKb = 300 * 1024;

// The eddy child process, its stderr drained by a thread so the server never blocks on a full
// pipe however much it logs about the abuse.
class Server {
 public:
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Starts `eddy serve` on a free port and waits for the "kafka on HOST:PORT" log line.
  bool start(const fs::path& data_dir) {
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) return false;
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "EDDY_", 5) != 0) env_strings.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings)
      envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings{EDDY_BINARY,   "serve",          "--data-dir",
                                          data_dir,      "--kafka-listen", "127.0.0.1:0",
                                          "--pg-listen", "127.0.0.1:0"};
    std::vector<char*> argv;
    for (auto& s : argv_strings)
      argv.push_back(s.data());
    argv.push_back(nullptr);

    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      int null_fd = open("/dev/null", O_RDWR);
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(err_pipe[1], STDERR_FILENO);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(err_pipe[1]);
    pid_ = pid;
    err_fd_ = err_pipe[0];
    reader_ = std::thread([this] { drain(); });

    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, Clock::now() + kStartTimeout, [&] {
      port_ = parse_port(log_);
      return port_ > 0 || eof_;
    }) && port_ > 0;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }

  std::string log() {
    std::lock_guard lock(mu_);
    return log_;
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) return true;
    if (r == pid_) {
      exit_status_ = status;
      pid_ = -1;
    }
    return false;
  }

  // Resident set size in KiB, from /proc/PID/status; -1 when unreadable.
  long rss_kb() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
  }

  // Sends SIGTERM and returns the exit code, or -1 on timeout or abnormal termination.
  int terminate() {
    if (pid_ <= 0 || kill(pid_, SIGTERM) != 0) return -1;
    {
      std::unique_lock lock(mu_);
      // stderr reaches EOF when the process exits.
      if (!cv_.wait_until(lock, Clock::now() + kExitTimeout, [&] { return eof_; })) return -1;
    }
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  // The port from the "kafka on HOST:PORT" startup line, or 0 until a whole line is there.
  // (No std::regex: GCC 12 with ASan warns inside it, and -Werror makes that fatal.)
  static int parse_port(const std::string& log) {
    const std::string marker = "kafka on ";
    size_t at = log.find(marker);
    if (at == std::string::npos) return 0;
    size_t end = log.find('\n', at);
    if (end == std::string::npos) return 0;
    size_t colon = log.rfind(':', end);
    if (colon == std::string::npos || colon < at) return 0;
    return std::atoi(log.substr(colon + 1, end - colon - 1).c_str());
  }

  void drain() {
    char buf[4096];
    for (;;) {
      ssize_t got = read(err_fd_, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      std::lock_guard lock(mu_);
      if (got <= 0) {
        eof_ = true;
        cv_.notify_all();
        return;
      }
      log_.append(buf, static_cast<size_t>(got));
      cv_.notify_all();
    }
  }

  pid_t pid_ = -1;
  int err_fd_ = -1;
  int port_ = 0;
  int exit_status_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string log_;
  bool eof_ = false;
};

// One raw TCP connection to the server.
class Connection {
 public:
  explicit Connection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Sends what the peer accepts; the server may close mid-way, which is not an error here.
  void send_bytes(const Bytes& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  void finish_writing() { shutdown(fd_, SHUT_WR); }

  enum class Outcome { kClosed, kAnswered, kTimedOut };

  // Waits for the server to close the connection or to send a whole response frame carrying
  // `correlation_id` (any, when nullopt). Bytes that are neither count as a failure (kTimedOut
  // with `detail`).
  Outcome await_close_or_answer(std::optional<int32_t> correlation_id,
                                std::string* detail = nullptr) {
    const auto deadline = Clock::now() + kReplyTimeout;
    for (;;) {
      if (auto frame = complete_frame()) {
        int32_t corr = frame->size() >= 4 ? load_i32(frame->data()) : -1;
        if (!correlation_id || corr == *correlation_id) return Outcome::kAnswered;
        if (detail) *detail = "response with correlation id " + std::to_string(corr);
        return Outcome::kTimedOut;
      }
      int got = read_some(deadline);
      if (got == 0) return Outcome::kClosed;
      if (got < 0) {
        if (detail) *detail = "neither closed nor answered in time";
        return Outcome::kTimedOut;
      }
    }
  }

  // Reads one response frame (without the size prefix); nullopt on close or timeout.
  std::optional<Bytes> read_response() {
    const auto deadline = Clock::now() + kReplyTimeout;
    for (;;) {
      if (auto frame = complete_frame()) return frame;
      if (read_some(deadline) <= 0) return std::nullopt;
    }
  }

  // True when the server closes the connection (EOF or reset) before the deadline; any
  // bytes it sends first are ignored.
  bool awaits_close() {
    const auto deadline = Clock::now() + kReplyTimeout;
    for (;;) {
      int got = read_some(deadline);
      if (got == 0) return true;
      if (got < 0) return false;
    }
  }

 private:
  static int32_t load_i32(const std::byte* p) {
    return static_cast<int32_t>(
        (std::to_integer<uint32_t>(p[0]) << 24) | (std::to_integer<uint32_t>(p[1]) << 16) |
        (std::to_integer<uint32_t>(p[2]) << 8) | std::to_integer<uint32_t>(p[3]));
  }

  std::optional<Bytes> complete_frame() {
    if (in_.size() < 4) return std::nullopt;
    int32_t size = load_i32(in_.data());
    if (size < 0 || in_.size() - 4 < static_cast<size_t>(size)) return std::nullopt;
    Bytes frame(in_.begin() + 4, in_.begin() + 4 + size);
    in_.erase(in_.begin(), in_.begin() + 4 + size);
    return frame;
  }

  // >0 bytes appended, 0 closed (EOF or reset), -1 deadline passed.
  int read_some(Clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return -1;
      pollfd pfd{fd_, POLLIN, 0};
      int n = poll(&pfd, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1;
      std::byte buf[65536];
      ssize_t got = recv(fd_, buf, sizeof buf, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return errno == ECONNRESET ? 0 : -1;
      if (got == 0) return 0;
      in_.insert(in_.end(), buf, buf + got);
      return static_cast<int>(got);
    }
  }

  int fd_ = -1;
  Bytes in_;
};

// Request header v1 (v2 adds an empty tagged-field section when `flexible`).
WireWriter header(int16_t api_key, int16_t version, int32_t correlation_id, bool flexible) {
  WireWriter w(false);
  w.i16(api_key);
  w.i16(version);
  w.i32(correlation_id);
  w.string("malformed-test");
  if (flexible) w.uvarint(0);
  return w;
}

Bytes with_size(const Bytes& frame) {
  WireWriter w(false);
  w.i32(static_cast<int32_t>(frame.size()));
  w.raw(frame);
  return w.take();
}

Bytes size_prefix(uint32_t size) {
  WireWriter w(false);
  w.u32(size);
  return w.take();
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes filled(size_t n, uint8_t value) {
  return Bytes(n, std::byte{value});
}

class MalformedRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "eddy-malformed-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(server_.start(dir_ / "data")) << server_.log();
  }

  // Every test ends by proving the server survived: it answers a real client, its memory is
  // bounded and it shuts down cleanly.
  void TearDown() override {
    if (server_.pid() > 0) {
      EXPECT_TRUE(server_.running()) << "eddy died; log:\n" << server_.log();
      if (server_.running()) {
        expect_serves_api_versions();
        expect_rss_bounded();
        EXPECT_EQ(server_.terminate(), 0) << server_.log();
        EXPECT_NE(server_.log().find("shutdown complete"), std::string::npos);
      }
    }
    fs::remove_all(dir_);
  }

  // A well-formed ApiVersions v0 exchange, parsed field by field.
  void expect_serves_api_versions() {
    Connection c(server_.port());
    ASSERT_TRUE(c.connected());
    const int32_t corr = 424242;
    c.send_bytes(with_size(header(18, 0, corr, false).take()));
    auto response = c.read_response();
    ASSERT_TRUE(response) << "no ApiVersions response; log:\n" << server_.log();
    eddy::kafka::WireReader r(*response, false);
    EXPECT_EQ(r.i32(), corr);
    EXPECT_EQ(r.i16(), 0);  // error code
    int32_t n = r.array_length(6);
    ASSERT_TRUE(r.ok()) << r.error();
    bool has_api_versions = false, has_metadata = false;
    for (int32_t i = 0; i < n; ++i) {
      int16_t key = r.i16();
      int16_t min = r.i16();
      int16_t max = r.i16();
      EXPECT_LE(min, max);
      has_api_versions |= key == 18;
      has_metadata |= key == 3;
    }
    EXPECT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_TRUE(has_api_versions);
    EXPECT_TRUE(has_metadata);
  }

  void expect_rss_bounded() {
    long rss = server_.rss_kb();
    EXPECT_GT(rss, 0);
    EXPECT_LT(rss, kMaxRssKb) << "server RSS " << rss << " KiB";
  }

  // Sends `data` on a fresh connection and requires the server to close it on its own.
  void expect_closed(const Bytes& data, const std::string& what) {
    Connection c(server_.port());
    ASSERT_TRUE(c.connected()) << what;
    c.send_bytes(data);
    EXPECT_TRUE(c.awaits_close()) << what << ": connection left open";
  }

  // Sends `data` and requires a close or an answer to `correlation_id` (any, when nullopt).
  void expect_closed_or_answered(const Bytes& data, std::optional<int32_t> correlation_id,
                                 const std::string& what, bool half_close = false) {
    Connection c(server_.port());
    ASSERT_TRUE(c.connected()) << what;
    c.send_bytes(data);
    if (half_close) c.finish_writing();
    std::string detail;
    EXPECT_NE(c.await_close_or_answer(correlation_id, &detail), Connection::Outcome::kTimedOut)
        << what << ": " << detail;
  }

  fs::path dir_;
  Server server_;
};

TEST_F(MalformedRequestTest, TruncatedFramesThenClientCloses) {
  const Bytes metadata = with_size(concat(header(3, 1, 7, false).take(), size_prefix(0)));
  for (size_t cut = 1; cut < metadata.size(); ++cut) {
    Connection c(server_.port());
    ASSERT_TRUE(c.connected());
    c.send_bytes(Bytes(metadata.begin(), metadata.begin() + static_cast<ptrdiff_t>(cut)));
    // Closing here leaves the server mid-read of the size or the frame.
  }
  // A frame promising more than arrives, then a half-close: the server sees EOF mid-frame.
  Connection c(server_.port());
  ASSERT_TRUE(c.connected());
  c.send_bytes(concat(size_prefix(1000), filled(100, 0)));
  c.finish_writing();
  EXPECT_TRUE(c.awaits_close());
}

TEST_F(MalformedRequestTest, OutOfRangeSizePrefixesCloseWithoutAllocating) {
  const uint32_t sizes[] = {
      0x80000000u,                                     // 2 GiB: negative as int32
      0xFFFFFFFFu,                                     // -1
      0x7FFFFFFFu,                                     // INT32_MAX
      static_cast<uint32_t>(kMaxRequestBytes + 1),     // just over the limit
      static_cast<uint32_t>(kMaxRequestBytes + 4096),  //
      static_cast<uint32_t>(2 * kMaxRequestBytes),     //
      0u,                                              // smaller than any header
      7u,                                              //
  };
  for (uint32_t size : sizes) {
    // Several at once, each followed by some body bytes: none may be buffered.
    std::vector<std::unique_ptr<Connection>> conns;
    for (int i = 0; i < 4; ++i) {
      conns.push_back(std::make_unique<Connection>(server_.port()));
      ASSERT_TRUE(conns.back()->connected());
      conns.back()->send_bytes(concat(size_prefix(size), filled(4096, 0xAB)));
    }
    for (auto& c : conns)
      EXPECT_TRUE(c->awaits_close()) << "size prefix " << size;
  }
  expect_rss_bounded();
}

TEST_F(MalformedRequestTest, GarbageBodyForEverySupportedApiAndVersion) {
  std::mt19937 rng(20240611);
  int32_t corr = 1000;
  for (const auto& h : eddy::kafka::handlers()) {
    const auto key = static_cast<int16_t>(h.key);
    for (int16_t v = h.min_version; v <= h.max_version; ++v) {
      const bool flexible = h.flexible(v);
      const std::string what = std::string(h.name) + " v" + std::to_string(v);
      // Correlation ids are fixed before each call: an argument list does not order `++`.
      const int32_t id = corr;
      corr += 3;
      // All 0xFF: negative lengths, counts, limits and runaway varint continuation bits.
      expect_closed_or_answered(
          with_size(concat(header(key, v, id, flexible).take(), filled(40, 0xFF))), id,
          what + " 0xFF body");
      // No body at all.
      expect_closed_or_answered(with_size(header(key, v, id + 1, flexible).take()), id + 1,
                                what + " empty body");
      // Seeded random bytes; the half-close bounds requests that parse and then wait (a long
      // Fetch, Produce with acks=0).
      Bytes junk(1 + rng() % 96);
      for (auto& b : junk)
        b = static_cast<std::byte>(rng());
      expect_closed_or_answered(with_size(concat(header(key, v, id + 2, flexible).take(), junk)),
                                id + 2, what + " random body", /*half_close=*/true);
    }
  }
}

TEST_F(MalformedRequestTest, BadVarintsInFlexibleRequests) {
  const Bytes varints[] = {
      filled(6, 0xFF),  // too long
      {std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0x7F}},
      {std::byte{0x80}},                                    // truncated
      {std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}},  // truncated
  };
  for (size_t i = 0; i < std::size(varints); ++i) {
    const std::string what = "varint pattern " + std::to_string(i);
    // In the header's tagged-field section (Metadata v12 uses request header v2).
    expect_closed(with_size(concat(header(3, 12, 1, false).take(), varints[i])),
                  what + " in header tags");
    // As a tag's size inside a well-counted tagged-field section.
    WireWriter tags = header(3, 12, 2, false);
    tags.uvarint(1);
    tags.uvarint(0);
    expect_closed(with_size(concat(tags.take(), varints[i])), what + " as tag size");
    // As a compact array length in the body (Metadata v12, CreateTopics v7, Produce v9).
    expect_closed(with_size(concat(header(3, 12, 3, true).take(), varints[i])),
                  what + " in Metadata body");
    expect_closed(with_size(concat(header(19, 7, 4, true).take(), varints[i])),
                  what + " in CreateTopics body");
    WireWriter produce = header(0, 9, 5, true);
    produce.uvarint(0);  // null transactional id
    produce.i16(1);
    produce.i32(1000);
    expect_closed(with_size(concat(produce.take(), varints[i])), what + " in Produce body");
  }
}

TEST_F(MalformedRequestTest, UnknownApiKeysAndUnsupportedVersions) {
  for (int16_t key : {int16_t{-1}, int16_t{4}, int16_t{99}, int16_t{1000}, int16_t{INT16_MAX}}) {
    expect_closed(with_size(concat(header(key, 0, 1, false).take(), filled(8, 0))),
                  "API key " + std::to_string(key));
  }
  for (int16_t v : {int16_t{-1}, int16_t{13}, int16_t{INT16_MAX}}) {
    expect_closed(with_size(concat(header(3, v, 1, false).take(), filled(8, 0))),
                  "Metadata v" + std::to_string(v));
  }
  expect_closed(with_size(header(0, 0, 1, false).take()), "Produce v0");

  // An unsupported ApiVersions is answered (v0 layout, UNSUPPORTED_VERSION) with the ranges
  // we do support, and the connection stays usable.
  Connection c(server_.port());
  ASSERT_TRUE(c.connected());
  c.send_bytes(with_size(header(18, 77, 55, true).take()));
  auto response = c.read_response();
  ASSERT_TRUE(response);
  eddy::kafka::WireReader r(*response, false);
  EXPECT_EQ(r.i32(), 55);
  EXPECT_EQ(r.i16(), 35);  // UNSUPPORTED_VERSION
  EXPECT_EQ(r.array_length(6), static_cast<int32_t>(eddy::kafka::handlers().size()));
  c.send_bytes(with_size(header(18, 0, 56, false).take()));
  response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(eddy::kafka::WireReader(*response, false).i32(), 56);
}

TEST_F(MalformedRequestTest, LyingArrayLengths) {
  const int32_t kHuge = INT32_MAX;
  {  // Metadata v1: 2^31-1 topics, one present.
    WireWriter w = header(3, 1, 1, false);
    w.i32(kHuge);
    w.string("t");
    expect_closed(with_size(w.take()), "Metadata v1 topics");
  }
  {  // Metadata v9 (compact): the largest uvarint count.
    WireWriter w = header(3, 9, 2, true);
    w.uvarint(UINT32_MAX);
    expect_closed(with_size(w.take()), "Metadata v9 topics");
  }
  {  // Produce v3: one topic claiming 2^31-1 partitions.
    WireWriter w = header(0, 3, 3, false);
    w.i16(-1);  // transactional id
    w.i16(1);
    w.i32(1000);
    w.i32(1);
    w.string("t");
    w.i32(kHuge);
    w.i32(0);
    expect_closed(with_size(w.take()), "Produce v3 partitions");
  }
  {  // Produce v3: records claiming more bytes than the frame holds.
    WireWriter w = header(0, 3, 4, false);
    w.i16(-1);
    w.i16(1);
    w.i32(1000);
    w.i32(1);
    w.string("t");
    w.i32(1);
    w.i32(0);
    w.i32(kHuge);  // records length
    w.raw(filled(16, 0));
    expect_closed(with_size(w.take()), "Produce v3 records length");
  }
  {  // CreateTopics v0: 2^31-1 topics.
    WireWriter w = header(19, 0, 5, false);
    w.i32(kHuge);
    w.string("t");
    expect_closed(with_size(w.take()), "CreateTopics v0 topics");
  }
  {  // Fetch v4: 2^31-1 topics.
    WireWriter w = header(1, 4, 6, false);
    w.i32(-1);
    w.i32(0);
    w.i32(1);
    w.i32(1 << 20);
    w.i8(0);
    w.i32(kHuge);
    expect_closed(with_size(w.take()), "Fetch v4 topics");
  }
  {  // A string longer than the frame.
    WireWriter w = header(3, 1, 7, false);
    w.i32(1);
    w.i16(INT16_MAX);
    w.raw(filled(8, 'a'));
    expect_closed(with_size(w.take()), "Metadata v1 topic name length");
  }
  {  // Client id longer than the frame.
    WireWriter w(false);
    w.i16(18);
    w.i16(0);
    w.i32(8);
    w.i16(INT16_MAX);
    expect_closed(with_size(w.take()), "client id length");
  }
  expect_rss_bounded();
}

TEST_F(MalformedRequestTest, ValidRequestThenGarbageIsAnsweredThenClosed) {
  Connection c(server_.port());
  ASSERT_TRUE(c.connected());
  WireWriter lying = header(3, 1, 10, false);
  lying.i32(INT32_MAX);  // topics
  c.send_bytes(concat(with_size(header(18, 0, 9, false).take()), with_size(lying.take())));
  auto response = c.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(eddy::kafka::WireReader(*response, false).i32(), 9);
  EXPECT_TRUE(c.awaits_close());
}

TEST_F(MalformedRequestTest, SeededRandomGarbage) {
  std::mt19937 rng(7);
  const auto& handlers = eddy::kafka::handlers();
  for (int i = 0; i < 150; ++i) {
    Bytes junk(rng() % 512);
    for (auto& b : junk)
      b = static_cast<std::byte>(rng());
    Bytes data;
    std::optional<int32_t> corr;  // noise that happens to parse may be answered
    switch (i % 3) {
      case 0:  // raw noise, size prefix included
        data = junk;
        break;
      case 1:  // an honest size prefix around noise
        data = with_size(junk);
        break;
      default: {  // a supported API and version, then noise
        const auto& h = handlers[rng() % handlers.size()];
        const auto v = static_cast<int16_t>(
            h.min_version + static_cast<int16_t>(rng() % (h.max_version - h.min_version + 1)));
        corr = i;
        data = with_size(
            concat(header(static_cast<int16_t>(h.key), v, i, h.flexible(v)).take(), junk));
      }
    }
    // The half-close bounds frames that promise more bytes than were sent.
    expect_closed_or_answered(data, corr, "random case " + std::to_string(i),
                              /*half_close=*/true);
    ASSERT_TRUE(server_.running()) << "eddy died at random case " << i << "; log:\n"
                                   << server_.log();
  }
}

}  // namespace

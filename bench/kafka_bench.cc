// Kafka protocol benchmark: a real `eddy serve` driven by librdkafka, next to the machine's own
// limits (loopback TCP with iperf3, raw fdatasync'd sequential writes on the data dir's file
// system) and a peer (Redis Streams XADD, from Debian's redis-server and redis-benchmark).
//
// Usage: kafka_bench [--quick] [--idempotence-only | --small-only | --latency-only |
//                     --consume-only]
//
// Client and server share the machine: every figure includes the client's CPU. The program
// prints progress lines, a Markdown table (paste-able into docs/benchmarks.md), CPU time of the
// server and of the client per phase, and one line per target saying `met` or `MISSED`.
// MB = 10^6 bytes, GB = 10^9 bytes; MB/s count record values only (no keys, headers or framing).
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "batch_builder.h"
#include "bench_support.h"
#include "eddy_process.h"
#include "kafka/wire.h"
#include "storage/record_batch.h"
#include "wire_client.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using eddy::bench::alter_topic_configs;
using eddy::bench::Clock;
using eddy::bench::CpuMeter;
using eddy::bench::CpuRow;
using eddy::bench::create_topic;
using eddy::bench::die;
using eddy::bench::die_errno;
using eddy::bench::Kafka;
using eddy::bench::machine_summary;
using eddy::bench::process_cpu_s;
using eddy::bench::raw_fdatasync;
using eddy::bench::seconds_since;
using eddy::bench::Settings;
using eddy::bench::status_mb;
using eddy::bench::step;
using eddy::bench::warm_metadata;

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * kKiB;

struct Plan {
  size_t produce_bytes;      // value bytes per produce run
  size_t consume_bytes;      // value bytes of the topic read back by the consume runs
  int consume_passes;        // passes over that topic; the best counts
  double raw_disk_s;         // raw fdatasync time per write size, over an acks=all run
  int iperf_s;               // iperf3 -t
  double latency_s;          // measured part of the latency run (after 1 s of warm-up)
  int redis_requests;        // redis-benchmark -n
  size_t idempotence_bytes;  // value bytes per idempotence on/off run
  int idempotence_rounds;    // on/off pairs, alternating which goes first
  size_t doomed_bytes;       // value bytes that retention deletes during a latency run
};

constexpr Plan kFullPlan{512 * kMiB, 1024 * kMiB, 3,          3.0, 5,
                         10.0,       2000000,     256 * kMiB, 5,   2048 * kMiB};
constexpr Plan kQuickPlan{48 * kMiB, 96 * kMiB, 2, 1.0, 2, 2.0, 200000, 64 * kMiB, 3, 128 * kMiB};

// Retention checks twice a second in the benchmark's server, so the retention phase knows when
// deletion starts; every other topic has current timestamps and is never due.
constexpr const char* kRetentionCheckMs = "500";

// Targets from the issue.
constexpr double kDurableTarget = 0.70;      // 1 KiB acks=all vs raw fdatasync bandwidth
constexpr double kRedisTarget = 3.0;         // 100 B acks=1 records/s vs Redis XADD/s
constexpr double kConsumeTargetGBps = 1.0;   // consume GB/s
constexpr double kLatencyTargetMs = 5.0;     // p99 at 10k records/s
constexpr double kRssTargetMB = 30.0;        // idle RSS of eddy serve
constexpr double kIdempotenceTarget = 0.95;  // idempotent / plain produce throughput
constexpr int kLatencyRate = 10000;          // records/s of the latency run

// Children to stop when the run is abandoned (exit() skips main's destructors).
std::vector<pid_t> g_children;

// CPU time of the server and of the client per phase.
std::vector<CpuRow> g_cpu_rows;

// ---------------------------------------------------------------------------------------------
// Child processes.

// Runs a command and returns its standard output (stderr is left alone). Dies when the command
// fails unless `status` is given.
std::string run_capture(const std::string& command, int* status = nullptr) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) die_errno("popen " + command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
    out.append(buf, n);
  const int rc = ::pclose(pipe);
  if (status) {
    *status = rc;
  } else if (rc != 0) {
    die("command failed (" + std::to_string(rc) + "): " + command);
  }
  return out;
}

// Starts argv[0] with stdout/stderr to /dev/null; the caller stops it with stop_child().
pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) die_errno("fork");
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  g_children.push_back(pid);
  return pid;
}

void forget_child(pid_t pid) {
  g_children.erase(std::remove(g_children.begin(), g_children.end(), pid), g_children.end());
}

void stop_child(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  forget_child(pid);
}

// A loopback port that was free a moment ago (the usual small race is accepted).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die_errno("bind");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Waits (bounded) until something accepts connections on 127.0.0.1:port.
void wait_listening(int port, pid_t child, const std::string& what) {
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok) return;
    if (::waitpid(child, nullptr, WNOHANG) == child) die(what + " exited during start-up");
    std::this_thread::sleep_for(20ms);
  }
  die(what + " did not start listening within 10 s");
}

// ---------------------------------------------------------------------------------------------
// Machine limits and the peer.

// Loopback TCP bandwidth: iperf3 client and server on this machine, one stream.
double iperf3_gbps(int seconds) {
  const int port = free_port();
  const pid_t server = spawn({"iperf3", "-s", "-1", "-p", std::to_string(port)});
  // A probe connection would count as the one test `-1` allows: the client itself retries
  // until the server listens (bounded).
  std::string json;
  for (int attempt = 0;; ++attempt) {
    int rc = 0;
    json = run_capture(
        "iperf3 -c 127.0.0.1 -p " + std::to_string(port) + " -t " + std::to_string(seconds) + " -J",
        &rc);
    // iperf3 -J may exit 0 after "unable to connect": the JSON's error field says so.
    const bool refused = json.find("Connection refused") != std::string::npos;
    if (rc == 0 && !refused) break;
    if (attempt == 100 || !refused) {
      stop_child(server);
      die("iperf3 client failed:\n" + json);
    }
    std::this_thread::sleep_for(50ms);
  }
  int status = 0;
  const auto deadline = Clock::now() + 10s;
  while (::waitpid(server, &status, WNOHANG) == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  if (Clock::now() >= deadline) {
    stop_child(server);
  } else {
    forget_child(server);
  }
  // Receiver side of the whole test: "sum_received": { ..., "bits_per_second": N, ... }.
  const size_t sum = json.find("\"sum_received\"");
  const size_t bps = sum == std::string::npos ? sum : json.find("\"bits_per_second\"", sum);
  if (bps == std::string::npos) die("unexpected iperf3 output:\n" + json);
  return std::strtod(json.c_str() + json.find(':', bps) + 1, nullptr) / 8 / 1e9;
}

// Raw sequential writes of `write_size` bytes + fdatasync on the data dir's file system, MB/s.
double raw_fdatasync_mbps(const std::string& dir, size_t write_size, double seconds) {
  return raw_fdatasync(dir, write_size, seconds).mbps();
}

struct RedisFigures {
  double xadd_per_s = 0;
  long long stream_length = 0;
  size_t value_bytes = 0;
  double idle_rss_mb = 0;
  double cpu_server_s = 0;
  double wall_s = 0;
};

// Redis Streams: redis-server without persistence, redis-benchmark pipelining XADD of a
// 100-byte value (one field "v"; `-d` only sizes the built-in SET/GET tests, so the value is
// given literally). Auto-generated ids, one stream.
RedisFigures redis_xadd(int requests) {
  RedisFigures f;
  const int port = free_port();
  const pid_t server = spawn({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--daemonize", "no"});
  wait_listening(port, server, "redis-server");
  std::this_thread::sleep_for(500ms);
  f.idle_rss_mb = status_mb(server, "VmRSS");
  const std::string value(100, 'x');
  const std::string cli = "redis-cli -p " + std::to_string(port) + " ";
  const double cpu0 = process_cpu_s(server);
  const auto start = Clock::now();
  const std::string out =
      run_capture("redis-benchmark -p " + std::to_string(port) + " -n " + std::to_string(requests) +
                  " -P 64 -q XADD bench-stream '*' v " + value);
  f.wall_s = seconds_since(start);
  f.cpu_server_s = process_cpu_s(server) - cpu0;
  // "-q" prints "<command>: <N> requests per second, p50=..." (with \r progress lines before).
  const size_t rps = out.rfind(" requests per second");
  const size_t colon = rps == std::string::npos ? rps : out.rfind(": ", rps);
  if (colon == std::string::npos) die("unexpected redis-benchmark output:\n" + out);
  f.xadd_per_s = std::strtod(out.c_str() + colon + 2, nullptr);
  // What was actually stored: the stream length and the first entry's value.
  f.stream_length = std::atoll(run_capture(cli + "XLEN bench-stream").c_str());
  const std::string first = run_capture(cli + "--raw XRANGE bench-stream - + COUNT 1");
  // --raw prints id, field and value on separate lines.
  std::istringstream lines(first);
  std::string id, field, stored;
  std::getline(lines, id);
  std::getline(lines, field);
  std::getline(lines, stored);
  f.value_bytes = stored.size();
  stop_child(server);
  return f;
}

// ---------------------------------------------------------------------------------------------
// librdkafka clients.

struct DeliveryErrors {
  std::atomic<long> failed{0};
  rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (!m->err) return;
  auto* errors = static_cast<DeliveryErrors*>(opaque);
  errors->failed.fetch_add(1);
  errors->last = m->err;
}

Kafka make_client(rd_kafka_type_t type, const std::string& bootstrap, const Settings& settings,
                  DeliveryErrors* errors = nullptr) {
  return eddy::bench::make_client(type, bootstrap, settings, [errors](rd_kafka_conf_t* conf) {
    if (!errors) return;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, errors);
  });
}

struct ProduceRun {
  std::string topic;
  size_t record_size = 0;
  std::string acks;
  int partitions = 1;
  bool batch_api = false;  // rd_kafka_produce_batch rather than rd_kafka_produce per record
  int clients = 1;         // producer instances
  long records = 0;
  double seconds = 0;
  CpuMeter::Sample cpu;
  double mbps() const { return static_cast<double>(records * record_size) / seconds / 1e6; }
  double records_per_s() const { return static_cast<double>(records) / seconds; }
};

// Produces `bytes` of `record_size`-byte values (no key) to a new topic in `slices` equal parts,
// each timed from its first produce call to the end of its flush(); `between` runs before each
// slice, untimed (the raw disk loop, so both sides see the same moments of a drifting disk).
// Values point at one shared buffer (no copy in the client).
// How the application hands records to librdkafka: rd_kafka_produce() per record, or
// rd_kafka_produce_batch() with arrays of kProduceBatch records for one partition at a time
// (round robin over the partitions), the client's documented bulk path: one queue lock per array
// instead of one per record, as redis-benchmark's -P pipelines commands.
enum class ProduceApi { kPerRecord, kBatch };
constexpr int kProduceBatch = 1000;

// Enqueues `records` copies of `value` through rd_kafka_produce_batch (flags 0: no copy, no
// free), retrying the records refused while the client's queue is full.
void produce_batches(rd_kafka_t* producer, rd_kafka_topic_t* t, int partitions,
                     const std::vector<char>& value, long records) {
  std::vector<rd_kafka_message_t> batch(kProduceBatch);
  int next_partition = 0;
  for (long sent = 0; sent < records;) {
    const int count = static_cast<int>(std::min<long>(kProduceBatch, records - sent));
    for (int i = 0; i < count; ++i) {
      batch[i] = rd_kafka_message_t{};
      batch[i].payload = const_cast<char*>(value.data());
      batch[i].len = value.size();
    }
    const int partition = next_partition;
    next_partition = (next_partition + 1) % partitions;
    int remaining = count;
    rd_kafka_message_t* pending = batch.data();
    while (remaining > 0) {
      const int accepted = rd_kafka_produce_batch(t, partition, 0, pending, remaining);
      if (accepted == remaining) break;
      // Keep the refused records (in order) for the next attempt.
      int kept = 0;
      for (int i = 0; i < remaining; ++i) {
        if (pending[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        if (pending[i].err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          die(std::string("produce_batch: ") + rd_kafka_err2str(pending[i].err));
        }
        pending[kept] = pending[i];
        pending[kept].err = RD_KAFKA_RESP_ERR_NO_ERROR;
        ++kept;
      }
      remaining = kept;
      rd_kafka_poll(producer, 1);
    }
    sent += count;
    if ((sent / kProduceBatch & 0x3) == 0) rd_kafka_poll(producer, 0);
  }
}

// Producer settings of the throughput runs: big batches, a deep queue, errors-only reports.
Settings throughput_producer_settings(const std::string& acks) {
  return {{"enable.idempotence", "false"},
          {"acks", acks},
          {"linger.ms", "5"},
          {"batch.size", "1000000"},
          {"compression.type", "none"},
          {"queue.buffering.max.messages", "10000000"},
          {"queue.buffering.max.kbytes", "2097151"},
          {"delivery.report.only.error", "true"}};
}

ProduceRun produce(const std::string& bootstrap, pid_t server, const std::string& topic,
                   int partitions, size_t record_size, const std::string& acks, size_t bytes,
                   int slices = 1, const std::function<void()>& between = {},
                   const Settings& overrides = {}, ProduceApi api = ProduceApi::kPerRecord,
                   const Settings& topic_configs = {}) {
  create_topic(bootstrap, topic, partitions, topic_configs);
  DeliveryErrors errors;
  Settings settings = throughput_producer_settings(acks);
  settings.insert(settings.end(), overrides.begin(), overrides.end());  // later ones win
  Kafka producer = make_client(RD_KAFKA_PRODUCER, bootstrap, settings, &errors);
  warm_metadata(producer.get(), topic);
  std::vector<char> value(record_size);
  for (size_t i = 0; i < value.size(); ++i)
    value[i] = static_cast<char>('a' + i % 26);
  ProduceRun run;
  run.topic = topic;
  run.record_size = record_size;
  run.acks = acks;
  run.partitions = partitions;
  run.batch_api = api == ProduceApi::kBatch;
  run.records = static_cast<long>(bytes / record_size) / slices * slices;
  rd_kafka_topic_t* t = rd_kafka_topic_new(producer.get(), topic.c_str(), nullptr);
  for (int slice = 0; slice < slices; ++slice) {
    if (between) between();
    CpuMeter meter(server);
    const auto start = Clock::now();
    if (api == ProduceApi::kBatch) {
      produce_batches(producer.get(), t, partitions, value, run.records / slices);
    }
    for (long i = api == ProduceApi::kBatch ? run.records / slices : 0; i < run.records / slices;) {
      // Flags 0: librdkafka neither copies nor frees the payload.
      if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, 0, value.data(), value.size(), nullptr, 0,
                           nullptr) == 0) {
        ++i;
        if ((i & 0xfff) == 0) rd_kafka_poll(producer.get(), 0);
        continue;
      }
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
      }
      rd_kafka_poll(producer.get(), 1);
    }
    if (rd_kafka_flush(producer.get(), 300000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      die("flush timed out");
    }
    run.seconds += seconds_since(start);
    const CpuMeter::Sample s = meter.sample();
    run.cpu.wall += s.wall;
    run.cpu.server += s.server;
    run.cpu.client += s.client;
  }
  rd_kafka_topic_destroy(t);
  if (errors.failed > 0) {
    die(topic + ": " + std::to_string(errors.failed.load()) +
        " deliveries failed, last: " + rd_kafka_err2str(errors.last));
  }
  g_cpu_rows.push_back({"produce " + topic, run.cpu});
  return run;
}

// `clients` producers (each its own librdkafka instance, connection and broker thread) write
// `bytes` of `record_size`-byte values with acks=1 to one partition of a new topic through
// rd_kafka_produce_batch, as several application threads would; timed from when all are
// connected to the end of the last flush().
constexpr int kSmallClients = 2;  // producers of the 100 B acks=1 row

ProduceRun produce_clients(const std::string& bootstrap, pid_t server, const std::string& topic,
                           size_t record_size, size_t bytes, int clients) {
  create_topic(bootstrap, topic, 1);
  const Settings settings = throughput_producer_settings("1");
  std::vector<char> value(record_size);
  for (size_t i = 0; i < value.size(); ++i)
    value[i] = static_cast<char>('a' + i % 26);
  std::vector<DeliveryErrors> errors(static_cast<size_t>(clients));
  std::vector<Kafka> producers;
  std::vector<rd_kafka_topic_t*> topics;
  for (int c = 0; c < clients; ++c) {
    producers.push_back(make_client(RD_KAFKA_PRODUCER, bootstrap, settings, &errors[c]));
    warm_metadata(producers.back().get(), topic);
    topics.push_back(rd_kafka_topic_new(producers.back().get(), topic.c_str(), nullptr));
  }
  ProduceRun run;
  run.topic = topic;
  run.record_size = record_size;
  run.acks = "1";
  run.batch_api = true;
  run.clients = clients;
  const long each = static_cast<long>(bytes / record_size) / clients;
  run.records = each * clients;
  CpuMeter meter(server);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      produce_batches(producers[c].get(), topics[c], 1, value, each);
      if (rd_kafka_flush(producers[c].get(), 300000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        die("flush timed out");
      }
    });
  for (auto& t : threads)
    t.join();
  run.seconds = seconds_since(start);
  run.cpu = meter.sample();
  for (auto* t : topics)
    rd_kafka_topic_destroy(t);
  for (const auto& e : errors)
    if (e.failed > 0) die(topic + ": deliveries failed: " + rd_kafka_err2str(e.last));
  g_cpu_rows.push_back({"produce " + topic, run.cpu});
  return run;
}

Settings consumer_settings() {
  return {{"group.id", "kafka-bench-assign-only"},
          {"enable.auto.commit", "false"},
          {"enable.partition.eof", "false"}};
}

struct ConsumeRun {
  double bytes = 0;
  long records = 0;
  double seconds = 0;
  CpuMeter::Sample cpu;
  double gbps() const { return bytes / seconds / 1e9; }
};

// Reads `expected` records from every partition of `topic` from the beginning with assign().
// Timed from the first record received (its bytes excluded) to the last: connection set-up,
// metadata and offset look-ups are not part of the figure (nor of the CPU figures).
ConsumeRun consume(const std::string& bootstrap, pid_t server, const std::string& topic,
                   int partitions, long expected) {
  Settings settings = consumer_settings();
  settings.insert(settings.end(), {{"fetch.max.bytes", "104857600"},
                                   {"max.partition.fetch.bytes", "16777216"},
                                   {"receive.message.max.bytes", "110000000"},
                                   // librdkafka 2.0.2 stops fetching while more than
                                   // queued.min.messages (default 100000) are queued and
                                   // resumes late: 100 B records came in at 0.17 M/s.
                                   {"queued.min.messages", "10000000"},
                                   {"queued.max.messages.kbytes", "1048576"}});
  Kafka consumer = make_client(RD_KAFKA_CONSUMER, bootstrap, settings);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_assign(consumer.get(), list) != RD_KAFKA_RESP_ERR_NO_ERROR) die("assign");
  rd_kafka_topic_partition_list_destroy(list);
  ConsumeRun run;
  CpuMeter meter(server);
  Clock::time_point start;
  const auto deadline = Clock::now() + 300s;
  while (run.records < expected) {
    if (Clock::now() > deadline) die("consume " + topic + " timed out");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100);
    if (!m) continue;
    if (m->err) die("consume " + topic + ": " + rd_kafka_message_errstr(m));
    if (run.records++ == 0) {
      start = Clock::now();
      meter.reset();
    } else {
      run.bytes += static_cast<double>(m->len);
    }
    rd_kafka_message_destroy(m);
  }
  run.seconds = seconds_since(start);
  run.cpu = meter.sample();
  rd_kafka_consumer_close(consumer.get());
  return run;
}

struct LatencyRun {
  long samples = 0;
  long sent = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  double achieved_rate = 0;
  // Records slower than the target, and when (seconds after the start) the first and last of
  // them were sent: shows whether the tail is one stall or spread out.
  long over_target = 0;
  double first_over_s = 0, last_over_s = 0;
  double midway_s = -1;  // when `midway` ran (seconds after the start), or -1
  long over_target_before_midway = 0;
};

// A producer paced at `rate` records/s (100 B values carrying their steady-clock send time,
// acks=1, linger.ms=0) and a consumer polling in another thread; latency = receive time - send
// time. The first second is warm-up and not counted. With the default durability
// (flush.messages=1) a record becomes visible to consumers only once fsynced, whatever acks says,
// so the latency includes an fsync. `midway`, when given, runs on its own thread a third of the
// way through the measured part.
LatencyRun latency(const std::string& bootstrap, pid_t server, const std::string& topic,
                   const Settings& topic_configs, int rate, double measured_s,
                   const std::function<void()>& midway = {}) {
  create_topic(bootstrap, topic, 1, topic_configs);
  Kafka consumer = make_client(RD_KAFKA_CONSUMER, bootstrap, consumer_settings());
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_assign(consumer.get(), list) != RD_KAFKA_RESP_ERR_NO_ERROR) die("assign");
  rd_kafka_topic_partition_list_destroy(list);

  DeliveryErrors errors;
  Kafka producer = make_client(RD_KAFKA_PRODUCER, bootstrap,
                               {{"enable.idempotence", "false"},
                                {"acks", "1"},
                                {"linger.ms", "0"},
                                {"compression.type", "none"},
                                {"delivery.report.only.error", "true"}},
                               &errors);
  warm_metadata(producer.get(), topic);

  constexpr double kWarmupS = 1.0;
  const double midway_at_s = kWarmupS + measured_s / 3;
  const long total = static_cast<long>((kWarmupS + measured_s) * rate);
  const auto t0 = Clock::now();
  const int64_t measure_from =
      std::chrono::duration_cast<std::chrono::nanoseconds>((t0 + 1s).time_since_epoch()).count();
  struct Sample {
    int64_t sent_ns, latency_ns;
  };
  std::vector<Sample> samples;
  samples.reserve(static_cast<size_t>(measured_s * rate) + 16);
  std::atomic<bool> producing_done{false};
  std::thread reader([&] {
    long received = 0;
    while (received < total) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100);
      if (!m) {
        if (producing_done && seconds_since(t0) > kWarmupS + measured_s + 30) break;
        continue;
      }
      const int64_t now = Clock::now().time_since_epoch().count();
      if (!m->err && m->len >= sizeof(int64_t)) {
        int64_t sent;
        std::memcpy(&sent, m->payload, sizeof(sent));
        if (sent >= measure_from) samples.push_back({sent, now - sent});
        ++received;
      }
      rd_kafka_message_destroy(m);
    }
  });

  CpuMeter meter(server);
  char value[100] = {};
  rd_kafka_topic_t* t = rd_kafka_topic_new(producer.get(), topic.c_str(), nullptr);
  const auto interval = std::chrono::nanoseconds(1'000'000'000 / rate);
  std::thread midway_thread;
  if (midway) {
    midway_thread = std::thread([&] {
      std::this_thread::sleep_until(t0 + std::chrono::duration<double>(midway_at_s));
      midway();
    });
  }
  for (long i = 0; i < total; ++i) {
    std::this_thread::sleep_until(t0 + i * interval);
    const int64_t now = Clock::now().time_since_epoch().count();
    std::memcpy(value, &now, sizeof(now));
    if (rd_kafka_produce(t, 0, RD_KAFKA_MSG_F_COPY, value, sizeof(value), nullptr, 0, nullptr) !=
        0) {
      die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
    }
    rd_kafka_poll(producer.get(), 0);
  }
  const double send_s = seconds_since(t0);
  producing_done = true;
  rd_kafka_flush(producer.get(), 30000);
  reader.join();
  if (midway_thread.joinable()) midway_thread.join();
  g_cpu_rows.push_back({"latency " + topic + " (10k rec/s)", meter.sample()});
  rd_kafka_topic_destroy(t);
  rd_kafka_consumer_close(consumer.get());
  if (errors.failed > 0)
    die("latency: deliveries failed: " + std::string(rd_kafka_err2str(errors.last)));

  LatencyRun r;
  r.sent = total;
  r.achieved_rate = static_cast<double>(total) / send_s;
  r.samples = static_cast<long>(samples.size());
  if (midway) r.midway_s = midway_at_s;
  if (samples.empty()) die("latency: no samples");
  const int64_t start_ns = t0.time_since_epoch().count();
  std::vector<int64_t> latencies_ns;
  latencies_ns.reserve(samples.size());
  bool first = true;
  for (const Sample& sample : samples) {
    latencies_ns.push_back(sample.latency_ns);
    if (static_cast<double>(sample.latency_ns) <= kLatencyTargetMs * 1e6) continue;
    const double at = static_cast<double>(sample.sent_ns - start_ns) / 1e9;
    if (first) r.first_over_s = at;
    first = false;
    r.last_over_s = at;
    ++r.over_target;
    if (midway && at < midway_at_s) ++r.over_target_before_midway;
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto pct = [&](double q) {
    const size_t i = std::min(latencies_ns.size() - 1,
                              static_cast<size_t>(q * static_cast<double>(latencies_ns.size())));
    return static_cast<double>(latencies_ns[i]) / 1e6;
  };
  r.p50_ms = pct(0.50);
  r.p99_ms = pct(0.99);
  r.p999_ms = pct(0.999);
  r.max_ms = static_cast<double>(latencies_ns.back()) / 1e6;
  return r;
}

void print_latency(const std::string& name, const LatencyRun& l) {
  std::printf(
      "%s: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (%ld samples); %ld over %.0f ms",
      name.c_str(), l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms, l.samples, l.over_target,
      kLatencyTargetMs);
  if (l.over_target > 0)
    std::printf(", sent between %.2f and %.2f s", l.first_over_s, l.last_over_s);
  if (l.midway_s >= 0) {
    std::printf(" (%ld of them before the change at %.2f s)", l.over_target_before_midway,
                l.midway_s);
  }
  std::printf("\n");
}

// The latency run while retention deletes a topic of `plan.doomed_bytes`: what a deployment
// sees each time retention drops old segments. The topic is filled early (fill_doomed) so the
// disk has settled from writing it, then its retention.ms is set to 1 a third of the way through
// the latency run.
constexpr const char* kDoomedTopic = "doomed";

void fill_doomed(const std::string& bootstrap, pid_t server, const Plan& plan) {
  step("fill " + std::string(kDoomedTopic) + " with " + std::to_string(plan.doomed_bytes / kMiB) +
       " MiB for retention to delete later");
  (void)produce(bootstrap, server, kDoomedTopic, 1, 1024, "1", plan.doomed_bytes);
}

struct RetentionLatency {
  LatencyRun run;
  bool deleted = false;  // the doomed topic was empty afterwards
};

RetentionLatency latency_during_retention(const std::string& bootstrap, pid_t server,
                                          const Plan& plan) {
  step("latency at 10k records/s, default durability, while retention deletes " +
       std::string(kDoomedTopic));
  RetentionLatency r;
  r.run = latency(bootstrap, server, "latency-retention", {}, kLatencyRate, plan.latency_s, [&] {
    alter_topic_configs(bootstrap, kDoomedTopic, {{"retention.ms", "1"}});
  });
  Kafka client = make_client(RD_KAFKA_PRODUCER, bootstrap, {});
  int64_t low = -1, high = -1;
  if (rd_kafka_query_watermark_offsets(client.get(), kDoomedTopic, 0, &low, &high, 10000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    die(std::string("watermarks of ") + kDoomedTopic);
  }
  r.deleted = low == high && high > 0;
  return r;
}

std::string verdict(bool met) {
  return met ? "met" : "MISSED";
}

}  // namespace

struct IdempotenceRun {
  double on_mbps = 0, off_mbps = 0, ratio = 0;
  CpuMeter::Sample on_cpu, off_cpu;
  std::vector<double> pair_ratios;
};

IdempotenceRun measure_idempotence(const std::string& bootstrap, pid_t server, const Plan& plan) {
  // Idempotence on vs off: same record size, acks=all (idempotence requires it), fresh topics,
  // runs alternating and the first of each pair swapped every round, so a drifting disk weighs
  // on both sides alike. Each side's throughput is its bytes over its summed time.
  // Both sides send one request at a time: librdkafka 2.0.2's idempotent producer does, whatever
  // max.in.flight says, because it caps in-flight *messages* per partition at 5
  // (rd_kafka_toppar_producer_serve: RD_KAFKA_IDEMP_MAX_INFLIGHT - rktp_msgs_inflight), so any
  // batch of 5+ records blocks the next request. Comparing it with a pipelining plain producer
  // would measure that client rule, not the broker's cost of checking sequences.
  IdempotenceRun r;
  double idem_on_s = 0, idem_off_s = 0;
  long idem_on_records = 0, idem_off_records = 0;
  for (int round = 0; round < plan.idempotence_rounds; ++round) {
    double pair_on = 0, pair_off = 0;
    for (int k = 0; k < 2; ++k) {
      const bool on = (round + k) % 2 == 0;
      const std::string topic = std::string(on ? "idem-on-" : "idem-off-") + std::to_string(round);
      step("produce " + topic + " (1 KiB, acks=all, enable.idempotence=" + (on ? "true" : "false") +
           "), " + std::to_string(plan.idempotence_bytes / kMiB) + " MiB");
      const ProduceRun run =
          produce(bootstrap, server, topic, 1, 1024, "all", plan.idempotence_bytes, 1, {},
                  {{"enable.idempotence", on ? "true" : "false"},
                   {"max.in.flight.requests.per.connection", on ? "5" : "1"}});
      (on ? idem_on_s : idem_off_s) += run.seconds;
      (on ? idem_on_records : idem_off_records) += run.records;
      CpuMeter::Sample& cpu = on ? r.on_cpu : r.off_cpu;
      cpu.server += run.cpu.server;
      cpu.client += run.cpu.client;
      (on ? pair_on : pair_off) = run.mbps();
    }
    r.pair_ratios.push_back(pair_on / pair_off);
  }
  r.on_mbps = static_cast<double>(idem_on_records) * 1024 / idem_on_s / 1e6;
  r.off_mbps = static_cast<double>(idem_off_records) * 1024 / idem_off_s / 1e6;
  r.ratio = r.on_mbps / r.off_mbps;
  return r;
}

// The broker's cost of idempotence without a client's rules in the way: a raw-protocol producer
// (Produce v7, acks=all, one partition, 1000 × 1 KiB records per batch, kWireInFlight requests
// pipelined) sends the same bytes with and without a producer id. Its work per batch is the same
// either way (patch the base sequence, recompute the CRC-32C), so the difference is the broker's:
// the sequence check and the producer-state snapshots.
namespace kafka = eddy::kafka;

struct EddyProcessView {
  std::string bootstrap;
  int kafka_port = 0;
  pid_t pid = 0;
};

constexpr int kWireInFlight = 5;  // Kafka's limit for idempotent producers
constexpr int kWireBatchRecords = 1000;
constexpr size_t kWireBaseSequenceAt = 53;  // within a v2 batch header

// One raw-protocol producer on its own connection and topic; an idempotent one continues its
// sequence across calls of run().
class WireProducer {
 public:
  WireProducer(const EddyProcessView& eddy, const std::string& topic, bool idempotent)
      : client_(eddy.kafka_port, "kafka-bench-wire"), server_(eddy.pid), idempotent_(idempotent) {
    create_topic(eddy.bootstrap, topic, 1);
    if (!client_.connected()) die("wire producer: cannot connect");
    eddy::testing::BatchSpec spec;
    // Current timestamps: the builder's default (2023) would make retention delete these
    // gigabytes at its next check, in the middle of a later phase.
    spec.base_timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    if (idempotent) {
      kafka::WireWriter init(false);
      init.nullable_string(std::nullopt);
      init.i32(60000);
      const auto response = client_.call(22, 1, false, init.take());
      if (!response) die("InitProducerId: no answer");
      kafka::WireReader r(*response, false);
      (void)r.i32();  // throttle
      const int16_t error = r.i16();
      spec.producer_id = r.i64();
      spec.producer_epoch = r.i16();
      spec.base_sequence = 0;
      if (!r.ok() || error != 0) die("InitProducerId failed: error " + std::to_string(error));
    }
    const std::string value(kValueBytes, 'w');
    for (int i = 0; i < kWireBatchRecords; ++i)
      spec.records.push_back({std::nullopt, value, i});
    const std::vector<std::byte> batch = eddy::testing::build_batch(spec);
    frame_ =
        client_.frame_request(0, 7, false, eddy::testing::WireClient::produce_all(topic, 0, batch));
    batch_ = std::span<std::byte>(frame_.data() + frame_.size() - batch.size(), batch.size());
  }

  static constexpr size_t kValueBytes = 1024;

  // Sends `batches` batches with kWireInFlight pipelined, timed from the first send to the last
  // answer; adds the time, records and CPU to the totals.
  void run(long batches) {
    CpuMeter meter(server_);
    const auto start = Clock::now();
    long sent = 0, answered = 0;
    while (answered < batches) {
      while (sent < batches && sent - answered < kWireInFlight) {
        put_i32(frame_.data() + eddy::testing::WireClient::kCorrelationAt, next_correlation_++);
        if (idempotent_) {
          put_i32(batch_.data() + kWireBaseSequenceAt, next_sequence_);
          next_sequence_ += kWireBatchRecords;
        }
        eddy::storage::update_batch_crc(batch_);
        if (!client_.send_frame(frame_)) die("wire producer: send failed");
        ++sent;
      }
      const auto response = client_.receive_response();
      if (!response) die("wire producer: no Produce answer");
      if (response->first != expected_correlation_++) die("wire producer: answer out of order");
      kafka::WireReader r(response->second, false);
      (void)r.i32();
      (void)r.string();
      (void)r.i32();
      (void)r.i32();
      const int16_t error = r.i16();
      if (!r.ok() || error != 0) die("wire producer: Produce error " + std::to_string(error));
      ++answered;
    }
    seconds += seconds_since(start);
    records += batches * kWireBatchRecords;
    cpu += meter.sample();
  }

  double mbps() const { return static_cast<double>(records * kValueBytes) / seconds / 1e6; }

  double seconds = 0;
  long records = 0;
  CpuMeter::Sample cpu;

 private:
  static void put_i32(std::byte* at, int32_t v) {
    const uint32_t u = static_cast<uint32_t>(v);
    for (int i = 0; i < 4; ++i)
      at[i] = static_cast<std::byte>(u >> (24 - 8 * i));
  }

  eddy::testing::WireClient client_;
  pid_t server_;
  bool idempotent_;
  std::vector<std::byte> frame_;
  std::span<std::byte> batch_;
  int32_t next_correlation_ = 1;
  int32_t expected_correlation_ = 1;
  int32_t next_sequence_ = 0;
};

struct WireIdempotence {
  double on_mbps = 0, off_mbps = 0, ratio = 0;
  double median_ratio = 0;  // of the per-slice pairs: what the target is checked against
  double on_server_ms_per_mib = 0, off_server_ms_per_mib = 0;
  int slices = 0;
  size_t slice_bytes = 0;
  std::vector<double> pair_ratios;
};

// Both producers stay connected; their slices alternate (which goes first swaps every round),
// many and short, so a drifting disk weighs on both alike.
WireIdempotence measure_wire_idempotence(const EddyProcessView& eddy, const Plan& plan) {
  constexpr int kSlices = 32;
  WireIdempotence r;
  r.slices = kSlices;
  r.slice_bytes = plan.idempotence_bytes * static_cast<size_t>(plan.idempotence_rounds) / kSlices;
  const long batches =
      static_cast<long>(r.slice_bytes / (WireProducer::kValueBytes * kWireBatchRecords));
  step("raw-protocol produce, idempotent and plain (1 KiB, acks=all, " +
       std::to_string(kWireInFlight) + " in flight), " + std::to_string(kSlices) +
       " alternating slices of " + std::to_string(r.slice_bytes / kMiB) + " MiB each");
  WireProducer on(eddy, "wire-idem-on", true);
  WireProducer off(eddy, "wire-idem-off", false);
  for (int slice = 0; slice < kSlices; ++slice) {
    const double on_s = on.seconds, off_s = off.seconds;
    if (slice % 2 == 0) {
      on.run(batches);
      off.run(batches);
    } else {
      off.run(batches);
      on.run(batches);
    }
    r.pair_ratios.push_back((off.seconds - off_s) / (on.seconds - on_s));
  }
  r.on_mbps = on.mbps();
  r.off_mbps = off.mbps();
  r.ratio = r.on_mbps / r.off_mbps;
  std::vector<double> sorted = r.pair_ratios;
  std::sort(sorted.begin(), sorted.end());
  r.median_ratio = (sorted[kSlices / 2 - 1] + sorted[kSlices / 2]) / 2;
  r.on_server_ms_per_mib =
      1e3 * on.cpu.server / (static_cast<double>(on.records * WireProducer::kValueBytes) / kMiB);
  r.off_server_ms_per_mib =
      1e3 * off.cpu.server / (static_cast<double>(off.records * WireProducer::kValueBytes) / kMiB);
  return r;
}

std::string ratio_list(const std::vector<double>& ratios) {
  std::string out;
  for (double r : ratios) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%s%.3f", out.empty() ? "" : ", ", r);
    out += buf;
  }
  return out;
}

void print_wire_idempotence_row(const WireIdempotence& w) {
  std::vector<double> sorted = w.pair_ratios;
  std::sort(sorted.begin(), sorted.end());
  std::printf(
      "| raw-protocol produce 1 KiB, acks=all, %d in flight, idempotent vs plain batches, %d "
      "alternating slices of %zu MiB per side | %.1f vs %.1f MB/s; server CPU %.2f vs %.2f ms "
      "per MiB | per slice pair: min %.3f, median %.3f, max %.3f | %.3f |\n",
      kWireInFlight, w.slices, w.slice_bytes / kMiB, w.on_mbps, w.off_mbps, w.on_server_ms_per_mib,
      w.off_server_ms_per_mib, sorted.front(), sorted[sorted.size() / 2], sorted.back(), w.ratio);
}

void print_idempotence_row(const IdempotenceRun& idem, const Plan& plan) {
  const std::string pair_list = ratio_list(idem.pair_ratios);
  std::printf(
      "| produce 1 KiB, acks=all, one request in flight, enable.idempotence=true vs false, %d "
      "alternating pairs of %zu MiB | %.1f vs %.1f MB/s; CPU s server %.2f vs %.2f, client %.2f "
      "vs %.2f | per pair: %s | %.3f |\n",
      plan.idempotence_rounds, plan.idempotence_bytes / kMiB, idem.on_mbps, idem.off_mbps,
      idem.on_cpu.server, idem.off_cpu.server, idem.on_cpu.client, idem.off_cpu.client,
      pair_list.c_str(), idem.ratio);
}

void print_idempotence_verdict(const IdempotenceRun& idem, const WireIdempotence& wire) {
  std::printf(
      "  idempotent produce >= %.0f%% of plain (1 KiB, acks=all, same pipelining on both sides, "
      "raw protocol, median of %d slice pairs): %.1f%% (summed: %.1f%%) -> %s\n",
      100 * kIdempotenceTarget, wire.slices, 100 * wire.median_ratio, 100 * wire.ratio,
      verdict(wire.median_ratio >= kIdempotenceTarget).c_str());
  std::printf(
      "    (end to end with librdkafka 2.0.2, one request in flight, client spinning: %.1f%%)\n",
      100 * idem.ratio);
}

int main(int argc, char** argv) {
  bool quick = false;
  bool idempotence_only = false;  // just the idempotence pairs, to iterate on them
  bool small_only = false;        // just Redis and the 100 B acks=1 runs, to iterate on them
  bool latency_only = false;      // just the latency runs
  bool consume_only = false;      // just the 1 KiB topic and its consume passes
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--idempotence-only") {
      idempotence_only = true;
    } else if (arg == "--latency-only") {
      latency_only = true;
    } else if (arg == "--consume-only") {
      consume_only = true;
    } else if (arg == "--small-only") {
      small_only = true;
    } else {
      std::fprintf(
          stderr,
          "usage: kafka_bench [--quick] [--idempotence-only | --small-only | --latency-only | "
          "--consume-only]\n");
      return 2;
    }
  }
  const Plan& plan = quick ? kQuickPlan : kFullPlan;
  ::signal(SIGPIPE, SIG_IGN);

  eddy::bench::set_program_name("kafka_bench");
  eddy::bench::at_die([] {
    for (pid_t pid : g_children) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  });
  eddy::testing::EddyProcess eddy(EDDY_BINARY,
                                  {"--retention-check-interval-ms", kRetentionCheckMs});
  eddy::bench::set_server(&eddy);
  if (!eddy.start()) die("eddy serve did not start:\n" + eddy.log());
  const std::string bootstrap = eddy.bootstrap();
  const pid_t server = eddy.pid();
  std::printf("kafka_bench%s: eddy serve pid %d on %s, data dir %s\n", quick ? " --quick" : "",
              static_cast<int>(server), bootstrap.c_str(), eddy.data_dir().c_str());
  std::printf("%s\n", machine_summary(eddy.data_dir()).c_str());
  std::fflush(stdout);

  // Idle RSS: after start-up settles, no client has connected yet.
  std::this_thread::sleep_for(1s);
  const double idle_rss = status_mb(server, "VmRSS");

  const EddyProcessView view{bootstrap, eddy.kafka_port(), server};
  if (idempotence_only) {
    const WireIdempotence wire = measure_wire_idempotence(view, plan);
    const IdempotenceRun idem = measure_idempotence(bootstrap, server, plan);
    print_wire_idempotence_row(wire);
    print_idempotence_row(idem, plan);
    print_idempotence_verdict(idem, wire);
    return 0;
  }

  if (consume_only) {
    step("produce p1024-acks1, " + std::to_string(plan.consume_bytes / kMiB) + " MiB");
    const ProduceRun topic =
        produce(bootstrap, server, "p1024-acks1", 1, 1024, "1", plan.consume_bytes);
    for (int pass = 0; pass < plan.consume_passes; ++pass) {
      step("consume " + topic.topic + " pass " + std::to_string(pass + 1));
      const ConsumeRun c = consume(bootstrap, server, topic.topic, 1, topic.records);
      std::printf("pass %d: %.2f GB/s; CPU server %.2f client %.2f of %.2f s\n", pass + 1, c.gbps(),
                  c.cpu.server, c.cpu.client, c.cpu.wall);
    }
    return 0;
  }

  if (latency_only) {
    // The interval-flush run needs no fsync, so it goes first while the disk settles from the
    // fill (fsyncs stay slow for a while after gigabytes of writes on this kind of disk).
    fill_doomed(bootstrap, server, plan);
    for (const auto& [name, configs] :
         {std::pair<std::string, Settings>{"latency-interval",
                                           {{"flush.messages", "100000"}, {"flush.ms", "1000"}}},
          {"latency-durable", {}}}) {
      step(name + " at 10k records/s");
      print_latency(name, latency(bootstrap, server, name, configs, kLatencyRate, plan.latency_s));
    }
    const RetentionLatency retention = latency_during_retention(bootstrap, server, plan);
    print_latency(std::string("latency-retention (") +
                      (retention.deleted ? "doomed topic deleted" : "NOT deleted") + ")",
                  retention.run);
    return 0;
  }
  if (small_only) {
    step("redis-server + redis-benchmark XADD");
    const RedisFigures redis = redis_xadd(plan.redis_requests);
    for (int clients : {2, 3}) {
      const std::string topic = "small-clients-" + std::to_string(clients);
      step("produce " + topic);
      const ProduceRun run =
          produce_clients(bootstrap, server, topic, 100, plan.produce_bytes, clients);
      std::printf(
          "%d clients: %.0f records/s = %.2fx Redis; CPU server %.2f client %.2f of %.2f s\n",
          clients, run.records_per_s(), run.records_per_s() / redis.xadd_per_s, run.cpu.server,
          run.cpu.client, run.cpu.wall);
    }
    for (ProduceApi api :
         {ProduceApi::kPerRecord, ProduceApi::kBatch, ProduceApi::kPerRecord, ProduceApi::kBatch}) {
      static int n = 0;
      const std::string topic = "small-" + std::to_string(n++);
      step("produce " + topic);
      const ProduceRun run =
          produce(bootstrap, server, topic, 1, 100, "1", plan.produce_bytes, 1, {}, {}, api);
      std::printf(
          "%s: %.0f records/s = %.2fx Redis %.0f/s; CPU server %.2f client %.2f of %.2f s\n",
          api == ProduceApi::kBatch ? "produce_batch" : "produce", run.records_per_s(),
          run.records_per_s() / redis.xadd_per_s, redis.xadd_per_s, run.cpu.server, run.cpu.client,
          run.cpu.wall);
    }
    return 0;
  }

  step("iperf3 loopback");
  const double tcp_gbps = iperf3_gbps(plan.iperf_s);

  step("redis-server + redis-benchmark XADD");
  const RedisFigures redis = redis_xadd(plan.redis_requests);

  struct Row {
    ProduceRun run;
    double raw = 0, raw16 = 0;  // raw 1 MiB / 16 KiB fdatasync MB/s, interleaved (acks=all rows)
  };
  std::vector<Row> rows;
  const std::string dir = eddy.data_dir();
  for (size_t size : {size_t{100}, size_t{1024}}) {
    for (const std::string acks : {"1", "all"}) {
      const std::string topic = "p" + std::to_string(size) + "-acks" + acks;
      Row row;
      // The consume runs read the 1 KiB acks=1 topic, which is made bigger for them.
      const size_t bytes = size == 1024 && acks == "1" ? plan.consume_bytes : plan.produce_bytes;
      if (acks == "all") {
        // fdatasync latency on this kind of disk drifts within seconds: raw loops and produce
        // slices alternate, each side summed over its slices.
        constexpr int kSlices = 3;
        const double slice_s = plan.raw_disk_s / kSlices;
        double raw_mb = 0, raw16_mb = 0;
        auto raw = [&] {
          raw_mb += raw_fdatasync_mbps(dir, kMiB, slice_s) * slice_s;
          raw16_mb += raw_fdatasync_mbps(dir, 16 * kKiB, slice_s) * slice_s;
        };
        step("produce " + topic + ", " + std::to_string(bytes / kMiB) +
             " MiB in 3 slices, each after raw pwrite 1 MiB and 16 KiB + fdatasync loops");
        row.run = produce(bootstrap, server, topic, 1, size, acks, bytes, kSlices, raw);
        row.raw = raw_mb / plan.raw_disk_s;
        row.raw16 = raw16_mb / plan.raw_disk_s;
      } else {
        // 100 B records come from two producers using the client's bulk call (Redis's figure
        // has 50 clients): one producer calling rd_kafka_produce per record leaves librdkafka,
        // not the broker, as the limit (that run is the row after the 2-partition one).
        if (size == 100) {
          step("produce " + topic + ", " + std::to_string(bytes / kMiB) +
               " MiB (2 producers, rd_kafka_produce_batch)");
          row.run = produce_clients(bootstrap, server, topic, size, bytes, kSmallClients);
        } else {
          step("produce " + topic + ", " + std::to_string(bytes / kMiB) + " MiB");
          row.run = produce(bootstrap, server, topic, 1, size, acks, bytes);
        }
      }
      rows.push_back(row);
    }
  }
  step("produce p1024-acks1-2p (2 partitions), " + std::to_string(plan.produce_bytes / kMiB) +
       " MiB");
  Row two;
  two.run = produce(bootstrap, server, "p1024-acks1-2p", 2, 1024, "1", plan.produce_bytes);
  rows.push_back(two);
  step("produce p100-acks1-per-record (rd_kafka_produce per record), " +
       std::to_string(plan.produce_bytes / kMiB) + " MiB");
  Row per_record;
  per_record.run =
      produce(bootstrap, server, "p100-acks1-per-record", 1, 100, "1", plan.produce_bytes);
  rows.push_back(per_record);

  fill_doomed(bootstrap, server, plan);
  const WireIdempotence wire_idem = measure_wire_idempotence(view, plan);
  const IdempotenceRun idem = measure_idempotence(bootstrap, server, plan);

  const ProduceRun& consumed = rows[2].run;  // 1 KiB, acks=1
  std::vector<ConsumeRun> consumes;
  for (int pass = 0; pass < plan.consume_passes; ++pass) {
    step("consume " + consumed.topic + " pass " + std::to_string(pass + 1));
    consumes.push_back(consume(bootstrap, server, consumed.topic, 1, consumed.records));
    g_cpu_rows.push_back(
        {"consume " + consumed.topic + " pass " + std::to_string(pass + 1), consumes.back().cpu});
  }
  step("consume p100-acks1");
  const ConsumeRun consume_small = consume(bootstrap, server, "p100-acks1", 1, rows[0].run.records);
  g_cpu_rows.push_back({"consume p100-acks1", consume_small.cpu});

  step("latency at 10k records/s, default durability (flush.messages=1)");
  const LatencyRun lat =
      latency(bootstrap, server, "latency-durable", {}, kLatencyRate, plan.latency_s);
  step("latency at 10k records/s, interval flush (flush.messages=100000, flush.ms=1000)");
  const LatencyRun lat_interval =
      latency(bootstrap, server, "latency-interval",
              {{"flush.messages", "100000"}, {"flush.ms", "1000"}}, kLatencyRate, plan.latency_s);
  const RetentionLatency lat_retention = latency_during_retention(bootstrap, server, plan);

  const double rss_after = status_mb(server, "VmRSS");
  const double rss_peak = status_mb(server, "VmHWM");
  if (eddy.stop(SIGTERM) != 0) std::printf("warning: eddy serve did not exit cleanly\n");
  eddy::bench::set_server(nullptr);

  // ----- Report.
  const ConsumeRun* best = &consumes[0];
  double mean_gbps = 0;
  for (const auto& c : consumes) {
    if (c.gbps() > best->gbps()) best = &c;
    mean_gbps += c.gbps() / static_cast<double>(consumes.size());
  }
  const Row& durable_large = rows[3];
  const double raw_mean = durable_large.raw;
  const double raw16_mean = durable_large.raw16;
  const double durable_ratio = durable_large.run.mbps() / raw_mean;
  const double redis_ratio = rows[0].run.records_per_s() / redis.xadd_per_s;

  std::printf("\n| measurement | result | comparison point | ratio |\n|---|---|---|---|\n");
  std::printf("| loopback TCP, iperf3, 1 stream, %d s | %.2f GB/s | | |\n", plan.iperf_s, tcp_gbps);
  for (const Row* r : {&rows[1], &rows[3]}) {
    std::printf(
        "| raw pwrite 1 MiB / 16 KiB + fdatasync, interleaved with the %zu B acks=all run | "
        "%.1f / %.1f MB/s | | |\n",
        r->run.record_size, r->raw, r->raw16);
  }
  std::printf(
      "| Redis Streams: redis-benchmark -P 64 -c 50 XADD, %zu B value, no persistence (%lld "
      "entries) | %.0f XADD/s (%.1f MB/s of values) | | |\n",
      redis.value_bytes, redis.stream_length, redis.xadd_per_s,
      redis.xadd_per_s * static_cast<double>(redis.value_bytes) / 1e6);
  for (const Row& r : rows) {
    std::string compare, ratio;
    char buf[128];
    if (r.run.acks == "all") {
      std::snprintf(buf, sizeof(buf), "raw 1 MiB fdatasync %.1f MB/s (16 KiB: %.1f)", r.raw,
                    r.raw16);
      compare = buf;
      std::snprintf(buf, sizeof(buf), "%.0f%% (16 KiB: %.0f%%)", 100 * r.run.mbps() / r.raw,
                    100 * r.run.mbps() / r.raw16);
      ratio = buf;
    } else if (r.run.record_size == 100) {
      std::snprintf(buf, sizeof(buf), "Redis XADD %.0f/s", redis.xadd_per_s);
      compare = buf;
      std::snprintf(buf, sizeof(buf), "%.2fx", r.run.records_per_s() / redis.xadd_per_s);
      ratio = buf;
    } else {
      std::snprintf(buf, sizeof(buf), "loopback TCP %.2f GB/s", tcp_gbps);
      compare = buf;
      std::snprintf(buf, sizeof(buf), "%.0f%%", 100 * r.run.mbps() / 1e3 / tcp_gbps);
      ratio = buf;
    }
    std::printf(
        "| produce %zu B, acks=%s, %d partition%s, %s, %.0f MiB | %.1f MB/s, %.0f records/s "
        "| %s | %s |\n",
        r.run.record_size, r.run.acks.c_str(), r.run.partitions, r.run.partitions == 1 ? "" : "s",
        ((r.run.clients > 1 ? std::to_string(r.run.clients) + " producers, " : std::string()) +
         (r.run.batch_api ? "rd_kafka_produce_batch" : "rd_kafka_produce"))
            .c_str(),
        static_cast<double>(r.run.records * r.run.record_size) / kMiB, r.run.mbps(),
        r.run.records_per_s(), compare.c_str(), ratio.c_str());
  }
  std::printf(
      "| consume 1 KiB records, %.0f MiB, assign() from the start (best of %d; mean %.2f) | "
      "%.2f GB/s, %.0f records/s | loopback TCP %.2f GB/s | %.0f%% |\n",
      static_cast<double>(consumed.records * consumed.record_size) / kMiB, plan.consume_passes,
      mean_gbps, best->gbps(), static_cast<double>(best->records) / best->seconds, tcp_gbps,
      100 * best->gbps() / tcp_gbps);
  std::printf("| consume 100 B records, %.0f MiB | %.2f GB/s, %.0f records/s | | |\n",
              static_cast<double>(rows[0].run.records * 100) / kMiB, consume_small.gbps(),
              static_cast<double>(consume_small.records) / consume_small.seconds);
  for (const auto& [name, l] :
       {std::pair<const char*, const LatencyRun*>{"default durability (flush.messages=1)", &lat},
        {"interval flush (flush.messages=100000, flush.ms=1000)", &lat_interval}}) {
    std::printf(
        "| produce→consume latency, 100 B, acks=1, %.0f records/s for %.0f s, %s (%ld "
        "samples) | p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms | | |\n",
        l->achieved_rate, plan.latency_s, name, l->samples, l->p50_ms, l->p99_ms, l->p999_ms,
        l->max_ms);
  }
  std::printf(
      "| same, default durability, while retention deletes a %.0f MiB topic (%s) | p50 %.2f ms, "
      "p99 %.2f ms, p99.9 %.2f ms, max %.2f ms | | |\n",
      static_cast<double>(plan.doomed_bytes) / kMiB,
      lat_retention.deleted ? "deleted" : "NOT deleted", lat_retention.run.p50_ms,
      lat_retention.run.p99_ms, lat_retention.run.p999_ms, lat_retention.run.max_ms);
  print_latency("latency-durable", lat);
  print_latency("latency-interval", lat_interval);
  print_latency("latency-retention", lat_retention.run);
  std::printf(
      "| RSS of eddy serve: idle after start / after the runs / peak | %.1f / %.1f / %.1f MB | "
      "redis-server idle %.1f MB | |\n",
      idle_rss, rss_after, rss_peak, redis.idle_rss_mb);

  print_wire_idempotence_row(wire_idem);
  print_idempotence_row(idem, plan);

  std::printf("\nCPU seconds per phase (server = eddy serve, client = this process):\n");
  eddy::bench::print_cpu_table(g_cpu_rows);
  std::printf("| redis-benchmark XADD (redis-server only) | %.2f | %.2f | | %.2f | |\n",
              redis.wall_s, redis.cpu_server_s, redis.cpu_server_s / redis.wall_s);

  std::printf("\ntargets:\n");
  std::printf(
      "  1 KiB acks=all >= %.0f%% of raw fdatasync bandwidth (1 MiB writes): %.0f%% "
      "(%.1f of %.1f MB/s; vs 16 KiB writes %.0f%%) -> %s\n",
      100 * kDurableTarget, 100 * durable_ratio, durable_large.run.mbps(), raw_mean,
      100 * durable_large.run.mbps() / raw16_mean,
      verdict(durable_ratio >= kDurableTarget).c_str());
  std::printf(
      "  100 B acks=1 >= %.0fx Redis XADD records/s: %.2fx (%.0f vs %.0f, "
      "2 producers, rd_kafka_produce_batch) -> %s\n",
      kRedisTarget, redis_ratio, rows[0].run.records_per_s(), redis.xadd_per_s,
      verdict(redis_ratio >= kRedisTarget).c_str());
  std::printf("    (one producer, rd_kafka_produce per record: %.2fx)\n",
              rows.back().run.records_per_s() / redis.xadd_per_s);
  std::printf("  consume >= %.1f GB/s: %.2f GB/s -> %s\n", kConsumeTargetGBps, best->gbps(),
              verdict(best->gbps() >= kConsumeTargetGBps).c_str());
  std::printf(
      "  p99 produce->consume latency at 10k records/s <= %.0f ms, default durability: %.2f ms "
      "-> %s\n",
      kLatencyTargetMs, lat.p99_ms, verdict(lat.p99_ms <= kLatencyTargetMs).c_str());
  std::printf("    (interval flush: %.2f ms -> %s; while retention deletes: %.2f ms -> %s)\n",
              lat_interval.p99_ms, verdict(lat_interval.p99_ms <= kLatencyTargetMs).c_str(),
              lat_retention.run.p99_ms,
              verdict(lat_retention.run.p99_ms <= kLatencyTargetMs).c_str());
  std::printf("  idle RSS of eddy serve <= %.0f MB: %.1f MB -> %s\n", kRssTargetMB, idle_rss,
              verdict(idle_rss <= kRssTargetMB).c_str());
  print_idempotence_verdict(idem, wire_idem);
  return 0;
}

// Consumer-group benchmark: a real `eddy serve` driven by librdkafka high-level consumers.
//
// 1. Rebalance time when a 4th member joins a stable group of 3 (12-partition topic): from the
//    4th member's rd_kafka_subscribe() until all 4 members hold their new assignment, as seen
//    in their rebalance callbacks. Eager (range) and cooperative-sticky assignors, with
//    heartbeat.interval.ms 100 and librdkafka's default 3000: members learn about a rebalance
//    from their next heartbeat, so that client timer dominates the figure; the part after the
//    last old member learned of the rebalance is printed too. Fresh group per run.
//    The server runs with --group-initial-rebalance-delay-ms 0; a last phase restarts it with
//    the default (3000) to show what that delay does to forming a group and to the 4th join.
// 2. Offset-commit throughput of one consumer (assign(), explicit offsets): synchronous
//    rd_kafka_commit() in a loop and asynchronous commits with a bounded number in flight, 1 and
//    100 partitions per commit, next to the raw fdatasync rate of the data directory's file
//    system, measured in slices alternating with the commit slices (a commit is answered once
//    it is durable).
//
// Usage: group_bench [--quick] [--rdkafka-debug CONTEXTS]
// (--rdkafka-debug sets librdkafka's `debug`, e.g. "cgrp", on the rebalance members: their
// group protocol steps go to stderr with timestamps.)
//
// Client and server share the machine: every figure includes the client's CPU. The program
// prints progress lines, every rebalance run, a Markdown table (paste-able into
// docs/benchmarks.md) and the CPU seconds of the server and of the client per phase.
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "eddy_process.h"

namespace {

using namespace std::chrono_literals;
using eddy::bench::Clock;
using eddy::bench::CpuMeter;
using eddy::bench::CpuRow;
using eddy::bench::die;
using eddy::bench::die_errno;
using eddy::bench::Kafka;
using eddy::bench::RawSync;
using eddy::bench::seconds_since;
using eddy::bench::step;

struct Plan {
  int rebalance_runs;          // per assignor and heartbeat interval
  int default_delay_runs;      // with the server's default initial rebalance delay
  double commit_s;             // per commit phase
  double raw_s;                // raw fdatasync loop per commit phase (over its slices)
  int async_in_flight;         // commits outstanding in the asynchronous phases
  bool slow_heartbeat_sticky;  // cooperative-sticky with heartbeat.interval.ms=3000 too
};

constexpr Plan kFullPlan{7, 3, 5.0, 1.0, 32, true};
constexpr Plan kQuickPlan{2, 1, 1.0, 0.5, 32, false};

constexpr int kTopicPartitions = 12;  // the rebalance topic
constexpr int kCommitPartitions = 100;
constexpr int kCommitSlices = 5;  // each commit phase alternates with its raw fdatasync loop
constexpr int kDefaultInitialDelayMs = 3000;  // eddy's and Kafka's default

std::vector<CpuRow> g_cpu_rows;
std::string g_rdkafka_debug;  // librdkafka `debug` contexts of the group members (--rdkafka-debug)

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// ---------------------------------------------------------------------------------------------
// Rebalances.

// What the members of one run own, updated from their rebalance callbacks, and the moment the
// group reached the balanced assignment the run waits for.
class Watch {
 public:
  // From now on, waits until `members` members own kTopicPartitions / members partitions each,
  // disjoint and covering the topic.
  void expect(int members, Clock::time_point since) {
    std::lock_guard lock(mu_);
    expected_ = members;
    since_ = since;
    balanced_at_.reset();
    callbacks_since_ = 0;
    first_callback_since_.clear();
    check_locked(since);
  }

  // Called from member `index`'s rebalance callback, `at` being the callback's entry.
  void update(size_t index, bool assign, bool incremental,
              const rd_kafka_topic_partition_list_t* parts, Clock::time_point at) {
    std::lock_guard lock(mu_);
    if (owned_.size() <= index) owned_.resize(index + 1);
    if (first_assign_.size() <= index) first_assign_.resize(index + 1);
    if (first_callback_since_.size() <= index) first_callback_since_.resize(index + 1);
    std::set<int32_t>& owned = owned_[index];
    if (!incremental) owned.clear();
    for (int i = 0; i < parts->cnt; ++i) {
      if (assign) {
        owned.insert(parts->elems[i].partition);
      } else {
        owned.erase(parts->elems[i].partition);
      }
    }
    if (!owned.empty() && !first_assign_[index]) first_assign_[index] = at;
    if (at >= since_) {
      ++callbacks_since_;
      if (!first_callback_since_[index]) first_callback_since_[index] = at;
    }
    check_locked(at);
    cv_.notify_all();
  }

  // The moment the group became balanced, or nullopt after `timeout`.
  std::optional<Clock::time_point> wait(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return balanced_at_.has_value(); });
    return balanced_at_;
  }

  int callbacks_since() {
    std::lock_guard lock(mu_);
    return callbacks_since_;
  }

  // The first rebalance callback of member `index` since expect(): when it learned of the
  // rebalance.
  std::optional<Clock::time_point> first_callback_since(size_t index) {
    std::lock_guard lock(mu_);
    return index < first_callback_since_.size() ? first_callback_since_[index] : std::nullopt;
  }

  // When member `index` first owned partitions.
  std::optional<Clock::time_point> first_assign(size_t index) {
    std::lock_guard lock(mu_);
    return index < first_assign_.size() ? first_assign_[index] : std::nullopt;
  }

 private:
  void check_locked(Clock::time_point at) {
    if (balanced_at_ || expected_ == 0 || static_cast<int>(owned_.size()) != expected_) return;
    std::set<int32_t> all;
    for (const auto& owned : owned_) {
      if (static_cast<int>(owned.size()) != kTopicPartitions / expected_) return;
      all.insert(owned.begin(), owned.end());
    }
    if (static_cast<int>(all.size()) == kTopicPartitions) balanced_at_ = at;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int expected_ = 0;
  Clock::time_point since_;
  std::vector<std::set<int32_t>> owned_;
  std::vector<std::optional<Clock::time_point>> first_assign_;
  std::vector<std::optional<Clock::time_point>> first_callback_since_;
  std::optional<Clock::time_point> balanced_at_;
  int callbacks_since_ = 0;
};

struct Member {
  Watch* watch = nullptr;
  size_t index = 0;
  Kafka rk;
  std::thread poller;
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
};

// Takes the assignment (eagerly or incrementally, as the protocol says) and tells the watch.
void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                  void* opaque) {
  const Clock::time_point at = Clock::now();
  auto* m = static_cast<Member*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  const bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
  if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    m->errors.fetch_add(1);
    rd_kafka_assign(rk, nullptr);
    return;
  }
  if (cooperative) {
    rd_kafka_error_t* error =
        assign ? rd_kafka_incremental_assign(rk, parts) : rd_kafka_incremental_unassign(rk, parts);
    if (error) {
      m->errors.fetch_add(1);
      rd_kafka_error_destroy(error);
    }
  } else if (rd_kafka_assign(rk, assign ? parts : nullptr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    m->errors.fetch_add(1);
  }
  m->watch->update(m->index, assign, cooperative, parts, at);
}

// A consumer of `group` polling in its own thread (which also serves its rebalance callbacks);
// it closes itself (leaving the group) when told to stop.
std::unique_ptr<Member> start_member(const std::string& bootstrap, const std::string& group,
                                     const std::string& assignor, int heartbeat_ms, Watch& watch,
                                     size_t index) {
  auto m = std::make_unique<Member>();
  m->watch = &watch;
  m->index = index;
  Member* raw = m.get();
  m->rk = eddy::bench::make_client(
      RD_KAFKA_CONSUMER, bootstrap,
      {{"group.id", group},
       {"client.id", "member-" + std::to_string(index)},
       {"partition.assignment.strategy", assignor},
       {"heartbeat.interval.ms", std::to_string(heartbeat_ms)},
       {"enable.auto.commit", "false"},
       {"enable.partition.eof", "false"}},
      [raw](rd_kafka_conf_t* conf) {
        char err[512];
        if (!g_rdkafka_debug.empty() && rd_kafka_conf_set(conf, "debug", g_rdkafka_debug.c_str(),
                                                          err, sizeof(err)) != RD_KAFKA_CONF_OK) {
          die(std::string("debug: ") + err);
        }
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_opaque(conf, raw);
      });
  rd_kafka_poll_set_consumer(m->rk.get());
  m->poller = std::thread([raw] {
    while (!raw->stop) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(raw->rk.get(), 20);
      if (msg) rd_kafka_message_destroy(msg);
    }
    rd_kafka_consumer_close(raw->rk.get());
  });
  return m;
}

void subscribe(Member& m, const std::string& topic) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(m.rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) die(std::string("subscribe: ") + rd_kafka_err2str(err));
}

struct RebalanceRun {
  double form_ms = 0;        // first of 3 subscribes until the 3 members are balanced
  double join_ms = 0;        // the 4th subscribe until the 4 members are balanced
  double new_member_ms = 0;  // the 4th subscribe until the 4th member first owns partitions
  double waited_ms = 0;      // pause between the group being stable and the 4th subscribe
  // From the moment the last of the 3 members learned of the rebalance (its first rebalance
  // callback after the 4th subscribe: the heartbeat that told it has been answered) until the 4
  // members are balanced: the join and sync round trips without the wait for heartbeats.
  double after_discovery_ms = 0;
  int callbacks = 0;  // rebalance callbacks of all members during the join
};

struct RebalanceConfig {
  std::string assignor;
  int heartbeat_ms = 0;
  int initial_delay_ms = 0;  // the server's group-initial-rebalance-delay-ms
  std::vector<RebalanceRun> runs;
  double p50(double RebalanceRun::*field) const {
    std::vector<double> v;
    for (const auto& r : runs)
      v.push_back(r.*field);
    return median(v);
  }
  double min(double RebalanceRun::*field) const {
    double best = runs.at(0).*field;
    for (const auto& r : runs)
      best = std::min(best, r.*field);
    return best;
  }
  double max(double RebalanceRun::*field) const {
    double worst = runs.at(0).*field;
    for (const auto& r : runs)
      worst = std::max(worst, r.*field);
    return worst;
  }
  std::string label() const {
    return assignor + ", heartbeat.interval.ms=" + std::to_string(heartbeat_ms) +
           ", initial delay " + std::to_string(initial_delay_ms) + " ms";
  }
};

// One run: 3 members subscribe together and settle; after a pause of 500 ms plus a random part
// of a heartbeat interval, or of 1 s when that is shorter (librdkafka 2.0.2 checks whether a
// heartbeat is due only when its main thread wakes up, which can be ~0.5-1 s apart), so that the
// 4th subscribe falls at a random point of the members' heartbeat cycles, the 4th subscribes.
RebalanceRun rebalance_run(const std::string& bootstrap, const std::string& topic,
                           const std::string& group, const RebalanceConfig& config,
                           std::mt19937& rng) {
  Watch watch;
  std::vector<std::unique_ptr<Member>> members;
  for (size_t i = 0; i < 3; ++i)
    members.push_back(
        start_member(bootstrap, group, config.assignor, config.heartbeat_ms, watch, i));
  RebalanceRun run;
  const auto formed_from = Clock::now();
  watch.expect(3, formed_from);
  for (auto& m : members)
    subscribe(*m, topic);
  const auto formed = watch.wait(60s);
  if (!formed) die("group " + group + ": 3 members not balanced after 60 s");
  run.form_ms = ms_between(formed_from, *formed);

  // The 4th member is created (and connects to the bootstrap broker) during the pause;
  // librdkafka looks the coordinator up only once subscribed, so that is part of the figure.
  members.push_back(start_member(bootstrap, group, config.assignor, config.heartbeat_ms, watch, 3));
  std::uniform_int_distribution<int> jitter(0, std::max(config.heartbeat_ms, 1000));
  const auto pause = 500ms + std::chrono::milliseconds(jitter(rng));
  std::this_thread::sleep_until(*formed + pause);
  const auto t0 = Clock::now();
  run.waited_ms = ms_between(*formed, t0);
  watch.expect(4, t0);
  subscribe(*members[3], topic);
  const auto joined = watch.wait(120s);
  if (!joined) die("group " + group + ": 4 members not balanced after 120 s");
  run.join_ms = ms_between(t0, *joined);
  run.new_member_ms = ms_between(t0, watch.first_assign(3).value_or(*joined));
  Clock::time_point discovered = t0;
  for (size_t i = 0; i < 3; ++i)
    discovered = std::max(discovered, watch.first_callback_since(i).value_or(*joined));
  run.after_discovery_ms = ms_between(discovered, *joined);
  run.callbacks = watch.callbacks_since();

  for (auto& m : members)
    m->stop = true;
  int errors = 0;
  for (auto& m : members) {
    m->poller.join();
    errors += m->errors;
  }
  if (errors) die("group " + group + ": " + std::to_string(errors) + " rebalance callbacks failed");
  members.clear();  // rd_kafka_destroy, after every member has closed
  return run;
}

void rebalance_config(const std::string& bootstrap, pid_t server, const std::string& topic,
                      RebalanceConfig& config, int runs, int& group_counter, std::mt19937& rng) {
  step("rebalance: 4th member joins 3, " + config.label() + ", " + std::to_string(runs) + " runs");
  CpuMeter meter(server);
  for (int i = 0; i < runs; ++i) {
    const std::string group = "rebalance-" + std::to_string(++group_counter);
    const RebalanceRun r = rebalance_run(bootstrap, topic, group, config, rng);
    std::printf(
        "  run %d (%s): join %.1f ms (%.1f ms after the last member learned of it; new member "
        "owns partitions after %.1f ms; %d callbacks); 3-member group formed in %.1f ms, 4th "
        "subscribed %.0f ms after that\n",
        i + 1, group.c_str(), r.join_ms, r.after_discovery_ms, r.new_member_ms, r.callbacks,
        r.form_ms, r.waited_ms);
    std::fflush(stdout);
    config.runs.push_back(r);
  }
  std::printf(
      "  join p50 %.1f ms (min %.1f, max %.1f), after the last member learned of it p50 %.1f ms; "
      "formation p50 %.1f ms\n",
      config.p50(&RebalanceRun::join_ms), config.min(&RebalanceRun::join_ms),
      config.max(&RebalanceRun::join_ms), config.p50(&RebalanceRun::after_discovery_ms),
      config.p50(&RebalanceRun::form_ms));
  g_cpu_rows.push_back({"rebalance " + config.label() + ", " + std::to_string(runs) +
                            " runs (whole runs: start, join, close)",
                        meter.sample()});
}

// ---------------------------------------------------------------------------------------------
// Offset commits.

struct CommitRun {
  int partitions = 0;
  int in_flight = 0;  // 0: synchronous
  long commits = 0;
  double seconds = 0;
  RawSync raw;                    // raw fdatasync loops, alternating with the commit slices
  size_t raw_write = 0;           // its write size
  double p50_ms = 0, p99_ms = 0;  // synchronous commits only
  // Synchronous rd_kafka_committed() (OffsetFetch) right after: the same client and server
  // round trip without an append and fsync.
  double fetch_p50_ms = 0;
  CpuMeter::Sample cpu;
  double commits_per_s() const { return static_cast<double>(commits) / seconds; }
  double offsets_per_s() const { return commits_per_s() * partitions; }
  std::string label() const {
    return std::string(in_flight ? "async (" + std::to_string(in_flight) + " in flight)" : "sync") +
           " commit, " + std::to_string(partitions) + " partition" + (partitions == 1 ? "" : "s");
  }
};

// One consumer, assign()ed `partitions` partitions of `topic`, commits explicit offsets (the
// same increasing value for every partition of a commit) for `seconds`: synchronously, or
// asynchronously with at most `in_flight` outstanding (the results come back on a queue). Checks
// every result and, at the end, that the server holds the last offsets committed. The phase is
// cut into kCommitSlices slices, each after a raw pwrite + fdatasync loop.
CommitRun commit_run(const std::string& bootstrap, pid_t server, const std::string& dir,
                     const std::string& topic, int partitions, int in_flight, double seconds,
                     double raw_s, int& group_counter) {
  CommitRun run;
  run.partitions = partitions;
  run.in_flight = in_flight;
  const std::string group = "commits-" + std::to_string(++group_counter);
  Kafka rk = eddy::bench::make_client(
      RD_KAFKA_CONSUMER, bootstrap,
      {{"group.id", group}, {"enable.auto.commit", "false"}, {"enable.partition.eof", "false"}});
  rd_kafka_poll_set_consumer(rk.get());
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
  if (rd_kafka_assign(rk.get(), list) != RD_KAFKA_RESP_ERR_NO_ERROR) die("assign");
  int64_t next = 0;
  auto set_offsets = [&] {
    ++next;
    for (int p = 0; p < partitions; ++p)
      list->elems[p].offset = next;
  };
  // Warm-up: coordinator lookup and the connection to it are not part of the figure.
  set_offsets();
  if (rd_kafka_resp_err_t err = rd_kafka_commit(rk.get(), list, 0))
    die("warm-up commit: " + std::string(rd_kafka_err2str(err)));

  // A one-partition commit appends ~100-150 bytes to __consumer_offsets, a 100-partition one
  // ~5-6 KB (a probe with a 2-character group id and topic "t": 105 and 4497 bytes, the record
  // keys hold both names); the raw loop writes 128 B and 8 KiB. fdatasync latency
  // on this kind of disk drifts within seconds: raw loops and commit slices alternate, each side
  // summed over its slices.
  run.raw_write = partitions == 1 ? 128 : 8192;
  std::vector<double> latencies;
  rd_kafka_queue_t* results = rd_kafka_queue_new(rk.get());
  for (int slice = 0; slice < kCommitSlices; ++slice) {
    const RawSync raw = eddy::bench::raw_fdatasync(dir, run.raw_write, raw_s / kCommitSlices);
    run.raw.bytes += raw.bytes;
    run.raw.syncs += raw.syncs;
    run.raw.seconds += raw.seconds;
    run.raw.cpu_s += raw.cpu_s;

    const double slice_s = seconds / kCommitSlices;
    CpuMeter meter(server);
    const auto start = Clock::now();
    if (in_flight == 0) {
      while (seconds_since(start) < slice_s) {
        set_offsets();
        const auto t = Clock::now();
        if (rd_kafka_resp_err_t err = rd_kafka_commit(rk.get(), list, 0))
          die("commit: " + std::string(rd_kafka_err2str(err)));
        latencies.push_back(ms_between(t, Clock::now()));
        ++run.commits;
      }
    } else {
      // Each slice ends once every commit sent in it is answered.
      long sent = 0, done = 0;
      for (;;) {
        const bool more = seconds_since(start) < slice_s;
        while (more && sent - done < in_flight) {
          set_offsets();
          if (rd_kafka_resp_err_t err =
                  rd_kafka_commit_queue(rk.get(), list, results, nullptr, nullptr)) {
            die("commit_queue: " + std::string(rd_kafka_err2str(err)));
          }
          ++sent;
        }
        if (!more && done == sent) break;
        rd_kafka_event_t* ev = rd_kafka_queue_poll(results, 10000);
        if (!ev) die("no commit result within 10 s");
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
          if (rd_kafka_event_error(ev)) {
            die("async commit: " + std::string(rd_kafka_event_error_string(ev)));
          }
          if (const rd_kafka_topic_partition_list_t* r = rd_kafka_event_topic_partition_list(ev)) {
            for (int i = 0; i < r->cnt; ++i) {
              if (r->elems[i].err) {
                die("async commit partition: " + std::string(rd_kafka_err2str(r->elems[i].err)));
              }
            }
          }
          ++done;
        }
        rd_kafka_event_destroy(ev);
      }
      run.commits += done;
    }
    run.seconds += seconds_since(start);
    run.cpu += meter.sample();
  }
  rd_kafka_queue_destroy(results);

  if (in_flight == 0) {
    std::sort(latencies.begin(), latencies.end());
    run.p50_ms = latencies[latencies.size() / 2];
    run.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
    rd_kafka_topic_partition_list_t* fetch = rd_kafka_topic_partition_list_copy(list);
    std::vector<double> fetches;
    const auto fetch_start = Clock::now();
    while (seconds_since(fetch_start) < std::min(1.0, seconds / 2)) {
      const auto t = Clock::now();
      if (rd_kafka_resp_err_t err = rd_kafka_committed(rk.get(), fetch, 10000))
        die("committed: " + std::string(rd_kafka_err2str(err)));
      fetches.push_back(ms_between(t, Clock::now()));
    }
    rd_kafka_topic_partition_list_destroy(fetch);
    run.fetch_p50_ms = median(fetches);
  }

  // The server must hold the last offsets of the loop.
  const int64_t last = next;
  for (int p = 0; p < partitions; ++p)
    list->elems[p].offset = RD_KAFKA_OFFSET_INVALID;
  if (rd_kafka_resp_err_t err = rd_kafka_committed(rk.get(), list, 10000))
    die("committed: " + std::string(rd_kafka_err2str(err)));
  for (int p = 0; p < partitions; ++p) {
    if (list->elems[p].err || list->elems[p].offset != last) {
      die(group + ": partition " + std::to_string(p) + " committed offset " +
          std::to_string(list->elems[p].offset) + ", expected " + std::to_string(last));
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk.get());
  g_cpu_rows.push_back({run.label(), run.cpu});
  return run;
}

// ---------------------------------------------------------------------------------------------

std::string load_average() {
  double load[3] = {};
  if (::getloadavg(load, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", load[0], load[1], load[2]);
  return buf;
}

struct Server {
  std::unique_ptr<eddy::testing::EddyProcess> process;
  std::string bootstrap;
  pid_t pid = -1;
};

// `eddy serve` on a free loopback port with a temporary data directory.
Server start_server(int initial_delay_ms) {
  Server s;
  s.process = std::make_unique<eddy::testing::EddyProcess>(
      EDDY_BINARY, std::vector<std::string>{"--group-initial-rebalance-delay-ms",
                                            std::to_string(initial_delay_ms)});
  eddy::bench::set_server(s.process.get());
  if (!s.process->start()) die("eddy serve did not start:\n" + s.process->log());
  s.bootstrap = s.process->bootstrap();
  s.pid = s.process->pid();
  std::printf("eddy serve pid %d on %s, data dir %s, --group-initial-rebalance-delay-ms %d\n",
              static_cast<int>(s.pid), s.bootstrap.c_str(), s.process->data_dir().c_str(),
              initial_delay_ms);
  std::fflush(stdout);
  return s;
}

// Stops the server and prints how much it logged, and its warnings and errors.
void stop_server(Server& s) {
  if (s.process->stop(SIGTERM) != 0) std::printf("warning: eddy serve did not exit cleanly\n");
  eddy::bench::set_server(nullptr);
  const std::string log = s.process->log();
  int lines = 0;
  std::string problems;
  for (size_t at = 0; at < log.size();) {
    size_t end = log.find('\n', at);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(at, end - at);
    ++lines;
    if (line.find("warn") != std::string::npos || line.find("error") != std::string::npos)
      problems += "  " + line + "\n";
    at = end + 1;
  }
  std::printf(
      "eddy serve stopped; it logged %d lines%s\n%s", lines,
      problems.empty() ? ", no warnings or errors" : ", warnings/errors:", problems.c_str());
  std::fflush(stdout);
  s.process.reset();
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--rdkafka-debug" && i + 1 < argc) {
      g_rdkafka_debug = argv[++i];
    } else {
      std::fprintf(stderr, "usage: group_bench [--quick] [--rdkafka-debug CONTEXTS]\n");
      return 2;
    }
  }
  const Plan& plan = quick ? kQuickPlan : kFullPlan;
  ::signal(SIGPIPE, SIG_IGN);
  eddy::bench::set_program_name("group_bench");

  std::printf("group_bench%s, librdkafka %s\n", quick ? " --quick" : "", rd_kafka_version_str());
  Server server = start_server(0);
  std::printf("%s\n", eddy::bench::machine_summary(server.process->data_dir()).c_str());
  std::fflush(stdout);
  const std::string topic = "rebalance";
  eddy::bench::create_topic(server.bootstrap, topic, kTopicPartitions);
  const std::string commit_topic = "commits";
  eddy::bench::create_topic(server.bootstrap, commit_topic, kCommitPartitions);

  std::mt19937 rng(20240601);
  int groups = 0;
  std::vector<RebalanceConfig> configs;
  for (const std::string assignor : {"range", "cooperative-sticky"}) {
    for (int heartbeat : {100, 3000}) {
      if (assignor != "range" && heartbeat != 100 && !plan.slow_heartbeat_sticky) continue;
      configs.push_back({assignor, heartbeat, 0, {}});
      rebalance_config(server.bootstrap, server.pid, topic, configs.back(), plan.rebalance_runs,
                       groups, rng);
    }
  }

  std::vector<CommitRun> commits;
  const std::string dir = server.process->data_dir();
  for (int in_flight : {0, plan.async_in_flight}) {
    for (int partitions : {1, kCommitPartitions}) {
      CommitRun probe;
      probe.partitions = partitions;
      probe.in_flight = in_flight;
      step(probe.label() + " for " + std::to_string(static_cast<int>(plan.commit_s)) + " s in " +
           std::to_string(kCommitSlices) + " slices, each after a raw pwrite + fdatasync loop");
      commits.push_back(commit_run(server.bootstrap, server.pid, dir, commit_topic, partitions,
                                   in_flight, plan.commit_s, plan.raw_s, groups));
      const CommitRun& c = commits.back();
      std::printf(
          "  %.0f commits/s, %.0f offsets/s, server CPU %.0f us per commit; raw %zu B fdatasync "
          "%.0f/s, CPU %.0f us per fdatasync\n",
          c.commits_per_s(), c.offsets_per_s(), 1e6 * c.cpu.server / static_cast<double>(c.commits),
          c.raw_write, c.raw.syncs_per_s(), 1e6 * c.raw.cpu_s / static_cast<double>(c.raw.syncs));
    }
  }
  const double rss = eddy::bench::status_mb(server.pid, "VmHWM");
  stop_server(server);

  // The default initial rebalance delay: it holds back the first rebalance of an empty group
  // (forming the group of 3), not a join to a stable group.
  Server delayed = start_server(kDefaultInitialDelayMs);
  eddy::bench::create_topic(delayed.bootstrap, topic, kTopicPartitions);
  configs.push_back({"range", 100, kDefaultInitialDelayMs, {}});
  rebalance_config(delayed.bootstrap, delayed.pid, topic, configs.back(), plan.default_delay_runs,
                   groups, rng);
  stop_server(delayed);

  // ----- Report.
  std::printf("\nload average after the run: %s\n", load_average().c_str());
  std::printf("\n| measurement | result | comparison point | ratio |\n|---|---|---|---|\n");
  for (const RebalanceConfig& c : configs) {
    const double p50 = c.p50(&RebalanceRun::join_ms);
    // With eager assignors every old member learns of the rebalance in the first round; with
    // cooperative-sticky some only in the second, so the split says little there.
    char after[96] = "";
    if (c.assignor == "range") {
      std::snprintf(
          after, sizeof(after), "; after the last member learned of it p50 %.1f ms (max %.1f)",
          c.p50(&RebalanceRun::after_discovery_ms), c.max(&RebalanceRun::after_discovery_ms));
    }
    std::printf(
        "| rebalance when a 4th member joins 3 (12 partitions), %s, %zu runs | p50 %.1f ms "
        "(min %.1f, max %.1f)%s | heartbeat.interval.ms %d | %.2fx |\n",
        c.label().c_str(), c.runs.size(), p50, c.min(&RebalanceRun::join_ms),
        c.max(&RebalanceRun::join_ms), after, c.heartbeat_ms, p50 / c.heartbeat_ms);
  }
  for (const RebalanceConfig& c : configs) {
    if (c.assignor != "range" || c.heartbeat_ms != 100) continue;
    std::printf(
        "| forming the group of 3 (3 subscribes at once until balanced), %s | p50 %.1f ms (min "
        "%.1f, max %.1f) | initial delay %d ms | |\n",
        c.label().c_str(), c.p50(&RebalanceRun::form_ms), c.min(&RebalanceRun::form_ms),
        c.max(&RebalanceRun::form_ms), c.initial_delay_ms);
  }
  for (const CommitRun& c : commits) {
    char latency[128] = "";
    if (!c.in_flight) {
      std::snprintf(latency, sizeof(latency),
                    ", latency p50 %.2f ms, p99 %.2f ms (OffsetFetch round trip p50 %.2f ms)",
                    c.p50_ms, c.p99_ms, c.fetch_p50_ms);
    }
    std::printf(
        "| offset commit, %s, %.0f s | %.0f commits/s, %.0f partition-offsets/s%s; server CPU "
        "%.0f us per commit | raw %zu B pwrite + fdatasync, interleaved: %.0f/s (%.2f ms and %.0f "
        "us of CPU each) | %.2fx |\n",
        c.label().c_str(), c.seconds, c.commits_per_s(), c.offsets_per_s(), latency,
        1e6 * c.cpu.server / static_cast<double>(c.commits), c.raw_write, c.raw.syncs_per_s(),
        1e3 / c.raw.syncs_per_s(), 1e6 * c.raw.cpu_s / static_cast<double>(c.raw.syncs),
        c.commits_per_s() / c.raw.syncs_per_s());
  }
  std::printf(
      "| peak RSS of eddy serve (first server, after the rebalance and commit runs) | "
      "%.1f MB | | |\n",
      rss);

  std::printf("\nCPU seconds per phase (server = eddy serve, client = this process):\n");
  eddy::bench::print_cpu_table(g_cpu_rows);
  return 0;
}

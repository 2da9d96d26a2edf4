// Helpers shared by the benchmarks that run the real `eddy serve` and drive it with librdkafka
// (kafka_bench, group_bench): fatal errors with clean-up, progress lines, CPU time of the server
// and of the client, librdkafka clients and topics, the raw fdatasync yardstick and a
// description of the machine.
#pragma once

#include <librdkafka/rdkafka.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace eddy::testing {
class EddyProcess;
}

namespace eddy::bench {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Errors and progress.

// The prefix of die()'s message ("kafka_bench").
void set_program_name(const std::string& name);
// The server die() kills (SIGKILL) and whose data directory it removes; nullptr once stopped.
// exit() skips main's destructors, so this is how an abandoned run cleans up.
void set_server(eddy::testing::EddyProcess* server);
// Runs before the server is killed, in registration order (e.g. to kill other children).
void at_die(std::function<void()> cleanup);
[[noreturn]] void die(const std::string& what);
[[noreturn]] void die_errno(const std::string& what);

double seconds_since(Clock::time_point start);
// Prints "running: <what>" and flushes.
void step(const std::string& what);

// ---------------------------------------------------------------------------------------------
// Processes: CPU time and memory.

// utime + stime of `pid` (all its threads) from /proc/PID/stat, in seconds.
double process_cpu_s(pid_t pid);
// utime + stime of this process (all threads, librdkafka's included), in seconds.
double self_cpu_s();
// A /proc/PID/status field in kB ("VmRSS", "VmHWM"), as MB (10^6 bytes); -1 when missing.
double status_mb(pid_t pid, const std::string& key);

// Wall time and CPU of the server and of this process (the client) over one phase.
class CpuMeter {
 public:
  explicit CpuMeter(pid_t server) : server_(server) { reset(); }
  void reset();
  struct Sample {
    double wall = 0, server = 0, client = 0;
    Sample& operator+=(const Sample& other);
  };
  Sample sample() const;

 private:
  pid_t server_;
  Clock::time_point start_;
  double server0_ = 0, client0_ = 0;
};

struct CpuRow {
  std::string phase;
  CpuMeter::Sample s;
};
// Prints a Markdown table: wall s, server and client CPU s and cores per phase.
void print_cpu_table(const std::vector<CpuRow>& rows);

// ---------------------------------------------------------------------------------------------
// librdkafka clients.

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Kafka = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using Settings = std::vector<std::pair<std::string, std::string>>;

// A client of `bootstrap` with `settings`; `configure` may add callbacks and an opaque to the
// configuration before the client is created. Dies on any error.
Kafka make_client(rd_kafka_type_t type, const std::string& bootstrap, const Settings& settings,
                  const std::function<void(rd_kafka_conf_t*)>& configure = {});

// Creates `name` (replication factor 1) with the admin API; dies unless it succeeds.
void create_topic(const std::string& bootstrap, const std::string& name, int partitions,
                  const Settings& configs = {});
// Sets these configs of a topic with AlterConfigs (which replaces the topic's whole set of
// overrides); dies on failure.
void alter_topic_configs(const std::string& bootstrap, const std::string& name,
                         const Settings& configs);

// Asks for the topic's metadata so a timed phase does not start with a lookup.
void warm_metadata(rd_kafka_t* rk, const std::string& topic);

// ---------------------------------------------------------------------------------------------
// Machine limits and description.

struct RawSync {
  double bytes = 0;
  long syncs = 0;
  double seconds = 0;
  double cpu_s = 0;  // CPU time of the looping thread (user + system)
  double mbps() const { return bytes / seconds / 1e6; }
  double syncs_per_s() const { return static_cast<double>(syncs) / seconds; }
};

// Raw sequential writes of `write_size` bytes at the end of a fresh file in `dir`, each followed
// by fdatasync (so every sync also commits the growing size), for `seconds`: the yardstick of
// bench/storage_bench.cc, on the file system of the broker's data directory.
RawSync raw_fdatasync(const std::string& dir, size_t write_size, double seconds);

// CPUs, memory, the data directory's file system and the load average before the run.
std::string machine_summary(const std::string& data_dir);

}  // namespace eddy::bench

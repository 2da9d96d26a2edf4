#include "bench_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "eddy_process.h"

namespace eddy::bench {

namespace fs = std::filesystem;

namespace {

std::string g_program = "bench";
eddy::testing::EddyProcess* g_server = nullptr;
std::vector<std::function<void()>> g_cleanups;

double ticks_to_s(unsigned long long ticks) {
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double timeval_s(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// utime + stime of the calling thread.
double thread_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return timeval_s(ru.ru_utime) + timeval_s(ru.ru_stime);
}

std::string first_line_of(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) return line;
  }
  return "";
}

}  // namespace

void set_program_name(const std::string& name) {
  g_program = name;
}

void set_server(eddy::testing::EddyProcess* server) {
  g_server = server;
}

void at_die(std::function<void()> cleanup) {
  g_cleanups.push_back(std::move(cleanup));
}

void die(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s: %s\n", g_program.c_str(), what.c_str());
  for (const auto& cleanup : g_cleanups)
    cleanup();
  if (g_server) {
    g_server->stop(SIGKILL, std::chrono::seconds(10));
    std::error_code ignored;
    fs::remove_all(g_server->data_dir(), ignored);
  }
  std::exit(1);
}

void die_errno(const std::string& what) {
  die(what + ": " + std::strerror(errno));
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void step(const std::string& what) {
  std::printf("running: %s\n", what.c_str());
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// Processes.

double process_cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may contain spaces: fields are counted after its closing ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return ticks_to_s(utime + stime);
}

double self_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return timeval_s(ru.ru_utime) + timeval_s(ru.ru_stime);
}

double status_mb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + ":") == 0) {
      return std::stod(line.substr(key.size() + 1)) * 1024 / 1e6;
    }
  }
  return -1;
}

void CpuMeter::reset() {
  start_ = Clock::now();
  server0_ = process_cpu_s(server_);
  client0_ = self_cpu_s();
}

CpuMeter::Sample& CpuMeter::Sample::operator+=(const Sample& other) {
  wall += other.wall;
  server += other.server;
  client += other.client;
  return *this;
}

CpuMeter::Sample CpuMeter::sample() const {
  return {seconds_since(start_), process_cpu_s(server_) - server0_, self_cpu_s() - client0_};
}

void print_cpu_table(const std::vector<CpuRow>& rows) {
  std::printf("| phase | wall s | server CPU s | client CPU s | server cores | client cores |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const auto& row : rows) {
    std::printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", row.phase.c_str(), row.s.wall,
                row.s.server, row.s.client, row.s.server / row.s.wall, row.s.client / row.s.wall);
  }
}

// ---------------------------------------------------------------------------------------------
// librdkafka clients.

Kafka make_client(rd_kafka_type_t type, const std::string& bootstrap, const Settings& settings,
                  const std::function<void(rd_kafka_conf_t*)>& configure) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      die("config " + k + "=" + v + ": " + err);
    }
  };
  set("bootstrap.servers", bootstrap);
  for (const auto& [k, v] : settings)
    set(k, v);
  if (configure) configure(conf);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (!rk) die(std::string("rd_kafka_new: ") + err);
  return Kafka(rk);
}

void create_topic(const std::string& bootstrap, const std::string& name, int partitions,
                  const Settings& configs) {
  Kafka admin = make_client(RD_KAFKA_PRODUCER, bootstrap, {});
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, nullptr, 0);
  for (const auto& [k, v] : configs)
    rd_kafka_NewTopic_set_config(topic, k.c_str(), v.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.get());
  rd_kafka_CreateTopics(admin.get(), &topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  if (!event) die("CreateTopics timed out");
  const auto* result = rd_kafka_event_CreateTopics_result(event);
  size_t n = 0;
  const rd_kafka_topic_result_t** topics =
      result ? rd_kafka_CreateTopics_result_topics(result, &n) : nullptr;
  if (n != 1 || rd_kafka_topic_result_error(topics[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    die("CreateTopics " + name + " failed: " +
        (n == 1 ? rd_kafka_topic_result_error_string(topics[0])
                : rd_kafka_event_error_string(event)));
  }
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
}

void alter_topic_configs(const std::string& bootstrap, const std::string& name,
                         const Settings& configs) {
  Kafka admin = make_client(RD_KAFKA_PRODUCER, bootstrap, {});
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str());
  for (const auto& [k, v] : configs)
    rd_kafka_ConfigResource_set_config(resource, k.c_str(), v.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin.get());
  rd_kafka_AlterConfigs(admin.get(), &resource, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  if (!event) die("AlterConfigs timed out");
  const auto* result = rd_kafka_event_AlterConfigs_result(event);
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources =
      result ? rd_kafka_AlterConfigs_result_resources(result, &n) : nullptr;
  if (n != 1 || rd_kafka_ConfigResource_error(resources[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    die("AlterConfigs " + name + " failed: " +
        (n == 1 ? rd_kafka_ConfigResource_error_string(resources[0])
                : rd_kafka_event_error_string(event)));
  }
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_ConfigResource_destroy(resource);
}

void warm_metadata(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("metadata");
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
}

// ---------------------------------------------------------------------------------------------
// Machine limits and description.

RawSync raw_fdatasync(const std::string& dir, size_t write_size, double seconds) {
  const std::string path = dir + "/raw-fdatasync.dat";
  std::vector<char> buf(write_size);
  for (size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<char>((i * 131 + 7) & 0xff);
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die_errno("open " + path);
  ::sync();  // not paying for earlier phases' dirty pages
  RawSync r;
  size_t written = 0;
  const double cpu0 = thread_cpu_s();
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    for (size_t done = 0; done < buf.size();) {
      const ssize_t n =
          ::pwrite(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(written + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) die_errno("pwrite " + path);
      done += static_cast<size_t>(n);
    }
    if (::fdatasync(fd) != 0) die_errno("fdatasync " + path);
    written += buf.size();
    ++r.syncs;
  }
  r.seconds = seconds_since(start);
  r.cpu_s = thread_cpu_s() - cpu0;
  r.bytes = static_cast<double>(written);
  ::close(fd);
  fs::remove(path);
  return r;
}

std::string machine_summary(const std::string& data_dir) {
  std::ostringstream out;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string cpus((std::istreambuf_iterator<char>(cpuinfo)), std::istreambuf_iterator<char>());
  std::ifstream meminfo("/proc/meminfo");
  std::string mem((std::istreambuf_iterator<char>(meminfo)), std::istreambuf_iterator<char>());
  std::string model = first_line_of(cpus, "model name");
  if (const size_t c = model.find(':'); c != std::string::npos) model = model.substr(c + 2);
  out << "cpus: " << std::thread::hardware_concurrency() << " (" << model << ")\n";
  out << first_line_of(mem, "MemTotal") << "\n";
  struct statvfs st {};
  if (::statvfs(data_dir.c_str(), &st) == 0) {
    out << "data dir " << data_dir << ": " << static_cast<double>(st.f_blocks) * st.f_frsize / 1e9
        << " GB file system, " << static_cast<double>(st.f_bavail) * st.f_frsize / 1e9
        << " GB available\n";
  }
  double load[3] = {};
  if (::getloadavg(load, 3) == 3) {
    out << "load average before the run: " << load[0] << " " << load[1] << " " << load[2] << "\n";
  }
  return out.str();
}

}  // namespace eddy::bench

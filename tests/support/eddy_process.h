// Runs the real `eddy serve` as a child process for integration tests: a temporary data
// directory, a free Kafka port read back from the server's log, and bounded waits driven by
// pipe readiness (never sleeps). Once the server listens, a thread keeps reading its log, so a
// chatty server never blocks on a full pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace eddy::testing {

class EddyProcess {
 public:
  // `binary` is the eddy executable; `extra_args` go after `serve --data-dir ... --kafka-listen`.
  explicit EddyProcess(std::string binary, std::vector<std::string> extra_args = {});
  ~EddyProcess();  // kills the child if still running and removes the data directory
  EddyProcess(const EddyProcess&) = delete;
  EddyProcess& operator=(const EddyProcess&) = delete;

  // Starts the server and waits until it listens. False (with log() explaining) on failure.
  bool start(std::chrono::seconds timeout = std::chrono::seconds(30));
  // Sends `signal` and waits for the exit; returns the exit code, or -1 when it died abnormally
  // or did not exit in time.
  int stop(int signal, std::chrono::seconds timeout = std::chrono::seconds(30));

  int kafka_port() const { return port_; }
  int pg_port() const { return pg_port_; }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return data_dir_; }
  // Everything the server wrote to stderr so far.
  std::string log() const;
  bool running();

 private:
  bool pump(std::chrono::steady_clock::time_point deadline, const std::string& needle);
  void drain();
  void join_drain();

  std::string binary_;
  std::vector<std::string> extra_args_;
  std::string data_dir_;
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  int port_ = 0;
  int pg_port_ = 0;
  mutable std::mutex log_mu_;
  std::condition_variable log_eof_cv_;
  bool log_eof_ = false;
  std::string log_;
  std::thread drain_;
};

}  // namespace eddy::testing

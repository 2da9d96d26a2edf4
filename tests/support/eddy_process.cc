#include "eddy_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

extern char** environ;

namespace eddy::testing {

EddyProcess::EddyProcess(std::string binary, std::vector<std::string> extra_args)
    : binary_(std::move(binary)), extra_args_(std::move(extra_args)) {
  char tmpl[] = "/tmp/eddy-it-XXXXXX";
  data_dir_ = ::mkdtemp(tmpl);
}

EddyProcess::~EddyProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  join_drain();  // the killed child's pipe reaches EOF
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
  std::error_code ignored;
  std::filesystem::remove_all(data_dir_, ignored);
}

std::string EddyProcess::log() const {
  std::lock_guard lock(log_mu_);
  return log_;
}

void EddyProcess::join_drain() {
  if (drain_.joinable()) drain_.join();
}

void EddyProcess::drain() {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(stderr_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(log_mu_);
    if (n <= 0) {
      log_eof_ = true;
      log_eof_cv_.notify_all();
      return;
    }
    log_.append(buf, static_cast<size_t>(n));
  }
}

bool EddyProcess::start(std::chrono::seconds timeout) {
  join_drain();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return false;
  std::vector<std::string> args = {
      binary_,       "serve",          "--data-dir",
      data_dir_,     "--kafka-listen", port_ ? "127.0.0.1:" + std::to_string(port_) : "127.0.0.1:0",
      "--pg-listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "EDDY_", 5) != 0) env.emplace_back(*e);
  }
  std::vector<char*> argv, envp;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(pipe_fds[1], 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
  stderr_fd_ = pipe_fds[0];
  {
    std::lock_guard lock(log_mu_);
    log_.clear();
    log_eof_ = false;
  }
  const bool listening = pump(std::chrono::steady_clock::now() + timeout, "kafka on ");
  drain_ = std::thread([this] { drain(); });
  if (!listening) return false;
  // "kafka on HOST:PORT" (the last line of start-up; "pgwire on HOST:PORT" comes before it):
  // the port is the digits after the last ':' of that word.
  const std::string text = log();
  auto port_after = [&text](const std::string& label) {
    const size_t found = text.find(label);
    if (found == std::string::npos) return 0;
    const size_t at = found + label.size();
    const size_t end = text.find_first_of(" \n", at);
    const size_t colon = text.rfind(':', end);
    if (colon == std::string::npos || colon < at) return 0;
    return std::atoi(text.substr(colon + 1, end - colon - 1).c_str());
  };
  port_ = port_after("kafka on ");
  pg_port_ = port_after("pgwire on ");
  return port_ > 0;
}

// Before the drain thread runs: reads stderr until `needle` shows up with its line complete
// (true) or EOF/deadline (false).
bool EddyProcess::pump(std::chrono::steady_clock::time_point deadline, const std::string& needle) {
  for (;;) {
    {
      std::lock_guard lock(log_mu_);
      const size_t found = log_.find(needle);
      if (found != std::string::npos && log_.find('\n', found) != std::string::npos) return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd pfd{stderr_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(stderr_fd_, buf, sizeof(buf));
    if (n <= 0) return false;
    std::lock_guard lock(log_mu_);
    log_.append(buf, static_cast<size_t>(n));
  }
}

bool EddyProcess::running() {
  if (pid_ <= 0) return false;
  int status;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int EddyProcess::stop(int signal, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  // The log reaching EOF means the server closed stderr on its way out: no sleeping.
  bool eof;
  {
    std::unique_lock lock(log_mu_);
    eof = log_eof_cv_.wait_for(lock, timeout, [this] { return log_eof_; });
  }
  int status = 0;
  pid_t done = eof ? ::waitpid(pid_, &status, 0) : 0;
  if (done != pid_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    join_drain();
    return -1;
  }
  pid_ = -1;
  join_drain();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace eddy::testing

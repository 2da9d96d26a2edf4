// Process-level tests: run the real eddy binary as a child and observe it only through its exit
// status, stdout and stderr, as an operator or supervisor would. Every wait is bounded by a
// deadline and driven by pipe readiness, never by sleeping.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kStartTimeout = 20s;  // generous: sanitizer builds start slowly on busy hosts
constexpr auto kExitTimeout = 20s;

struct Child {
  pid_t pid = -1;
  int out = -1;  // child's stdout
  int err = -1;  // child's stderr
  std::string out_text;
  std::string err_text;
  bool out_eof = false;
  bool err_eof = false;

  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out >= 0) close(out);
    if (err >= 0) close(err);
  }
};

// Starts EDDY_BINARY with `args`. The child's environment is ours minus every EDDY_* variable
// (so a developer's shell cannot leak into the test) plus `extra_env`.
void spawn(Child& child, const std::vector<std::string>& args,
           const std::vector<std::string>& extra_env = {}) {
  int out_pipe[2];
  int err_pipe[2];
  ASSERT_EQ(pipe2(out_pipe, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "EDDY_", 5) != 0) env_strings.emplace_back(*e);
  }
  // Tests run in parallel: every server takes free Kafka and pgwire ports unless a test says
  // otherwise (a fixed default port would collide with another test's server).
  env_strings.emplace_back("EDDY_KAFKA_LISTEN=127.0.0.1:0");
  env_strings.emplace_back("EDDY_PG_LISTEN=127.0.0.1:0");
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);

  std::vector<std::string> argv_strings{EDDY_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings)
    argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  child.pid = pid;
  child.out = out_pipe[0];
  child.err = err_pipe[0];
}

// Reads whatever is available on the child's pipes until `done()` holds or the deadline passes.
template <typename Pred>
bool pump_until(Child& child, Clock::time_point deadline, Pred done) {
  while (!done()) {
    if (child.out_eof && child.err_eof) return done();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{child.out_eof ? -1 : child.out, POLLIN, 0},
                     {child.err_eof ? -1 : child.err, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      std::string& text = i == 0 ? child.out_text : child.err_text;
      bool& eof = i == 0 ? child.out_eof : child.err_eof;
      if (got <= 0) {
        eof = true;
      } else {
        text.append(buf, static_cast<size_t>(got));
      }
    }
  }
  return true;
}

// Waits for the child to close both pipes (i.e. exit) and returns its exit code, or -1 on
// timeout or abnormal termination.
int wait_exit(Child& child, std::chrono::seconds timeout) {
  bool closed =
      pump_until(child, Clock::now() + timeout, [&] { return child.out_eof && child.err_eof; });
  if (!closed) {
    ADD_FAILURE() << "eddy did not exit within " << timeout.count() << "s; stderr:\n"
                  << child.err_text;
    return -1;
  }
  int status = 0;
  EXPECT_EQ(waitpid(child.pid, &status, 0), child.pid);
  child.pid = -1;
  if (!WIFEXITED(status)) {
    ADD_FAILURE() << "eddy terminated abnormally, status " << status << "; stderr:\n"
                  << child.err_text;
    return -1;
  }
  return WEXITSTATUS(status);
}

bool wait_for_stderr(Child& child, const std::string& needle) {
  return pump_until(child, Clock::now() + kStartTimeout,
                    [&] { return child.err_text.find(needle) != std::string::npos; });
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "eddy-process-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(ProcessTest, VersionPrintsVersionAndExitsZero) {
  Child child;
  ASSERT_NO_FATAL_FAILURE(spawn(child, {"version"}));
  EXPECT_EQ(wait_exit(child, kExitTimeout), 0);
  EXPECT_EQ(child.out_text, std::string("eddy ") + EDDY_EXPECTED_VERSION + "\n");
}

class ServeSignalTest : public ProcessTest, public ::testing::WithParamInterface<int> {};

TEST_P(ServeSignalTest, ServeCreatesDataDirAndExitsCleanlyOnSignal) {
  const fs::path data = dir_ / "data";  // does not exist yet: serve must create it
  Child child;
  ASSERT_NO_FATAL_FAILURE(spawn(child, {"serve", "--data-dir", data.string()}));
  ASSERT_TRUE(wait_for_stderr(child, "eddy serving")) << child.err_text;
  EXPECT_NE(child.err_text.find(data.string()), std::string::npos) << child.err_text;
  EXPECT_TRUE(fs::is_directory(data));

  EXPECT_FALSE(fs::exists(data / ".clean_shutdown"));  // removed while running

  ASSERT_EQ(kill(child.pid, GetParam()), 0);
  EXPECT_EQ(wait_exit(child, kExitTimeout), 0);
  EXPECT_NE(child.err_text.find("shutdown complete"), std::string::npos) << child.err_text;
  EXPECT_TRUE(fs::exists(data / ".clean_shutdown"));
}

INSTANTIATE_TEST_SUITE_P(Signals, ServeSignalTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) {
                           return info.param == SIGTERM ? "SIGTERM" : "SIGINT";
                         });

TEST_F(ProcessTest, DataDirCanComeFromEnvironment) {
  const fs::path data = dir_ / "env-data";
  Child child;
  ASSERT_NO_FATAL_FAILURE(spawn(child, {"serve"}, {"EDDY_DATA_DIR=" + data.string()}));
  ASSERT_TRUE(wait_for_stderr(child, "eddy serving")) << child.err_text;
  EXPECT_TRUE(fs::is_directory(data));
  ASSERT_EQ(kill(child.pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(child, kExitTimeout), 0);
}

TEST_F(ProcessTest, BadFlagExitsWithUsageError) {
  Child child;
  ASSERT_NO_FATAL_FAILURE(spawn(child, {"serve", "--no-such-flag", "1"}));
  EXPECT_EQ(wait_exit(child, kExitTimeout), 2);
  EXPECT_NE(child.err_text.find("no-such-flag"), std::string::npos) << child.err_text;
}

TEST_F(ProcessTest, MissingSubcommandExitsNonZero) {
  Child child;
  ASSERT_NO_FATAL_FAILURE(spawn(child, {}));
  EXPECT_EQ(wait_exit(child, kExitTimeout), 2);
}

TEST_F(ProcessTest, UnknownConfigKeyExitsWithUsageError) {
  const fs::path config = dir_ / "eddy.yaml";
  std::ofstream(config) << "data-dir: " << (dir_ / "data").string() << "\nbogus-key: 1\n";
  Child child;
  ASSERT_NO_FATAL_FAILURE(spawn(child, {"serve", "--config", config.string()}));
  EXPECT_EQ(wait_exit(child, kExitTimeout), 2);
  EXPECT_NE(child.err_text.find("bogus-key"), std::string::npos) << child.err_text;
  EXPECT_NE(child.err_text.find(config.string()), std::string::npos) << child.err_text;
  EXPECT_FALSE(fs::exists(dir_ / "data"));  // rejected before touching anything
}

TEST_F(ProcessTest, SecondServerOnTheSameDataDirExitsAtOnceNamingTheHolder) {
  const fs::path data = dir_ / "data";
  Child first;
  ASSERT_NO_FATAL_FAILURE(spawn(first, {"serve", "--data-dir", data.string()}));
  ASSERT_TRUE(wait_for_stderr(first, "eddy serving")) << first.err_text;

  Child second;
  ASSERT_NO_FATAL_FAILURE(spawn(second, {"serve", "--data-dir", data.string()}));
  EXPECT_NE(wait_exit(second, kExitTimeout), 0);
  EXPECT_NE(second.err_text.find(data.string()), std::string::npos) << second.err_text;
  EXPECT_NE(second.err_text.find("pid " + std::to_string(first.pid)), std::string::npos)
      << second.err_text;

  ASSERT_EQ(kill(first.pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(first, kExitTimeout), 0);
}

TEST_F(ProcessTest, RestartAfterKillIsReportedAsUncleanAndAfterSigtermAsClean) {
  const fs::path data = dir_ / "data";
  {
    Child child;
    ASSERT_NO_FATAL_FAILURE(spawn(child, {"serve", "--data-dir", data.string()}));
    ASSERT_TRUE(wait_for_stderr(child, "eddy serving")) << child.err_text;
    ASSERT_EQ(kill(child.pid, SIGTERM), 0);
    EXPECT_EQ(wait_exit(child, kExitTimeout), 0);
  }
  {
    Child child;
    ASSERT_NO_FATAL_FAILURE(spawn(child, {"serve", "--data-dir", data.string()}));
    ASSERT_TRUE(wait_for_stderr(child, "eddy serving")) << child.err_text;
    EXPECT_NE(child.err_text.find("(clean stop)"), std::string::npos) << child.err_text;
    ASSERT_EQ(kill(child.pid, SIGKILL), 0);
    ASSERT_EQ(waitpid(child.pid, nullptr, 0), child.pid);
    child.pid = -1;
  }
  Child child;
  ASSERT_NO_FATAL_FAILURE(spawn(child, {"serve", "--data-dir", data.string()}));
  ASSERT_TRUE(wait_for_stderr(child, "eddy serving")) << child.err_text;
  EXPECT_NE(child.err_text.find("(unclean stop)"), std::string::npos) << child.err_text;
  ASSERT_EQ(kill(child.pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(child, kExitTimeout), 0);
}

}  // namespace

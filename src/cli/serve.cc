#include "cli/serve.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <system_error>

#include "cli/logging.h"

namespace eddy::cli {
namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

int run_serve(const ServeConfig& config) {
  init_logging(config.log_level);  // synchronous logger: starts no thread

  // Blocked before any thread exists so every thread created below inherits the mask and the
  // signals stay pending until sigwait() collects them.
  const sigset_t signals = shutdown_signals();
  if (int rc = pthread_sigmask(SIG_BLOCK, &signals, nullptr); rc != 0) {
    spdlog::error("cannot block shutdown signals: {}", std::strerror(rc));
    return 1;
  }

  if (!config.config_file.empty()) spdlog::info("config file {}", config.config_file);
  for (const auto& spec : serve_options())
    spdlog::debug("{} = {}", spec.name, spec.show(config));

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data dir {}: {}", config.data_dir, ec.message());
    return 1;
  }

  // ---- STORAGE ENGINE: open ------------------------------------------------------------------
  // Open the log manager on config.data_dir here (it recovers segments and takes the directory
  // lock). On error: spdlog::error(...) and return 1. Keep the handle in this scope so the
  // close below runs after the signal.
  // ----------------------------------------------------------------------------------------------

  spdlog::info("eddy serving, data dir {}", config.data_dir);

  int signal_number = 0;
  if (int rc = sigwait(&signals, &signal_number); rc != 0) {
    spdlog::error("sigwait failed: {}", std::strerror(rc));
    return 1;
  }
  spdlog::info("received {}, shutting down", strsignal(signal_number));

  // ---- STORAGE ENGINE: close -----------------------------------------------------------------
  // Stop background work (flusher, retention), flush and close the log manager here; a failed
  // close should be logged and turn the exit code into 1.
  // ----------------------------------------------------------------------------------------------

  spdlog::info("shutdown complete");
  return 0;
}

}  // namespace eddy::cli

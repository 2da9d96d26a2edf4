#include "cli/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace eddy::cli {

void init_logging(const std::string& level) {
  // Plain (uncoloured) sink: output is often a pipe read by tests or a supervisor.
  auto logger =
      std::make_shared<spdlog::logger>("eddy", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace eddy::cli

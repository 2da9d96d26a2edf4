// Process-wide logging setup for the eddy binary.
//
// Logs go to stderr (stdout is reserved for command output such as `eddy version`), one line per
// event with a timestamp and level. Level names are the ones accepted by --log-level.
#pragma once

#include <string>

namespace eddy::cli {

void init_logging(const std::string& level);

}  // namespace eddy::cli

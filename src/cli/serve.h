// `eddy serve`: brings the server up, waits for SIGINT/SIGTERM, and takes it down in order.
//
// Signal handling is synchronous: the signals are blocked process-wide before any thread exists
// and collected with sigwait() on the calling thread, so shutdown runs as ordinary code rather
// than inside an async-signal handler, and no worker thread is ever interrupted by them.
#pragma once

#include "cli/config.h"

namespace eddy::cli {

// Must be called before the process starts any thread (threads inherit the signal mask that
// routes SIGINT/SIGTERM to this thread). Returns the process exit code.
int run_serve(const ServeConfig& config);

}  // namespace eddy::cli

// Command-line front end of the eddy binary: parses argv into a subcommand and runs it.
//
// Kept out of main.cc so the whole command surface links into eddy_cli and can be exercised
// in-process. Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#pragma once

namespace eddy::cli {

inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitUsage = 2;

const char* version();

int run_cli(int argc, char** argv);

}  // namespace eddy::cli

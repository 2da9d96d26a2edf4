#include "cli/app.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/config.h"
#include "cli/serve.h"

namespace eddy::cli {

const char* version() {
  return EDDY_VERSION;
}

int run_cli(int argc, char** argv) {
  CLI::App app{"Eddy: Kafka-compatible durable log with streaming SQL", "eddy"};
  app.require_subcommand(1);

  app.add_subcommand("version", "Print the version and exit");

  CLI::App* serve = app.add_subcommand("serve", "Run the server until SIGINT/SIGTERM");
  std::string config_path;
  CLI::Option* config_opt = serve->add_option(
      "--" + std::string(kConfigFlag), config_path,
      "YAML config file with dashed keys (env " + env_var_name(kConfigFlag) + ")");
  config_opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  // One flag per table row; values stay raw text here so that flags, env and YAML all go
  // through the same parser in load_serve_config.
  const ServeConfig defaults;
  std::deque<std::string> values;
  std::vector<std::pair<std::string, CLI::Option*>> flag_options;
  for (const auto& spec : serve_options()) {
    std::string& value = values.emplace_back();
    CLI::Option* opt = serve->add_option(
        "--" + spec.name, value,
        spec.help + " (env " + env_var_name(spec.name) + ", default " + spec.show(defaults) + ")");
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    flag_options.emplace_back(spec.name, opt);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }

  if (app.got_subcommand("version")) {
    std::printf("eddy %s\n", version());
    return 0;
  }

  ConfigSources sources;
  if (config_opt->count() > 0) sources.config_path = config_path;
  for (size_t i = 0; i < flag_options.size(); ++i) {
    if (flag_options[i].second->count() > 0) sources.flags[flag_options[i].first] = values[i];
  }
  Result<ServeConfig> config = load_serve_config(sources);
  if (!config.ok()) {
    std::fprintf(stderr, "eddy serve: %s\n", config.error().message().c_str());
    return kExitUsage;
  }
  return run_serve(*config);
}

}  // namespace eddy::cli

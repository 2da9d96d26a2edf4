#include "cli/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace eddy::cli {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "eddy-config-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_yaml(const std::string& text) {
    std::string path = (dir_ / "eddy.yaml").string();
    std::ofstream(path) << text;
    return path;
  }

  ConfigSources sources() {
    ConfigSources s;
    s.env = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    return s;
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, DefaultsWhenNothingIsSet) {
  auto config = load_serve_config(sources());
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->data_dir, "./eddy-data");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->segment_bytes, 1073741824);
  EXPECT_EQ(config->segment_ms, 604800000);
  EXPECT_EQ(config->retention_ms, 604800000);
  EXPECT_EQ(config->retention_bytes, -1);
  EXPECT_EQ(config->flush_messages, 1);
  EXPECT_EQ(config->flush_ms, -1);
  EXPECT_EQ(config->max_open_files, 256);
  EXPECT_EQ(config->retention_check_interval_ms, 60000);
  EXPECT_EQ(config->producer_id_expiration_ms, 86400000);  // Kafka's defaults
  EXPECT_EQ(config->transactional_id_expiration_ms, 604800000);
  EXPECT_TRUE(config->config_file.empty());
}

TEST_F(ConfigTest, EnvVarNamesDeriveFromOptionNames) {
  EXPECT_EQ(env_var_name("data-dir"), "EDDY_DATA_DIR");
  EXPECT_EQ(env_var_name("retention-check-interval-ms"), "EDDY_RETENTION_CHECK_INTERVAL_MS");
}

TEST_F(ConfigTest, PrecedenceIsFlagThenEnvThenFileThenDefault) {
  auto s = sources();
  s.config_path = write_yaml(
      "data-dir: /from-file\n"
      "log-level: warn\n"
      "segment-bytes: 1000\n"
      "retention-ms: 5\n");
  env_["EDDY_DATA_DIR"] = "/from-env";
  env_["EDDY_LOG_LEVEL"] = "debug";
  env_["EDDY_SEGMENT_BYTES"] = "2000";
  s.flags["data-dir"] = "/from-flag";

  auto config = load_serve_config(s);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->data_dir, "/from-flag");  // flag beats env and file
  EXPECT_EQ(config->log_level, "debug");      // env beats file
  EXPECT_EQ(config->segment_bytes, 2000);     // env beats file
  EXPECT_EQ(config->retention_ms, 5);         // file beats default
  EXPECT_EQ(config->flush_messages, 1);       // default
  EXPECT_EQ(config->config_file, *s.config_path);
}

TEST_F(ConfigTest, ConfigPathComesFromEnvWhenNoFlag) {
  env_["EDDY_CONFIG"] = write_yaml(
      "max-open-files: 7\nproducer-id-expiration-ms: 1000\ntransactional-id-expiration-ms: 2000\n");
  auto config = load_serve_config(sources());
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->max_open_files, 7);
  EXPECT_EQ(config->producer_id_expiration_ms, 1000);
  EXPECT_EQ(config->transactional_id_expiration_ms, 2000);
}

TEST_F(ConfigTest, EmptyConfigFileKeepsDefaults) {
  auto s = sources();
  s.config_path = write_yaml("# nothing set\n");
  auto config = load_serve_config(s);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->data_dir, "./eddy-data");
}

TEST_F(ConfigTest, UnknownYamlKeyIsRejectedWithKeyAndFile) {
  auto s = sources();
  s.config_path = write_yaml("data-dir: /x\nsegment-byte: 10\n");
  auto config = load_serve_config(s);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.error().message().find("segment-byte"), std::string::npos);
  EXPECT_NE(config.error().message().find(*s.config_path + ":2"), std::string::npos)
      << config.error().message();
}

TEST_F(ConfigTest, BadValuesAreRejectedNamingTheSource) {
  struct Case {
    std::string yaml;
    std::string expect;
  };
  for (const Case& c :
       {Case{"segment-bytes: lots\n", "segment-bytes"}, Case{"segment-bytes: 0\n", "segment-bytes"},
        Case{"retention-ms: -2\n", "retention-ms"},
        Case{"producer-id-expiration-ms: 0\n", "producer-id-expiration-ms"},
        Case{"flush-ms: 99999999999999999999\n", "out of range"},
        Case{"log-level: loud\n", "trace|debug|info|warn|error"},
        Case{"data-dir: [a, b]\n", "data-dir"}, Case{"data-dir:\n", "data-dir"},
        Case{"- just\n- a list\n", "mapping"}, Case{"data-dir: /a\ndata-dir: /b\n", "duplicate"},
        Case{"data-dir: [unclosed\n", "malformed YAML"}}) {
    auto s = sources();
    s.config_path = write_yaml(c.yaml);
    auto config = load_serve_config(s);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument) << c.yaml;
    EXPECT_NE(config.error().message().find(c.expect), std::string::npos)
        << c.yaml << " -> " << config.error().message();
  }
}

TEST_F(ConfigTest, BadEnvValueNamesTheVariable) {
  env_["EDDY_FLUSH_MESSAGES"] = "0";
  auto config = load_serve_config(sources());
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message().find("EDDY_FLUSH_MESSAGES"), std::string::npos);
}

TEST_F(ConfigTest, BadFlagValueNamesTheFlag) {
  auto s = sources();
  s.flags["retention-bytes"] = "12x";
  auto config = load_serve_config(s);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message().find("--retention-bytes"), std::string::npos);
}

TEST_F(ConfigTest, MissingConfigFileIsNotFound) {
  auto s = sources();
  s.config_path = (dir_ / "absent.yaml").string();
  auto config = load_serve_config(s);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(config.error().message().find("absent.yaml"), std::string::npos);
}

TEST_F(ConfigTest, EveryOptionParsesItsOwnDefault) {
  // Guards the table: a row whose default cannot be re-read would break config round-trips.
  const ServeConfig defaults;
  for (const auto& spec : serve_options()) {
    ServeConfig c;
    EXPECT_TRUE(spec.parse(c, spec.show(defaults)).ok()) << spec.name;
  }
}

}  // namespace
}  // namespace eddy::cli

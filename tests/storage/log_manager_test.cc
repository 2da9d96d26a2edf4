#include "storage/log_manager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/catalog.h"
#include "storage_test_util.h"

namespace eddy::storage {
namespace {

namespace fs = std::filesystem;
using testing::build_value_batch;

class LogManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<LogManager> open(size_t max_open_files = 256) {
    auto manager = LogManager::open(
        {.data_dir = data_dir(), .max_open_files = max_open_files, .background_threads = false});
    EXPECT_TRUE(manager.ok()) << (manager.ok() ? "" : manager.error().message());
    return manager.ok() ? std::move(*manager) : nullptr;
  }
  std::string data_dir() const { return dir_.path() + "/data"; }
  TempDir dir_;
};

TEST_F(LogManagerTest, TopicsAndDataSurviveRestart) {
  TopicId id;
  {
    auto manager = open();
    auto created = manager->create_topic("orders", 3, {{"retention.ms", "1000"}});
    ASSERT_TRUE(created.ok());
    id = created->id;
    for (int p = 0; p < 3; ++p) {
      auto batch = build_value_batch(p + 1, 10);
      ASSERT_TRUE(manager->partition("orders", p)->append_durable(batch).ok());
    }
    EXPECT_EQ(manager->create_topic("orders", 1).error().code(), ErrorCode::kAlreadyExists);
    EXPECT_EQ(manager->create_topic("bad name!", 1).error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(manager->create_topic("zero", 0).error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(manager->create_topic("cfg", 1, {{"retention.ms", "soon"}}).error().code(),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(manager->create_topic("cfg", 1, {{"no.such", "1"}}).error().code(),
              ErrorCode::kInvalidArgument);
    ASSERT_TRUE(manager->close().ok());
  }
  auto manager = open();
  EXPECT_TRUE(manager->startup_report().clean);
  EXPECT_EQ(manager->startup_report().segments_scanned, 0);
  auto topic = manager->topic("orders");
  ASSERT_TRUE(topic.has_value());
  EXPECT_EQ(topic->id, id);
  EXPECT_EQ(topic->partitions, 3);
  EXPECT_EQ(topic->overrides.at("retention.ms"), "1000");
  EXPECT_EQ(manager->effective_config("orders")->retention_ms, 1000);
  for (int p = 0; p < 3; ++p)
    EXPECT_EQ(manager->partition("orders", p)->log_end_offset(), p + 1);
  EXPECT_EQ(manager->partition("orders", 3), nullptr);
  EXPECT_FALSE(manager->topic("cfg").has_value());
}

TEST_F(LogManagerTest, UncleanStopScansOnlyActiveSegments) {
  {
    auto manager = open();
    ASSERT_TRUE(manager->create_topic("t", 2, {{"segment.bytes", "1024"}}).ok());
    for (int i = 0; i < 30; ++i) {
      auto batch = build_value_batch(1, 100);
      ASSERT_TRUE(manager->partition("t", i % 2)->append_durable(batch).ok());
    }
    // Simulate a crash: the marker is never written. Leak the manager's close by removing the
    // marker after a clean close, which is what a kill leaves behind.
    ASSERT_TRUE(manager->close().ok());
    fs::remove(data_dir() + "/.clean_shutdown");
  }
  auto manager = open();
  EXPECT_FALSE(manager->startup_report().clean);
  EXPECT_EQ(manager->startup_report().segments_scanned, 2);
  EXPECT_GT(manager->startup_report().segments, 2);
  EXPECT_EQ(manager->partition("t", 0)->log_end_offset(), 15);
}

TEST_F(LogManagerTest, SecondOpenOfTheSameDirectoryIsRefusedWithTheHoldersPid) {
  auto first = open();
  auto second = LogManager::open({.data_dir = data_dir(), .background_threads = false});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kBusy);
  EXPECT_NE(second.error().message().find(data_dir()), std::string::npos);
  EXPECT_NE(second.error().message().find(std::to_string(::getpid())), std::string::npos);
  ASSERT_TRUE(first->close().ok());
  EXPECT_NE(open(), nullptr);
}

TEST_F(LogManagerTest, DeleteIsDurableAndNameCanBeReused) {
  {
    auto manager = open();
    ASSERT_TRUE(manager->create_topic("t", 2).ok());
    auto batch = build_value_batch(5, 10);
    ASSERT_TRUE(manager->partition("t", 0)->append_durable(batch).ok());
    ASSERT_TRUE(manager->delete_topic("t").ok());
    EXPECT_EQ(manager->delete_topic("t").error().code(), ErrorCode::kNotFound);
    ASSERT_TRUE(manager->create_topic("t", 1).ok());
    EXPECT_EQ(manager->partition("t", 0)->log_end_offset(), 0);
  }
  auto manager = open();
  EXPECT_EQ(manager->topic("t")->partitions, 1);
  EXPECT_EQ(manager->partition("t", 0)->log_end_offset(), 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(data_dir() + "/topics"), {}), 1);
}

TEST_F(LogManagerTest, DeletedTopicFilesGoInTheBackgroundOnceUnused) {
  auto manager = LogManager::open({.data_dir = data_dir(),
                                   .deleter = {.step_bytes = 4096,
                                               .pause = std::chrono::microseconds(0),
                                               .unused_poll = std::chrono::milliseconds(1)}});
  ASSERT_TRUE(manager.ok());
  ASSERT_TRUE((*manager)->create_topic("gone", 2).ok());
  for (int i = 0; i < 20; ++i) {
    auto batch = build_value_batch(5, 1000);
    ASSERT_TRUE((*manager)->partition("gone", i % 2)->append_durable(batch).ok());
  }
  const std::string topics = data_dir() + "/topics";
  ASSERT_EQ(std::distance(fs::directory_iterator(topics), {}), 1);
  auto held = (*manager)->partition("gone", 1);  // a request still using the partition
  ASSERT_TRUE((*manager)->delete_topic("gone").ok());
  EXPECT_EQ((*manager)->partition("gone", 0), nullptr);
  // Still there: the deleter waits for every partition to be unused.
  EXPECT_EQ(std::distance(fs::directory_iterator(topics), {}), 1);
  held.reset();
  (*manager)->wait_for_deletions();
  EXPECT_EQ(std::distance(fs::directory_iterator(topics), {}), 0);
  ASSERT_TRUE((*manager)->close().ok());
}

TEST_F(LogManagerTest, DirectoriesNotInTheCatalogAreRemovedAtStart) {
  {
    auto manager = open();
    ASSERT_TRUE(manager->create_topic("keep", 1).ok());
  }
  // What a crash before the catalog write of a create leaves behind, and a stray partition.
  fs::create_directories(data_dir() + "/topics/ghost-0123456789abcdef0123456789abcdef/0");
  auto keep_dir = fs::directory_iterator(data_dir() + "/topics")->path().string();
  fs::create_directories(keep_dir + "/7");
  auto manager = open();
  EXPECT_FALSE(fs::exists(data_dir() + "/topics/ghost-0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(fs::exists(keep_dir + "/7"));
  EXPECT_TRUE(manager->topic("keep").has_value());
}

TEST_F(LogManagerTest, CorruptCatalogIsAClearErrorNamingTheFile) {
  {
    auto manager = open();
    ASSERT_TRUE(manager->create_topic("t", 1).ok());
  }
  {
    std::fstream f(data_dir() + "/catalog", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('#');
  }
  auto manager = LogManager::open({.data_dir = data_dir(), .background_threads = false});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(manager.error().message().find(data_dir() + "/catalog"), std::string::npos);
}

TEST_F(LogManagerTest, MissingCatalogBesideTopicDataRefusesToStart) {
  {
    auto manager = open();
    ASSERT_TRUE(manager->create_topic("t", 1).ok());
  }
  fs::remove(data_dir() + "/catalog");
  auto manager = LogManager::open({.data_dir = data_dir(), .background_threads = false});
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(manager.error().message().find("missing"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(data_dir() + "/topics"), {}), 1);  // untouched
}

TEST_F(LogManagerTest, CatalogDecoderRejectsMalformedInput) {
  TopicMap topics;
  topics["a"] = TopicInfo{.name = "a",
                          .id = random_topic_id(),
                          .partitions = 2,
                          .overrides = {{"cleanup.policy", "compact"}}};
  std::string text = encode_catalog(topics);
  auto decoded = decode_catalog(text, "x");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->at("a").overrides.at("cleanup.policy"), "compact");
  for (size_t cut = 0; cut + 1 < text.size(); ++cut) {  // the final newline is optional
    EXPECT_FALSE(decode_catalog(text.substr(0, cut), "x").ok()) << cut;
  }
  EXPECT_FALSE(decode_catalog("", "x").ok());
  EXPECT_FALSE(decode_catalog("crc zzzzzzzz\n", "x").ok());
}

TEST_F(LogManagerTest, ManyPartitionsStayWithinTheOpenFileBudget) {
  auto manager = open(/*max_open_files=*/16);
  ASSERT_TRUE(manager->create_topic("wide", 200, {{"segment.bytes", "512"}}).ok());
  for (int round = 0; round < 3; ++round) {
    for (int p = 0; p < 200; ++p) {
      auto batch = build_value_batch(1, 200);
      ASSERT_TRUE(manager->partition("wide", p)->append_durable(batch).ok());
      ASSERT_LE(manager->file_cache().open_count(), 16u);
    }
  }
  for (int p = 0; p < 200; ++p) {
    auto read = manager->partition("wide", p)->read(1, {});
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(headers_of(read->data).front().base_offset, 1);
  }
  EXPECT_LE(manager->file_cache().open_count(), 16u);
}

TEST_F(LogManagerTest, AlterConfigAndAddPartitions) {
  auto manager = open();
  ASSERT_TRUE(manager->create_topic("t", 1).ok());
  ASSERT_TRUE(manager->set_topic_overrides("t", {{"cleanup.policy", "compact"}}).ok());
  EXPECT_TRUE(manager->partition("t", 0)->config().compacts());
  EXPECT_FALSE(manager->set_topic_overrides("t", {{"segment.bytes", "-5"}}).ok());
  EXPECT_TRUE(manager->partition("t", 0)->config().compacts());
  ASSERT_TRUE(manager->add_partitions("t", 4).ok());
  EXPECT_NE(manager->partition("t", 3), nullptr);
  EXPECT_EQ(manager->add_partitions("t", 2).error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(manager->close().ok());
  manager.reset();
  auto reopened = open();
  EXPECT_EQ(reopened->topic("t")->partitions, 4);
  EXPECT_TRUE(reopened->partition("t", 2)->config().compacts());
}

}  // namespace
}  // namespace eddy::storage

namespace {

bool valid(const std::string& key, const std::string& value) {
  return eddy::storage::TopicConfig::validate(key, value).ok();
}

}  // namespace

TEST(TopicConfigTest, PassiveKeysAreValidatedAsKafkaValidatesThem) {
  using eddy::storage::TopicConfig;
  for (const char* version : {"0.10.0", "0.10.0.0", "0.11.0-IV2", "2.8", "2.8.1", "3.0-IV1", "3.3"})
    EXPECT_TRUE(valid("message.format.version", version)) << version;
  for (const char* version :
       {"banana", "4.1", "0.12.0", "3", "0.10", "3.0-IV", "3.0-IVx", "3..0", ""})
    EXPECT_FALSE(valid("message.format.version", version)) << version;
  EXPECT_TRUE(valid("leader.replication.throttled.replicas", "*"));
  EXPECT_TRUE(valid("leader.replication.throttled.replicas", "0:1, 2:1"));
  EXPECT_TRUE(valid("leader.replication.throttled.replicas", ""));
  EXPECT_FALSE(valid("leader.replication.throttled.replicas", "0:1:2"));
  EXPECT_FALSE(valid("leader.replication.throttled.replicas", "*,0:1"));
  EXPECT_TRUE(valid("preallocate", " TRUE "));
  EXPECT_FALSE(valid("preallocate", "yes"));
  EXPECT_TRUE(valid("min.cleanable.dirty.ratio", "1"));
  EXPECT_FALSE(valid("min.cleanable.dirty.ratio", "1.01"));
  EXPECT_FALSE(valid("min.insync.replicas", "0"));
  EXPECT_FALSE(valid("min.insync.replicas", "2147483648"));
  EXPECT_EQ(TopicConfig::normalize("preallocate", " TRUE "), "true");
  EXPECT_EQ(TopicConfig::normalize("min.cleanable.dirty.ratio", "1"), "1.0");
  EXPECT_EQ(TopicConfig::normalize("cleanup.policy", " compact , delete "), "compact,delete");
  // Every key has a description entry and a stored default.
  const auto described = TopicConfig{}.to_map();
  EXPECT_EQ(described.size(), TopicConfig::keys().size());
  EXPECT_EQ(described.at("message.format.version"), "3.0-IV1");
}

// The storage engine's front door: one data directory, its topics and their partition logs.
//
// Data directory layout:
//   .lock             held (flock) by the running process; holds its pid
//   .clean_shutdown   present only between a clean close and the next open
//   catalog           the topic list (see catalog.h)
//   cluster_id        22 characters, base64url of 16 random bytes, made once
//   producer_ids      the durable producer-id reservation (see producer_ids.h)
//   topics/<name>-<id>/<partition>/   one PartitionLog each (see segment.h)
//
// Opening takes the lock, reads the catalog, removes directories the catalog does not name
// (left by a create or delete that crashed before or after its commit point, the catalog
// write), and opens every partition; after an unclean stop each partition's active segment is
// scanned. A background thread runs interval flushes, retention and compaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/file_io.h"
#include "common/result.h"
#include "storage/broker_config.h"
#include "storage/catalog.h"
#include "storage/durability_waiter.h"
#include "storage/file_cache.h"
#include "storage/file_deleter.h"
#include "storage/partition_log.h"
#include "storage/producer_ids.h"
#include "storage/space_reserve.h"
#include "storage/topic_config.h"

namespace eddy::storage {

struct LogManagerOptions {
  std::string data_dir = "./eddy-data";
  // Broker-wide defaults for every topic config key from the static configuration; dynamic
  // broker configs (set_dynamic_broker_configs) apply on top.
  TopicConfig defaults{};
  size_t max_open_files = 256;
  int64_t retention_check_interval_ms = 60000;
  // Kafka's producer.id.expiration.ms; idle producers are forgotten on the retention interval.
  int64_t producer_id_expiration_ms = 86400000;
  // Also decides whether retention and topic deletion delete files gently (FileDeleter) or
  // at once.
  bool background_threads = true;
  FileDeleterOptions deleter{};
  FileSystem* fs = nullptr;  // null: the POSIX file system
  // Bytes held back in `<data-dir>/disk_reserve` for deletions on a full disk (space_reserve.h);
  // 0: none. Only with the POSIX file system.
  uint64_t disk_reserve_bytes = 0;
  Clock clock = wall_clock_ms;
};

struct StartupReport {
  bool clean = true;
  int partitions = 0;
  int segments = 0;
  int segments_scanned = 0;
  uint64_t bytes_dropped = 0;
  int producers = 0;
};

class LogManager {
 public:
  static Result<std::unique_ptr<LogManager>> open(LogManagerOptions options);
  // Closes (cleanly) if close() was not called.
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  Result<TopicInfo> create_topic(const std::string& name, int32_t partitions,
                                 const ConfigMap& overrides = {});
  Status delete_topic(const std::string& name);
  // Grows a topic to `total` partitions (Kafka's CreatePartitions; shrinking is refused).
  Status add_partitions(const std::string& name, int32_t total);
  // Replaces the topic's overrides (Kafka's AlterConfigs); validated before anything changes.
  Status set_topic_overrides(const std::string& name, const ConfigMap& overrides);

  // Kafka's DeleteRecords on one partition (PartitionLog::delete_records_before); kNotFound when
  // the partition does not exist. Returns the new log start offset.
  Result<int64_t> delete_records(const std::string& topic, int32_t partition, int64_t offset);

  // Frees the disk reserve for a deletion whose write failed on a full disk; true when there
  // was one (then try the write again).
  bool release_disk_reserve() { return reserve_ && reserve_->release(); }

  std::optional<TopicInfo> topic(const std::string& name) const;
  // Like topic(), with a NOT_FOUND error naming the topic.
  Result<TopicInfo> find_topic(const std::string& name) const;
  std::vector<TopicInfo> topics() const;
  Result<TopicConfig> effective_config(const std::string& name) const;
  // Null when the topic or partition does not exist.
  std::shared_ptr<PartitionLog> partition(const std::string& topic, int32_t partition) const;
  // The topic defaults in force: the static ones under the dynamic broker configs.
  TopicConfig defaults() const;
  const TopicConfig& static_defaults() const { return options_.defaults; }
  DynamicBrokerConfigs dynamic_broker_configs() const;
  // Replaces every dynamic value of `scope` (Kafka's AlterConfigs on a BROKER resource), durably,
  // and applies the resulting defaults to every topic; all validated before anything changes.
  Status set_dynamic_broker_configs(BrokerScope scope, const ConfigMap& values);

  // Calls `done` (on a storage thread) once the append is durable or failed.
  void when_durable(std::shared_ptr<PartitionLog> log, const AppendResult& append,
                    std::function<void(Status)> done);
  // Called after any partition's high watermark advances (topic, partition), on the thread that
  // advanced it: observers must be quick and must not append. The Kafka server's (set, and
  // cleared with nullptr) and any number of others (added; removed by the id add returns).
  using VisibilityObserver = std::function<void(const std::string&, int32_t)>;
  void set_visibility_observer(VisibilityObserver observer);
  int add_visibility_observer(VisibilityObserver observer);
  void remove_visibility_observer(int id);

  // One pass of the background work: due interval flushes, retention, compaction.
  void run_maintenance(bool include_retention = true);
  const StartupReport& startup_report() const { return startup_; }
  // A random id made when the data directory is first used and kept in the file `cluster_id`:
  // Kafka clients expect it to stay the same across restarts.
  Result<std::string> cluster_id() const { return cluster_id_; }
  FileCache& file_cache() { return cache_; }
  const std::string& data_dir() const { return options_.data_dir; }

  // A producer id never issued before by this data directory (InitProducerId).
  Result<int64_t> allocate_producer_id();
  // Whether `id` may have been issued by allocate_producer_id, now or in an earlier run.
  bool producer_id_issued(int64_t id) const;

  // Blocks until files handed to the gentle deleter (retention, deleted topics) are gone.
  void wait_for_deletions() {
    if (deleter_) deleter_->wait_idle();
  }

  // Stops background work, flushes every partition, writes indexes and the clean-shutdown
  // marker, and releases the lock.
  Status close();

 private:
  explicit LogManager(LogManagerOptions options, FileSystem& fs);

  Status acquire_lock();
  Status load();
  std::string topic_dir(const TopicInfo& topic) const;
  std::string partition_dir(const TopicInfo& topic, int32_t partition) const;
  Result<std::shared_ptr<PartitionLog>> open_partition(const TopicInfo& topic, int32_t partition,
                                                       bool clean);
  void background_loop();

  LogManagerOptions options_;
  FileSystem& fs_;
  FileCache cache_;
  int lock_fd_ = -1;
  StartupReport startup_;
  std::string cluster_id_;
  std::optional<ProducerIdAllocator> producer_ids_;

  mutable std::shared_mutex mu_;
  std::mutex catalog_mu_;  // serialises catalog changes (taken before mu_)
  TopicMap catalog_;
  DynamicBrokerConfigs dynamic_;  // guarded by mu_, changed under catalog_mu_
  TopicConfig defaults_;          // options_.defaults under dynamic_; guarded by mu_
  std::map<std::string, std::vector<std::shared_ptr<PartitionLog>>> partitions_;
  bool closed_ = false;

  DurabilityWaiter durability_{4};
  // Id 0 is the one set_visibility_observer sets.
  mutable std::shared_mutex observers_mu_;
  std::map<int, VisibilityObserver> observers_;
  int next_observer_ = 1;
  void notify_visible(const std::string& topic, int32_t partition) const;

  std::unique_ptr<FileDeleter> deleter_;   // null without background threads
  std::unique_ptr<SpaceReserve> reserve_;  // null when disabled
  std::thread background_;
  std::mutex background_mu_;
  std::condition_variable background_cv_;
  bool stopping_ = false;
  int64_t last_retention_ms_ = 0;
};

}  // namespace eddy::storage

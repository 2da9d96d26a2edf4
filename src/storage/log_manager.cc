#include "storage/log_manager.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace eddy::storage {
namespace {

constexpr const char* kLockFile = ".lock";
constexpr const char* kCleanMarker = ".clean_shutdown";
constexpr const char* kCatalogFile = "catalog";
constexpr const char* kBrokerConfigsFile = "broker_configs";
constexpr size_t kCloseThreads = 8;
constexpr const char* kTopicsDir = "topics";
constexpr const char* kProducerIdsFile = "producer_ids";
constexpr int32_t kMaxPartitions = 100000;

}  // namespace

LogManager::LogManager(LogManagerOptions options, FileSystem& fs)
    : options_(std::move(options)), fs_(fs), cache_(fs, options_.max_open_files) {}

LogManager::~LogManager() {
  Status closed = close();
  if (!closed.ok()) spdlog::error("closing the log: {}", closed.error().message());
}

Result<std::unique_ptr<LogManager>> LogManager::open(LogManagerOptions options) {
  FileSystem& fs = options.fs ? *options.fs : posix_file_system();
  std::unique_ptr<LogManager> manager(new LogManager(std::move(options), fs));
  RETURN_IF_ERROR(fs.create_dirs(join_path(manager->options_.data_dir, kTopicsDir)));
  RETURN_IF_ERROR(manager->acquire_lock());
  if (manager->options_.background_threads) {
    manager->deleter_ = std::make_unique<FileDeleter>(fs, manager->options_.deleter);
  }
  RETURN_IF_ERROR(manager->load());
  if (manager->options_.disk_reserve_bytes > 0 && manager->options_.fs == nullptr) {
    manager->reserve_ =
        std::make_unique<SpaceReserve>(join_path(manager->options_.data_dir, "disk_reserve"),
                                       manager->options_.disk_reserve_bytes);
    manager->reserve_->ensure();
  }
  if (manager->options_.background_threads) {
    manager->last_retention_ms_ = manager->options_.clock();
    manager->background_ = std::thread([m = manager.get()] { m->background_loop(); });
  }
  return manager;
}

Status LogManager::acquire_lock() {
  const std::string path = join_path(options_.data_dir, kLockFile);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(errno, "open lock file", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
      holder.pop_back();
    if (err == EWOULDBLOCK) {
      return Error(ErrorCode::kBusy, "data directory " + options_.data_dir +
                                         " is in use by another eddy process (pid " + holder + ")");
    }
    return errno_error(err, "lock", path);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    return errno_error(err, "write lock file", path);
  }
  lock_fd_ = fd;
  return ok_status();
}

std::string LogManager::topic_dir(const TopicInfo& topic) const {
  return join_path(join_path(options_.data_dir, kTopicsDir),
                   topic.name + "-" + topic_id_hex(topic.id));
}

std::string LogManager::partition_dir(const TopicInfo& topic, int32_t partition) const {
  return join_path(topic_dir(topic), std::to_string(partition));
}

Result<std::shared_ptr<PartitionLog>> LogManager::open_partition(const TopicInfo& topic,
                                                                 int32_t partition, bool clean) {
  ASSIGN_OR_RETURN(TopicConfig config, TopicConfig::resolve(defaults(), topic.overrides));
  RecoveryOutcome outcome;
  ASSIGN_OR_RETURN(
      auto log,
      PartitionLog::open(cache_,
                         PartitionOptions{
                             .dir = partition_dir(topic, partition),
                             .config = config,
                             .clock = options_.clock,
                             .on_visible = [this, name = topic.name,
                                            partition] { notify_visible(name, partition); },
                             .producer_id_expiration_ms = options_.producer_id_expiration_ms,
                             .deleter = deleter_.get(),
                         },
                         clean, &outcome));
  startup_.segments += outcome.segments;
  startup_.segments_scanned += outcome.segments_scanned;
  startup_.bytes_dropped += outcome.bytes_dropped;
  startup_.producers += outcome.producers;
  return std::shared_ptr<PartitionLog>(std::move(log));
}

Status LogManager::load() {
  const std::string marker = join_path(options_.data_dir, kCleanMarker);
  ASSIGN_OR_RETURN(bool clean, fs_.exists(marker));
  const std::string catalog_path = join_path(options_.data_dir, kCatalogFile);
  ASSIGN_OR_RETURN(bool has_catalog, fs_.exists(catalog_path));
  ASSIGN_OR_RETURN(catalog_, load_catalog(fs_, catalog_path));
  ASSIGN_OR_RETURN(dynamic_,
                   load_broker_configs(fs_, join_path(options_.data_dir, kBrokerConfigsFile)));
  ASSIGN_OR_RETURN(defaults_, dynamic_.topic_defaults(options_.defaults));
  const std::string id_path = join_path(options_.data_dir, "cluster_id");
  ASSIGN_OR_RETURN(bool has_id, fs_.exists(id_path));
  if (has_id) {
    ASSIGN_OR_RETURN(auto bytes, read_whole_file(fs_, id_path, 64));
    cluster_id_.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (!cluster_id_.empty() && cluster_id_.back() == '\n')
      cluster_id_.pop_back();
    if (cluster_id_.size() != 22) {
      return Error(ErrorCode::kCorrupt, id_path + " does not hold a 22-character cluster id");
    }
  } else {
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    TopicId random = random_topic_id();
    uint32_t bits = 0;
    int bit_count = 0;
    for (uint8_t b : random) {
      bits = (bits << 8) | b;
      bit_count += 8;
      while (bit_count >= 6) {
        cluster_id_ += kAlphabet[(bits >> (bit_count - 6)) & 63];
        bit_count -= 6;
      }
    }
    cluster_id_ += kAlphabet[(bits << (6 - bit_count)) & 63];
    std::string text = cluster_id_ + "\n";
    RETURN_IF_ERROR(write_file_atomically(
        fs_, id_path,
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size())));
  }
  ASSIGN_OR_RETURN(auto producer_ids,
                   ProducerIdAllocator::open(fs_, join_path(options_.data_dir, kProducerIdsFile)));
  producer_ids_.emplace(std::move(producer_ids));
  if (!has_catalog) {
    ASSIGN_OR_RETURN(auto existing, fs_.list_dir(join_path(options_.data_dir, kTopicsDir)));
    if (!existing.empty()) {
      return Error(ErrorCode::kCorrupt, "topic catalog " + catalog_path + " is missing but " +
                                            join_path(options_.data_dir, kTopicsDir) +
                                            " holds topic data; refusing to start");
    }
  }
  // An empty catalog marks the directory as initialised, so a later start without the
  // clean-shutdown marker is known to follow a crash rather than a first start.
  if (!has_catalog) RETURN_IF_ERROR(store_catalog(fs_, catalog_path, catalog_));
  startup_.clean = clean;

  // Remove directories of topics and partitions the catalog does not name.
  const std::string topics_root = join_path(options_.data_dir, kTopicsDir);
  ASSIGN_OR_RETURN(auto entries, fs_.list_dir(topics_root));
  std::map<std::string, const TopicInfo*> by_dir;
  for (const auto& [name, topic] : catalog_)
    by_dir[name + "-" + topic_id_hex(topic.id)] = &topic;
  for (const auto& entry : entries) {
    auto it = by_dir.find(entry);
    if (it == by_dir.end()) {
      spdlog::info("removing {} (not in the topic catalog)", join_path(topics_root, entry));
      RETURN_IF_ERROR(fs_.remove_all(join_path(topics_root, entry)));
      continue;
    }
    ASSIGN_OR_RETURN(auto partition_dirs, fs_.list_dir(join_path(topics_root, entry)));
    for (const auto& p : partition_dirs) {
      char* end = nullptr;
      long index = std::strtol(p.c_str(), &end, 10);
      if (end == p.c_str() || *end != '\0' || index < 0 || index >= it->second->partitions) {
        RETURN_IF_ERROR(fs_.remove_all(join_path(join_path(topics_root, entry), p)));
      }
    }
  }

  for (const auto& [name, topic] : catalog_) {
    auto& logs = partitions_[name];
    for (int32_t p = 0; p < topic.partitions; ++p) {
      ASSIGN_OR_RETURN(auto log, open_partition(topic, p, clean));
      logs.push_back(std::move(log));
      ++startup_.partitions;
    }
  }
  // From here on a crash is an unclean stop.
  if (clean) {
    RETURN_IF_ERROR(fs_.remove(marker));
    RETURN_IF_ERROR(fs_.sync_dir(options_.data_dir));
  }
  spdlog::info(
      "storage opened {} ({}): {} topics, {} partitions, {} segments, {} scanned, {} bytes "
      "truncated, {} producer states",
      options_.data_dir,
      clean         ? "clean stop"
      : has_catalog ? "unclean stop"
                    : "new data directory",
      catalog_.size(), startup_.partitions, startup_.segments, startup_.segments_scanned,
      startup_.bytes_dropped, startup_.producers);
  return ok_status();
}

Result<TopicInfo> LogManager::create_topic(const std::string& name, int32_t partitions,
                                           const ConfigMap& overrides) {
  RETURN_IF_ERROR(validate_topic_name(name));
  if (partitions <= 0 || partitions > kMaxPartitions) {
    return Error(ErrorCode::kInvalidArgument, "partition count " + std::to_string(partitions) +
                                                  " is outside [1, " +
                                                  std::to_string(kMaxPartitions) + "]");
  }
  ASSIGN_OR_RETURN(TopicConfig config, TopicConfig::resolve(defaults(), overrides));
  (void)config;
  const ConfigMap normalized = TopicConfig::normalize_all(overrides);
  std::lock_guard catalog_lock(catalog_mu_);
  {
    std::shared_lock lock(mu_);
    if (closed_) return Error(ErrorCode::kClosed, "storage is closed");
    if (catalog_.count(name)) {
      return Error(ErrorCode::kAlreadyExists, "topic '" + name + "' already exists");
    }
  }
  TopicInfo topic{
      .name = name, .id = random_topic_id(), .partitions = partitions, .overrides = normalized};
  // Partitions first, then the catalog: the catalog write is the commit point, and directories
  // of a create that crashed before it are removed at the next start.
  std::vector<std::shared_ptr<PartitionLog>> logs;
  for (int32_t p = 0; p < partitions; ++p) {
    auto log = open_partition(topic, p, /*clean=*/true);
    if (!log.ok()) {
      (void)fs_.remove_all(topic_dir(topic));
      return log.error();
    }
    logs.push_back(std::move(*log));
  }
  RETURN_IF_ERROR(fs_.sync_dir(topic_dir(topic)));
  RETURN_IF_ERROR(fs_.sync_dir(join_path(options_.data_dir, kTopicsDir)));
  TopicMap next = catalog_;
  next[name] = topic;
  Status stored = store_catalog(fs_, join_path(options_.data_dir, kCatalogFile), next);
  if (!stored.ok()) {
    (void)fs_.remove_all(topic_dir(topic));
    return stored.error();
  }
  std::unique_lock lock(mu_);
  catalog_ = std::move(next);
  partitions_[name] = std::move(logs);
  spdlog::info("created topic {} with {} partitions", name, partitions);
  return topic;
}

Status LogManager::delete_topic(const std::string& name) {
  std::lock_guard catalog_lock(catalog_mu_);
  ASSIGN_OR_RETURN(TopicInfo topic, find_topic(name));
  TopicMap next = catalog_;
  next.erase(name);
  const std::string catalog_path = join_path(options_.data_dir, kCatalogFile);
  Status stored = store_catalog(fs_, catalog_path, next);
  // A deletion must work on a full disk, or space could not be freed through Eddy.
  if (!stored.ok() && stored.error().code() == ErrorCode::kNoSpace && release_disk_reserve()) {
    stored = store_catalog(fs_, catalog_path, next);
  }
  RETURN_IF_ERROR(stored);
  std::vector<std::shared_ptr<PartitionLog>> logs;
  {
    std::unique_lock lock(mu_);
    catalog_ = std::move(next);
    logs = std::move(partitions_[name]);
    partitions_.erase(name);
  }
  for (auto& log : logs)
    (void)log->close();
  // After the commit point: if this removal is interrupted, the next start finishes it (a
  // directory missing from the catalog is removed there).
  if (deleter_) {
    // Gently, once no request still holds one of the partitions (see FileDeleter).
    deleter_->submit({.tree = topic_dir(topic), .unused = [logs = std::move(logs)] {
                        return std::all_of(logs.begin(), logs.end(),
                                           [](const auto& log) { return log.use_count() == 1; });
                      }});
  } else {
    logs.clear();
    Status removed = fs_.remove_all(topic_dir(topic));
    if (!removed.ok())
      spdlog::warn("deleting files of topic {}: {}", name, removed.error().message());
  }
  spdlog::info("deleted topic {}", name);
  return ok_status();
}

Status LogManager::add_partitions(const std::string& name, int32_t total) {
  std::lock_guard catalog_lock(catalog_mu_);
  ASSIGN_OR_RETURN(TopicInfo topic, find_topic(name));
  if (total <= topic.partitions) {
    return Error(ErrorCode::kInvalidArgument, "topic '" + name + "' has " +
                                                  std::to_string(topic.partitions) +
                                                  " partitions; the new count must be larger");
  }
  if (total > kMaxPartitions) return Error(ErrorCode::kInvalidArgument, "too many partitions");
  std::vector<std::shared_ptr<PartitionLog>> added;
  for (int32_t p = topic.partitions; p < total; ++p) {
    ASSIGN_OR_RETURN(auto log, open_partition(topic, p, /*clean=*/true));
    added.push_back(std::move(log));
  }
  RETURN_IF_ERROR(fs_.sync_dir(topic_dir(topic)));
  TopicMap next = catalog_;
  next[name].partitions = total;
  RETURN_IF_ERROR(store_catalog(fs_, join_path(options_.data_dir, kCatalogFile), next));
  std::unique_lock lock(mu_);
  catalog_ = std::move(next);
  for (auto& log : added)
    partitions_[name].push_back(std::move(log));
  return ok_status();
}

Status LogManager::set_topic_overrides(const std::string& name, const ConfigMap& overrides) {
  // Resolved under catalog_mu_ so the defaults cannot change in between.
  std::lock_guard catalog_lock(catalog_mu_);
  ASSIGN_OR_RETURN(TopicConfig config, TopicConfig::resolve(defaults(), overrides));
  if (!catalog_.count(name))
    return Error(ErrorCode::kNotFound, "topic '" + name + "' does not exist");
  TopicMap next = catalog_;
  next[name].overrides = TopicConfig::normalize_all(overrides);
  RETURN_IF_ERROR(store_catalog(fs_, join_path(options_.data_dir, kCatalogFile), next));
  std::unique_lock lock(mu_);
  catalog_ = std::move(next);
  for (auto& log : partitions_[name])
    log->set_config(config);
  return ok_status();
}

Result<TopicInfo> LogManager::find_topic(const std::string& name) const {
  auto found = topic(name);
  if (!found) return Error(ErrorCode::kNotFound, "topic '" + name + "' does not exist");
  return *found;
}

std::optional<TopicInfo> LogManager::topic(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = catalog_.find(name);
  if (it == catalog_.end()) return std::nullopt;
  return it->second;
}

std::vector<TopicInfo> LogManager::topics() const {
  std::shared_lock lock(mu_);
  std::vector<TopicInfo> all;
  for (const auto& [name, topic] : catalog_)
    all.push_back(topic);
  return all;
}

Result<int64_t> LogManager::delete_records(const std::string& topic, int32_t partition,
                                           int64_t offset) {
  auto log = this->partition(topic, partition);
  if (!log) {
    return Error(ErrorCode::kNotFound, "partition " + std::to_string(partition) + " of topic '" +
                                           topic + "' does not exist");
  }
  return log->delete_records_before(offset);
}

TopicConfig LogManager::defaults() const {
  std::shared_lock lock(mu_);
  return defaults_;
}

DynamicBrokerConfigs LogManager::dynamic_broker_configs() const {
  std::shared_lock lock(mu_);
  return dynamic_;
}

Status LogManager::set_dynamic_broker_configs(BrokerScope scope, const ConfigMap& values) {
  ConfigMap normalized;
  for (const auto& [name, value] : values) {
    ASSIGN_OR_RETURN(normalized[name], check_dynamic_broker_config(name, value));
  }
  std::lock_guard catalog_lock(catalog_mu_);
  DynamicBrokerConfigs next = dynamic_broker_configs();
  next.at(scope) = std::move(normalized);
  ASSIGN_OR_RETURN(TopicConfig next_defaults, next.topic_defaults(options_.defaults));
  // Every topic must still resolve before the change is stored.
  std::map<std::string, TopicConfig> configs;
  {
    std::shared_lock lock(mu_);
    for (const auto& [name, topic] : catalog_) {
      ASSIGN_OR_RETURN(configs[name], TopicConfig::resolve(next_defaults, topic.overrides));
    }
  }
  RETURN_IF_ERROR(
      store_broker_configs(fs_, join_path(options_.data_dir, kBrokerConfigsFile), next));
  std::unique_lock lock(mu_);
  dynamic_ = std::move(next);
  defaults_ = std::move(next_defaults);
  for (auto& [name, logs] : partitions_) {
    auto config = configs.find(name);
    if (config == configs.end()) continue;
    for (auto& log : logs)
      log->set_config(config->second);
  }
  return ok_status();
}

Result<TopicConfig> LogManager::effective_config(const std::string& name) const {
  ASSIGN_OR_RETURN(TopicInfo info, find_topic(name));
  return TopicConfig::resolve(defaults(), info.overrides);
}

std::shared_ptr<PartitionLog> LogManager::partition(const std::string& topic,
                                                    int32_t partition) const {
  std::shared_lock lock(mu_);
  auto it = partitions_.find(topic);
  if (it == partitions_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.size()) {
    return nullptr;
  }
  return it->second[static_cast<size_t>(partition)];
}

void LogManager::when_durable(std::shared_ptr<PartitionLog> log, const AppendResult& append,
                              std::function<void(Status)> done) {
  if (!append.needs_flush) return done(ok_status());
  durability_.wait(std::move(log), append.last_offset, append.generation, std::move(done));
}

void LogManager::set_visibility_observer(VisibilityObserver observer) {
  std::unique_lock lock(observers_mu_);
  if (observer)
    observers_[0] = std::move(observer);
  else
    observers_.erase(0);
}

int LogManager::add_visibility_observer(VisibilityObserver observer) {
  std::unique_lock lock(observers_mu_);
  const int id = next_observer_++;
  observers_[id] = std::move(observer);
  return id;
}

void LogManager::remove_visibility_observer(int id) {
  std::unique_lock lock(observers_mu_);
  observers_.erase(id);
}

void LogManager::notify_visible(const std::string& topic, int32_t partition) const {
  std::shared_lock lock(observers_mu_);
  for (const auto& [id, observer] : observers_)
    observer(topic, partition);
}

void LogManager::run_maintenance(bool include_retention) {
  std::vector<std::shared_ptr<PartitionLog>> all;
  {
    std::shared_lock lock(mu_);
    for (const auto& [name, logs] : partitions_)
      all.insert(all.end(), logs.begin(), logs.end());
  }
  const int64_t now = options_.clock();
  for (auto& log : all) {
    if (log->flush_due(now)) {
      Status flushed = log->flush();
      if (!flushed.ok()) spdlog::error("interval flush: {}", flushed.error().message());
    }
  }
  if (!include_retention) return;
  if (reserve_) reserve_->ensure();
  for (auto& log : all) {
    (void)log->apply_retention();
    (void)log->expire_producers();
    if (log->config().compacts()) {
      auto compacted = log->compact();
      if (!compacted.ok()) {
        spdlog::error("compaction of {}: {}", log->dir(), compacted.error().message());
      }
    }
  }
}

Result<int64_t> LogManager::allocate_producer_id() {
  return producer_ids_->allocate();
}

bool LogManager::producer_id_issued(int64_t id) const {
  return producer_ids_->issued(id);
}

void LogManager::background_loop() {
  // Interval flushes need a fine tick; retention and compaction run on their own interval.
  constexpr auto kTick = std::chrono::milliseconds(10);
  std::unique_lock lock(background_mu_);
  while (!stopping_) {
    background_cv_.wait_for(lock, kTick, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const int64_t now = options_.clock();
    const bool retention = now - last_retention_ms_ >= options_.retention_check_interval_ms;
    if (retention) last_retention_ms_ = now;
    run_maintenance(retention);
    lock.lock();
  }
}

Status LogManager::close() {
  {
    std::lock_guard lock(background_mu_);
    if (stopping_ && !background_.joinable() && lock_fd_ < 0) return ok_status();
    stopping_ = true;
  }
  background_cv_.notify_all();
  if (background_.joinable()) background_.join();
  durability_.stop();
  if (deleter_) deleter_->stop();

  std::vector<std::shared_ptr<PartitionLog>> all;
  {
    std::unique_lock lock(mu_);
    if (closed_) return ok_status();
    closed_ = true;
    for (const auto& [name, logs] : partitions_)
      all.insert(all.end(), logs.begin(), logs.end());
  }
  // Closing is mostly waiting for fsyncs and small index writes, which the disk serves in
  // parallel: a few threads take partitions off a shared counter (10,000 partitions one by one
  // took 5.8 s).
  Status first_error;
  std::mutex error_mu;
  std::atomic<size_t> next{0};
  auto close_some = [&] {
    for (size_t i = next++; i < all.size(); i = next++) {
      Status closed = all[i]->close(/*defer_index_sync=*/true);
      if (!closed.ok()) {
        std::lock_guard lock(error_mu);
        if (first_error.ok()) first_error = closed;
      }
    }
  };
  const size_t helpers = std::min<size_t>(kCloseThreads - 1, all.size() / 64);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < helpers; ++t)
    threads.emplace_back(close_some);
  close_some();
  for (auto& t : threads)
    t.join();
  // One syncfs for every index file written above, before the marker that trusts them.
  if (first_error.ok()) first_error = fs_.sync_filesystem(options_.data_dir);
  if (first_error.ok()) {
    // Only a fully flushed log may skip recovery next time.
    const std::string marker = join_path(options_.data_dir, kCleanMarker);
    auto file = fs_.open(marker, {.create = true});
    if (!file.ok()) {
      first_error = file.error();
    } else {
      Status synced = (*file)->sync();
      if (synced.ok()) synced = fs_.sync_dir(options_.data_dir);
      if (!synced.ok()) first_error = synced;
    }
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  return first_error;
}

}  // namespace eddy::storage

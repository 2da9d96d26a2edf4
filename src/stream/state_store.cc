#include "stream/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <shared_mutex>

namespace eddy::stream {

struct StateStore::Impl {
  std::string dir;
  // Taken shared by every operation and exclusively to reopen db.
  std::shared_mutex mu;
  std::unique_ptr<rocksdb::DB> db;  // null while a reopen keeps failing
  std::atomic<bool> needs_reopen{false};
  std::string last_error;  // why db is null
};

namespace {

// RocksDB's messages go to Eddy's log, never to a LOG file in the state directory: on a full
// disk that file's failed write would be retried by the next message, which RocksDB's own
// checks turn into an abort.
class ForwardingLogger final : public rocksdb::Logger {
 public:
  ForwardingLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buffer[1024];
    std::vsnprintf(buffer, sizeof buffer, format, ap);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      spdlog::error("state store: {}", buffer);
    } else if (level == rocksdb::InfoLogLevel::WARN_LEVEL) {
      spdlog::warn("state store: {}", buffer);
    } else {
      spdlog::debug("state store: {}", buffer);
    }
  }
};

Error rocks_error(const rocksdb::Status& s) {
  return Error(s.IsNoSpace() ? ErrorCode::kNoSpace : ErrorCode::kIoError,
               "state store: " + s.ToString());
}
// The first key after every key that starts with `prefix` (prefix must not be all 0xff).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

Result<std::unique_ptr<rocksdb::DB>> open_db(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_background_jobs = 1;
  // Operator state is small, hot and rewritten often: compressing it costs more CPU on every
  // flush and compaction than the disk it saves (snappy was ~2% of a view's CPU).
  options.compression = rocksdb::kNoCompression;
  // RocksDB preallocates each log file at 1.1 x write_buffer_size and the MANIFEST at 4 MiB:
  // with the 64 MiB default the first checkpoint took ~76 MB at once, the last free space of
  // a nearly full disk. 16 MiB memtables flush sooner and reserve ~18 MB.
  options.write_buffer_size = 16 << 20;
  options.manifest_preallocation_size = 1 << 20;
  // The log holds everything (writes are synced): no memtable flush at close, which on a full
  // disk would only fail.
  options.avoid_flush_during_shutdown = true;
  options.info_log = std::make_shared<ForwardingLogger>();
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return rocks_error(s);
  return std::unique_ptr<rocksdb::DB>(db);
}

}  // namespace

StateStore::StateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateStore::~StateStore() = default;

Result<std::shared_lock<std::shared_mutex>> StateStore::lock_usable() const {
  Impl& impl = *impl_;
  if (impl.needs_reopen.load()) {
    std::unique_lock exclusive(impl.mu);
    if (impl.needs_reopen.load()) {
      impl.db.reset();  // closes the log writer that saw the error
      auto reopened = open_db(impl.dir);
      if (!reopened.ok()) {
        impl.last_error = reopened.error().message();
        return reopened.error();
      }
      impl.db = std::move(*reopened);
      impl.needs_reopen = false;
    }
  }
  std::shared_lock shared(impl.mu);
  if (impl.db == nullptr) return Error(ErrorCode::kIoError, impl.last_error);
  return shared;
}

Status StateStore::failed(const rocksdb::Status& s) const {
  // Reads need no reopen; a failed write or delete leaves the log writer unusable.
  impl_->needs_reopen = true;
  return rocks_error(s);
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& dir) {
  ASSIGN_OR_RETURN(auto db, open_db(dir));
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->db = std::move(db);
  return std::unique_ptr<StateStore>(new StateStore(std::move(impl)));
}

Result<std::optional<std::string>> StateStore::get(std::string_view key) const {
  ASSIGN_OR_RETURN(auto lock, lock_usable());
  std::string value;
  rocksdb::Status s =
      impl_->db->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return rocks_error(s);
  return std::optional<std::string>(std::move(value));
}

Status StateStore::write(const std::vector<StateWrite>& writes) {
  rocksdb::WriteBatch batch;
  for (const auto& w : writes) {
    rocksdb::Status s = w.value ? batch.Put(w.key, *w.value) : batch.Delete(w.key);
    if (!s.ok()) return rocks_error(s);
  }
  ASSIGN_OR_RETURN(auto lock, lock_usable());
  rocksdb::WriteOptions options;
  options.sync = true;
  rocksdb::Status s = impl_->db->Write(options, &batch);
  if (!s.ok()) return failed(s);
  return Status();
}

Status StateStore::delete_prefix(const std::string& prefix) {
  ASSIGN_OR_RETURN(auto lock, lock_usable());
  rocksdb::WriteOptions options;
  options.sync = true;
  rocksdb::Status s =
      impl_->db->DeleteRange(options, impl_->db->DefaultColumnFamily(), prefix, prefix_end(prefix));
  if (!s.ok()) return failed(s);
  return Status();
}

Status StateStore::scan(const std::string& prefix,
                        const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return scan_from(prefix, prefix, fn);
}

Status StateStore::scan_from(
    const std::string& prefix, const std::string& from,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  ASSIGN_OR_RETURN(auto lock, lock_usable());
  rocksdb::ReadOptions options;
  const std::string end = prefix_end(prefix);
  rocksdb::Slice upper(end);
  options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options));
  for (it->Seek(std::max(prefix, from)); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) return rocks_error(it->status());
  return Status();
}

}  // namespace eddy::stream

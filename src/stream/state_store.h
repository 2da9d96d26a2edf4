// The stream engine's state: one RocksDB instance under <data-dir>/state. RocksDB headers stay
// in state_store.cc.
//
// A failed write (a full disk) leaves RocksDB's log writer in an error state that must not be
// written again, so the next call closes the instance and opens it afresh (a new log file);
// while that fails too, every call answers the error. Thread safety: all methods may be called
// concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace rocksdb {
class Status;
}

namespace eddy::stream {

// One key to put (value) or delete (nullopt).
struct StateWrite {
  std::string key;
  std::optional<std::string> value;
};

class StateStore {
 public:
  static Result<std::unique_ptr<StateStore>> open(const std::string& dir);
  ~StateStore();

  Result<std::optional<std::string>> get(std::string_view key) const;
  // All writes in one atomic WriteBatch, synced to the WAL before returning.
  Status write(const std::vector<StateWrite>& writes);
  // Deletes every key starting with `prefix` (synced).
  Status delete_prefix(const std::string& prefix);
  // Calls fn(key, value) for every key starting with `prefix`, in key order, from one snapshot;
  // stops when fn returns false.
  Status scan(const std::string& prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // The same from the first key at or after `from` on.
  Status scan_from(const std::string& prefix, const std::string& from,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const;

 private:
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl);
  // Reopens the instance first when a write failed; the lock keeps it open for one operation.
  Result<std::shared_lock<std::shared_mutex>> lock_usable() const;
  // The error of a failed write or delete, marking the instance for a reopen.
  Status failed(const rocksdb::Status& s) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eddy::stream

// The stream engine's state: one RocksDB instance under <data-dir>/state. RocksDB headers stay
// in state_store.cc.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

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

 private:
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eddy::stream

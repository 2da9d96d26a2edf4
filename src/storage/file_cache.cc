#include "storage/file_cache.h"

namespace eddy::storage {

Result<std::shared_ptr<File>> FileCache::get(const std::string& path, bool create) {
  {
    std::lock_guard lock(mu_);
    auto it = by_path_.find(path);
    if (it != by_path_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Open outside the lock: open() can block on a slow disk.
  ASSIGN_OR_RETURN(std::unique_ptr<File> opened, fs_.open(path, {.create = create}));
  std::shared_ptr<File> file(std::move(opened));
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {  // another thread opened it meanwhile
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  lru_.emplace_front(path, file);
  by_path_[path] = lru_.begin();
  while (lru_.size() > capacity_) {
    by_path_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return file;
}

void FileCache::forget(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  lru_.erase(it->second);
  by_path_.erase(it);
}

size_t FileCache::open_count() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace eddy::storage

// A bounded cache of open files, so that thousands of segments never mean thousands of open
// descriptors.
//
// Segments ask the cache for their files on every use; the least recently used file is closed
// when the cache is full. Callers hold a shared_ptr while they read or write, so eviction never
// closes a file under an in-flight operation: it only drops the cache's reference.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/file_io.h"

namespace eddy::storage {

class FileCache {
 public:
  FileCache(FileSystem& fs, size_t capacity) : fs_(fs), capacity_(capacity < 4 ? 4 : capacity) {}
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // The open file at `path` (read-write; created when `create`).
  Result<std::shared_ptr<File>> get(const std::string& path, bool create = false);
  // Drops the cached handle of a file that is being removed or replaced.
  void forget(const std::string& path);
  size_t open_count() const;
  FileSystem& fs() { return fs_; }

 private:
  using Lru = std::list<std::pair<std::string, std::shared_ptr<File>>>;

  FileSystem& fs_;
  const size_t capacity_;
  mutable std::mutex mu_;
  Lru lru_;  // front = most recently used
  std::unordered_map<std::string, Lru::iterator> by_path_;
};

}  // namespace eddy::storage

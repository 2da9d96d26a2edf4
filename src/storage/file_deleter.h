// Deletes big files without stalling everyone else's fsyncs.
//
// Unlinking a gigabyte segment at once frees all its blocks (and, on a file system mounted with
// `discard`, trims them) in one journal commit that every concurrent fdatasync on the file system
// then waits behind, and it drops the file's page cache on one core for hundreds of
// milliseconds. Measured on ext4: one 2 GiB unlink held a 100-byte append+fdatasync loop up to
// 50 ms; shrinking the file a few MiB at a time, each step committed on its own with a short pause
// after it, kept every fsync of that loop under 5 ms. Retention and topic deletion therefore hand
// their files here and a low-priority thread shrinks and then removes them.
//
// Files go only once nobody can read them: an entry may carry a `unused` predicate (for example
// "only the deleter still holds this segment") and waits until it holds. On stop, what is left
// is removed at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/file_io.h"

namespace eddy::storage {

struct FileDeleterOptions {
  uint64_t step_bytes = 4 << 20;              // truncated per step
  std::chrono::microseconds pause{5000};      // after each step: at most 0.8 GB/s
  std::chrono::milliseconds unused_poll{10};  // how often waiting entries are looked at again
};

class FileDeleter {
 public:
  struct Entry {
    std::vector<std::string> files{};  // shrunk and removed in this order
    std::string tree{};                // then this directory with everything in it (may be empty)
    std::function<bool()> unused{};    // null: at once
  };

  explicit FileDeleter(FileSystem& fs, FileDeleterOptions options = {});
  ~FileDeleter();  // stop()
  FileDeleter(const FileDeleter&) = delete;
  FileDeleter& operator=(const FileDeleter&) = delete;

  void submit(Entry entry);
  // Blocks until every submitted entry has been deleted (tests, and callers that must know).
  void wait_idle();
  // Removes what is left without pauses and ends the thread; later submits delete at once.
  void stop();

  uint64_t files_deleted() const;
  uint64_t bytes_deleted() const;

 private:
  void run();
  // Shrinks and removes one file; `gentle` false skips the steps (shutdown).
  void delete_file(const std::string& path, bool gentle);
  void delete_entry(const Entry& entry, bool gentle);
  bool pause_interrupted();

  FileSystem& fs_;
  const FileDeleterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // new entries, stop
  std::condition_variable idle_cv_;  // queue drained
  std::deque<Entry> queue_;
  bool busy_ = false;  // the thread is deleting an entry it took off the queue
  bool stopping_ = false;
  uint64_t files_deleted_ = 0;
  uint64_t bytes_deleted_ = 0;
  std::thread thread_;
};

}  // namespace eddy::storage

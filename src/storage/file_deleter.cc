#include "storage/file_deleter.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace eddy::storage {

namespace {

// Regular files under `dir`, depth first (a name that cannot be listed is taken for a file).
void collect_files(FileSystem& fs, const std::string& dir, std::vector<std::string>& out) {
  auto names = fs.list_dir(dir);
  if (!names.ok()) return;
  for (const auto& name : *names) {
    const std::string path = dir + "/" + name;
    if (fs.list_dir(path).ok()) {
      collect_files(fs, path, out);
    } else {
      out.push_back(path);
    }
  }
}

}  // namespace

FileDeleter::FileDeleter(FileSystem& fs, FileDeleterOptions options) : fs_(fs), options_(options) {
  thread_ = std::thread([this] { run(); });
}

FileDeleter::~FileDeleter() {
  stop();
}

void FileDeleter::submit(Entry entry) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(entry));
      cv_.notify_all();
      return;
    }
  }
  delete_entry(entry, /*gentle=*/false);
}

void FileDeleter::wait_idle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void FileDeleter::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t FileDeleter::files_deleted() const {
  std::lock_guard lock(mu_);
  return files_deleted_;
}

uint64_t FileDeleter::bytes_deleted() const {
  std::lock_guard lock(mu_);
  return bytes_deleted_;
}

void FileDeleter::run() {
  // Below the threads that serve clients: dropping page cache is CPU work that can wait.
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  std::unique_lock lock(mu_);
  auto take_and_delete = [&](std::deque<Entry>::iterator it, bool gentle) {
    Entry entry = std::move(*it);
    queue_.erase(it);
    busy_ = true;
    lock.unlock();
    delete_entry(entry, gentle);
    lock.lock();
    busy_ = false;
    idle_cv_.notify_all();
  };
  while (!stopping_) {
    auto ready = std::find_if(queue_.begin(), queue_.end(),
                              [](const Entry& e) { return !e.unused || e.unused(); });
    if (ready != queue_.end()) {
      take_and_delete(ready, /*gentle=*/true);
    } else if (queue_.empty()) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    } else {
      cv_.wait_for(lock, options_.unused_poll);
    }
  }
  // Shutting down: nobody reads any more, and a restart would have to finish the job anyway.
  while (!queue_.empty())
    take_and_delete(queue_.begin(), /*gentle=*/false);
  idle_cv_.notify_all();
}

void FileDeleter::delete_entry(const Entry& entry, bool gentle) {
  for (const auto& path : entry.files)
    delete_file(path, gentle);
  if (entry.tree.empty()) return;
  std::vector<std::string> files;
  collect_files(fs_, entry.tree, files);
  for (const auto& path : files)
    delete_file(path, gentle);
  Status removed = fs_.remove_all(entry.tree);
  if (!removed.ok()) spdlog::warn("deleting {}: {}", entry.tree, removed.error().message());
}

void FileDeleter::delete_file(const std::string& path, bool gentle) {
  uint64_t size = 0;
  auto file = fs_.open(path, {});
  if (file.ok()) {
    auto length = (*file)->size();
    size = length.ok() ? *length : 0;
    if (gentle) {
      // Each step is its own journal commit (the sync), so no commit frees more than a step.
      for (uint64_t left = size; left > options_.step_bytes;) {
        left -= options_.step_bytes;
        if (!(*file)->truncate(left).ok() || !(*file)->sync().ok()) break;
        if (pause_interrupted()) break;
      }
    }
    file->reset();
  }
  Status removed = fs_.remove(path);
  if (!removed.ok() && removed.error().code() != ErrorCode::kNotFound) {
    spdlog::warn("deleting {}: {}", path, removed.error().message());
    return;
  }
  std::lock_guard lock(mu_);
  ++files_deleted_;
  bytes_deleted_ += size;
}

bool FileDeleter::pause_interrupted() {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, options_.pause, [&] { return stopping_; });
}

}  // namespace eddy::storage

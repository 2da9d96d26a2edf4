#include "storage/space_reserve.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace eddy::storage {
namespace {

// Made again only when the disk has this many times the reserve free: making it on a disk that
// is still nearly full would take back the space a deletion just freed.
constexpr uint64_t kRoomFactor = 4;

}  // namespace

void SpaceReserve::ensure() {
  if (bytes_ == 0) return;
  std::lock_guard lock(mu_);
  if (held_) return;
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) >= bytes_) {
    held_ = true;
    return;
  }
  const std::string dir = path_.substr(0, path_.find_last_of('/') + 1);
  struct statvfs fs {};
  if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return;
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes < kRoomFactor * bytes_) return;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    spdlog::warn("disk reserve {}: {}", path_, std::strerror(errno));
    return;
  }
  const int allocated = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
  const bool synced = allocated == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    spdlog::warn("disk reserve {}: {}", path_, std::strerror(allocated != 0 ? allocated : errno));
    ::unlink(path_.c_str());
    return;
  }
  held_ = true;
}

bool SpaceReserve::release() {
  if (bytes_ == 0) return false;
  std::lock_guard lock(mu_);
  const bool existed = ::unlink(path_.c_str()) == 0;
  held_ = false;
  if (existed) {
    spdlog::warn("disk full: released the {} byte disk reserve {} so a deletion can go ahead",
                 bytes_, path_);
  }
  return existed;
}

bool SpaceReserve::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

}  // namespace eddy::storage

// The thin file-system interface all persistent state goes through.
//
// Storage code never calls open/pwrite/fsync directly: it asks a FileSystem. Production uses
// posix_file_system(); tests wrap it (see fault_injection.h) to inject short writes, fsync
// failures and ENOSPC at chosen calls, which is how the storage engine's behaviour under bad
// disks is proven.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace eddy {

// An open file with positional I/O. Thread-safe for concurrent reads; writers coordinate
// externally (one writer per file).
class File {
 public:
  virtual ~File() = default;

  // Reads up to out.size() bytes at `offset`; fewer only at end of file.
  virtual Result<size_t> read_at(uint64_t offset, std::span<std::byte> out) = 0;
  // Writes all of `data` at `offset`, or fails. On failure some prefix may have been written.
  virtual Status write_at(uint64_t offset, std::span<const std::byte> data) = 0;
  // Makes written data durable (fdatasync).
  virtual Status sync() = 0;
  virtual Status truncate(uint64_t size) = 0;
  virtual Result<uint64_t> size() = 0;
  // The OS descriptor, for zero-copy sends (sendfile). -1 when the file has none.
  virtual int native_handle() const = 0;
  virtual const std::string& path() const = 0;
};

struct OpenOptions {
  bool create = false;     // create if missing
  bool exclusive = false;  // with create: fail if it exists
  bool read_only = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual Result<std::unique_ptr<File>> open(const std::string& path, OpenOptions options) = 0;
  virtual Status remove(const std::string& path) = 0;
  // Removes a directory tree; missing is not an error.
  virtual Status remove_all(const std::string& path) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status create_dirs(const std::string& path) = 0;
  // fsyncs a directory so that entries created, renamed or removed in it are durable.
  virtual Status sync_dir(const std::string& path) = 0;
  // Makes everything written to the file system holding `path` durable (syncfs): one call
  // instead of an fsync per file when many files were written.
  virtual Status sync_filesystem(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual Result<bool> exists(const std::string& path) = 0;
};

// The process-wide POSIX implementation.
FileSystem& posix_file_system();

// Maps an errno to an Error naming the operation and path.
Error errno_error(int err, const std::string& what, const std::string& path);

// Replaces `path` with `data` so that a crash leaves either the old or the new contents:
// write to `path.tmp`, fsync, rename over `path`, fsync the directory.
Status write_file_atomically(FileSystem& fs, const std::string& path,
                             std::span<const std::byte> data);

// Reads a whole file, refusing files larger than `max_size`.
Result<std::vector<std::byte>> read_whole_file(FileSystem& fs, const std::string& path,
                                               uint64_t max_size);

std::string parent_dir(const std::string& path);
std::string join_path(const std::string& a, const std::string& b);

}  // namespace eddy

// A FileSystem wrapper that fails chosen calls, for tests of behaviour under bad disks.
//
// A Fault names an operation kind and which upcoming call of that kind fails (1 = the next one)
// with which errno. A write fault may first write a prefix of the data (a short write, as a full
// disk produces); a sticky fault keeps failing every later call of that kind until clear().
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

#include "common/file_io.h"

namespace eddy {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  enum class Op { kOpen, kWrite, kSync, kTruncate, kRename, kSyncDir, kCount };

  struct Fault {
    Op op;
    uint64_t nth = 1;
    int error = 5;  // EIO
    size_t partial_bytes = 0;
    bool sticky = false;
  };

  explicit FaultInjectionFileSystem(FileSystem& base) : base_(base) {}

  void inject(Fault fault);
  void clear();
  uint64_t calls(Op op) const { return counters_[static_cast<int>(op)].load(); }

  // Called by wrapped files and by this class: returns the fault to apply to this call, if any.
  std::optional<Fault> check(Op op);

  Result<std::unique_ptr<File>> open(const std::string& path, OpenOptions options) override;
  Status remove(const std::string& path) override { return base_.remove(path); }
  Status remove_all(const std::string& path) override { return base_.remove_all(path); }
  Status rename(const std::string& from, const std::string& to) override;
  Status create_dirs(const std::string& path) override { return base_.create_dirs(path); }
  Status sync_dir(const std::string& path) override;
  Status sync_filesystem(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return base_.list_dir(path);
  }
  Result<bool> exists(const std::string& path) override { return base_.exists(path); }

 private:
  struct Armed {
    Fault fault;
    uint64_t fire_at;  // absolute call number
  };

  FileSystem& base_;
  std::atomic<uint64_t> counters_[static_cast<int>(Op::kCount)] = {};
  std::mutex mu_;
  std::vector<Armed> armed_;
};

}  // namespace eddy

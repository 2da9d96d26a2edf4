#include "common/fault_injection.h"

#include <algorithm>

namespace eddy {
namespace {

class FaultyFile final : public File {
 public:
  FaultyFile(std::unique_ptr<File> base, FaultInjectionFileSystem& fs)
      : base_(std::move(base)), fs_(fs) {}

  Result<size_t> read_at(uint64_t offset, std::span<std::byte> out) override {
    return base_->read_at(offset, out);
  }
  Status write_at(uint64_t offset, std::span<const std::byte> data) override {
    if (auto fault = fs_.check(FaultInjectionFileSystem::Op::kWrite)) {
      size_t partial = std::min(fault->partial_bytes, data.size());
      if (partial > 0) RETURN_IF_ERROR(base_->write_at(offset, data.first(partial)));
      return errno_error(fault->error, "write (injected)", path());
    }
    return base_->write_at(offset, data);
  }
  Status sync() override {
    if (auto fault = fs_.check(FaultInjectionFileSystem::Op::kSync)) {
      return errno_error(fault->error, "fdatasync (injected)", path());
    }
    return base_->sync();
  }
  Status truncate(uint64_t size) override {
    if (auto fault = fs_.check(FaultInjectionFileSystem::Op::kTruncate)) {
      return errno_error(fault->error, "truncate (injected)", path());
    }
    return base_->truncate(size);
  }
  Result<uint64_t> size() override { return base_->size(); }
  int native_handle() const override { return base_->native_handle(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<File> base_;
  FaultInjectionFileSystem& fs_;
};

}  // namespace

void FaultInjectionFileSystem::inject(Fault fault) {
  std::lock_guard lock(mu_);
  uint64_t now = counters_[static_cast<int>(fault.op)].load();
  armed_.push_back({fault, now + std::max<uint64_t>(fault.nth, 1)});
}

void FaultInjectionFileSystem::clear() {
  std::lock_guard lock(mu_);
  armed_.clear();
}

std::optional<FaultInjectionFileSystem::Fault> FaultInjectionFileSystem::check(Op op) {
  uint64_t call = ++counters_[static_cast<int>(op)];
  std::lock_guard lock(mu_);
  for (auto it = armed_.begin(); it != armed_.end(); ++it) {
    if (it->fault.op != op) continue;
    if (call == it->fire_at || (it->fault.sticky && call > it->fire_at)) {
      Fault fault = it->fault;
      if (!it->fault.sticky) armed_.erase(it);
      return fault;
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<File>> FaultInjectionFileSystem::open(const std::string& path,
                                                             OpenOptions options) {
  if (auto fault = check(Op::kOpen)) {
    return errno_error(fault->error, "open (injected)", path);
  }
  ASSIGN_OR_RETURN(auto file, base_.open(path, options));
  return std::unique_ptr<File>(std::make_unique<FaultyFile>(std::move(file), *this));
}

Status FaultInjectionFileSystem::rename(const std::string& from, const std::string& to) {
  if (auto fault = check(Op::kRename)) {
    return errno_error(fault->error, "rename (injected)", from);
  }
  return base_.rename(from, to);
}

Status FaultInjectionFileSystem::sync_filesystem(const std::string& path) {
  if (auto fault = check(Op::kSyncDir)) {
    return errno_error(fault->error, "syncfs (injected)", path);
  }
  return base_.sync_filesystem(path);
}

Status FaultInjectionFileSystem::sync_dir(const std::string& path) {
  if (auto fault = check(Op::kSyncDir)) {
    return errno_error(fault->error, "fsync directory (injected)", path);
  }
  return base_.sync_dir(path);
}

}  // namespace eddy

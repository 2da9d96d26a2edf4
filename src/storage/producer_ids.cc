#include "storage/producer_ids.h"

#include <charconv>
#include <cstdio>

#include "common/crc32c.h"

namespace eddy::storage {
namespace {

constexpr const char* kHeader = "eddy-producer-ids 1\n";

std::string encode(int64_t next) {
  std::string body = std::string(kHeader) + "next " + std::to_string(next) + "\n";
  char crc[16];
  std::snprintf(crc, sizeof(crc), "crc %08x\n", crc32c(body.data(), body.size()));
  return body + crc;
}

}  // namespace

ProducerIdAllocator::ProducerIdAllocator(FileSystem& fs, std::string path, int64_t reserved)
    : fs_(&fs), path_(std::move(path)), next_(reserved), reserved_(reserved) {}

ProducerIdAllocator::ProducerIdAllocator(ProducerIdAllocator&& other) noexcept
    : fs_(other.fs_),
      path_(std::move(other.path_)),
      next_(other.next_),
      reserved_(other.reserved_) {}

Result<ProducerIdAllocator> ProducerIdAllocator::open(FileSystem& fs, std::string path) {
  ASSIGN_OR_RETURN(bool exists, fs.exists(path));
  if (!exists) return ProducerIdAllocator(fs, std::move(path), 0);
  ASSIGN_OR_RETURN(auto bytes, read_whole_file(fs, path, 4096));
  const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t crc_at = text.rfind("crc ");
  int64_t next = -1;
  bool valid =
      crc_at != std::string::npos && text.compare(0, std::string(kHeader).size(), kHeader) == 0;
  if (valid) {
    const std::string body = text.substr(0, crc_at);
    unsigned stored = 0;
    const char* crc_begin = text.data() + crc_at + 4;
    auto [crc_end, crc_ec] = std::from_chars(crc_begin, text.data() + text.size(), stored, 16);
    const size_t next_at = body.find("\nnext ");
    valid = crc_ec == std::errc() && crc_end - crc_begin == 8 &&
            stored == crc32c(body.data(), body.size()) && next_at != std::string::npos;
    if (valid) {
      const char* begin = body.data() + next_at + 6;
      auto [end, ec] = std::from_chars(begin, body.data() + body.size(), next);
      valid = ec == std::errc() && next >= 0 && *end == '\n';
    }
  }
  if (!valid) {
    return Error(ErrorCode::kCorrupt, path +
                                          " is damaged; refusing to start, since guessing the "
                                          "next producer id could reuse one");
  }
  return ProducerIdAllocator(fs, std::move(path), next);
}

Result<int64_t> ProducerIdAllocator::allocate() {
  std::lock_guard lock(mu_);
  if (next_ == reserved_) {
    const std::string text = encode(reserved_ + kBlockSize);
    RETURN_IF_ERROR(write_file_atomically(
        *fs_, path_,
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size())));
    reserved_ += kBlockSize;
  }
  return next_++;
}

bool ProducerIdAllocator::issued(int64_t id) const {
  std::lock_guard lock(mu_);
  return id >= 0 && id < next_;
}

}  // namespace eddy::storage

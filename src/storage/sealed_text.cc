#include "storage/sealed_text.h"

#include <charconv>
#include <cstdio>

#include "common/crc32c.h"

namespace eddy::storage {

std::string seal_text(std::string body) {
  char crc[32];
  std::snprintf(crc, sizeof(crc), "crc %08x\n", crc32c(body.data(), body.size()));
  return body + crc;
}

Result<std::string> unseal_text(const std::string& text, const std::string& what) {
  auto corrupt = [&](const std::string& why) {
    return Error(ErrorCode::kCorrupt, what + " is damaged: " + why);
  };
  const size_t crc_line = text.rfind("crc ");
  if (crc_line == std::string::npos || (crc_line > 0 && text[crc_line - 1] != '\n')) {
    return corrupt("no checksum line");
  }
  uint32_t expected = 0;
  std::string hex = text.substr(crc_line + 4);
  while (!hex.empty() && hex.back() == '\n')
    hex.pop_back();
  auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), expected, 16);
  if (ec != std::errc() || ptr != hex.data() + hex.size() || hex.size() != 8) {
    return corrupt("bad checksum line");
  }
  if (crc32c(text.data(), crc_line) != expected) return corrupt("checksum mismatch");
  return text.substr(0, crc_line);
}

Result<std::optional<std::string>> read_text_file(FileSystem& fs, const std::string& path,
                                                  uint64_t max_bytes) {
  ASSIGN_OR_RETURN(bool exists, fs.exists(path));
  if (!exists) return std::optional<std::string>();
  ASSIGN_OR_RETURN(auto bytes, read_whole_file(fs, path, max_bytes));
  return std::optional<std::string>(
      std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Status write_text_file(FileSystem& fs, const std::string& path, const std::string& text) {
  return write_file_atomically(
      fs, path,
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

}  // namespace eddy::storage

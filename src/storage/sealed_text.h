// Small text files that end in a checksum line ("crc <8 hex digits>", CRC-32C of every byte
// before it), so a torn or damaged file is detected instead of being read as valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/file_io.h"
#include "common/result.h"

namespace eddy::storage {

// `body` followed by its checksum line.
std::string seal_text(std::string body);
// The body of a sealed text; kCorrupt naming `what` when the checksum line is missing or wrong.
Result<std::string> unseal_text(const std::string& text, const std::string& what);

// The whole text file at `path` (at most `max_bytes`), or nullopt when there is none.
Result<std::optional<std::string>> read_text_file(FileSystem& fs, const std::string& path,
                                                  uint64_t max_bytes);
// Replaces `path` with `text` atomically (write_file_atomically).
Status write_text_file(FileSystem& fs, const std::string& path, const std::string& text);

}  // namespace eddy::storage

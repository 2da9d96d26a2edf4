// Small text files that end in a checksum line ("crc <8 hex digits>", CRC-32C of every byte
// before it), so a torn or damaged file is detected instead of being read as valid.
#pragma once

#include <string>

#include "common/result.h"

namespace eddy::storage {

// `body` followed by its checksum line.
std::string seal_text(std::string body);
// The body of a sealed text; kCorrupt naming `what` when the checksum line is missing or wrong.
Result<std::string> unseal_text(const std::string& text, const std::string& what);

}  // namespace eddy::storage

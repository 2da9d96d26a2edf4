// CRC-32C (Castagnoli), the checksum Kafka's v2 record batches carry and our own files use.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time) and a
// slicing-by-8 table implementation otherwise; both give identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace eddy {

// Extends `crc` (the value returned by a previous call, or 0 to start) over `data`.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);

inline uint32_t crc32c(const void* data, size_t size) {
  return crc32c_extend(0, data, size);
}
inline uint32_t crc32c(std::span<const std::byte> data) {
  return crc32c_extend(0, data.data(), data.size());
}

// Exposed for tests: forces the portable path.
uint32_t crc32c_extend_portable(uint32_t crc, const void* data, size_t size);
bool crc32c_hardware_available();

}  // namespace eddy

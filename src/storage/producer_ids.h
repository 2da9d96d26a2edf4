// Producer ids for idempotent producers (Kafka's InitProducerId), never handed out twice for
// the life of the data directory, crashes included.
//
// Ids are reserved in blocks: before the first id of a block is returned, the end of the block
// is written durably to the file `producer_ids` (atomic replace), so after any crash the next
// process starts past every id the previous one could have issued. A block costs one atomic
// file write; the rest are a counter increment under a mutex. The file is text:
//
//   eddy-producer-ids 1
//   next <first id not yet reserved>
//   crc <8 hex digits: CRC-32C of every byte before this line>
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "common/file_io.h"
#include "common/result.h"

namespace eddy::storage {

class ProducerIdAllocator {
 public:
  static constexpr int64_t kBlockSize = 1000;  // as Kafka's producer id blocks

  // Reads the reservation in `path` (missing: ids start at 0). A damaged file is an error: a
  // guess could reuse ids.
  static Result<ProducerIdAllocator> open(FileSystem& fs, std::string path);

  ProducerIdAllocator(ProducerIdAllocator&& other) noexcept;

  Result<int64_t> allocate();
  // Whether `id` may have been issued by this data directory.
  bool issued(int64_t id) const;

 private:
  ProducerIdAllocator(FileSystem& fs, std::string path, int64_t reserved);

  FileSystem* fs_;
  std::string path_;
  mutable std::mutex mu_;
  int64_t next_;      // next id to return
  int64_t reserved_;  // ids below this are durably reserved
};

}  // namespace eddy::storage

// Builds Kafka v2 record batches for tests and benchmarks, the way a producer would.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace eddy::testing {

struct TestRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt = tombstone
  int64_t timestamp_delta = 0;
};

struct BatchSpec {
  int64_t base_timestamp = 1700000000000;
  std::vector<TestRecord> records{};
  // Idempotent producers set all three; -1 is a plain producer.
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  bool transactional = false;
};

// One uncompressed batch with base offset 0 and a valid CRC.
std::vector<std::byte> build_batch(const BatchSpec& spec);

// `count` records of `value_size` bytes (values carry `tag` and the index so they differ).
std::vector<std::byte> build_value_batch(int count, size_t value_size, const std::string& tag = "v",
                                         int64_t base_timestamp = 1700000000000);

// `count` records from an idempotent producer, values "<tag>-<index>".
std::vector<std::byte> build_idempotent_batch(int64_t producer_id, int16_t epoch,
                                              int32_t base_sequence, int count,
                                              const std::string& tag = "i",
                                              int64_t base_timestamp = 1700000000000);

}  // namespace eddy::testing

#include "batch_builder.h"

#include <algorithm>

#include "storage/record_batch.h"
#include "storage/records.h"

namespace eddy::testing {

std::vector<std::byte> build_batch(const BatchSpec& spec) {
  std::vector<storage::OutgoingRecord> records;
  records.reserve(spec.records.size());
  for (const TestRecord& r : spec.records) {
    records.push_back({r.key ? std::optional<std::string_view>(*r.key) : std::nullopt,
                       r.value ? std::optional<std::string_view>(*r.value) : std::nullopt,
                       r.timestamp_delta});
  }
  std::vector<std::byte> batch = storage::encode_batch(records, spec.base_timestamp);
  std::byte* p = batch.data();
  storage::store_be16(p + 21, spec.transactional ? storage::kTransactionalFlag : 0);
  storage::store_be64(p + 43, spec.producer_id);
  storage::store_be16(p + 51, spec.producer_epoch);
  storage::store_be32(p + 53, spec.base_sequence);
  storage::update_batch_crc(batch);
  return batch;
}

std::vector<std::byte> build_value_batch(int count, size_t value_size, const std::string& tag,
                                         int64_t base_timestamp) {
  BatchSpec spec;
  spec.base_timestamp = base_timestamp;
  for (int i = 0; i < count; ++i) {
    std::string value = tag + "-" + std::to_string(i) + "-";
    value.resize(std::max(value.size(), value_size), 'x');
    spec.records.push_back({std::nullopt, value, 0});
  }
  return build_batch(spec);
}

std::vector<std::byte> build_idempotent_batch(int64_t producer_id, int16_t epoch,
                                              int32_t base_sequence, int count,
                                              const std::string& tag, int64_t base_timestamp) {
  BatchSpec spec{.base_timestamp = base_timestamp,
                 .producer_id = producer_id,
                 .producer_epoch = epoch,
                 .base_sequence = base_sequence};
  for (int i = 0; i < count; ++i)
    spec.records.push_back({std::nullopt, tag + "-" + std::to_string(i), 0});
  return build_batch(spec);
}

}  // namespace eddy::testing

#include "batch_builder.h"

#include <algorithm>

#include "storage/record_batch.h"
#include "storage/records.h"

namespace eddy::testing {

using storage::put_varint;

std::vector<std::byte> build_batch(const BatchSpec& spec) {
  std::vector<std::byte> body;
  int64_t max_delta = 0;
  for (size_t i = 0; i < spec.records.size(); ++i) {
    const TestRecord& r = spec.records[i];
    std::vector<std::byte> rec;
    rec.push_back(std::byte{0});  // attributes
    put_varint(rec, r.timestamp_delta);
    put_varint(rec, static_cast<int64_t>(i));
    if (r.key) {
      put_varint(rec, static_cast<int64_t>(r.key->size()));
      for (char c : *r.key)
        rec.push_back(static_cast<std::byte>(c));
    } else {
      put_varint(rec, -1);
    }
    if (r.value) {
      put_varint(rec, static_cast<int64_t>(r.value->size()));
      for (char c : *r.value)
        rec.push_back(static_cast<std::byte>(c));
    } else {
      put_varint(rec, -1);
    }
    put_varint(rec, 0);  // headers
    put_varint(body, static_cast<int64_t>(rec.size()));
    body.insert(body.end(), rec.begin(), rec.end());
    max_delta = std::max(max_delta, r.timestamp_delta);
  }
  std::vector<std::byte> batch(storage::kBatchHeaderSize);
  batch.insert(batch.end(), body.begin(), body.end());
  std::byte* p = batch.data();
  storage::store_be64(p + 0, 0);
  storage::store_be32(p + 8, static_cast<int32_t>(batch.size() - storage::kLogOverhead));
  storage::store_be32(p + 12, 0);
  p[16] = std::byte{2};
  storage::store_be16(p + 21, spec.transactional ? storage::kTransactionalFlag : 0);
  const int32_t count = static_cast<int32_t>(spec.records.size());
  storage::store_be32(p + 23, count > 0 ? count - 1 : 0);
  storage::store_be64(p + 27, spec.base_timestamp);
  storage::store_be64(p + 35, spec.base_timestamp + max_delta);
  storage::store_be64(p + 43, spec.producer_id);
  storage::store_be16(p + 51, spec.producer_epoch);
  storage::store_be32(p + 53, spec.base_sequence);
  storage::store_be32(p + 57, count);
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

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
  return storage::encode_batch(records, spec.base_timestamp);
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

}  // namespace eddy::testing

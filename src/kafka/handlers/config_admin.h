// Pieces the topic-config admin handlers (CreateTopics, DescribeConfigs, AlterConfigs,
// IncrementalAlterConfigs) share: Kafka's config-source codes, storing a topic's new overrides,
// and the per-resource response both alter APIs send.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kafka/protocol.h"
#include "kafka/wire.h"
#include "storage/topic_config.h"

namespace eddy::kafka {

// DescribeConfigs' ConfigSource values.
inline constexpr int8_t kSourceTopicConfig = 1;
inline constexpr int8_t kSourceStaticBrokerConfig = 4;
inline constexpr int8_t kSourceDefaultConfig = 5;

using AlterOutcome = std::pair<KafkaError, std::optional<std::string>>;

// Validates `overrides` against the broker defaults and, unless `validate_only`, makes them the
// topic's overrides, mapping storage errors to the codes the alter APIs answer with.
AlterOutcome store_topic_overrides(RequestContext& ctx, const std::string& topic,
                                   const storage::ConfigMap& overrides, bool validate_only);

// The response both alter APIs send: per resource an error code, an optional message, and the
// resource's type and name. A resource named twice in one request is refused (the result would
// depend on the order of its entries).
// `Resource` has `type` (int8) and `name`; `alter(resource)` applies it and returns the outcome.
template <typename Resource, typename Alter>
std::vector<std::byte> write_alter_response(bool flexible, const std::vector<Resource>& resources,
                                            Alter&& alter) {
  std::map<std::pair<int8_t, std::string>, int> occurrences;
  for (const auto& r : resources)
    ++occurrences[{r.type, r.name}];
  WireWriter w(flexible);
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(resources.size()));
  for (const auto& r : resources) {
    auto [error, message] = occurrences[{r.type, r.name}] > 1
                                ? AlterOutcome{KafkaError::kInvalidRequest,
                                               "Resource appears more than once in the request."}
                                : alter(r);
    w.i16(code(error));
    w.nullable_string(message);
    w.i8(r.type);
    w.string(r.name);
    w.tagged_fields();
  }
  w.tagged_fields();
  return w.take();
}

}  // namespace eddy::kafka

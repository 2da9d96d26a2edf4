// Pieces the config admin handlers (CreateTopics, DescribeConfigs, AlterConfigs,
// IncrementalAlterConfigs) share: Kafka's config-source codes, the described entries of a topic
// or broker, storing new topic overrides or dynamic broker configs, and the per-resource response
// both alter APIs send.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kafka/protocol.h"
#include "kafka/wire.h"
#include "storage/broker_config.h"
#include "storage/topic_config.h"

namespace eddy::kafka {

inline constexpr int8_t kResourceTopic = 2;
inline constexpr int8_t kResourceBroker = 4;

// DescribeConfigs' ConfigSource values.
inline constexpr int8_t kSourceTopicConfig = 1;
inline constexpr int8_t kSourceDynamicBrokerConfig = 2;
inline constexpr int8_t kSourceDynamicDefaultBrokerConfig = 3;
inline constexpr int8_t kSourceStaticBrokerConfig = 4;
inline constexpr int8_t kSourceDefaultConfig = 5;

struct ConfigSynonym {
  std::string name;
  std::optional<std::string> value;
  int8_t source;
};

// One described config, as DescribeConfigs and CreateTopics v5+ send it.
struct ConfigEntry {
  std::string name;
  std::optional<std::string> value{};  // null when sensitive
  bool read_only = false;
  int8_t source = kSourceDefaultConfig;
  bool sensitive = false;
  storage::ConfigType type = storage::ConfigType::kString;
  std::vector<ConfigSynonym> synonyms{};  // most specific first, as Kafka orders them
};

// Every config of a topic with `overrides` and the `effective` values they give, with where
// each value comes from (the override, a dynamic broker config, the static configuration).
std::vector<ConfigEntry> topic_config_entries(const RequestContext& ctx,
                                              const storage::ConfigMap& overrides,
                                              const storage::TopicConfig& effective);
// The configs of this broker (`scope` kBroker) or the dynamic cluster-wide defaults.
std::vector<ConfigEntry> broker_config_entries(const RequestContext& ctx,
                                               storage::BrokerScope scope);

using AlterOutcome = std::pair<KafkaError, std::optional<std::string>>;

// The scope a BROKER resource name selects: "" the cluster-wide default, this broker's node id
// the broker itself; another name is an error outcome.
std::optional<storage::BrokerScope> broker_scope(const RequestContext& ctx, const std::string& name,
                                                 AlterOutcome& error);

// Validates `overrides` against the broker defaults and, unless `validate_only`, makes them the
// topic's overrides, mapping storage errors to the codes the alter APIs answer with. Rejected
// configs are logged.
AlterOutcome store_topic_overrides(RequestContext& ctx, const std::string& topic,
                                   const storage::ConfigMap& overrides, bool validate_only);
// The same for the dynamic broker configs of `scope` (the whole set of that scope).
AlterOutcome store_broker_configs(RequestContext& ctx, storage::BrokerScope scope,
                                  const storage::ConfigMap& values, bool validate_only);

// Held while an alter request reads a resource's configs, changes them and stores them again, so
// that two requests altering the same resource at once cannot lose one's changes
// (IncrementalAlterConfigs starts from the values in force). One lock for every resource:
// altering configs is rare and each store is one small durable write.
std::mutex& config_alteration_mutex();

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

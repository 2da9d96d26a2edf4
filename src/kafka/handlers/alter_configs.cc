// AlterConfigs (API 33), v0–v2; flexible from v2.
//
// The legacy, non-incremental API: a TOPIC resource's config list becomes the topic's complete
// set of overrides, so every key left out returns to the broker default. A BROKER resource's
// list likewise becomes the complete set of dynamic configs of that scope (this broker's id, or
// "" for the cluster-wide default).
#include <map>

#include "kafka/handlers/config_admin.h"
#include "kafka/handlers/handlers.h"
#include "storage/catalog.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

struct Resource {
  int8_t type = 0;
  std::string name;
  std::vector<std::pair<std::string, std::optional<std::string>>> configs;
};

using Outcome = AlterOutcome;

Outcome alter(RequestContext& ctx, const Resource& r, bool validate_only) {
  // (Replaces the whole set, but must not interleave with an incremental read-change-store.)
  std::lock_guard lock(config_alteration_mutex());
  storage::ConfigMap values;
  for (const auto& [key, value] : r.configs) {
    if (!value)
      return {KafkaError::kInvalidConfig, "config " + key + ": null value is not allowed"};
    // A key given twice takes its last value, as Kafka reads the list into Properties
    // (librdkafka's helpers send a described value and then the new one).
    values[key] = *value;
  }
  if (r.type == kResourceBroker) {
    Outcome error;
    auto scope = broker_scope(ctx, r.name, error);
    if (!scope) return error;
    return store_broker_configs(ctx, *scope, values, validate_only);
  }
  if (r.type != kResourceTopic) {
    return {KafkaError::kInvalidRequest,
            "Resource type " + std::to_string(r.type) + " is not supported."};
  }
  if (auto valid = storage::validate_topic_name(r.name); !valid.ok()) {
    return {KafkaError::kInvalidTopicException, valid.error().message()};
  }
  if (!ctx.log.topic(r.name)) {
    return {KafkaError::kUnknownTopicOrPartition, "Topic '" + r.name + "' does not exist."};
  }
  return store_topic_overrides(ctx, r.name, values, validate_only);
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<Resource> resources;
  int32_t n = body.array_length(3);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    Resource r;
    r.type = body.i8();
    r.name = body.string();
    int32_t nc = body.array_length(2);
    for (int32_t j = 0; j < nc && body.ok(); ++j) {
      std::string key = body.string();
      auto value = body.nullable_string();
      body.tagged_fields();
      r.configs.emplace_back(std::move(key), std::move(value));
    }
    body.tagged_fields();
    resources.push_back(std::move(r));
  }
  bool validate_only = body.boolean();
  body.tagged_fields();
  if (!body.ok()) return false;

  respond(write_alter_response(v >= 2, resources,
                               [&](const Resource& r) { return alter(ctx, r, validate_only); }));
  return true;
}

}  // namespace

Handler make_alter_configs_handler() {
  return Handler{ApiKey::kAlterConfigs, "AlterConfigs", 0, 2, 2, handle};
}

}  // namespace eddy::kafka

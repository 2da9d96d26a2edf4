// IncrementalAlterConfigs (API 44), v0–v1; flexible from v1.
//
// Each operation edits one key of a TOPIC resource's overrides, or of a BROKER resource's
// dynamic configs; keys not named keep their value. The whole resource is validated before
// anything is stored, so a resource is changed completely or not at all. APPEND and SUBTRACT
// apply to list-valued keys only.
#include <algorithm>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "kafka/handlers/config_admin.h"
#include "kafka/handlers/handlers.h"
#include "storage/catalog.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

enum Op : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };

struct Operation {
  std::string key;
  int8_t op = 0;
  std::optional<std::string> value;
};

struct Resource {
  int8_t type = 0;
  std::string name;
  std::vector<Operation> ops;
};

using Outcome = AlterOutcome;

// Applies the operations to `values` (a topic's overrides or a scope's dynamic broker configs).
// `type_of` gives a key's type, or nullopt when the key is unknown; `current` the value in force
// (the start of APPEND and SUBTRACT).
template <typename TypeOf, typename Current>
std::optional<Outcome> apply_operations(const std::vector<Operation>& ops,
                                        storage::ConfigMap& values, TypeOf&& type_of,
                                        Current&& current) {
  std::set<std::string> seen;
  for (const auto& o : ops) {
    if (!seen.insert(o.key).second) {
      return Outcome{KafkaError::kInvalidRequest, "config " + o.key + " appears more than once"};
    }
    const std::optional<storage::ConfigType> type = type_of(o.key);
    if (!type) return Outcome{KafkaError::kInvalidConfig, "unknown config '" + o.key + "'"};
    if (o.op == kDelete) {
      values.erase(o.key);
      continue;
    }
    if (o.op != kSet && o.op != kAppend && o.op != kSubtract) {
      return Outcome{KafkaError::kInvalidRequest,
                     "unknown config operation " + std::to_string(o.op)};
    }
    if (!o.value) {
      return Outcome{KafkaError::kInvalidConfig, "config " + o.key + ": null value is not allowed"};
    }
    if (o.op == kSet) {
      values[o.key] = *o.value;
      continue;
    }
    if (*type != storage::ConfigType::kList) {
      return Outcome{KafkaError::kInvalidConfig,
                     std::string(o.op == kAppend ? "APPEND" : "SUBTRACT") +
                         " applies only to list configs, not " + o.key};
    }
    // List operations start from the value in force, whether set here or inherited.
    auto items = storage::config_list_items(current(o.key));
    for (const auto& item : storage::config_list_items(*o.value)) {
      auto at = std::find(items.begin(), items.end(), item);
      if (o.op == kAppend && at == items.end()) items.push_back(item);
      if (o.op == kSubtract && at != items.end()) items.erase(at);
    }
    values[o.key] = storage::join_config_list(items);
  }
  return std::nullopt;
}

Outcome alter_broker(RequestContext& ctx, const Resource& r, bool validate_only) {
  Outcome error;
  auto scope = broker_scope(ctx, r.name, error);
  if (!scope) return error;
  const auto dynamic = ctx.log.dynamic_broker_configs();
  storage::ConfigMap values = dynamic.at(*scope);
  const auto static_values = ctx.log.static_defaults().to_map();
  auto type_of = [](const std::string& key) -> std::optional<storage::ConfigType> {
    const auto* k = storage::find_dynamic_broker_key(key);
    if (k == nullptr) return std::nullopt;
    return k->type;
  };
  auto current = [&](const std::string& key) -> std::string {
    for (auto layer : {storage::BrokerScope::kBroker, storage::BrokerScope::kClusterDefault}) {
      if (layer == storage::BrokerScope::kBroker && *scope != layer) continue;
      auto set = dynamic.at(layer).find(key);
      if (set != dynamic.at(layer).end()) return set->second;
    }
    const auto* k = storage::find_dynamic_broker_key(key);
    return k && k->topic_key ? static_values.at(k->topic_key->name) : "";
  };
  for (const auto& o : r.ops) {
    // A name Kafka knows but that cannot change at run time is an invalid request, as in Kafka.
    if (!storage::find_dynamic_broker_key(o.key)) {
      auto checked = storage::check_dynamic_broker_config(o.key, o.value.value_or(""));
      spdlog::warn("rejected broker config: {}", checked.error().message());
      return {KafkaError::kInvalidRequest, checked.error().message()};
    }
  }
  if (auto failed = apply_operations(r.ops, values, type_of, current)) return *failed;
  return store_broker_configs(ctx, *scope, values, validate_only);
}

Outcome alter(RequestContext& ctx, const Resource& r, bool validate_only) {
  std::lock_guard lock(config_alteration_mutex());  // read, change and store as one step
  if (r.type == kResourceBroker) return alter_broker(ctx, r, validate_only);
  if (r.type != kResourceTopic) {
    return {KafkaError::kInvalidRequest,
            "Resource type " + std::to_string(r.type) + " is not supported."};
  }
  if (auto valid = storage::validate_topic_name(r.name); !valid.ok()) {
    return {KafkaError::kInvalidTopicException, valid.error().message()};
  }
  auto topic = ctx.log.topic(r.name);
  auto config = ctx.log.effective_config(r.name);
  if (!topic || !config.ok()) {
    return {KafkaError::kUnknownTopicOrPartition, "Topic '" + r.name + "' does not exist."};
  }
  const auto current_values = config->to_map();
  storage::ConfigMap overrides = topic->overrides;
  auto type_of = [](const std::string& key) -> std::optional<storage::ConfigType> {
    const auto* k = storage::TopicConfig::find_key(key);
    if (k == nullptr) return std::nullopt;
    return k->type;
  };
  auto current = [&](const std::string& key) { return current_values.at(key); };
  if (auto failed = apply_operations(r.ops, overrides, type_of, current)) {
    spdlog::warn("rejected config of topic '{}': {}", r.name, *failed->second);
    return *failed;
  }
  return store_topic_overrides(ctx, r.name, overrides, validate_only);
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<Resource> resources;
  int32_t n = body.array_length(3);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    Resource r;
    r.type = body.i8();
    r.name = body.string();
    int32_t nc = body.array_length(3);
    for (int32_t j = 0; j < nc && body.ok(); ++j) {
      Operation o;
      o.key = body.string();
      o.op = body.i8();
      o.value = body.nullable_string();
      body.tagged_fields();
      r.ops.push_back(std::move(o));
    }
    body.tagged_fields();
    resources.push_back(std::move(r));
  }
  bool validate_only = body.boolean();
  body.tagged_fields();
  if (!body.ok()) return false;

  respond(write_alter_response(v >= 1, resources,
                               [&](const Resource& r) { return alter(ctx, r, validate_only); }));
  return true;
}

}  // namespace

Handler make_incremental_alter_configs_handler() {
  return Handler{ApiKey::kIncrementalAlterConfigs, "IncrementalAlterConfigs", 0, 1, 1, handle};
}

}  // namespace eddy::kafka

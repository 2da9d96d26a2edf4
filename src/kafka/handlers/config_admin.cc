#include "kafka/handlers/config_admin.h"

#include <spdlog/spdlog.h>

#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

// Where a static default comes from: the flags when they differ from the built-in value.
int8_t static_source(const std::string& static_value, const std::string& builtin_value) {
  return static_value == builtin_value ? kSourceDefaultConfig : kSourceStaticBrokerConfig;
}

void hide_if_sensitive(ConfigEntry& e) {
  if (!e.sensitive) return;
  e.value.reset();
  for (auto& s : e.synonyms)
    s.value.reset();
}

KafkaError config_error(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kNotFound:
      return KafkaError::kUnknownTopicOrPartition;
    case ErrorCode::kInvalidArgument:
      return KafkaError::kInvalidConfig;
    case ErrorCode::kUnsupported:
      return KafkaError::kInvalidRequest;
    default:
      return to_kafka_error(e);
  }
}

}  // namespace

std::vector<ConfigEntry> topic_config_entries(const RequestContext& ctx,
                                              const storage::ConfigMap& overrides,
                                              const storage::TopicConfig& effective) {
  const auto values = effective.to_map();
  const auto static_values = ctx.log.static_defaults().to_map();
  const auto builtin_values = storage::TopicConfig{}.to_map();
  const auto dynamic = ctx.log.dynamic_broker_configs();
  std::vector<ConfigEntry> entries;
  for (const auto& key : storage::TopicConfig::keys()) {
    ConfigEntry e{.name = key.name, .value = values.at(key.name), .type = key.type};
    if (overrides.count(key.name)) e.synonyms.push_back({key.name, e.value, kSourceTopicConfig});
    if (!key.broker_name.empty()) {
      for (auto [scope, source] :
           {std::pair{storage::BrokerScope::kBroker, kSourceDynamicBrokerConfig},
            std::pair{storage::BrokerScope::kClusterDefault, kSourceDynamicDefaultBrokerConfig}}) {
        auto set = dynamic.at(scope).find(key.broker_name);
        if (set != dynamic.at(scope).end())
          e.synonyms.push_back({key.broker_name, set->second, source});
      }
    }
    const std::string& static_value = static_values.at(key.name);
    e.synonyms.push_back({key.broker_name.empty() ? key.name : key.broker_name, static_value,
                          static_source(static_value, builtin_values.at(key.name))});
    e.source = e.synonyms.front().source;
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<ConfigEntry> broker_config_entries(const RequestContext& ctx,
                                               storage::BrokerScope scope) {
  const auto dynamic = ctx.log.dynamic_broker_configs();
  std::vector<ConfigEntry> entries;
  if (scope == storage::BrokerScope::kClusterDefault) {
    // Kafka describes the default resource by the values set on it only.
    for (const auto& [name, value] : dynamic.cluster_default) {
      const auto* key = storage::find_dynamic_broker_key(name);
      if (key == nullptr) continue;
      ConfigEntry e{.name = name,
                    .value = value,
                    .source = kSourceDynamicDefaultBrokerConfig,
                    .sensitive = key->sensitive,
                    .type = key->type,
                    .synonyms = {{name, value, kSourceDynamicDefaultBrokerConfig}}};
      hide_if_sensitive(e);
      entries.push_back(std::move(e));
    }
    return entries;
  }
  const auto static_values = ctx.log.static_defaults().to_map();
  const auto builtin_values = storage::TopicConfig{}.to_map();
  for (const auto& key : storage::dynamic_broker_keys()) {
    ConfigEntry e{.name = key.name, .sensitive = key.sensitive, .type = key.type};
    for (auto [layer, source] :
         {std::pair{storage::BrokerScope::kBroker, kSourceDynamicBrokerConfig},
          std::pair{storage::BrokerScope::kClusterDefault, kSourceDynamicDefaultBrokerConfig}}) {
      auto set = dynamic.at(layer).find(key.name);
      if (set != dynamic.at(layer).end()) e.synonyms.push_back({key.name, set->second, source});
    }
    if (key.topic_key != nullptr) {
      const std::string& static_value = static_values.at(key.topic_key->name);
      e.synonyms.push_back({key.name, static_value,
                            static_source(static_value, builtin_values.at(key.topic_key->name))});
    }
    if (e.synonyms.empty()) continue;  // an inert config nobody set
    e.value = e.synonyms.front().value;
    e.source = e.synonyms.front().source;
    hide_if_sensitive(e);
    entries.push_back(std::move(e));
  }
  // Settings fixed when the server starts.
  auto fixed = [&](std::string name, std::string value, storage::ConfigType type) {
    entries.push_back(ConfigEntry{.name = std::move(name),
                                  .value = value,
                                  .read_only = true,
                                  .source = kSourceStaticBrokerConfig,
                                  .type = type,
                                  .synonyms = {}});
    entries.back().synonyms.push_back({entries.back().name, value, kSourceStaticBrokerConfig});
  };
  const std::string listener =
      "PLAINTEXT://" + ctx.broker.host + ":" + std::to_string(ctx.broker.port);
  fixed("advertised.listeners", listener, storage::ConfigType::kString);
  fixed("auto.create.topics.enable", ctx.auto_create_topics ? "true" : "false",
        storage::ConfigType::kBoolean);
  fixed("broker.id", std::to_string(ctx.broker.node_id), storage::ConfigType::kInt);
  fixed("default.replication.factor", "1", storage::ConfigType::kInt);
  fixed("log.dirs", ctx.log.data_dir(), storage::ConfigType::kString);
  fixed("num.partitions", std::to_string(ctx.default_partitions), storage::ConfigType::kInt);
  fixed("offsets.topic.replication.factor", "1", storage::ConfigType::kShort);
  return entries;
}

std::optional<storage::BrokerScope> broker_scope(const RequestContext& ctx, const std::string& name,
                                                 AlterOutcome& error) {
  if (name.empty()) return storage::BrokerScope::kClusterDefault;
  if (name == std::to_string(ctx.broker.node_id)) return storage::BrokerScope::kBroker;
  error = {KafkaError::kInvalidRequest,
           "This is broker " + std::to_string(ctx.broker.node_id) + ", not '" + name + "'."};
  return std::nullopt;
}

std::mutex& config_alteration_mutex() {
  static std::mutex mu;
  return mu;
}

AlterOutcome store_topic_overrides(RequestContext& ctx, const std::string& topic,
                                   const storage::ConfigMap& overrides, bool validate_only) {
  auto resolved = storage::TopicConfig::resolve(ctx.log.defaults(), overrides);
  if (!resolved.ok()) {
    spdlog::warn("rejected config of topic '{}': {}", topic, resolved.error().message());
    return {KafkaError::kInvalidConfig, resolved.error().message()};
  }
  if (validate_only) return {KafkaError::kNone, std::nullopt};
  if (auto set = ctx.log.set_topic_overrides(topic, overrides); !set.ok()) {
    return {config_error(set.error()), set.error().message()};
  }
  return {KafkaError::kNone, std::nullopt};
}

AlterOutcome store_broker_configs(RequestContext& ctx, storage::BrokerScope scope,
                                  const storage::ConfigMap& values, bool validate_only) {
  const char* what = scope == storage::BrokerScope::kBroker ? "broker" : "cluster-default";
  for (const auto& [name, value] : values) {
    auto checked = storage::check_dynamic_broker_config(name, value);
    if (!checked.ok()) {
      spdlog::warn("rejected {} config: {}", what, checked.error().message());
      return {config_error(checked.error()), checked.error().message()};
    }
  }
  if (validate_only) return {KafkaError::kNone, std::nullopt};
  if (auto set = ctx.log.set_dynamic_broker_configs(scope, values); !set.ok()) {
    spdlog::warn("storing {} configs failed: {}", what, set.error().message());
    return {config_error(set.error()), set.error().message()};
  }
  spdlog::info("{} configs now: {} dynamic values", what, values.size());
  return {KafkaError::kNone, std::nullopt};
}

}  // namespace eddy::kafka

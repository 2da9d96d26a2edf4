#include "kafka/handlers/config_admin.h"

#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {

AlterOutcome store_topic_overrides(RequestContext& ctx, const std::string& topic,
                                   const storage::ConfigMap& overrides, bool validate_only) {
  auto resolved = storage::TopicConfig::resolve(ctx.log.defaults(), overrides);
  if (!resolved.ok()) return {KafkaError::kInvalidConfig, resolved.error().message()};
  if (validate_only) return {KafkaError::kNone, std::nullopt};
  if (auto set = ctx.log.set_topic_overrides(topic, overrides); !set.ok()) {
    const auto& e = set.error();
    KafkaError error = e.code() == ErrorCode::kNotFound ? KafkaError::kUnknownTopicOrPartition
                       : e.code() == ErrorCode::kInvalidArgument ? KafkaError::kInvalidConfig
                                                                 : to_kafka_error(e);
    return {error, e.message()};
  }
  return {KafkaError::kNone, std::nullopt};
}

}  // namespace eddy::kafka

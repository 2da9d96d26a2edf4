// DescribeConfigs (API 32), v0–v4; flexible from v4.
//
// TOPIC resources list the topic's effective configuration: its overrides (source TOPIC_CONFIG)
// over the dynamic broker configs over the static ones, each with its synonyms. The BROKER
// resource named by this broker's id lists the broker configs under Kafka's broker names
// (log.retention.ms, ...); the one named "" lists the dynamic cluster-wide defaults.
#include <map>
#include <set>

#include "kafka/handlers/config_admin.h"
#include "kafka/handlers/handlers.h"
#include "storage/catalog.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

struct Resource {
  int8_t type = 0;
  std::string name;
  std::optional<std::vector<std::string>> keys;  // null: every key
};

struct Described {
  KafkaError error = KafkaError::kNone;
  std::optional<std::string> message;
  std::vector<ConfigEntry> entries;
};

Described describe(RequestContext& ctx, const Resource& r) {
  Described d;
  auto fail = [&](KafkaError error, std::string message) {
    d.error = error;
    d.message = std::move(message);
    return d;
  };
  if (r.type == kResourceTopic) {
    if (auto valid = storage::validate_topic_name(r.name); !valid.ok()) {
      return fail(KafkaError::kInvalidTopicException, valid.error().message());
    }
    auto topic = ctx.log.topic(r.name);
    auto config = ctx.log.effective_config(r.name);
    if (!topic || !config.ok()) {
      return fail(KafkaError::kUnknownTopicOrPartition, "Topic '" + r.name + "' does not exist.");
    }
    d.entries = topic_config_entries(ctx, topic->overrides, *config);
  } else if (r.type == kResourceBroker) {
    AlterOutcome error;
    auto scope = broker_scope(ctx, r.name, error);
    if (!scope) return fail(error.first, *error.second);
    d.entries = broker_config_entries(ctx, *scope);
  } else {
    return fail(KafkaError::kInvalidRequest,
                "Resource type " + std::to_string(r.type) + " is not supported.");
  }
  if (r.keys) {
    // Unknown requested keys are simply absent, as in Kafka.
    std::set<std::string> wanted(r.keys->begin(), r.keys->end());
    std::erase_if(d.entries, [&](const ConfigEntry& e) { return !wanted.count(e.name); });
  }
  return d;
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<Resource> resources;
  int32_t n = body.array_length(3);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    Resource r;
    r.type = body.i8();
    r.name = body.string();
    int32_t nk = body.array_length(1);
    if (nk >= 0) r.keys.emplace();
    for (int32_t j = 0; j < nk && body.ok(); ++j)
      r.keys->push_back(body.string());
    body.tagged_fields();
    resources.push_back(std::move(r));
  }
  bool include_synonyms = v >= 1 && body.boolean();
  if (v >= 3) (void)body.boolean();  // include_documentation: Eddy has none to give
  body.tagged_fields();
  if (!body.ok()) return false;

  WireWriter w(v >= 4);
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(resources.size()));
  for (const auto& r : resources) {
    Described d = describe(ctx, r);
    w.i16(code(d.error));
    w.nullable_string(d.message);
    w.i8(r.type);
    w.string(r.name);
    w.array_length(static_cast<int32_t>(d.entries.size()));
    for (const auto& e : d.entries) {
      w.string(e.name);
      w.nullable_string(e.value);
      w.boolean(e.read_only);
      // v0's is_default: the value is no override and was set by nobody.
      if (v == 0) w.boolean(e.source == kSourceDefaultConfig);
      if (v >= 1) w.i8(e.source);
      w.boolean(e.sensitive);
      if (v >= 1) {
        const int32_t count = include_synonyms ? static_cast<int32_t>(e.synonyms.size()) : 0;
        w.array_length(count);
        for (int32_t s = 0; s < count; ++s) {
          const auto& synonym = e.synonyms[static_cast<size_t>(s)];
          w.string(synonym.name);
          w.nullable_string(synonym.value);
          w.i8(synonym.source);
          w.tagged_fields();
        }
      }
      if (v >= 3) {
        w.i8(static_cast<int8_t>(e.type));
        w.nullable_string(std::nullopt);  // documentation
      }
      w.tagged_fields();
    }
    w.tagged_fields();
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_describe_configs_handler() {
  return Handler{ApiKey::kDescribeConfigs, "DescribeConfigs", 0, 4, 4, handle};
}

}  // namespace eddy::kafka

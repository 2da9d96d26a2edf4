// DescribeConfigs (API 32), v0–v4; flexible from v4.
//
// TOPIC resources list the topic's effective configuration: its overrides (source TOPIC_CONFIG)
// over the broker defaults (source DEFAULT_CONFIG). The BROKER resource lists those defaults,
// read-only, since they come from the broker's static configuration and cannot be altered at
// run time. Keys use the topic-level names for both, as Eddy has no separate broker-level names.
#include <map>
#include <set>

#include "kafka/handlers/config_admin.h"
#include "kafka/handlers/handlers.h"
#include "storage/catalog.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

constexpr int8_t kResourceTopic = 2;
constexpr int8_t kResourceBroker = 4;

// ConfigType values (v3+): what a client may parse the value as.
constexpr int8_t kTypeString = 2;
constexpr int8_t kTypeInt = 3;
constexpr int8_t kTypeLong = 5;
constexpr int8_t kTypeList = 7;

int8_t config_type(const std::string& key) {
  static const std::map<std::string, int8_t> types = {
      {"segment.bytes", kTypeInt},        {"max.message.bytes", kTypeInt},
      {"index.interval.bytes", kTypeInt}, {"cleanup.policy", kTypeList},
      {"compression.type", kTypeString},  {"message.timestamp.type", kTypeString},
  };
  auto it = types.find(key);
  // Every other key is a 64-bit count of bytes, messages or milliseconds.
  return it == types.end() ? kTypeLong : it->second;
}

struct Synonym {
  std::string value;
  int8_t source;
};

struct Entry {
  std::string name;
  std::string value;
  bool read_only;
  int8_t source;
  std::vector<Synonym> synonyms;  // most specific first, as Kafka orders them
};

struct Resource {
  int8_t type = 0;
  std::string name;
  std::optional<std::vector<std::string>> keys;  // null: every key
};

struct Described {
  KafkaError error = KafkaError::kNone;
  std::optional<std::string> message;
  std::vector<Entry> entries;
};

Described describe(RequestContext& ctx, const Resource& r) {
  Described d;
  auto fail = [&](KafkaError error, std::string message) {
    d.error = error;
    d.message = std::move(message);
    return d;
  };
  const auto defaults = ctx.log.defaults().to_map();
  storage::ConfigMap values;
  storage::ConfigMap overrides;
  bool read_only = false;
  int8_t default_source = kSourceDefaultConfig;
  if (r.type == kResourceTopic) {
    if (auto valid = storage::validate_topic_name(r.name); !valid.ok()) {
      return fail(KafkaError::kInvalidTopicException, valid.error().message());
    }
    auto topic = ctx.log.topic(r.name);
    auto config = ctx.log.effective_config(r.name);
    if (!topic || !config.ok()) {
      return fail(KafkaError::kUnknownTopicOrPartition, "Topic '" + r.name + "' does not exist.");
    }
    values = config->to_map();
    overrides = topic->overrides;
  } else if (r.type == kResourceBroker) {
    if (!r.name.empty() && r.name != std::to_string(ctx.broker.node_id)) {
      return fail(
          KafkaError::kInvalidRequest,
          "This is broker " + std::to_string(ctx.broker.node_id) + ", not '" + r.name + "'.");
    }
    values = defaults;
    read_only = true;
    default_source = kSourceStaticBrokerConfig;
  } else {
    return fail(KafkaError::kInvalidRequest,
                "Resource type " + std::to_string(r.type) + " is not supported.");
  }
  std::set<std::string> wanted;
  if (r.keys) wanted.insert(r.keys->begin(), r.keys->end());
  for (const auto& [key, value] : values) {
    if (r.keys && !wanted.count(key)) continue;  // unknown requested keys are simply absent
    Entry e{key, value, read_only, default_source, {}};
    if (overrides.count(key)) {
      e.source = kSourceTopicConfig;
      e.synonyms.push_back({value, kSourceTopicConfig});
    }
    auto fallback = defaults.find(key);
    if (fallback != defaults.end()) e.synonyms.push_back({fallback->second, default_source});
    d.entries.push_back(std::move(e));
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
      if (v == 0) w.boolean(e.source != kSourceTopicConfig);  // is_default
      if (v >= 1) w.i8(e.source);
      w.boolean(false);  // is_sensitive
      if (v >= 1) {
        const int32_t count = include_synonyms ? static_cast<int32_t>(e.synonyms.size()) : 0;
        w.array_length(count);
        for (int32_t s = 0; s < count; ++s) {
          w.string(e.name);
          w.nullable_string(e.synonyms[static_cast<size_t>(s)].value);
          w.i8(e.synonyms[static_cast<size_t>(s)].source);
          w.tagged_fields();
        }
      }
      if (v >= 3) {
        w.i8(config_type(e.name));
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

// IncrementalAlterConfigs (API 44), v0–v1; flexible from v1.
//
// Each operation edits one key of a TOPIC resource's overrides; keys not named keep their
// override. The whole resource is validated before anything is stored, so a resource is changed
// completely or not at all. APPEND and SUBTRACT apply to list-valued keys, of which Eddy has
// one: cleanup.policy.
#include <algorithm>
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

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = std::min(s.find(',', start), s.size());
    if (comma > start) items.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items)
    s += (s.empty() ? "" : ",") + item;
  return s;
}

Outcome alter(RequestContext& ctx, const Resource& r, bool validate_only) {
  if (r.type == kResourceBroker)
    return {KafkaError::kInvalidRequest, "broker configs are read-only"};
  if (r.type != kResourceTopic) {
    return {KafkaError::kInvalidRequest,
            "Resource type " + std::to_string(r.type) + " is not supported."};
  }
  if (auto valid = storage::validate_topic_name(r.name); !valid.ok()) {
    return {KafkaError::kInvalidTopicException, valid.error().message()};
  }
  auto topic = ctx.log.topic(r.name);
  auto current = ctx.log.effective_config(r.name);
  if (!topic || !current.ok()) {
    return {KafkaError::kUnknownTopicOrPartition, "Topic '" + r.name + "' does not exist."};
  }
  const auto current_values = current->to_map();
  const auto& known = storage::TopicConfig::known_keys();
  storage::ConfigMap overrides = topic->overrides;
  std::set<std::string> seen;
  for (const auto& o : r.ops) {
    if (!seen.insert(o.key).second) {
      return {KafkaError::kInvalidRequest, "config " + o.key + " appears more than once"};
    }
    if (std::find(known.begin(), known.end(), o.key) == known.end()) {
      return {KafkaError::kInvalidConfig, "unknown topic config '" + o.key + "'"};
    }
    if (o.op == kDelete) {
      overrides.erase(o.key);
      continue;
    }
    if (o.op != kSet && o.op != kAppend && o.op != kSubtract) {
      return {KafkaError::kInvalidRequest, "unknown config operation " + std::to_string(o.op)};
    }
    if (!o.value) {
      return {KafkaError::kInvalidConfig, "config " + o.key + ": null value is not allowed"};
    }
    if (o.op == kSet) {
      overrides[o.key] = *o.value;
      continue;
    }
    if (o.key != "cleanup.policy") {
      return {KafkaError::kInvalidConfig, std::string(o.op == kAppend ? "APPEND" : "SUBTRACT") +
                                              " applies only to list configs (cleanup.policy), "
                                              "not " +
                                              o.key};
    }
    // List operations start from the value in force, whether overridden or inherited.
    auto items = split_list(current_values.at(o.key));
    for (const auto& item : split_list(*o.value)) {
      auto at = std::find(items.begin(), items.end(), item);
      if (o.op == kAppend && at == items.end()) items.push_back(item);
      if (o.op == kSubtract && at != items.end()) items.erase(at);
    }
    overrides[o.key] = join_list(items);
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

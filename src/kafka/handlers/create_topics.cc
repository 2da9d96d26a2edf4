// CreateTopics (API 19), v0–v7; flexible from v5.
//
// Every topic is checked independently and answered in request order. A single node holds every
// replica, so the replication factor must be 1 (or -1 for the default) and a manual assignment
// is accepted only when it places each partition 0..n-1 on this node alone.
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "kafka/handlers/config_admin.h"
#include "kafka/handlers/handlers.h"
#include "storage/catalog.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

struct Assignment {
  int32_t partition = 0;
  std::vector<int32_t> brokers;
};

struct CreatableTopic {
  std::string name;
  int32_t num_partitions = 0;
  int16_t replication_factor = 0;
  std::vector<Assignment> assignments;
  std::vector<std::pair<std::string, std::optional<std::string>>> configs;
};

struct TopicResult {
  KafkaError error = KafkaError::kNone;
  std::optional<std::string> message;
  storage::TopicId id{};
  int32_t partitions = -1;
  storage::ConfigMap overrides;
  std::optional<storage::TopicConfig> config;  // set on success: the effective configuration
};

TopicResult failed(KafkaError error, std::string message) {
  TopicResult r;
  r.error = error;
  r.message = std::move(message);
  return r;
}

// Why a manual assignment cannot be honoured on this node, or nothing when it can.
std::optional<std::string> check_assignments(const std::vector<Assignment>& assignments,
                                             int32_t node_id) {
  std::set<int32_t> seen;
  for (const auto& a : assignments) {
    if (a.partition < 0 || a.partition >= static_cast<int32_t>(assignments.size()) ||
        !seen.insert(a.partition).second) {
      return "partition indexes in the assignment must be 0.." +
             std::to_string(assignments.size() - 1) + " without repeats";
    }
    if (a.brokers.size() != 1 || a.brokers[0] != node_id) {
      return "partition " + std::to_string(a.partition) + " must be assigned to broker " +
             std::to_string(node_id) + " only (single-node cluster)";
    }
  }
  return std::nullopt;
}

TopicResult create_one(RequestContext& ctx, const CreatableTopic& t, bool validate_only) {
  if (auto valid = storage::validate_topic_name(t.name); !valid.ok()) {
    return failed(KafkaError::kInvalidTopicException, valid.error().message());
  }
  if (ctx.log.topic(t.name)) {
    return failed(KafkaError::kTopicAlreadyExists, "Topic '" + t.name + "' already exists.");
  }
  int32_t partitions = t.num_partitions;
  if (!t.assignments.empty()) {
    if (t.num_partitions != -1 || t.replication_factor != -1) {
      return failed(KafkaError::kInvalidRequest,
                    "num_partitions and replication_factor must be -1 with a manual assignment");
    }
    if (auto bad = check_assignments(t.assignments, ctx.broker.node_id)) {
      return failed(KafkaError::kInvalidReplicaAssignment, *bad);
    }
    partitions = static_cast<int32_t>(t.assignments.size());
  } else {
    if (partitions == -1) partitions = ctx.default_partitions;
    if (partitions <= 0) {
      return failed(KafkaError::kInvalidPartitions,
                    "Number of partitions must be larger than 0 (or -1 for the default).");
    }
    if (t.replication_factor != -1 && t.replication_factor != 1) {
      return failed(KafkaError::kInvalidReplicationFactor,
                    "Replication factor must be 1 (or -1 for the default) on a single-node "
                    "cluster, got " +
                        std::to_string(t.replication_factor) + ".");
    }
  }
  storage::ConfigMap overrides;
  for (const auto& [key, value] : t.configs) {
    if (!value) {
      return failed(KafkaError::kInvalidConfig, "config " + key + ": null value is not allowed");
    }
    overrides[key] = *value;
  }
  auto config = storage::TopicConfig::resolve(ctx.log.defaults(), overrides);
  if (!config.ok()) {
    spdlog::warn("rejected config of new topic '{}': {}", t.name, config.error().message());
    return failed(KafkaError::kInvalidConfig, config.error().message());
  }

  TopicResult r;
  r.partitions = partitions;
  r.overrides = overrides;
  r.config = *config;
  if (validate_only) return r;
  auto created = ctx.log.create_topic(t.name, partitions, overrides);
  if (!created.ok()) {
    const auto& e = created.error();
    // Everything but the partition bound was checked above, so an invalid argument is that.
    KafkaError error = e.code() == ErrorCode::kAlreadyExists     ? KafkaError::kTopicAlreadyExists
                       : e.code() == ErrorCode::kInvalidArgument ? KafkaError::kInvalidPartitions
                                                                 : to_kafka_error(e);
    return failed(error, e.message());
  }
  r.id = created->id;
  return r;
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<CreatableTopic> topics;
  int32_t n = body.array_length(4);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    CreatableTopic t;
    t.name = body.string();
    t.num_partitions = body.i32();
    t.replication_factor = body.i16();
    int32_t na = body.array_length(4);
    for (int32_t j = 0; j < na && body.ok(); ++j) {
      Assignment a;
      a.partition = body.i32();
      int32_t nb = body.array_length(4);
      for (int32_t k = 0; k < nb && body.ok(); ++k)
        a.brokers.push_back(body.i32());
      body.tagged_fields();
      t.assignments.push_back(std::move(a));
    }
    int32_t nc = body.array_length(2);
    for (int32_t j = 0; j < nc && body.ok(); ++j) {
      std::string key = body.string();
      auto value = body.nullable_string();
      body.tagged_fields();
      t.configs.emplace_back(std::move(key), std::move(value));
    }
    body.tagged_fields();
    topics.push_back(std::move(t));
  }
  (void)body.i32();  // timeout_ms: creation is synchronous
  bool validate_only = v >= 1 && body.boolean();
  body.tagged_fields();
  if (!body.ok()) return false;

  std::map<std::string, int> occurrences;
  for (const auto& t : topics)
    ++occurrences[t.name];

  WireWriter w(v >= 5);
  if (v >= 2) w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    TopicResult r = occurrences[t.name] > 1
                        ? failed(KafkaError::kInvalidRequest,
                                 "Topic '" + t.name + "' appears more than once in the request.")
                        : create_one(ctx, t, validate_only);
    w.string(t.name);
    if (v >= 7) w.uuid(r.id);
    w.i16(code(r.error));
    if (v >= 1) w.nullable_string(r.message);
    if (v >= 5) {
      w.i32(r.partitions);
      w.i16(r.config ? 1 : -1);  // replication factor
      if (!r.config) {
        w.array_length(-1);
      } else {
        const auto entries = topic_config_entries(ctx, r.overrides, *r.config);
        w.array_length(static_cast<int32_t>(entries.size()));
        for (const auto& e : entries) {
          w.string(e.name);
          w.nullable_string(e.value);
          w.boolean(e.read_only);
          w.i8(e.source);
          w.boolean(e.sensitive);
          w.tagged_fields();
        }
      }
    }
    w.tagged_fields();
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_create_topics_handler() {
  return Handler{ApiKey::kCreateTopics, "CreateTopics", 0, 7, 5, handle};
}

}  // namespace eddy::kafka

// CreatePartitions (API 37), v0–v3; flexible from v2.
//
// Grows a topic's partition count. Explicit assignments are honoured only when they place each
// new partition on this node alone, the only placement a single-node cluster has.
#include <map>

#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

struct Request {
  std::string name;
  int32_t count = 0;
  std::optional<std::vector<std::vector<int32_t>>> assignments;  // null: automatic
};

using Outcome = std::pair<KafkaError, std::optional<std::string>>;

Outcome grow(RequestContext& ctx, const Request& r, bool validate_only) {
  auto topic = ctx.log.topic(r.name);
  if (!topic) return {KafkaError::kUnknownTopicOrPartition, "Topic '" + r.name + "' not found."};
  if (r.count <= topic->partitions) {
    return {KafkaError::kInvalidPartitions,
            "Topic '" + r.name + "' has " + std::to_string(topic->partitions) +
                " partitions; the requested count " + std::to_string(r.count) + " must be larger."};
  }
  // Clients that want automatic placement send null; an empty list is read the same way.
  if (r.assignments && !r.assignments->empty()) {
    const auto added = static_cast<size_t>(r.count - topic->partitions);
    if (r.assignments->size() != added) {
      return {KafkaError::kInvalidReplicaAssignment,
              std::to_string(r.assignments->size()) + " assignments given for " +
                  std::to_string(added) + " new partitions."};
    }
    for (const auto& brokers : *r.assignments) {
      if (brokers.size() != 1 || brokers[0] != ctx.broker.node_id) {
        return {KafkaError::kInvalidReplicaAssignment,
                "Each new partition must be assigned to broker " +
                    std::to_string(ctx.broker.node_id) + " only (single-node cluster)."};
      }
    }
  }
  if (validate_only) return {KafkaError::kNone, std::nullopt};
  if (auto added = ctx.log.add_partitions(r.name, r.count); !added.ok()) {
    const auto& e = added.error();
    KafkaError error = e.code() == ErrorCode::kNotFound ? KafkaError::kUnknownTopicOrPartition
                       : e.code() == ErrorCode::kInvalidArgument ? KafkaError::kInvalidPartitions
                                                                 : to_kafka_error(e);
    return {error, e.message()};
  }
  return {KafkaError::kNone, std::nullopt};
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<Request> requests;
  int32_t n = body.array_length(5);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    Request r;
    r.name = body.string();
    r.count = body.i32();
    int32_t na = body.array_length(1);
    if (na >= 0) r.assignments.emplace();
    for (int32_t j = 0; j < na && body.ok(); ++j) {
      std::vector<int32_t> brokers;
      int32_t nb = body.array_length(4);
      for (int32_t k = 0; k < nb && body.ok(); ++k)
        brokers.push_back(body.i32());
      body.tagged_fields();
      r.assignments->push_back(std::move(brokers));
    }
    body.tagged_fields();
    requests.push_back(std::move(r));
  }
  (void)body.i32();  // timeout_ms: the change is synchronous
  bool validate_only = body.boolean();
  body.tagged_fields();
  if (!body.ok()) return false;

  std::map<std::string, int> occurrences;
  for (const auto& r : requests)
    ++occurrences[r.name];

  WireWriter w(v >= 2);
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(requests.size()));
  for (const auto& r : requests) {
    auto [error, message] =
        occurrences[r.name] > 1
            ? Outcome{KafkaError::kInvalidRequest,
                      "Topic '" + r.name + "' appears more than once in the request."}
            : grow(ctx, r, validate_only);
    w.string(r.name);
    w.i16(code(error));
    w.nullable_string(message);
    w.tagged_fields();
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_create_partitions_handler() {
  return Handler{ApiKey::kCreatePartitions, "CreatePartitions", 0, 3, 2, handle};
}

}  // namespace eddy::kafka

// DeleteTopics (API 20), v0–v6; flexible from v4.
//
// v0–v5 name topics; v6 names each topic either by name or by topic id (name null).
#include <map>
#include <set>

#include "groups/offsets_topic.h"
#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

constexpr int16_t kUnknownTopicId = 100;  // UNKNOWN_TOPIC_ID, not in KafkaError

struct Target {
  std::optional<std::string> name;
  Uuid id{};
};

struct Outcome {
  std::optional<std::string> name;
  Uuid id{};
  int16_t error = 0;
  std::optional<std::string> message;
};

Outcome delete_one(RequestContext& ctx, const Target& t) {
  Outcome out{t.name, t.id, 0, std::nullopt};
  auto fail = [&](int16_t error, std::string message) {
    out.error = error;
    out.message = std::move(message);
    return out;
  };
  std::optional<storage::TopicInfo> topic;
  if (t.name) {
    if (t.id != Uuid{}) {
      return fail(code(KafkaError::kInvalidRequest), "give a topic name or a topic id, not both");
    }
    topic = ctx.log.topic(*t.name);
    if (!topic) {
      return fail(code(KafkaError::kUnknownTopicOrPartition),
                  "Topic '" + *t.name + "' does not exist.");
    }
  } else {
    for (auto& candidate : ctx.log.topics()) {
      if (candidate.id == t.id) topic = std::move(candidate);
    }
    if (!topic) {
      return fail(kUnknownTopicId, "No topic has id " + storage::topic_id_hex(t.id) + ".");
    }
  }
  out.name = topic->name;
  out.id = topic->id;
  if (topic->name == groups::kOffsetsTopic) {
    return fail(code(KafkaError::kInvalidTopicException),
                "The internal topic " + topic->name + " cannot be deleted.");
  }
  if (auto deleted = ctx.log.delete_topic(topic->name); !deleted.ok()) {
    // A concurrent delete may have won the race; report it as the topic being gone.
    return fail(deleted.error().code() == ErrorCode::kNotFound
                    ? code(KafkaError::kUnknownTopicOrPartition)
                    : code(to_kafka_error(deleted.error())),
                deleted.error().message());
  }
  return out;
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<Target> targets;
  int32_t n = body.array_length(v >= 6 ? 17 : 1);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    Target t;
    if (v >= 6) {
      t.name = body.nullable_string();
      t.id = body.uuid();
      body.tagged_fields();
    } else {
      t.name = body.string();
    }
    targets.push_back(std::move(t));
  }
  (void)body.i32();  // timeout_ms: deletion is synchronous
  body.tagged_fields();
  if (!body.ok()) return false;

  // The same topic twice in one request is refused for every occurrence, as Kafka does.
  std::map<std::string, int> names;
  std::map<Uuid, int> ids;
  for (const auto& t : targets) {
    if (t.name) {
      ++names[*t.name];
    } else {
      ++ids[t.id];
    }
  }

  WireWriter w(v >= 4);
  if (v >= 1) w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(targets.size()));
  for (const auto& t : targets) {
    bool duplicate = t.name ? names[*t.name] > 1 : ids[t.id] > 1;
    Outcome out = duplicate ? Outcome{t.name, t.id, code(KafkaError::kInvalidRequest),
                                      "Topic appears more than once in the request."}
                            : delete_one(ctx, t);
    if (v >= 6) {
      w.nullable_string(out.name);
      w.uuid(out.id);
    } else {
      w.string(out.name.value_or(""));
    }
    w.i16(out.error);
    if (v >= 5) w.nullable_string(out.message);
    w.tagged_fields();
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_delete_topics_handler() {
  return Handler{ApiKey::kDeleteTopics, "DeleteTopics", 0, 6, 4, handle};
}

}  // namespace eddy::kafka

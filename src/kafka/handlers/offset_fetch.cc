// OffsetFetch (API 9), v0–v8; flexible from v6.
//
// v2+ may ask for every committed partition (topics null); v8 asks for several groups at once.
#include <map>

#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

using Partitions = std::optional<std::vector<groups::TopicPartition>>;

Partitions read_topics(WireReader& body) {
  const int32_t topics = body.array_length(2);
  if (topics < 0) return std::nullopt;
  std::vector<groups::TopicPartition> out;
  for (int32_t t = 0; t < topics && body.ok(); ++t) {
    const std::string name = body.string();
    const int32_t n = body.array_length(4);
    for (int32_t i = 0; i < n && body.ok(); ++i)
      out.push_back({name, body.i32()});
    body.tagged_fields();
  }
  return out;
}

// Partitions grouped by topic, in first-appearance order of the topics.
void write_topics(WireWriter& w, int16_t v, const std::vector<groups::FetchedOffset>& offsets,
                  int16_t group_error) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const groups::FetchedOffset*>> by_topic;
  for (const auto& o : offsets) {
    auto& list = by_topic[o.partition.topic];
    if (list.empty()) order.push_back(o.partition.topic);
    list.push_back(&o);
  }
  w.array_length(static_cast<int32_t>(order.size()));
  for (const std::string& topic : order) {
    w.string(topic);
    w.array_length(static_cast<int32_t>(by_topic[topic].size()));
    for (const groups::FetchedOffset* o : by_topic[topic]) {
      w.i32(o->partition.partition);
      w.i64(o->offset);
      if (v >= 5) w.i32(o->leader_epoch);
      w.nullable_string(o->metadata);
      // Before v2 the group-level error has no field of its own.
      w.i16(v < 2 && group_error != 0 ? group_error : code(o->error));
      w.tagged_fields();
    }
    w.tagged_fields();
  }
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<std::pair<std::string, Partitions>> requests;
  if (v <= 7) {
    std::string group = body.string();
    Partitions partitions = read_topics(body);
    requests.emplace_back(std::move(group), std::move(partitions));
  } else {
    const int32_t n = body.array_length(2);
    for (int32_t i = 0; i < n && body.ok(); ++i) {
      std::string group = body.string();
      Partitions partitions = read_topics(body);
      body.tagged_fields();
      requests.emplace_back(std::move(group), std::move(partitions));
    }
  }
  if (v >= 7) (void)body.boolean();  // require_stable: no transactional commits are pending
  body.tagged_fields();
  if (!body.ok()) return false;

  const int16_t unavailable = code(KafkaError::kCoordinatorNotAvailable);
  WireWriter w(v >= 6);
  if (v >= 3) w.i32(0);  // throttle_time_ms
  if (v <= 7) {
    const auto& [group, partitions] = requests.front();
    std::vector<groups::FetchedOffset> offsets;
    if (ctx.groups) offsets = ctx.groups->fetch_offsets(group, partitions);
    const int16_t group_error = ctx.groups ? 0 : unavailable;
    write_topics(w, v, offsets, group_error);
    if (v >= 2) w.i16(group_error);
  } else {
    w.array_length(static_cast<int32_t>(requests.size()));
    for (const auto& [group, partitions] : requests) {
      w.string(group);
      std::vector<groups::FetchedOffset> offsets;
      if (ctx.groups) offsets = ctx.groups->fetch_offsets(group, partitions);
      write_topics(w, v, offsets, 0);
      w.i16(ctx.groups ? 0 : unavailable);
      w.tagged_fields();
    }
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_offset_fetch_handler() {
  return Handler{ApiKey::kOffsetFetch, "OffsetFetch", 0, 8, 6, handle};
}

}  // namespace eddy::kafka

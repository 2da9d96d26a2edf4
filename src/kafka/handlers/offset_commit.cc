// OffsetCommit (API 8), v0–v8; flexible from v8.
//
// Each partition's answer waits until its commit is durable in __consumer_offsets.
#include <memory>

#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

struct TopicSlice {
  std::string name;
  std::vector<int32_t> partitions;
};

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  groups::CommitRequest req;
  req.group_id = body.string();
  if (v >= 1) {
    req.generation = body.i32();
    req.member_id = body.string();
  }
  if (v >= 7) req.instance_id = body.nullable_string();
  if (v >= 2 && v <= 4) (void)body.i64();  // retention_time_ms: the broker's setting applies
  std::vector<TopicSlice> layout;
  const int32_t topics = body.array_length(2);
  for (int32_t t = 0; t < topics && body.ok(); ++t) {
    TopicSlice slice;
    slice.name = body.string();
    const int32_t n = body.array_length(14);
    for (int32_t i = 0; i < n && body.ok(); ++i) {
      groups::OffsetToCommit o;
      o.partition = {slice.name, body.i32()};
      o.offset = body.i64();
      if (v >= 6) o.leader_epoch = body.i32();
      if (v == 1) (void)body.i64();  // commit_timestamp: the coordinator's clock is used
      o.metadata = body.nullable_string();
      body.tagged_fields();
      slice.partitions.push_back(o.partition.partition);
      req.offsets.push_back(std::move(o));
    }
    body.tagged_fields();
    layout.push_back(std::move(slice));
  }
  body.tagged_fields();
  if (!body.ok()) return false;

  auto answer = [v, layout = std::move(layout),
                 respond = std::move(respond)](std::vector<groups::GroupError> errors) {
    WireWriter w(v >= 8);
    if (v >= 3) w.i32(0);  // throttle_time_ms
    w.array_length(static_cast<int32_t>(layout.size()));
    size_t k = 0;
    for (const TopicSlice& slice : layout) {
      w.string(slice.name);
      w.array_length(static_cast<int32_t>(slice.partitions.size()));
      for (int32_t p : slice.partitions) {
        w.i32(p);
        w.i16(code(errors[k++]));
        w.tagged_fields();
      }
      w.tagged_fields();
    }
    w.tagged_fields();
    respond(w.take());
  };
  if (!ctx.groups) {
    answer(std::vector<groups::GroupError>(req.offsets.size(),
                                           groups::GroupError::kCoordinatorNotAvailable));
    return true;
  }
  ctx.groups->commit(std::move(req), std::move(answer));
  return true;
}

}  // namespace

Handler make_offset_commit_handler() {
  return Handler{ApiKey::kOffsetCommit, "OffsetCommit", 0, 8, 8, handle};
}

}  // namespace eddy::kafka

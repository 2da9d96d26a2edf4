// SyncGroup (API 14), v0–v5; flexible from v4.
//
// The leader brings the assignment; every member's answer waits until it is stored.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

std::vector<std::byte> encode(int16_t v, const groups::SyncResult& r) {
  WireWriter w(v >= 4);
  if (v >= 1) w.i32(0);  // throttle_time_ms
  w.i16(code(r.error));
  if (v >= 5) {
    w.nullable_string(r.protocol_type);
    w.nullable_string(r.protocol_name);
  }
  w.bytes(string_bytes(r.assignment));
  w.tagged_fields();
  return w.take();
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  groups::SyncRequest req;
  req.group_id = body.string();
  req.generation = body.i32();
  req.member_id = body.string();
  if (v >= 3) req.instance_id = body.nullable_string();
  if (v >= 5) {
    req.protocol_type = body.nullable_string();
    req.protocol_name = body.nullable_string();
  }
  const int32_t n = body.array_length(2);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    std::string member = body.string();
    std::string assignment = bytes_string(body.bytes());
    body.tagged_fields();
    req.assignments.emplace_back(std::move(member), std::move(assignment));
  }
  body.tagged_fields();
  if (!body.ok()) return false;
  if (!ctx.groups) {
    groups::SyncResult r;
    r.error = groups::GroupError::kCoordinatorNotAvailable;
    respond(encode(v, r));
    return true;
  }
  ctx.groups->sync(std::move(req), [v, respond = std::move(respond)](groups::SyncResult r) {
    respond(encode(v, r));
  });
  return true;
}

}  // namespace

Handler make_sync_group_handler() {
  return Handler{ApiKey::kSyncGroup, "SyncGroup", 0, 5, 4, handle};
}

}  // namespace eddy::kafka

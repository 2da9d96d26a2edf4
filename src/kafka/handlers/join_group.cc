// JoinGroup (API 11), v0–v9; flexible from v6.
//
// The answer waits for the rebalance to complete; v4+ clients without a member id first get
// MEMBER_ID_REQUIRED with an id to join with.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

std::vector<std::byte> encode(int16_t v, const groups::JoinResult& r) {
  WireWriter w(v >= 6);
  if (v >= 2) w.i32(0);  // throttle_time_ms
  w.i16(code(r.error));
  w.i32(r.generation);
  if (v >= 7) {
    w.nullable_string(r.protocol_type.empty() ? std::nullopt
                                              : std::optional<std::string>(r.protocol_type));
    w.nullable_string(r.protocol_name);
  } else {
    w.string(r.protocol_name.value_or(""));
  }
  w.string(r.leader);
  if (v >= 9) w.boolean(false);  // skip_assignment
  w.string(r.member_id);
  w.array_length(static_cast<int32_t>(r.members.size()));
  for (const auto& m : r.members) {
    w.string(m.member_id);
    if (v >= 5) w.nullable_string(m.instance_id);
    w.bytes(string_bytes(m.metadata));
    w.tagged_fields();
  }
  w.tagged_fields();
  return w.take();
}

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  groups::JoinRequest req;
  req.group_id = body.string();
  req.session_timeout_ms = body.i32();
  req.rebalance_timeout_ms = v >= 1 ? body.i32() : req.session_timeout_ms;
  req.member_id = body.string();
  if (v >= 5) req.instance_id = body.nullable_string();
  req.protocol_type = body.string();
  const int32_t n = body.array_length(2);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    groups::Protocol p;
    p.name = body.string();
    p.metadata = bytes_string(body.bytes());
    body.tagged_fields();
    req.protocols.push_back(std::move(p));
  }
  if (v >= 8) (void)body.nullable_string();  // reason
  body.tagged_fields();
  if (!body.ok()) return false;
  req.client_id = ctx.client_id.value_or("");
  req.client_host = ctx.client_host;
  req.require_known_member_id = v >= 4;
  if (!ctx.groups) {
    groups::JoinResult r;
    r.error = groups::GroupError::kCoordinatorNotAvailable;
    respond(encode(v, r));
    return true;
  }
  ctx.groups->join(std::move(req), [v, respond = std::move(respond)](groups::JoinResult r) {
    respond(encode(v, r));
  });
  return true;
}

}  // namespace

Handler make_join_group_handler() {
  return Handler{ApiKey::kJoinGroup, "JoinGroup", 0, 9, 6, handle};
}

}  // namespace eddy::kafka

// LeaveGroup (API 13), v0–v5; flexible from v4.
//
// v0–v2 name one member; v3+ name several (static members by group.instance.id), each with
// its own error.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  const std::string group = body.string();
  std::vector<groups::MemberIdentity> members;
  if (v <= 2) {
    members.push_back({body.string(), std::nullopt});
  } else {
    const int32_t n = body.array_length(2);
    for (int32_t i = 0; i < n && body.ok(); ++i) {
      groups::MemberIdentity m;
      m.member_id = body.string();
      m.instance_id = body.nullable_string();
      if (v >= 5) (void)body.nullable_string();  // reason
      body.tagged_fields();
      members.push_back(std::move(m));
    }
  }
  body.tagged_fields();
  if (!body.ok()) return false;
  groups::LeaveResult result;
  if (ctx.groups) {
    result = ctx.groups->leave(group, members);
  } else {
    result.error = groups::GroupError::kCoordinatorNotAvailable;
    result.members.assign(members.size(), result.error);
  }
  WireWriter w(v >= 4);
  if (v >= 1) w.i32(0);  // throttle_time_ms
  if (v <= 2) {
    w.i16(code(result.error != groups::GroupError::kNone ? result.error : result.members.front()));
  } else {
    w.i16(code(result.error));
    w.array_length(static_cast<int32_t>(members.size()));
    for (size_t i = 0; i < members.size(); ++i) {
      w.string(members[i].member_id);
      w.nullable_string(members[i].instance_id);
      w.i16(code(result.members[i]));
      w.tagged_fields();
    }
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_leave_group_handler() {
  return Handler{ApiKey::kLeaveGroup, "LeaveGroup", 0, 5, 4, handle};
}

}  // namespace eddy::kafka

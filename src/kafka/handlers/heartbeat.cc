// Heartbeat (API 12), v0–v4; flexible from v4.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  const std::string group = body.string();
  const int32_t generation = body.i32();
  const std::string member = body.string();
  std::optional<std::string> instance;
  if (v >= 3) instance = body.nullable_string();
  body.tagged_fields();
  if (!body.ok()) return false;
  const groups::GroupError error = ctx.groups
                                       ? ctx.groups->heartbeat(group, generation, member, instance)
                                       : groups::GroupError::kCoordinatorNotAvailable;
  WireWriter w(v >= 4);
  if (v >= 1) w.i32(0);  // throttle_time_ms
  w.i16(code(error));
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_heartbeat_handler() {
  return Handler{ApiKey::kHeartbeat, "Heartbeat", 0, 4, 4, handle};
}

}  // namespace eddy::kafka

// ListGroups (API 16), v0–v4; flexible from v3. v4 filters by state.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<std::string> states;
  if (v >= 4) {
    const int32_t n = body.array_length(1);
    for (int32_t i = 0; i < n && body.ok(); ++i)
      states.push_back(body.string());
  }
  body.tagged_fields();
  if (!body.ok()) return false;
  std::vector<groups::GroupListing> listed;
  if (ctx.groups) listed = ctx.groups->list_groups(states);
  WireWriter w(v >= 3);
  if (v >= 1) w.i32(0);  // throttle_time_ms
  w.i16(ctx.groups ? 0 : code(KafkaError::kCoordinatorNotAvailable));
  w.array_length(static_cast<int32_t>(listed.size()));
  for (const auto& g : listed) {
    w.string(g.group_id);
    w.string(g.protocol_type);
    if (v >= 4) w.string(g.state);
    w.tagged_fields();
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_list_groups_handler() {
  return Handler{ApiKey::kListGroups, "ListGroups", 0, 4, 3, handle};
}

}  // namespace eddy::kafka

// DeleteGroups (API 42), v0–v2; flexible from v2. Only empty groups can be deleted.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<std::string> names;
  const int32_t n = body.array_length(1);
  for (int32_t i = 0; i < n && body.ok(); ++i)
    names.push_back(body.string());
  body.tagged_fields();
  if (!body.ok()) return false;
  auto answer = [v, names, respond = std::move(respond)](std::vector<groups::GroupError> errors) {
    WireWriter w(v >= 2);
    w.i32(0);  // throttle_time_ms
    w.array_length(static_cast<int32_t>(names.size()));
    for (size_t i = 0; i < names.size(); ++i) {
      w.string(names[i]);
      w.i16(code(errors[i]));
      w.tagged_fields();
    }
    w.tagged_fields();
    respond(w.take());
  };
  if (!ctx.groups) {
    answer(std::vector<groups::GroupError>(names.size(),
                                           groups::GroupError::kCoordinatorNotAvailable));
    return true;
  }
  ctx.groups->delete_groups(names, std::move(answer));
  return true;
}

}  // namespace

Handler make_delete_groups_handler() {
  return Handler{ApiKey::kDeleteGroups, "DeleteGroups", 0, 2, 2, handle};
}

}  // namespace eddy::kafka

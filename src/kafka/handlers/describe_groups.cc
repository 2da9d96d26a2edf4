// DescribeGroups (API 15), v0–v5; flexible from v5.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

// Without ACLs every client may read, describe and delete groups (Kafka's operation codes
// READ=3, DELETE=6, DESCRIBE=8 as bits).
constexpr int32_t kGroupOperations = (1 << 3) | (1 << 6) | (1 << 8);
constexpr int32_t kOperationsNotRequested = INT32_MIN;

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<std::string> names;
  const int32_t n = body.array_length(1);
  for (int32_t i = 0; i < n && body.ok(); ++i)
    names.push_back(body.string());
  const bool include_operations = v >= 3 && body.boolean();
  body.tagged_fields();
  if (!body.ok()) return false;
  WireWriter w(v >= 5);
  if (v >= 1) w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(names.size()));
  for (const std::string& name : names) {
    groups::GroupDescription d;
    int16_t error = 0;
    if (!ctx.groups) {
      error = code(KafkaError::kCoordinatorNotAvailable);
      d.group_id = name;
    } else if (name.empty()) {
      error = code(KafkaError::kInvalidGroupId);
    } else {
      d = ctx.groups->describe_group(name);
    }
    w.i16(error);
    w.string(name);
    w.string(d.state);
    w.string(d.protocol_type);
    w.string(d.protocol);
    w.array_length(static_cast<int32_t>(d.members.size()));
    for (const auto& m : d.members) {
      w.string(m.member_id);
      if (v >= 4) w.nullable_string(m.instance_id);
      w.string(m.client_id);
      w.string(m.client_host);
      w.bytes(string_bytes(m.metadata));
      w.bytes(string_bytes(m.assignment));
      w.tagged_fields();
    }
    if (v >= 3) w.i32(include_operations ? kGroupOperations : kOperationsNotRequested);
    w.tagged_fields();
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_describe_groups_handler() {
  return Handler{ApiKey::kDescribeGroups, "DescribeGroups", 0, 5, 5, handle};
}

}  // namespace eddy::kafka

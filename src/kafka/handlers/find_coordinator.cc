// FindCoordinator (API 10), v0–v4; flexible from v3.
//
// This broker coordinates every group (key type 0) and, once transactions exist, every
// transactional id (key type 1); v4 asks for several keys at once.
#include "groups/group_coordinator.h"
#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

constexpr int8_t kGroupKey = 0;
constexpr int8_t kTransactionKey = 1;

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  std::vector<std::string> keys;
  if (v <= 3) keys.push_back(body.string());
  const int8_t key_type = v >= 1 ? body.i8() : kGroupKey;
  if (v >= 4) {
    const int32_t n = body.array_length(1);
    for (int32_t i = 0; i < n && body.ok(); ++i)
      keys.push_back(body.string());
  }
  body.tagged_fields();
  if (!body.ok()) return false;

  int16_t error = 0;
  std::optional<std::string> message;
  if (key_type != kGroupKey && key_type != kTransactionKey) {
    error = code(KafkaError::kInvalidRequest);
    message = "unknown coordinator key type " + std::to_string(key_type);
  } else if (!ctx.groups) {
    error = code(KafkaError::kCoordinatorNotAvailable);
    message = "this server runs without a group coordinator";
  }
  auto key_error = [&](const std::string& key) -> std::pair<int16_t, std::optional<std::string>> {
    if (error == 0 && key_type == kGroupKey && key.empty()) {
      return {code(KafkaError::kInvalidRequest), "the group id is empty"};
    }
    return {error, message};
  };
  const bool ok_node = error == 0;
  WireWriter w(v >= 3);
  if (v >= 1) w.i32(0);  // throttle_time_ms
  if (v <= 3) {
    auto [e, m] = key_error(keys.front());
    w.i16(e);
    if (v >= 1) w.nullable_string(e == 0 ? std::optional<std::string>("NONE") : m);
    w.i32(ok_node && e == 0 ? ctx.broker.node_id : -1);
    w.string(ok_node && e == 0 ? ctx.broker.host : "");
    w.i32(ok_node && e == 0 ? ctx.broker.port : -1);
  } else {
    w.array_length(static_cast<int32_t>(keys.size()));
    for (const std::string& key : keys) {
      auto [e, m] = key_error(key);
      w.string(key);
      w.i32(e == 0 ? ctx.broker.node_id : -1);
      w.string(e == 0 ? ctx.broker.host : "");
      w.i32(e == 0 ? ctx.broker.port : -1);
      w.i16(e);
      w.nullable_string(m);
      w.tagged_fields();
    }
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_find_coordinator_handler() {
  return Handler{ApiKey::kFindCoordinator, "FindCoordinator", 0, 4, 3, handle};
}

}  // namespace eddy::kafka

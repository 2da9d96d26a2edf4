// DescribeCluster (API 60), v0–v1; flexible in every version.
//
// The cluster is this one broker, which is also its controller.
#include <cstdint>

#include "kafka/handlers/handlers.h"

namespace eddy::kafka {
namespace {

constexpr int8_t kEndpointBrokers = 1;
constexpr int16_t kUnsupportedEndpointType = 119;  // UNSUPPORTED_ENDPOINT_TYPE

// Without authorization every cluster operation is allowed: bits for the ACL operations that
// apply to a cluster (CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
// ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12).
constexpr int32_t kAllClusterOperations =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  bool include_operations = body.boolean();
  int8_t endpoint_type = v >= 1 ? body.i8() : kEndpointBrokers;
  body.tagged_fields();
  if (!body.ok()) return false;

  WireWriter w(true);
  w.i32(0);  // throttle_time_ms
  // Controllers are not separately addressable: a broker answers only for brokers.
  const bool supported = endpoint_type == kEndpointBrokers;
  w.i16(supported ? int16_t{0} : kUnsupportedEndpointType);
  w.nullable_string(supported ? std::nullopt
                              : std::optional<std::string>("endpoint type " +
                                                           std::to_string(endpoint_type) +
                                                           " is not supported by a broker"));
  if (v >= 1) w.i8(endpoint_type);
  w.string(ctx.broker.cluster_id);
  w.i32(supported ? ctx.broker.node_id : -1);  // controller_id
  w.array_length(supported ? 1 : 0);
  if (supported) {
    w.i32(ctx.broker.node_id);
    w.string(ctx.broker.host);
    w.i32(ctx.broker.port);
    w.nullable_string(std::nullopt);  // rack
    w.tagged_fields();
  }
  w.i32(include_operations ? kAllClusterOperations : INT32_MIN);
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_describe_cluster_handler() {
  return Handler{ApiKey::kDescribeCluster, "DescribeCluster", 0, 1, 0, handle};
}

}  // namespace eddy::kafka

// ApiVersions: the version ranges come from the handler registry, never from a separate list.
#include <spdlog/spdlog.h>

#include "kafka/handlers/handlers.h"

namespace eddy::kafka {

Handler make_api_versions_handler() {
  return Handler{ApiKey::kApiVersions,
                 "ApiVersions",
                 0,
                 3,
                 3,
                 [](RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
                   if (ctx.api_version >= 3) {
                     auto software = body.string();
                     auto software_version = body.string();
                     body.tagged_fields();
                     if (!body.ok()) return false;
                     spdlog::debug("kafka: client {} uses {} {}", ctx.client_id.value_or("-"),
                                   software, software_version);
                   }
                   WireWriter w(ctx.api_version >= 3);
                   w.i16(code(KafkaError::kNone));
                   w.array_length(static_cast<int32_t>(handlers().size()));
                   for (const auto& h : handlers()) {
                     w.i16(static_cast<int16_t>(h.key));
                     w.i16(h.min_version);
                     w.i16(h.max_version);
                     w.tagged_fields();
                   }
                   if (ctx.api_version >= 1) w.i32(0);  // throttle_time_ms
                   w.tagged_fields();
                   respond(w.take());
                   return true;
                 }};
}

}  // namespace eddy::kafka

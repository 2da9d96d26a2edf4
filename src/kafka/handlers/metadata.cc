// Metadata: this node leads every partition; unknown topics may be auto-created.
#include "groups/offsets_topic.h"
#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {

Handler make_metadata_handler() {
  return Handler{ApiKey::kMetadata,
                 "Metadata",
                 0,
                 12,
                 9,
                 [](RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
                   const int16_t v = ctx.api_version;
                   struct Wanted {
                     std::optional<std::string> name;
                     Uuid id{};
                   };
                   std::optional<std::vector<Wanted>> wanted;  // nullopt = all topics
                   int32_t n = body.array_length(v >= 10 ? 17 : 2);
                   if (n >= 0 && !(v == 0 && n == 0)) {
                     wanted.emplace();
                     for (int32_t i = 0; i < n && body.ok(); ++i) {
                       Wanted t;
                       if (v >= 10) t.id = body.uuid();
                       t.name = v >= 10 ? body.nullable_string() : body.string();
                       body.tagged_fields();
                       wanted->push_back(std::move(t));
                     }
                   }
                   bool allow_auto_create = true;
                   if (v >= 4) allow_auto_create = body.boolean();
                   if (v >= 8 && v <= 10) (void)body.boolean();
                   if (v >= 8) (void)body.boolean();
                   body.tagged_fields();
                   if (!body.ok()) return false;

                   struct TopicOut {
                     KafkaError error = KafkaError::kNone;
                     std::optional<std::string> name;
                     Uuid id{};
                     int32_t partitions = 0;
                   };
                   std::vector<TopicOut> out;
                   if (!wanted) {
                     for (const auto& t : ctx.log.topics()) {
                       out.push_back({KafkaError::kNone, t.name, t.id, t.partitions});
                     }
                   } else {
                     for (const auto& w : *wanted) {
                       std::optional<storage::TopicInfo> info;
                       if (w.name) {
                         info = ctx.log.topic(*w.name);
                       } else {
                         for (const auto& t : ctx.log.topics()) {
                           if (t.id == w.id) info = t;
                         }
                       }
                       if (!info && w.name && allow_auto_create && ctx.auto_create_topics) {
                         if (!storage::validate_topic_name(*w.name).ok()) {
                           out.push_back({KafkaError::kInvalidTopicException, w.name, {}, 0});
                           continue;
                         }
                         auto created = ctx.log.create_topic(*w.name, ctx.default_partitions);
                         if (created.ok()) {
                           info = *created;
                         } else {
                           info = ctx.log.topic(*w.name);  // a concurrent create won
                         }
                       }
                       if (!info) {
                         out.push_back({KafkaError::kUnknownTopicOrPartition, w.name, w.id, 0});
                       } else {
                         out.push_back({KafkaError::kNone, info->name, info->id, info->partitions});
                       }
                     }
                   }

                   WireWriter w(body.flexible());
                   if (v >= 3) w.i32(0);  // throttle
                   w.array_length(1);
                   w.i32(ctx.broker.node_id);
                   w.string(ctx.broker.host);
                   w.i32(ctx.broker.port);
                   if (v >= 1) w.nullable_string(std::nullopt);  // rack
                   w.tagged_fields();
                   if (v >= 2) w.nullable_string(ctx.broker.cluster_id);
                   if (v >= 1) w.i32(ctx.broker.node_id);  // controller
                   w.array_length(static_cast<int32_t>(out.size()));
                   for (const auto& t : out) {
                     w.i16(code(t.error));
                     if (v >= 12) {
                       w.nullable_string(t.name);
                     } else {
                       w.string(t.name.value_or(""));
                     }
                     if (v >= 10) w.uuid(t.id);
                     if (v >= 1) w.boolean(t.name == groups::kOffsetsTopic);  // is_internal
                     w.array_length(t.partitions);
                     for (int32_t p = 0; p < t.partitions; ++p) {
                       w.i16(code(KafkaError::kNone));
                       w.i32(p);
                       w.i32(ctx.broker.node_id);
                       if (v >= 7) w.i32(0);  // leader epoch
                       w.array_length(1);
                       w.i32(ctx.broker.node_id);
                       w.array_length(1);
                       w.i32(ctx.broker.node_id);
                       if (v >= 5) w.array_length(0);
                       w.tagged_fields();
                     }
                     if (v >= 8) w.i32(INT32_MIN);
                     w.tagged_fields();
                   }
                   if (v >= 8 && v <= 10) w.i32(INT32_MIN);
                   w.tagged_fields();
                   respond(w.take());
                   return true;
                 }};
}

}  // namespace eddy::kafka

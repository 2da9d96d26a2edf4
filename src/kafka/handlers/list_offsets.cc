// ListOffsets: earliest (-2), latest (-1) and by timestamp; v0's offset list has one element.
#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;

}  // namespace

Handler make_list_offsets_handler() {
  return Handler{ApiKey::kListOffsets,
                 "ListOffsets",
                 0,
                 7,
                 6,
                 [](RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
                   const int16_t v = ctx.api_version;
                   (void)body.i32();             // replica id
                   if (v >= 2) (void)body.i8();  // isolation level
                   struct PartitionIn {
                     int32_t index;
                     int64_t timestamp;
                   };
                   std::vector<std::pair<std::string, std::vector<PartitionIn>>> topics;
                   int32_t n = body.array_length(2);
                   for (int32_t t = 0; t < n && body.ok(); ++t) {
                     std::string name = body.string();
                     std::vector<PartitionIn> parts;
                     int32_t m = body.array_length(12);
                     for (int32_t p = 0; p < m && body.ok(); ++p) {
                       PartitionIn in{};
                       in.index = body.i32();
                       if (v >= 4) (void)body.i32();  // current leader epoch
                       in.timestamp = body.i64();
                       if (v == 0) (void)body.i32();  // max num offsets
                       body.tagged_fields();
                       parts.push_back(in);
                     }
                     body.tagged_fields();
                     topics.emplace_back(std::move(name), std::move(parts));
                   }
                   body.tagged_fields();
                   if (!body.ok()) return false;

                   WireWriter w(body.flexible());
                   if (v >= 2) w.i32(0);
                   w.array_length(static_cast<int32_t>(topics.size()));
                   for (const auto& [name, parts] : topics) {
                     w.string(name);
                     w.array_length(static_cast<int32_t>(parts.size()));
                     for (const auto& in : parts) {
                       KafkaError error = KafkaError::kNone;
                       int64_t offset = -1;
                       int64_t timestamp = -1;
                       auto log = ctx.log.partition(name, in.index);
                       if (!log) {
                         error = KafkaError::kUnknownTopicOrPartition;
                       } else if (in.timestamp == kLatest) {
                         offset = log->high_watermark();
                       } else if (in.timestamp == kEarliest) {
                         offset = log->log_start_offset();
                       } else if (in.timestamp == kMaxTimestamp || in.timestamp < 0) {
                         // Newer lookups (max timestamp, earliest local) are not offered by our
                         // versions.
                         error = KafkaError::kUnsupportedVersion;
                       } else {
                         auto found = log->offset_for_timestamp(in.timestamp);
                         if (!found.ok()) {
                           error = to_kafka_error(found.error());
                         } else if (*found >= 0) {
                           offset = *found;
                           timestamp = in.timestamp;
                         }
                       }
                       w.i32(in.index);
                       w.i16(code(error));
                       if (v == 0) {
                         if (offset >= 0) {
                           w.array_length(1);
                           w.i64(offset);
                         } else {
                           w.array_length(0);
                         }
                       } else {
                         w.i64(timestamp);
                         w.i64(offset);
                         if (v >= 4) w.i32(offset >= 0 ? 0 : -1);
                       }
                       w.tagged_fields();
                     }
                     w.tagged_fields();
                   }
                   w.tagged_fields();
                   respond(w.take());
                   return true;
                 }};
}

}  // namespace eddy::kafka

// ListOffsets: earliest (-2), latest (-1) and by timestamp; v0's offset list has one element.
#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"
#include "storage/records.h"

namespace eddy::kafka {
namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr size_t kMaxDecompressed = size_t{64} << 20;

struct TimestampMatch {
  int64_t offset;
  int64_t timestamp;
};

// The storage finds the first batch whose max timestamp reaches `target`; Kafka answers with the
// first record in it whose own timestamp does, and that record's timestamp. LogAppendTime batches
// stamp every record with the batch's max timestamp, so their first record is the answer.
Result<TimestampMatch> first_record_at_or_after(storage::PartitionLog& log, int64_t batch_offset,
                                                int64_t target) {
  ASSIGN_OR_RETURN(auto read, log.read(batch_offset, {.max_bytes = 1, .min_one_batch = true}));
  if (read.data.size() < storage::kBatchHeaderSize) {
    return Error(ErrorCode::kCorrupt, "timestamp lookup found no batch");
  }
  const auto h = storage::decode_batch_header(read.data.data());
  if (h.size_bytes() > read.data.size()) return Error(ErrorCode::kCorrupt, "short batch");
  if (h.timestamp_type() == storage::TimestampType::kLogAppendTime) {
    return TimestampMatch{std::max(h.base_offset, batch_offset), h.max_timestamp};
  }
  if (h.compression() > static_cast<int>(storage::Codec::kZstd)) {
    return Error(ErrorCode::kCorrupt, "unknown compression codec");
  }
  std::span<const std::byte> section(read.data.data() + storage::kBatchHeaderSize,
                                     h.size_bytes() - storage::kBatchHeaderSize);
  std::vector<std::byte> plain;
  if (const auto codec = static_cast<storage::Codec>(h.compression());
      codec != storage::Codec::kNone) {
    ASSIGN_OR_RETURN(plain, storage::decompress(codec, section, kMaxDecompressed));
    section = plain;
  }
  ASSIGN_OR_RETURN(auto records, storage::decode_record_section(section, h.record_count));
  for (const auto& r : records) {
    const int64_t offset = h.base_offset + r.offset_delta;
    const int64_t timestamp = h.base_timestamp + r.timestamp_delta;
    if (offset >= batch_offset && timestamp >= target) return TimestampMatch{offset, timestamp};
  }
  // The header's max timestamp promised a record; answer with the batch rather than nothing.
  return TimestampMatch{batch_offset, h.max_timestamp};
}

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
                           auto match = first_record_at_or_after(*log, *found, in.timestamp);
                           if (!match.ok()) {
                             error = to_kafka_error(match.error());
                           } else {
                             offset = match->offset;
                             timestamp = match->timestamp;
                           }
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

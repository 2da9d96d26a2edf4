// DeleteRecords (API 21), v0–v2; flexible from v2.
//
// Moves each named partition's log start offset up to the requested offset (-1: the high
// watermark), durably, as Kafka does: readers no longer see the records below it and whole
// segments below it are deleted. The answer carries the new log start offset (the low
// watermark). The work is synchronous, so timeout_ms is not needed.
#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

struct PartitionRequest {
  int32_t partition = 0;
  int64_t offset = 0;
};

struct TopicRequest {
  std::string name;
  std::vector<PartitionRequest> partitions;
};

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const bool flexible = ctx.api_version >= 2;
  std::vector<TopicRequest> topics;
  const int32_t n = body.array_length(2);
  for (int32_t i = 0; i < n && body.ok(); ++i) {
    TopicRequest t;
    t.name = body.string();
    const int32_t np = body.array_length(12);
    for (int32_t j = 0; j < np && body.ok(); ++j) {
      PartitionRequest p;
      p.partition = body.i32();
      p.offset = body.i64();
      body.tagged_fields();
      t.partitions.push_back(p);
    }
    body.tagged_fields();
    topics.push_back(std::move(t));
  }
  (void)body.i32();  // timeout_ms
  body.tagged_fields();
  if (!body.ok()) return false;

  WireWriter w(flexible);
  w.i32(0);  // throttle_time_ms
  w.array_length(static_cast<int32_t>(topics.size()));
  for (const auto& t : topics) {
    w.string(t.name);
    w.array_length(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      int64_t low_watermark = -1;
      KafkaError error = KafkaError::kNone;
      auto deleted = ctx.log.delete_records(t.name, p.partition, p.offset);
      if (deleted.ok()) {
        low_watermark = *deleted;
      } else {
        const auto code = deleted.error().code();
        error = code == ErrorCode::kNotFound     ? KafkaError::kUnknownTopicOrPartition
                : code == ErrorCode::kOutOfRange ? KafkaError::kOffsetOutOfRange
                                                 : to_kafka_error(deleted.error());
      }
      w.i32(p.partition);
      w.i64(low_watermark);
      w.i16(code(error));
      w.tagged_fields();
    }
    w.tagged_fields();
  }
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_delete_records_handler() {
  return Handler{ApiKey::kDeleteRecords, "DeleteRecords", 0, 2, 2, handle};
}

}  // namespace eddy::kafka

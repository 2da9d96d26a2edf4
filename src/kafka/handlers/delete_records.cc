// DeleteRecords (API 21), v0–v2; flexible from v2.
//
// Moves each named partition's log start offset up to the requested offset (-1: the high
// watermark), durably, as Kafka does: readers no longer see the records below it and whole
// segments below it are deleted. The answer carries the new log start offset (the low
// watermark). The work is synchronous, so timeout_ms is not needed. Internal topics answer
// INVALID_TOPIC_EXCEPTION and compact-only ones POLICY_VIOLATION, as in Kafka.
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

// The error and the new low watermark (-1 on error) of one partition.
std::pair<KafkaError, int64_t> delete_one(RequestContext& ctx, const std::string& topic,
                                          int32_t partition, int64_t offset) {
  // As Kafka: internal topics keep their records (committed offsets live in one), and a
  // compact-only topic's policy forbids deleting by offset.
  if (topic == "__consumer_offsets" || topic == "__transaction_state") {
    return {KafkaError::kInvalidTopicException, -1};
  }
  auto config = ctx.log.effective_config(topic);
  if (config.ok() && !config->deletes()) return {KafkaError::kPolicyViolation, -1};
  auto deleted = ctx.log.delete_records(topic, partition, offset);
  if (deleted.ok()) return {KafkaError::kNone, *deleted};
  switch (deleted.error().code()) {
    case ErrorCode::kNotFound:
      return {KafkaError::kUnknownTopicOrPartition, -1};
    case ErrorCode::kOutOfRange:
      return {KafkaError::kOffsetOutOfRange, -1};
    default:
      return {to_kafka_error(deleted.error()), -1};
  }
}

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
      const auto [error, low_watermark] = delete_one(ctx, t.name, p.partition, p.offset);
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

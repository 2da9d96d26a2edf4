// Produce: validates and appends each partition's batches, then answers per acks:
// acks=0 no response, acks=1 once written, acks=-1 once durable (group-committed fsync) or, for
// partitions still waiting when the request's timeout_ms runs out, REQUEST_TIMED_OUT (the data
// may still become durable, as with Kafka). Records a compacted topic cannot take (no key) are
// named in v8+'s record_errors.
// Batches of idempotent producers are checked by the log: a retry already in the log is
// answered with its original offsets, like Kafka; sequence gaps and fenced epochs get Kafka's
// errors. Transactional batches are refused until transactions exist.
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>

#include "groups/offsets_topic.h"
#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"
#include "storage/records.h"

namespace eddy::kafka {
namespace {

struct PartitionResult {
  int32_t index = 0;
  KafkaError error = KafkaError::kNone;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
  std::optional<std::string> message{};
  std::vector<int32_t> bad_records{};  // record_errors (v8+): indexes in the partition's data
  bool waiting = false;                // for durability (acks=-1)
};

struct TopicResult {
  std::string name;
  std::vector<PartitionResult> partitions;
};

// Collects results until every partition has answered (or the timeout strikes), then responds
// once.
struct ProduceState {
  int16_t version;
  bool flexible;
  std::vector<TopicResult> topics;
  std::mutex mu;
  int outstanding = 1;  // one for the request itself, released after dispatch
  bool answered = false;
  Respond respond;
  bool respond_at_end;
  AsyncServices::Cancel cancel_timeout;

  void finish_one() {
    std::lock_guard lock(mu);
    if (--outstanding == 0 && !answered) answer_locked();
  }

  void durable(PartitionResult& result, const Status& status) {
    std::lock_guard lock(mu);
    if (answered) return;  // timed out already: that answer stands
    result.waiting = false;
    if (!status.ok()) {
      result.error = to_kafka_error(status.error());
      result.base_offset = -1;
      result.message = status.error().message();
    }
    if (--outstanding == 0) answer_locked();
  }

  void time_out(int32_t timeout_ms) {
    std::lock_guard lock(mu);
    if (answered) return;
    for (auto& t : topics) {
      for (auto& p : t.partitions) {
        if (!p.waiting) continue;
        p.error = KafkaError::kRequestTimedOut;
        p.message = "not durable within timeout_ms (" + std::to_string(timeout_ms) + " ms)";
      }
    }
    answer_locked();
  }

  void answer_locked() {
    answered = true;
    if (cancel_timeout) cancel_timeout();
    if (!respond_at_end) return;
    WireWriter w(flexible);
    w.array_length(static_cast<int32_t>(topics.size()));
    for (const auto& t : topics) {
      w.string(t.name);
      w.array_length(static_cast<int32_t>(t.partitions.size()));
      for (const auto& p : t.partitions) {
        w.i32(p.index);
        w.i16(code(p.error));
        w.i64(p.base_offset);
        if (version >= 2) w.i64(p.log_append_time);
        if (version >= 5) w.i64(p.log_start_offset);
        if (version >= 8) {
          w.array_length(static_cast<int32_t>(p.bad_records.size()));
          for (int32_t index : p.bad_records) {
            w.i32(index);
            w.nullable_string(p.message);
            w.tagged_fields();
          }
          w.nullable_string(p.message);
        }
        w.tagged_fields();
      }
      w.tagged_fields();
    }
    if (version >= 1) w.i32(0);  // throttle
    w.tagged_fields();
    respond(w.take());
  }
};

// Beyond the framing and CRC the log checks, every batch must hold exactly recordCount
// well-formed records (decompressed, bounded); a topic whose compression.type names a codec
// stores its batches re-encoded with it. Rewrites `batches` in place when re-encoding.
struct ContentError {
  KafkaError code;
  std::string message;
  std::vector<int32_t> bad_records{};
};

std::optional<ContentError> check_contents(std::vector<std::byte>& batches,
                                           const storage::TopicConfig& config,
                                           const std::string& topic_partition) {
  const size_t max_batch = static_cast<size_t>(config.max_message_bytes);
  auto framed = storage::validate_batches(batches, max_batch);
  if (!framed.ok()) {
    // Produce v3+ carries only magic-2 batches; Kafka answers older formats with INVALID_RECORD.
    KafkaError code = framed.error().code() == ErrorCode::kUnsupported
                          ? KafkaError::kInvalidRecord
                          : to_kafka_error(framed.error());
    return ContentError{code, framed.error().message()};
  }
  const auto target = storage::codec_from_name(config.compression_type);
  const size_t max_plain = std::max<size_t>(size_t{64} << 20, 4 * max_batch);
  std::vector<std::byte> rewritten;
  bool changed = false;
  int32_t records_before = 0;  // record_errors count records across the partition's batches
  for (size_t pos = 0; pos < batches.size();) {
    const auto header = storage::decode_batch_header(batches.data() + pos);
    if (header.is_transactional()) {
      // What Kafka answers for transactional records it may not accept.
      return ContentError{KafkaError::kTransactionalIdAuthorizationFailed,
                          "transactional batches are not supported yet (producer " +
                              std::to_string(header.producer_id) + ")"};
    }
    if (config.message_timestamp_type == storage::TimestampType::kCreateTime &&
        config.message_timestamp_difference_max_ms != std::numeric_limits<int64_t>::max()) {
      // Kafka checks every record's timestamp; a batch's first and largest bound them.
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      const int64_t max_diff = config.message_timestamp_difference_max_ms;
      for (int64_t ts : {header.base_timestamp, header.max_timestamp}) {
        const __int128 diff = static_cast<__int128>(ts) - now;
        if (diff > max_diff || diff < -static_cast<__int128>(max_diff))
          return ContentError{KafkaError::kInvalidTimestamp,
                              "Timestamp " + std::to_string(ts) + " of a record in " +
                                  topic_partition + " is further than " + std::to_string(max_diff) +
                                  " ms from the broker's time " + std::to_string(now) +
                                  " (message.timestamp.difference.max.ms)"};
      }
    }
    std::span<const std::byte> batch(batches.data() + pos, header.size_bytes());
    int32_t bad_record = -1;
    auto checked =
        storage::check_batch_contents(batch, target, max_plain, config.compacts(), &bad_record);
    if (!checked.ok() && bad_record >= 0) {
      return ContentError{KafkaError::kInvalidRecord,
                          "Compacted topic cannot accept message without key in topic partition " +
                              topic_partition + ".",
                          {records_before + bad_record}};
    }
    if (!checked.ok()) {
      const auto& e = checked.error();
      KafkaError code = e.code() == ErrorCode::kUnsupported
                            ? KafkaError::kUnsupportedCompressionType
                        : e.code() == ErrorCode::kTooLarge ? KafkaError::kMessageTooLarge
                                                           : KafkaError::kInvalidRecord;
      return ContentError{code, e.message()};
    }
    if (*checked) {
      // Copy only once something changes: the common case (codec as sent) copies nothing.
      if (!changed) rewritten.assign(batches.begin(), batches.begin() + static_cast<long>(pos));
      rewritten.insert(rewritten.end(), (*checked)->begin(), (*checked)->end());
      changed = true;
    } else if (changed) {
      rewritten.insert(rewritten.end(), batch.begin(), batch.end());
    }
    pos += header.size_bytes();
    records_before += header.record_count;
  }
  if (changed) batches = std::move(rewritten);
  return std::nullopt;
}

}  // namespace

Handler make_produce_handler() {
  return Handler{
      ApiKey::kProduce,
      "Produce",
      3,
      9,
      9,
      [](RequestContext& ctx, WireReader& body, AsyncServices& services, Respond respond) {
        const int16_t v = ctx.api_version;
        auto transactional_id = body.nullable_string();
        const int16_t acks = body.i16();
        const int32_t timeout_ms = body.i32();
        struct PartitionIn {
          int32_t index;
          std::optional<std::span<const std::byte>> records;
        };
        struct TopicIn {
          std::string name;
          std::vector<PartitionIn> partitions;
        };
        std::vector<TopicIn> input;
        int32_t topics = body.array_length(2);
        for (int32_t t = 0; t < topics && body.ok(); ++t) {
          TopicIn topic{body.string(), {}};
          int32_t parts = body.array_length(5);
          for (int32_t p = 0; p < parts && body.ok(); ++p) {
            PartitionIn partition;
            partition.index = body.i32();
            partition.records = body.nullable_bytes();
            body.tagged_fields();
            topic.partitions.push_back(partition);
          }
          body.tagged_fields();
          input.push_back(std::move(topic));
        }
        body.tagged_fields();
        if (!body.ok()) return false;

        auto state = std::make_shared<ProduceState>();
        state->version = v;
        state->flexible = body.flexible();
        state->respond = respond;
        state->respond_at_end = acks != 0;
        for (const auto& t : input) {
          TopicResult tr{t.name, {}};
          for (const auto& p : t.partitions)
            tr.partitions.push_back({.index = p.index});
          state->topics.push_back(std::move(tr));
        }
        const bool acks_valid = acks == 0 || acks == 1 || acks == -1;
        for (size_t ti = 0; ti < input.size(); ++ti) {
          for (size_t pi = 0; pi < input[ti].partitions.size(); ++pi) {
            PartitionResult& result = state->topics[ti].partitions[pi];
            const PartitionIn& in = input[ti].partitions[pi];
            if (!acks_valid) {
              result.error = KafkaError::kInvalidRequiredAcks;
              continue;
            }
            if (transactional_id) {
              result.error = KafkaError::kTransactionalIdAuthorizationFailed;
              result.message = "transactions are not supported yet";
              continue;
            }
            if (input[ti].name == groups::kOffsetsTopic) {
              result.error = KafkaError::kInvalidTopicException;
              result.message = "Cannot append to internal topic " + input[ti].name;
              continue;
            }
            auto log = ctx.log.partition(input[ti].name, in.index);
            if (!log) {
              result.error = KafkaError::kUnknownTopicOrPartition;
              continue;
            }
            if (!in.records || in.records->empty()) {
              result.error = KafkaError::kInvalidRecord;
              result.message = "no records";
              continue;
            }
            // The log assigns offsets in place, so it needs its own copy of the bytes.
            std::vector<std::byte> batches(in.records->begin(), in.records->end());
            if (auto invalid = check_contents(batches, log->config(),
                                              input[ti].name + "-" + std::to_string(in.index))) {
              result.error = invalid->code;
              result.message = invalid->message;
              result.bad_records = std::move(invalid->bad_records);
              continue;
            }
            auto appended = log->append(batches);
            if (!appended.ok()) {
              result.error = to_kafka_error(appended.error());
              if (appended.error().code() == ErrorCode::kInvalidArgument) {
                result.error = KafkaError::kInvalidRecord;
              }
              result.message = appended.error().message();
              continue;
            }
            result.base_offset = appended->base_offset;
            result.log_append_time = appended->log_append_time_ms;
            result.log_start_offset = appended->log_start_offset;
            if (!appended->needs_flush) continue;
            // Durable topics: the fsync must happen whatever acks says, or the high watermark
            // would not move; only acks=-1 waits for it.
            if (acks == -1) {
              {
                std::lock_guard lock(state->mu);
                ++state->outstanding;
                result.waiting = true;
              }
              ctx.log.when_durable(log, *appended, [state, &result](Status status) {
                state->durable(result, status);
              });
            } else {
              ctx.log.when_durable(log, *appended, [](Status) {});
            }
          }
        }
        if (acks == 0) respond(std::nullopt);
        if (acks == -1 && timeout_ms >= 0) {
          std::lock_guard lock(state->mu);
          if (!state->answered && state->outstanding > 1) {
            state->cancel_timeout =
                services.after(timeout_ms, [state, timeout_ms] { state->time_out(timeout_ms); });
          }
        }
        state->finish_one();
        return true;
      }};
}

}  // namespace eddy::kafka

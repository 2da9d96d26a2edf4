// InitProducerId (API 22), v0–v4; flexible from v2.
//
// Serves idempotent producers: a producer id never issued before, with epoch 0. From v3 a
// producer may give the id and epoch it holds (KIP-360, after it lost track of a batch's fate);
// it then gets the same id with the epoch bumped, or a fresh id once the epoch is exhausted, so
// the partitions fence its older in-flight batches with INVALID_PRODUCER_EPOCH.
//
// Transactional ids need a transaction coordinator, which does not exist yet. They are refused
// with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, what a Kafka broker answers for a transactional id
// it may not serve: clients treat it as fatal at once instead of retrying until a timeout.
#include <spdlog/spdlog.h>

#include "kafka/handlers/handlers.h"
#include "storage/log_manager.h"

namespace eddy::kafka {
namespace {

constexpr int64_t kNoProducerId = -1;
constexpr int16_t kNoProducerEpoch = -1;
// Kafka's TransactionMetadata.isProducerEpochExhausted: the last epoch is kept for fencing.
constexpr int16_t kLastUsableEpoch = INT16_MAX - 1;

bool handle(RequestContext& ctx, WireReader& body, AsyncServices&, Respond respond) {
  const int16_t v = ctx.api_version;
  const auto transactional_id = body.nullable_string();
  (void)body.i32();  // transaction_timeout_ms: only meaningful with a transactional id
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  if (v >= 3) {
    producer_id = body.i64();
    producer_epoch = body.i16();
  }
  body.tagged_fields();
  if (!body.ok()) return false;

  KafkaError error = KafkaError::kNone;
  int64_t id = kNoProducerId;
  int16_t epoch = kNoProducerEpoch;
  if (transactional_id) {
    spdlog::warn(
        "InitProducerId from client '{}' for transactional.id '{}' refused with "
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED: transactions are not supported yet (idempotent "
        "producers without a transactional.id are)",
        ctx.client_id.value_or(""), *transactional_id);
    error = KafkaError::kTransactionalIdAuthorizationFailed;
  } else if ((producer_id == kNoProducerId) != (producer_epoch == kNoProducerEpoch)) {
    error = KafkaError::kInvalidRequest;  // Kafka requires both or neither
  } else if (producer_id >= 0 && producer_epoch >= 0 && producer_epoch < kLastUsableEpoch &&
             ctx.log.producer_id_issued(producer_id)) {
    id = producer_id;
    epoch = static_cast<int16_t>(producer_epoch + 1);
  } else {
    // A first request, an exhausted epoch, or an id this broker never issued.
    auto allocated = ctx.log.allocate_producer_id();
    if (allocated.ok()) {
      id = *allocated;
      epoch = 0;
    } else {
      spdlog::error("allocating a producer id: {}", allocated.error().message());
      error = KafkaError::kCoordinatorNotAvailable;  // retriable: the disk may recover
    }
  }

  WireWriter w(body.flexible());
  w.i32(0);  // throttle_time_ms
  w.i16(code(error));
  w.i64(id);
  w.i16(epoch);
  w.tagged_fields();
  respond(w.take());
  return true;
}

}  // namespace

Handler make_init_producer_id_handler() {
  return Handler{ApiKey::kInitProducerId, "InitProducerId", 0, 4, 2, handle};
}

}  // namespace eddy::kafka

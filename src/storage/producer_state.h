// Idempotent-producer state of one partition: for every producer id that wrote to it, the
// current epoch and the metadata of its last 5 batches, which is what lets a retried batch be
// recognised and acknowledged with its original offsets instead of being written twice.
//
// The rules are Kafka's (ProducerAppendInfo / ProducerStateEntry):
// - a batch whose epoch and exact sequence range match one of the 5 cached batches is a
//   duplicate: nothing is written, the original offsets are returned;
// - an epoch older than the producer's current one is INVALID_PRODUCER_EPOCH (kStaleEpoch);
// - a newer epoch must start at sequence 0 (unless the producer is unknown);
// - within an epoch the first sequence must follow the last one, wrapping from INT32_MAX to 0;
//   anything else is OUT_OF_ORDER_SEQUENCE_NUMBER (kOutOfSequence);
// - an unknown producer (never seen, expired, or all its data deleted) may start at any
//   sequence, as in Kafka since KIP-360: the broker never answers UNKNOWN_PRODUCER_ID.
//
// Persistence: a snapshot file `<20-digit offset>.snapshot` holds the state of every batch
// below that offset (format in docs/storage.md). It is written when a segment rolls and at a
// clean close; at open the newest valid snapshot is loaded and the batch headers after it are
// replayed, so the state survives clean and unclean stops alike.
//
// Not thread-safe: the owning PartitionLog guards it with its lock, which is what makes the
// check and the append one atomic step.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/file_io.h"
#include "common/result.h"
#include "storage/record_batch.h"

namespace eddy::storage {

// Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN, matched by clients' max in-flight requests.
inline constexpr size_t kProducerBatchesRetained = 5;

struct ProducerBatch {
  int32_t first_seq = 0;
  int32_t last_seq = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t timestamp = -1;  // the batch's max timestamp

  bool operator==(const ProducerBatch&) const = default;
};

struct ProducerEntry {
  int16_t epoch = -1;
  int64_t last_timestamp = -1;  // drives producer.id.expiration.ms, as in Kafka
  // Oldest first; at most kProducerBatchesRetained, all of the current epoch.
  std::array<ProducerBatch, kProducerBatchesRetained> batches{};
  uint8_t count = 0;

  const ProducerBatch& last() const { return batches[count - 1]; }
  // Starts a new epoch (forgetting the old epoch's batches) when `epoch` differs.
  void add(int16_t batch_epoch, const ProducerBatch& batch);
  std::optional<ProducerBatch> find(int32_t first_seq, int32_t last_seq) const;
  bool operator==(const ProducerEntry&) const = default;
};

// The sequence of the last record of a batch, wrapping past INT32_MAX like Kafka's
// DefaultRecordBatch.incrementSequence.
int32_t last_sequence_of(const BatchHeader& header);

// Whether an append needs the producer-state path at all; the plain path stays untouched.
inline bool needs_producer_check(const BatchHeader& header) {
  return header.producer_id >= 0 || header.is_transactional();
}

class ProducerStateMap {
 public:
  // The staged effect of one append, applied with commit() only once the bytes are written.
  struct Plan {
    std::optional<ProducerBatch> duplicate;  // set: acknowledge with these offsets, write nothing
    std::vector<std::pair<int64_t, ProducerEntry>> updates;
  };

  // Checks the batches of one append (already validated by validate_batches) whose first batch
  // will get offset `base_offset`; `log_append_time` (-1 for CreateTime topics) replaces the
  // batches' timestamps as the broker will. Errors: kOutOfSequence, kStaleEpoch, kUnsupported
  // (transactional batches), kInvalidArgument (idempotent batch without a sequence or epoch).
  Result<Plan> prepare(std::span<const std::byte> batches, int64_t base_offset,
                       int64_t log_append_time) const;
  void commit(Plan& plan);

  // Replays a batch found in the log (recovery): no checks, the log is the truth.
  void replay(const BatchHeader& header);
  // Forgets batches at or after `offset` (the log was cut back there), and producers left with
  // none.
  void truncate_from(int64_t offset);
  // Forgets producers whose last batch lies below `log_start_offset` (retention deleted it).
  size_t drop_below(int64_t log_start_offset);
  // Forgets producers whose last write is `expiration_ms` or more before `now_ms`.
  size_t expire(int64_t now_ms, int64_t expiration_ms);

  const ProducerEntry* find(int64_t producer_id) const;
  size_t size() const { return producers_.size(); }
  bool empty() const { return producers_.empty(); }
  bool operator==(const ProducerStateMap&) const = default;

  // Snapshot encoding; decode checks magic, version, CRC and every count against the bytes.
  std::vector<std::byte> encode(int64_t offset) const;
  static Result<ProducerStateMap> decode(std::span<const std::byte> bytes, int64_t offset);

 private:
  std::unordered_map<int64_t, ProducerEntry> producers_;
};

}  // namespace eddy::storage

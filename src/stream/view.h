// One continuous materialized view: its source position per partition, its operators, and its
// checkpoints. Driven by StreamEngine's workers, one step at a time (never two at once).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "sql/views.h"
#include "storage/records.h"
#include "storage/topic_config.h"
#include "stream/operators.h"

namespace eddy::storage {
class LogManager;
}

namespace eddy::stream {

class TaskPool;

struct ViewOptions {
  size_t cache_bytes = 64 << 20;         // aggregate state kept in memory per view
  int64_t checkpoint_interval_ms = 100;  // longest run of work between two checkpoints
  TaskPool* pool = nullptr;              // runs partitions in parallel; null: one after another
};

class View {
 public:
  View(sql::ViewDef def, std::shared_ptr<const sql::Plan> select, storage::LogManager& log,
       StateStore& store, ViewOptions options);

  // Loads the checkpoint, or (fresh) discards any state under the view's name.
  Status open(bool fresh);
  // Some source partition has records past the view's position.
  bool has_pending() const;
  // Processes source records for up to checkpoint_interval_ms, then checkpoints state and
  // positions in one write. True when records remain.
  bool step();
  sql::SqlResult<std::vector<sql::Row>> read() const;
  sql::ViewStatus status() const;
  // EXPLAIN: the source, decoding and the operators of a partition's pipeline, sink first
  // (PostgreSQL's order). Builds the pipelines; for a view that is never opened or stepped.
  sql::ExplainNode explain();
  const std::string& name() const { return def_.name; }
  // The views that read this one (set by the engine whenever that changes): while there are
  // any, or positions of readers are stored, each checkpoint writes a change-feed entry, and a
  // reader without a position gets a snapshot at the start of the next step.
  void set_readers(std::set<std::string> readers);
  const std::string& prefix() const { return context_.prefix; }
  bool failed() const { return failed_.load(); }
  // The failure came from storage (a full disk, an I/O error), not from the view's own
  // definition: a new View opened from the last checkpoint may well succeed.
  bool failure_is_transient() const { return transient_.load(); }
  std::string failure() const;

 private:
  // What one source partition needs while it is pumped; stream partitions are pumped in
  // parallel, each by one thread, and only checkpoint() (between steps) looks across them.
  // Decodes a slice of a chunk's records into its own batch; a partition with several lanes
  // decodes the slices of one chunk on several threads and pushes the batches in order.
  struct Lane {
    Batch batch;  // scratch, reused so its column vectors keep their capacity
    sql::Row row;
    std::string reason;
    std::vector<sql::TopicRecord> dead_letters;  // moved to the partition's, in lane order
  };
  struct PendingRecord {
    int64_t offset;
    storage::RecordView record;
    int64_t timestamp_ms;
  };
  struct PartitionWork {
    int64_t offset = 0;  // next offset to read
    Pipeline pipeline;   // a stream's operators for this partition (none for a joined table)
    std::vector<std::unique_ptr<Lane>> lanes{};        // at least one
    std::vector<PendingRecord> pending;                // a chunk's records, when split across lanes
    std::vector<std::vector<std::byte>> decompressed;  // what `pending` points into
    std::vector<sql::TopicRecord> dead_letters;        // written before the next checkpoint
    int64_t uncheckpointed = 0;                        // records read since the last checkpoint
    bool dirty = false;
  };
  // One topic the view reads: a stream (rows flow through an arm of the pipelines), a table
  // with a primary key in a stream's place (each change flows as the retraction of the row it
  // replaces and the new row), or a joined table (its changelog updates that join's shared
  // table state).
  struct Source {
    sql::TableDef table;
    uint32_t arm = 0;
    int join = -1;  // the arm's stream (-1), or the relation of the arm's hash join `join`
    LatestRows* side = nullptr;  // a lookup join's table state; null for rows that flow
    // A table with a primary key at the head of an arm: its latest row per key.
    std::unique_ptr<LatestRows> latest;
    // A materialized view at the head of an arm, read through its change feed (change_feed.h):
    // its key prefix (empty for a topic), whether the view has found its position there yet,
    // whether the snapshot that came with it has been read, and its keys (deleted at the next
    // checkpoint, with the position that passes them).
    std::string upstream_prefix;
    // Further places that read the same view (arm, join as in `join`): one feed position.
    std::vector<std::pair<uint32_t, int>> more_targets;
    bool positioned = false;
    bool snapshot_read = false;
    std::vector<std::string> snapshot_keys;
    bool feed_ready = false;   // both as of the last checkpoint (for status, under status_mu_)
    std::string position_key;  // + partition -> next offset, in the state store
    std::vector<bool> used;    // a stream's columns its arm reads (others need not be decoded)
    // The columns of `used`, in order: only these are moved from a decoded row into the batch;
    // the others are filled with nulls once per batch (no operator reads them).
    std::vector<uint32_t> read_columns;
    std::vector<std::unique_ptr<PartitionWork>> partitions;
    std::vector<int64_t> checkpointed;  // offsets as of the last checkpoint (for status)
    // The dead-letter topic's max.message.bytes, read once per step (grow) rather than per
    // skipped record.
    int64_t dead_letter_limit = 0;
  };

  // Where a source's rows go in: the head of arm `arm`, or the relation input of its join.
  static Operator* entry(const Pipeline& pipeline, uint32_t arm, int join);
  // Reads one chunk of a partition into a batch and pushes it (or applies it to the joined
  // table's state); false when nothing was read.
  sql::SqlResult<bool> pump(Source& source, int32_t partition, PartitionWork& work);
  // A change of a table with a primary key into `lane`'s batch as the retraction of the key's
  // previous row and the new row, or to its dead letters.
  sql::SqlStatus decode_change(Source& source, int32_t partition, Lane& lane, int64_t at,
                               const storage::RecordView& record, int64_t timestamp_ms);
  // A stream record into `lane`'s batch, or to its dead letters.
  void decode_into(const Source& source, int32_t partition, Lane& lane, int64_t at,
                   const storage::RecordView& record, int64_t timestamp_ms,
                   std::span<const std::byte> chunk);
  // A record that does not fit: counted, and to the dead-letter topic (with lane.reason).
  void reject(const Source& source, int32_t partition, Lane& lane, int64_t at,
              const storage::RecordView& record);
  void start_batch(const Source& source, int32_t partition, Batch& batch) const;
  void finish_batch(const Source& source, Batch& batch) const;
  size_t lanes_for_step() const;
  // Moves a lane's dead letters to the partition's and passes its batch down the pipeline (a
  // stream's, when the chunk moved the partition's position).
  sql::SqlStatus hand_on(const Source& source, int32_t partition, PartitionWork& work, Lane& lane,
                         int64_t new_offset);
  // pump() for a stream partition whose chunk is split across lanes.
  sql::SqlResult<bool> pump_lanes(Source& source, int32_t partition, PartitionWork& work,
                                  std::span<const std::byte> chunk, int64_t end);
  // Pumps one partition until it is caught up or `deadline`; true when records remain.
  sql::SqlResult<bool> pump_until(Source& source, int32_t partition, PartitionWork& work,
                                  std::chrono::steady_clock::time_point deadline);
  // Makes sure `source` has work state for every partition of its topic.
  void grow(Source& source);
  // pump() for a materialized view's change feed: the snapshot first, then entries.
  sql::SqlResult<bool> pump_upstream(Source& source, PartitionWork& work);
  // At the start of a step, as the upstream of other views: finds the readers' positions,
  // decides whether this step feeds changes, and writes a snapshot for each new reader.
  sql::SqlStatus prepare_feed();
  // The checkpoint's feed entry (if there are changes) and the deletion of entries every
  // reader has passed.
  sql::SqlStatus write_feed(std::vector<StateWrite>& writes);
  sql::SqlStatus checkpoint();
  // Creates the view's output topic unless it exists (compacted for an aggregate view).
  Status ensure_output_topic();
  // At open, records for the output topic that the first checkpoint writes: an aggregate
  // without GROUP BY that never checkpointed writes its one row (it has one over no input);
  // a topic keyed by rows gets, for every key written after the last checkpoint (by work a crash
  // undid), the row's current state, since the work done again may not touch that row.
  Status repair_output(bool fresh);
  storage::ConfigMap output_overrides() const;
  void fail(const sql::SqlError& error);

  sql::ViewDef def_;
  std::shared_ptr<const sql::Plan> select_;
  storage::LogManager& log_;
  StateStore& store_;
  ViewOptions options_;
  OperatorContext context_;
  // Built once for the shared state it creates (the joined tables' `TableSide`s, which the
  // table sources feed); rows flow through the per-partition pipelines.
  Pipeline pipeline_;
  std::vector<Source> sources_;  // the first arm's stream first
  // Lanes per stream partition: the threads a step has (pool + caller) over the partitions to
  // pump, so a view with fewer partitions than threads still uses them all.
  size_t lanes_ = 1;
  std::atomic<int64_t> records_{0};  // checkpointed
  mutable std::mutex readers_mu_;
  std::set<std::string> readers_;  // under readers_mu_
  // Under readers_mu_: readers whose position prepare_feed found or wrote (has_pending need
  // not ask the state store on every wake-up).
  std::set<std::string> positioned_readers_;
  // The change feed this view writes: the last entry's sequence number, and the lowest
  // position of a reader as found at the start of the step (entries up to it can go).
  int64_t feed_seq_ = 0;
  std::optional<int64_t> slowest_reader_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> transient_{false};
  mutable std::mutex status_mu_;
  std::string error_;
};

}  // namespace eddy::stream

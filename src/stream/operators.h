// The dataflow operators a materialized view's plan is lowered to.
//
// Operators exchange batches of changes in columnar form: one call per batch, never one virtual
// call per row. A batch holds the rows of one source partition in offset order, with a selection
// vector of the rows still alive (a filter narrows it without copying columns) and a weight per
// row: +1 inserts the row, -1 retracts it (an update of a table with a primary key is the old
// row retracted and the new one inserted; streams only insert). Every push carries a
// Progress (source position, event-time watermark) so that windows, late-event policies and
// stream joins (next issue) can close state on progress alone through advance().
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sql/executor.h"
#include "sql/explain.h"
#include "sql/plan.h"
#include "stream/state_store.h"

namespace eddy::stream {

struct Batch {
  int32_t partition = 0;
  std::vector<int64_t> offsets;                  // per row: its source offset
  std::vector<std::vector<sql::Value>> columns;  // column-major
  std::vector<uint32_t> selection;               // live rows, ascending
  std::vector<int64_t> weights;                  // per row; empty when every row is +1
  uint32_t arm = 0;  // the UNION ALL arm the rows come from (0 without UNION ALL)
  // Which of the arm's inputs the rows come from: 0 its stream, j + 1 the relation of its
  // join j (a hash join's right side), so batches of different sources are told apart.
  uint32_t input = 0;
  size_t size() const { return offsets.size(); }
  int64_t weight(uint32_t row) const { return weights.empty() ? 1 : weights[row]; }
};

struct Progress {
  int32_t partition = 0;
  int64_t next_offset = 0;  // every record of `partition` below it has been pushed
  int64_t watermark_ms = std::numeric_limits<int64_t>::min();  // not computed yet
};

class GroupTable;
class JoinState;
class LatestRows;
class PartitionTops;
class SetOpRows;
class RowMultiset;
class TaskPool;
class TopRows;

// A Top-N view's rows: LIMIT of them after the first OFFSET, in ORDER BY order.
struct TopWindow {
  int64_t offset = 0;
  int64_t limit = 0;
};

// Key shards of a view's group table (each with its own lock).
inline constexpr size_t kGroupShards = 8;

// Shared by a view's operators, across the pipelines of its partitions (which may run on
// different threads at once; checkpoints never overlap with pushes).
struct OperatorContext {
  StateStore* store = nullptr;
  std::string prefix;                                    // the view's key prefix in the state store
  sql::KeyFormat key_format = sql::KeyFormat::kCurrent;  // of group and join keys (ViewDef's)
  size_t cache_bytes = 64 << 20;
  int64_t state_ttl_ms = 0;         // WITH (state_ttl = ...) of the view (join state), 0: none
  std::atomic<int64_t> skipped{0};  // rows dropped because an expression failed on them
  std::mutex error_mu;
  std::string last_error;  // the reason of the last skipped row, under error_mu
  // Threads for work inside one batch (a big aggregate batch is spread by row range and by
  // key); `lanes` is how many a step may use (more when there are fewer partitions than
  // threads), set by the view before each step.
  TaskPool* pool = nullptr;
  std::atomic<size_t> lanes{1};
  // The keyed aggregate state every partition's pipeline merges into (made by the first).
  std::shared_ptr<GroupTable> groups;
  // The joined tables' state (per UNION ALL arm and join: arm << 16 | join), shared the same way,
  // and the state of hash joins (join.h), by the same tag.
  std::unordered_map<uint32_t, std::shared_ptr<LatestRows>> joins;
  std::unordered_map<uint32_t, std::shared_ptr<JoinState>> hash_joins;
  // Some source retracts rows (a table with a primary key): aggregates keep state they can take
  // rows out of again, and a view without GROUP BY keeps its rows as a multiset (`rows`, shared
  // like `groups`) rather than appending them.
  bool retracting = false;
  std::shared_ptr<RowMultiset> rows;
  std::shared_ptr<TopRows> top;  // a Top-N view's rows, shared the same way
  std::shared_ptr<PartitionTops> per_group_top;
  std::shared_ptr<SetOpRows> set_op;  // INTERSECT / EXCEPT (set_ops.h), the same  // Top-N per
                                      // group (top_per_group.h), the same
  // WITH (topic = ...): operators add the view's changes here during checkpoint() as JSON
  // records (rows of an append-only view; upserts and tombstones keyed by the group key of an
  // aggregate view), and the view appends them to its topic before the checkpoint that reflects
  // them commits.
  bool emit_output = false;
  std::string output_topic;  // for EXPLAIN
  std::vector<sql::TopicRecord> outputs;
  // Other views read this one: during checkpoint() the sink adds the changes of the view's
  // visible rows since the last checkpoint here (a row with its weight: an aggregate's changed
  // group retracts its old row and inserts its new one), which the view writes to its change
  // feed. Set by the view for a whole step.
  bool emit_changes = false;
  std::vector<std::pair<sql::Row, int64_t>> changes;
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual sql::SqlStatus push(Batch& batch, const Progress& progress) = 0;
  // Progress without data (event time moving on); operators pass it downstream.
  virtual sql::SqlStatus advance(const Progress& progress);
  // Adds the state changed since the last checkpoint to `writes`.
  virtual sql::SqlStatus checkpoint(std::vector<StateWrite>& writes);
  // What this operator does, for EXPLAIN (no children); nullopt for one that only passes
  // batches on.
  virtual std::optional<sql::ExplainNode> explain() const { return std::nullopt; }
  void set_next(Operator* next) { next_ = next; }

 protected:
  Operator* next_ = nullptr;
};

// A row's values one after another (sql::append_value): state values, and keys that tell rows
// apart exactly (1.0 and 1.00 differ).
std::string serialize_row(const sql::Row& row);
// "N MiB", for EXPLAIN.
std::string mib(size_t bytes);
// For each primary-key column of a joined table, the key pair of the join that equates it
// (right side the bare column, or a cast of it); nullopt when some column is not equated.
std::optional<std::vector<size_t>> key_pairs(const sql::JoinSpec& join);

// The view's visible columns as a table, for JSON output.
sql::TableDef output_table(const sql::Plan& plan);

// Whether the view's output topic is keyed by whole rows (a view without GROUP BY whose rows
// can go again: over retracting sources, UNION, Top-N).
bool outputs_keyed_by_row(const sql::Plan& select);

// After a crash: the current upsert (or tombstone) of each group whose output-topic key (the
// group key's JSON) is in `keys`, added to the context's outputs.
sql::SqlStatus repair_group_outputs(OperatorContext& context, const std::set<std::string>& keys);

// Records a row an expression failed on (thread-safe).
void skip_row(OperatorContext& context, const std::string& reason);

// A table's latest row per primary key, kept in the view's state under `state_prefix`: a cache
// (rows and known absences) in front of the state store. Two uses: the reference side of a
// stream-table join (the view applies the table's changelog on its worker before the stream
// partitions run; their pipelines then look rows up in parallel, hence the mutex), and the
// source of a view over a table with a primary key (each change retracts the row it replaces).
class LatestRows {
 public:
  LatestRows(const sql::TableDef& table, std::string state_prefix, OperatorContext& context);
  // Upserts `row` (the table's decoded record) under `key` (its primary-key values), or deletes
  // the key (nullopt).
  sql::SqlStatus apply(const sql::Row& key, std::optional<sql::Row> row);
  // apply() that returns the key's row before it, in one step (partitions of a table may carry
  // the same key and run at once: each change must retract the row the previous one left).
  sql::SqlResult<std::optional<sql::Row>> replace(const sql::Row& key, std::optional<sql::Row> row);
  // The row under `key` (encoded with the context's key format), or nullopt.
  sql::SqlResult<std::optional<sql::Row>> lookup(const std::string& key);
  // Adds the keys changed since the last checkpoint to `writes`.
  sql::SqlStatus checkpoint(std::vector<StateWrite>& writes);

 private:
  sql::SqlResult<std::optional<sql::Row>> lookup_locked(const std::string& key);

  const sql::TableDef& table_;
  OperatorContext& context_;
  std::string prefix_;
  std::mutex mu_;
  std::unordered_map<std::string, std::optional<sql::Row>> cache_;
  std::set<std::string> dirty_;  // written at the next checkpoint
  size_t cache_bytes_ = 0;
};

// The operators of one view over one source partition, source side first.
struct Pipeline {
  std::vector<std::unique_ptr<Operator>> operators;
  // One head per UNION ALL arm (one for a view without UNION ALL); the arms share the sink.
  std::vector<Operator*> heads;
  // Per arm, the table side of each of its joins (in the arm's join order; null for a hash join).
  std::vector<std::vector<LatestRows*>> tables;
  // Per arm, per join: where the changes of a hash join's relation go in (null for a lookup).
  std::vector<std::vector<Operator*>> inputs;
  // Per arm, its operators from the head on, without the shared sink (for EXPLAIN).
  std::vector<std::vector<Operator*>> chains;
  Operator* sink = nullptr;
  Operator* head() const { return heads.front(); }
  // Collects every operator's changed state (each arm's chain; shared operators add theirs once).
  sql::SqlStatus checkpoint(std::vector<StateWrite>& writes) const;
};

// The arms of a view's plan: the plan itself, or the arms of its UNION ALL (for Top-N per group,
// the derived table's SELECT, whose rows the sink ranks).
std::vector<const sql::Plan*> plan_arms(const sql::Plan& select);

// Whether some arm reads a table with a primary key, whose changes retract rows.
bool plan_retracts(const sql::Plan& select);
// The window of a Top-N view (ORDER BY ... LIMIT, constant LIMIT and OFFSET), nullopt for any
// other view; 0A000 or 22023-like errors for a LIMIT it cannot keep.
sql::SqlResult<std::optional<TopWindow>> top_window(const sql::Plan& select);
// Whether a view without GROUP BY keeps its rows with their counts (RowMultiset) rather than
// appending them: over retracting sources, and for UNION without ALL (a row stays while any
// arm holds it).
bool keeps_row_counts(const sql::Plan& select);
// 0A000 naming the construct when the stream engine cannot maintain `select` incrementally.
sql::SqlStatus validate_plan(const sql::Plan& select);
// Called once per source partition with the same context: the pipelines share the context's
// group table.
Pipeline build_pipeline(const sql::Plan& select, OperatorContext& context);
// One flag per source column (declared, then metadata): whether any expression of `select`
// reads it.
std::vector<bool> used_columns(const sql::Plan& select);
// The same over the whole combined row of an arm (every input's columns, joined ones too).
std::vector<bool> columns_read(const sql::Plan& select);
// The view's current contents (visible columns) from the state store.
sql::SqlResult<std::vector<sql::Row>> read_contents(const sql::Plan& select,
                                                    const StateStore& store,
                                                    const std::string& prefix);

// Key layout under a view's prefix ("v" name "\0"): 'o' partition -> offset of the first source,
// 'p' source partition -> offset of the others, 'm' -> counters, 's' group key -> aggregate state,
// 'c' partition offset [arm [input]] -> the output rows of one batch from that position on ('r'
// partition offset -> one output row, in state written by older versions), 'j' arm/join primary
// key -> a joined table's row, 'd' group key aggregate value -> a DISTINCT aggregate's value seen,
// 'k' arm primary key -> the latest row of a source table with a primary key, 'u' row (its
// serialized values; its key encoding under UNION without ALL) -> how many times a view over
// retracting sources holds the row (without GROUP BY), 't' sort key serialized row -> a Top-N
// view's row and count, 'e' -> where the output topic's partitions ended at the last
// checkpoint (be64 each), 'K' arm/join primary key -> the latest row of a hash join's relation
// that has a primary key, 'J' arm/join ... -> a hash join's rows (join.cc), 'n' partition
// length, partition key, sort key, row -> a Top-N per group row and count (top_per_group.cc),
// 'x' row -> an INTERSECT/EXCEPT row's counts in both arms (set_ops.cc), and the change
// feed's 'F', 'f', 'q', 'g' (change_feed.h). Group states
// over retracting input hold a row count and per aggregate a count, an integer sum and counted
// input values (serialize_group).
std::string view_prefix(const std::string& name);
void append_be32(std::string& out, uint32_t v);
void append_be64(std::string& out, uint64_t v);
uint64_t read_be64(std::string_view in);
uint32_t read_be32(std::string_view in);

}  // namespace eddy::stream

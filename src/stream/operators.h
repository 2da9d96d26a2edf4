// The dataflow operators a materialized view's plan is lowered to.
//
// Operators exchange batches in columnar form: one call per batch, never one virtual call per
// row. A batch holds the rows of one source partition in offset order, with a selection vector
// of the rows still alive (a filter narrows it without copying columns). Every push carries a
// Progress (source position, event-time watermark) so that windows, late-event policies and
// stream joins (next issue) can close state on progress alone through advance().
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
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
  size_t size() const { return offsets.size(); }
};

struct Progress {
  int32_t partition = 0;
  int64_t next_offset = 0;  // every record of `partition` below it has been pushed
  int64_t watermark_ms = std::numeric_limits<int64_t>::min();  // not computed yet
};

class GroupTable;

// Shared by a view's operators, across the pipelines of its partitions (which may run on
// different threads at once; checkpoints never overlap with pushes).
struct OperatorContext {
  StateStore* store = nullptr;
  std::string prefix;  // the view's key prefix in the state store
  size_t cache_bytes = 64 << 20;
  std::atomic<int64_t> skipped{0};  // rows dropped because an expression failed on them
  std::mutex error_mu;
  std::string last_error;  // the reason of the last skipped row, under error_mu
  // The keyed aggregate state every partition's pipeline merges into (made by the first).
  std::shared_ptr<GroupTable> groups;
  // WITH (topic = ...): operators add the view's changes here during checkpoint() as JSON
  // records (rows of an append-only view; upserts and tombstones keyed by the group key of an
  // aggregate view), and the view appends them to its topic before the checkpoint that reflects
  // them commits.
  bool emit_output = false;
  std::string output_topic;  // for EXPLAIN
  std::vector<sql::TopicRecord> outputs;
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

// Records a row an expression failed on (thread-safe).
void skip_row(OperatorContext& context, const std::string& reason);

// The operators of one view over one source partition, source side first.
struct Pipeline {
  std::vector<std::unique_ptr<Operator>> operators;
  Operator* head() const { return operators.front().get(); }
};

// 0A000 naming the construct when the stream engine cannot maintain `select` incrementally.
sql::SqlStatus validate_plan(const sql::Plan& select);
// Called once per source partition with the same context: the pipelines share the context's
// group table.
Pipeline build_pipeline(const sql::Plan& select, OperatorContext& context);
// One flag per source column (declared, then metadata): whether any expression of `select`
// reads it.
std::vector<bool> used_columns(const sql::Plan& select);
// The view's current contents (visible columns) from the state store.
sql::SqlResult<std::vector<sql::Row>> read_contents(const sql::Plan& select,
                                                    const StateStore& store,
                                                    const std::string& prefix);

// Key layout under a view's prefix ("v" name "\0"): 'o' partition -> offset, 'm' -> counters,
// 's' group key -> aggregate state, 'c' partition offset -> the output rows of one batch from
// that position on ('r' partition offset -> one output row, in state written by older versions).
std::string view_prefix(const std::string& name);
void append_be32(std::string& out, uint32_t v);
void append_be64(std::string& out, uint64_t v);
uint64_t read_be64(std::string_view in);

}  // namespace eddy::stream

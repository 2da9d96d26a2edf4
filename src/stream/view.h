// One continuous materialized view: its source position per partition, its operators, and its
// checkpoints. Driven by StreamEngine's workers, one step at a time (never two at once).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sql/views.h"
#include "storage/topic_config.h"
#include "stream/operators.h"

namespace eddy::storage {
class LogManager;
}

namespace eddy::stream {

struct ViewOptions {
  size_t cache_bytes = 64 << 20;         // aggregate state kept in memory per view
  int64_t checkpoint_interval_ms = 100;  // longest run of work between two checkpoints
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
  const std::string& name() const { return def_.name; }
  const std::string& prefix() const { return context_.prefix; }
  bool failed() const { return failed_.load(); }

 private:
  // One topic the view reads: a stream (rows flow through an arm of the pipeline) or a joined
  // table (its changelog updates that join's table state).
  struct Source {
    sql::TableDef table;
    uint32_t arm = 0;
    TableSide* side = nullptr;          // a joined table's state; null for a stream
    std::string position_key;           // + partition -> next offset, in the state store
    std::vector<int64_t> offsets;       // next offset to read, per partition
    std::vector<int64_t> checkpointed;  // offsets as of the last checkpoint (for status)
    std::vector<bool> used;  // a stream's columns its arm reads (others need not be decoded)
  };
  // Reads one chunk of `partition` into a batch and pushes it (or applies it to the table
  // state); false when nothing was read.
  sql::SqlResult<bool> pump(Source& source, int32_t partition);
  // Pumps every partition of `sources` until they are at their end or the deadline passes;
  // true when they reached their end.
  sql::SqlResult<bool> drain(const std::vector<Source*>& sources,
                             std::chrono::steady_clock::time_point deadline, bool& pumped);
  sql::SqlStatus checkpoint();
  // Creates the view's output topic unless it exists (compacted for an aggregate view).
  Status ensure_output_topic();
  storage::ConfigMap output_overrides() const;
  void fail(const std::string& reason);

  sql::ViewDef def_;
  std::shared_ptr<const sql::Plan> select_;
  storage::LogManager& log_;
  StateStore& store_;
  ViewOptions options_;
  OperatorContext context_;
  Pipeline pipeline_;
  std::vector<Source> sources_;  // the first arm's stream first
  // Per dead-letter topic, written before the next checkpoint.
  std::map<std::string, std::vector<sql::TopicRecord>> dead_letters_;
  Batch batch_;  // scratch, reused by pump()
  sql::Row row_;
  bool dirty_ = false;
  std::atomic<int64_t> records_{0};  // checkpointed
  int64_t uncheckpointed_ = 0;
  std::atomic<bool> failed_{false};
  mutable std::mutex status_mu_;
  std::string error_;
};

}  // namespace eddy::stream

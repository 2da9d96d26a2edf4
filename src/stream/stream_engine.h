// Runs continuous materialized views: a small pool of worker threads, the state store, and the
// sql::ViewHost interface the SQL engine calls for CREATE/DROP/SELECT of views.
//
// Scheduling: a view is stepped by one worker at a time (different views run on different
// workers in parallel); within a step the view's source partitions are pumped in parallel on a
// task pool, each partition by one thread so its records stay in order. Workers are woken when a
// view is created, when storage makes new records visible (a LogManager visibility observer:
// the views with records past their position are queued then, not at the next poll), and
// otherwise every poll_interval_ms (a bounded wait, never a busy loop; it also retries paused
// views). A view's step queues the views that read it (views on views), so a change goes down a
// chain of views at once.
//
// Failures: a step that fails on storage (a full disk, an I/O error) pauses the view; after a
// back-off (100 ms doubling to 30 s) a new View opens from the last checkpoint and carries on,
// as after a restart (outputs since that checkpoint are written again: at-least-once). A failure
// of the view itself stops it for good, with the reason in its status.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sql/views.h"
#include "stream/task_pool.h"
#include "stream/view.h"

namespace eddy::stream {

struct StreamOptions {
  storage::LogManager* log = nullptr;
  std::string state_dir;  // RocksDB directory (<data-dir>/state)
  size_t cache_bytes = 64 << 20;
  int64_t checkpoint_interval_ms = 100;
  int64_t poll_interval_ms = 20;
  int workers = 2;
};

class StreamEngine final : public sql::ViewHost {
 public:
  static Result<std::unique_ptr<StreamEngine>> open(StreamOptions options);
  ~StreamEngine() override;
  // Finishes the steps under way (each ends with a checkpoint), joins the workers and closes
  // the state store. Idempotent.
  void stop();

  sql::SqlStatus validate(const sql::Plan& select) const override;
  sql::SqlStatus start(const sql::ViewDef& def, std::shared_ptr<const sql::Plan> select,
                       bool fresh) override;
  sql::SqlStatus drop(const std::string& name) override;
  sql::SqlResult<std::vector<sql::Row>> read(const std::string& name) override;
  std::vector<sql::ViewStatus> status() const override;
  sql::SqlResult<sql::ExplainNode> explain(const sql::ViewDef& def,
                                           const sql::Plan& select) const override;

 private:
  struct Entry {
    std::shared_ptr<View> view;  // replaced (under mu_, while not running) by a retry
    bool queued = false;
    bool running = false;
    // For restarting a view whose step failed on storage: what start() was given, when to try
    // next, and how many tries in a row failed.
    sql::ViewDef def;
    std::shared_ptr<const sql::Plan> select;
    std::chrono::steady_clock::time_point retry_at{};
    int retries = 0;
    std::vector<std::string> upstreams;  // the materialized views it reads
    // The hidden views of its derived tables (derived_tables.h), dropped with it.
    std::vector<std::string> derived;
  };
  explicit StreamEngine(StreamOptions options);
  sql::SqlStatus start_one(const sql::ViewDef& def, std::shared_ptr<const sql::Plan> select,
                           bool fresh, std::vector<std::string> derived);
  // Stops a view and (with `delete_state`) deletes its state and its positions in the feeds it
  // reads.
  sql::SqlStatus drop_one(const std::string& name, bool delete_state = true);
  void work();
  void enqueue_locked(const std::shared_ptr<Entry>& entry);
  std::shared_ptr<View> make_view(const sql::ViewDef& def,
                                  std::shared_ptr<const sql::Plan> select) const;
  // Tells `name`'s View (if it runs) who reads it.
  void tell_readers_locked(const std::string& name);
  // Opens a new View from the last checkpoint for each paused view whose back-off is over.
  void retry_paused_locked(std::unique_lock<std::mutex>& lock);

  StreamOptions options_;
  std::unique_ptr<StateStore> store_;
  // Runs a view's partitions in parallel: with the worker that steps the view, one view can use
  // `workers` threads.
  std::unique_ptr<TaskPool> pool_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> views_;
  // Per materialized view, the views that read it (also before either has started, as after a
  // restart); each view is told its own readers (View::set_readers).
  std::map<std::string, std::set<std::string>> readers_;
  std::deque<std::shared_ptr<Entry>> ready_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  bool data_arrived_ = false;  // storage made records visible since the workers last looked
  int observer_ = -1;          // the LogManager visibility observer's id
};

}  // namespace eddy::stream

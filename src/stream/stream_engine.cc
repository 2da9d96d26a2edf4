#include "stream/stream_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "sql/binder.h"
#include "storage/log_manager.h"
#include "stream/change_feed.h"
#include "stream/derived_tables.h"

namespace eddy::stream {

StreamEngine::StreamEngine(StreamOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<StreamEngine>> StreamEngine::open(StreamOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  if (ec)
    return Error(ErrorCode::kIoError, "cannot create " + options.state_dir + ": " + ec.message());
  std::unique_ptr<StreamEngine> engine(new StreamEngine(std::move(options)));
  ASSIGN_OR_RETURN(engine->store_, StateStore::open(engine->options_.state_dir));
  engine->pool_ = std::make_unique<TaskPool>(std::max(0, engine->options_.workers - 1));
  for (int i = 0; i < std::max(1, engine->options_.workers); ++i)
    engine->workers_.emplace_back([e = engine.get()] { e->work(); });
  if (engine->options_.log != nullptr)
    engine->observer_ = engine->options_.log->add_visibility_observer(
        [e = engine.get()](const std::string&, int32_t) {
          {
            std::lock_guard lock(e->mu_);
            e->data_arrived_ = true;
          }
          e->cv_.notify_one();
        });
  return engine;
}

StreamEngine::~StreamEngine() {
  stop();
}

void StreamEngine::stop() {
  // Not under mu_: an observer call in progress takes mu_ while it holds the observers' lock.
  if (observer_ >= 0 && options_.log != nullptr) {
    options_.log->remove_visibility_observer(observer_);
    observer_ = -1;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_)
    t.join();
  workers_.clear();
  std::lock_guard lock(mu_);
  ready_.clear();
  views_.clear();
  store_.reset();
}

void StreamEngine::enqueue_locked(const std::shared_ptr<Entry>& entry) {
  if (entry->queued || entry->running) return;
  entry->queued = true;
  ready_.push_back(entry);
  cv_.notify_one();
}

void StreamEngine::work() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (ready_.empty()) {
      const bool woken =
          cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                       [&] { return stopping_ || !ready_.empty() || data_arrived_; });
      if (stopping_) break;
      if (!woken || data_arrived_) {
        data_arrived_ = false;
        if (!woken) retry_paused_locked(lock);
        if (stopping_) break;
        for (auto& [name, entry] : views_)
          if (!entry->queued && !entry->running && !entry->view->failed() &&
              entry->view->has_pending())
            enqueue_locked(entry);
      }
      continue;
    }
    std::shared_ptr<Entry> entry = ready_.front();
    ready_.pop_front();
    entry->queued = false;
    entry->running = true;
    std::shared_ptr<View> view = entry->view;  // a retry replaces it under mu_
    lock.unlock();
    const bool more = view->step();
    lock.lock();
    entry->running = false;
    if (view->failed() && view->failure_is_transient()) {
      const auto backoff = std::chrono::milliseconds(
          std::min<int64_t>(30000, int64_t{100} << std::min(entry->retries, 9)));
      entry->retry_at = std::chrono::steady_clock::now() + backoff;
      ++entry->retries;
    } else if (!view->failed()) {
      entry->retries = 0;
    }
    const bool live =
        views_.count(entry->view->name()) != 0 && views_[entry->view->name()] == entry;
    if (more && live) enqueue_locked(entry);
    // Its readers may have a new feed entry (or their snapshot) to read.
    if (auto readers = readers_.find(entry->def.name); live && readers != readers_.end())
      for (const auto& reader : readers->second)
        if (auto it = views_.find(reader); it != views_.end() && !it->second->view->failed())
          enqueue_locked(it->second);
    cv_.notify_all();  // drop() may be waiting for this step
  }
}

std::shared_ptr<View> StreamEngine::make_view(const sql::ViewDef& def,
                                              std::shared_ptr<const sql::Plan> select) const {
  return std::make_shared<View>(
      def, std::move(select), *options_.log, *store_,
      ViewOptions{.cache_bytes = options_.cache_bytes,
                  .checkpoint_interval_ms = options_.checkpoint_interval_ms,
                  .pool = pool_.get()});
}

void StreamEngine::retry_paused_locked(std::unique_lock<std::mutex>& lock) {
  const auto now = std::chrono::steady_clock::now();
  auto due = [&](const Entry& entry) {
    return !entry.running && !entry.queued && entry.view->failed() &&
           entry.view->failure_is_transient() && now >= entry.retry_at;
  };
  std::vector<std::shared_ptr<Entry>> candidates;
  for (auto& [name, entry] : views_)
    if (due(*entry)) candidates.push_back(entry);
  for (auto& entry : candidates) {
    if (stopping_) return;
    // Checked again under the lock for each: while this worker reopened the previous one,
    // another worker may have taken this entry, or it may have been dropped.
    auto it = views_.find(entry->def.name);
    if (it == views_.end() || it->second != entry || !due(*entry)) continue;
    // Marked running so drop() waits for the reopen and no other worker takes the entry.
    entry->running = true;
    lock.unlock();
    auto view = make_view(entry->def, entry->select);
    Status opened = view->open(/*fresh=*/false);
    lock.lock();
    entry->running = false;
    cv_.notify_all();
    it = views_.find(entry->def.name);
    if (it == views_.end() || it->second != entry || stopping_) continue;
    if (!opened.ok()) {
      spdlog::warn("materialized view {}: reopening failed: {}", entry->def.name,
                   opened.error().message());
      entry->retry_at = now + std::chrono::seconds(1);
      continue;
    }
    spdlog::info("materialized view {} resumes from its last checkpoint (retry {})",
                 entry->def.name, entry->retries);
    entry->view = std::move(view);
    tell_readers_locked(entry->def.name);
    enqueue_locked(entry);
  }
}

void StreamEngine::tell_readers_locked(const std::string& name) {
  auto it = views_.find(name);
  if (it == views_.end()) return;
  auto readers = readers_.find(name);
  it->second->view->set_readers(readers == readers_.end() ? std::set<std::string>()
                                                          : readers->second);
}

sql::SqlStatus StreamEngine::validate(const sql::Plan& select) const {
  sql::ViewDef def;
  def.name = "v";
  SQL_ASSIGN(auto parts, split_derived_tables(def, std::make_shared<const sql::Plan>(select)));
  for (const auto& part : parts)
    SQL_CHECK(validate_plan(*part.select));
  return sql::Unit{};
}

sql::SqlStatus StreamEngine::start(const sql::ViewDef& def, std::shared_ptr<const sql::Plan> select,
                                   bool fresh) {
  SQL_ASSIGN(auto parts, split_derived_tables(def, std::move(select)));
  for (const auto& part : parts)
    SQL_CHECK(validate_plan(*part.select));
  // The hidden views of its derived tables first (each reads only those before it).
  // On failure the parts already running stop again; their state is deleted only for a new
  // view (one resuming keeps it for the next try).
  std::vector<std::string> derived;
  auto undo = [&] {
    for (const auto& name : derived)
      (void)drop_one(name, /*delete_state=*/fresh);
  };
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto started = start_one(parts[i].def, parts[i].select, fresh, {});
    if (!started.ok()) {
      undo();
      return started;
    }
    derived.push_back(parts[i].def.name);
  }
  auto started = start_one(def, parts.back().select, fresh, derived);
  if (!started.ok()) undo();
  return started;
}

sql::SqlStatus StreamEngine::start_one(const sql::ViewDef& def,
                                       std::shared_ptr<const sql::Plan> select, bool fresh,
                                       std::vector<std::string> derived) {
  auto view = make_view(def, select);
  Status opened = view->open(fresh);
  if (!opened.ok()) return sql::sql_error(sql::sqlstate::kIoError, opened.error().message());
  std::lock_guard lock(mu_);
  if (stopping_) return sql::sql_error("57P01", "the server is shutting down");
  auto entry = std::make_shared<Entry>();
  entry->view = std::move(view);
  entry->def = def;
  auto add_upstream = [&](const sql::TableDef& table) {
    if (table.is_view && std::find(entry->upstreams.begin(), entry->upstreams.end(), table.name) ==
                             entry->upstreams.end())
      entry->upstreams.push_back(table.name);
  };
  for (const sql::Plan* arm : plan_arms(*select)) {
    if (arm->table) add_upstream(*arm->table);
    for (const auto& join : arm->joins)
      add_upstream(join.table);
  }
  entry->select = std::move(select);
  entry->derived = std::move(derived);
  views_[def.name] = entry;
  tell_readers_locked(def.name);
  for (const auto& upstream : entry->upstreams) {
    readers_[upstream].insert(def.name);
    tell_readers_locked(upstream);
    // The upstream writes this view's snapshot in its next step.
    if (auto it = views_.find(upstream); it != views_.end()) enqueue_locked(it->second);
  }
  enqueue_locked(entry);
  return sql::Unit{};
}

sql::SqlStatus StreamEngine::drop(const std::string& name) {
  std::vector<std::string> derived;
  {
    std::lock_guard lock(mu_);
    if (auto it = views_.find(name); it != views_.end()) derived = it->second->derived;
  }
  SQL_CHECK(drop_one(name));
  // Its derived tables' views, readers before what they read.
  for (auto it = derived.rbegin(); it != derived.rend(); ++it)
    SQL_CHECK(drop_one(*it));
  return sql::Unit{};
}

sql::SqlStatus StreamEngine::drop_one(const std::string& name, bool delete_state) {
  std::string prefix = view_prefix(name);
  std::vector<std::string> upstream_prefixes;
  {
    std::unique_lock lock(mu_);
    auto it = views_.find(name);
    if (it != views_.end()) {
      auto entry = it->second;
      views_.erase(it);
      ready_.erase(std::remove(ready_.begin(), ready_.end(), entry), ready_.end());
      cv_.wait(lock, [&] { return !entry->running; });
      for (const auto& upstream : entry->upstreams) {
        readers_[upstream].erase(name);
        tell_readers_locked(upstream);
        upstream_prefixes.push_back(view_prefix(upstream));
        // A step of the upstream that began before it was told may still write this reader's
        // snapshot and position: they are deleted below only once that step is over.
        if (auto up = views_.find(upstream); up != views_.end()) {
          auto upstream_entry = up->second;
          cv_.wait(lock, [&] { return !upstream_entry->running; });
        }
      }
    }
    if (store_ == nullptr) return sql::sql_error("57P01", "the server is shutting down");
  }
  if (!delete_state) return sql::Unit{};
  // Its position and any unread snapshot beside the feeds it read (the upstreams then trim
  // past it).
  for (const auto& upstream : upstream_prefixes) {
    Status removed = store_->write({{reader_position_key(upstream, name), std::nullopt}});
    if (removed.ok()) removed = store_->delete_prefix(reader_snapshot_prefix(upstream, name));
    if (!removed.ok()) return sql::sql_error(sql::sqlstate::kIoError, removed.error().message());
  }
  Status deleted = store_->delete_prefix(prefix);
  // Deleting writes too (a range tombstone in the log): on a full disk the storage's reserve
  // makes room, so that dropping a view can free space.
  if (!deleted.ok() && deleted.error().code() == ErrorCode::kNoSpace && options_.log != nullptr &&
      options_.log->release_disk_reserve())
    deleted = store_->delete_prefix(prefix);
  if (!deleted.ok())
    return sql::sql_error(
        deleted.error().code() == ErrorCode::kNoSpace ? "53100" : sql::sqlstate::kIoError,
        deleted.error().message());
  return sql::Unit{};
}

sql::SqlResult<std::vector<sql::Row>> StreamEngine::read(const std::string& name) {
  std::shared_ptr<Entry> entry;
  std::shared_ptr<View> view;
  {
    std::lock_guard lock(mu_);
    auto it = views_.find(name);
    if (it == views_.end())
      return sql::sql_error("55000", "materialized view \"" + name + "\" is not running");
    entry = it->second;
    view = entry->view;
  }
  return view->read();
}

std::vector<sql::ViewStatus> StreamEngine::status() const {
  struct Shown {
    std::shared_ptr<View> view;
    int retries;
    std::vector<std::shared_ptr<View>> derived;
  };
  std::vector<Shown> views;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, entry] : views_) {
      if (is_derived_view(name)) continue;  // shown as part of the view they belong to
      Shown shown{entry->view, entry->retries, {}};
      for (const auto& child : entry->derived)
        if (auto it = views_.find(child); it != views_.end())
          shown.derived.push_back(it->second->view);
      views.push_back(std::move(shown));
    }
  }
  std::vector<sql::ViewStatus> out;
  for (const auto& [view, retries, derived] : views) {
    out.push_back(view->status());
    // A view is caught up when its derived tables' views are too; one that failed fails it.
    for (const auto& child : derived) {
      const sql::ViewStatus part = child->status();
      out.back().lag += part.lag;
      if (part.state != "running" && out.back().state == "running")
        out.back().state = part.state + " (in " + part.name + ")";
    }
    if (view->failed() && view->failure_is_transient()) {
      out.back().state =
          "retrying (" + std::to_string(retries) + " failed so far): " + view->failure();
    }
  }
  return out;
}

sql::SqlResult<sql::ExplainNode> StreamEngine::explain(const sql::ViewDef& def,
                                                       const sql::Plan& select) const {
  if (store_ == nullptr) return sql::sql_error("57P01", "the server is shutting down");
  // The same View (and so the same build_pipeline) that start() would run, never opened.
  SQL_ASSIGN(auto parts, split_derived_tables(def, std::make_shared<const sql::Plan>(select)));
  View view(def, parts.back().select, *options_.log, *store_,
            ViewOptions{.cache_bytes = options_.cache_bytes,
                        .checkpoint_interval_ms = options_.checkpoint_interval_ms,
                        .pool = pool_.get()});
  sql::ExplainNode root{"Materialized View " + sql::quote_identifier(def.name), {}, {}};
  auto topic = options_.log->topic(plan_arms(*parts.back().select).front()->table->topic);
  const int32_t partitions = topic ? topic->partitions : 0;
  const int workers = std::max(1, options_.workers);
  // A step runs on one stream worker, which pumps partitions itself and on the shared pool.
  const int threads = std::min(std::max(1, partitions), (pool_ ? std::max(1, workers - 1) : 0) + 1);
  root.details.push_back("Parallelism: one of " + std::to_string(workers) +
                         " stream workers steps the view, pumping " +
                         (partitions <= 1 ? std::string("partition 0")
                                          : "partitions " + sql::partition_range(partitions) +
                                                " in parallel on up to " + std::to_string(threads) +
                                                " threads"));
  if (partitions > 1)
    root.details.push_back(
        "Partitions: each by one thread at a time, in offset order, through its own copy of the "
        "operators below");
  root.details.push_back("Checkpoint: every " + std::to_string(options_.checkpoint_interval_ms) +
                         " ms of work at most; output and dead letters first, then state and "
                         "positions in one synced RocksDB write");
  root.children.push_back(view.explain());
  // The views its derived tables run as, each described the same way.
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    View part(parts[i].def, parts[i].select, *options_.log, *store_,
              ViewOptions{.cache_bytes = options_.cache_bytes,
                          .checkpoint_interval_ms = options_.checkpoint_interval_ms,
                          .pool = pool_.get()});
    sql::ExplainNode node{"Derived Table View " + sql::quote_identifier(parts[i].def.name), {}, {}};
    node.children.push_back(part.explain());
    root.children.push_back(std::move(node));
  }
  return root;
}

}  // namespace eddy::stream

#include "stream/stream_engine.h"

#include <algorithm>
#include <filesystem>

#include "sql/binder.h"
#include "storage/log_manager.h"

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
  return engine;
}

StreamEngine::~StreamEngine() {
  stop();
}

void StreamEngine::stop() {
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
      const bool woken = cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                                      [&] { return stopping_ || !ready_.empty(); });
      if (stopping_) break;
      if (!woken) {
        for (auto& [name, entry] : views_)
          if (!entry->queued && !entry->running && entry->view->has_pending())
            enqueue_locked(entry);
      }
      continue;
    }
    std::shared_ptr<Entry> entry = ready_.front();
    ready_.pop_front();
    entry->queued = false;
    entry->running = true;
    lock.unlock();
    const bool more = entry->view->step();
    lock.lock();
    entry->running = false;
    const bool live =
        views_.count(entry->view->name()) != 0 && views_[entry->view->name()] == entry;
    if (more && live) enqueue_locked(entry);
    cv_.notify_all();  // drop() may be waiting for this step
  }
}

sql::SqlStatus StreamEngine::validate(const sql::Plan& select) const {
  return validate_plan(select);
}

sql::SqlStatus StreamEngine::start(const sql::ViewDef& def, std::shared_ptr<const sql::Plan> select,
                                   bool fresh) {
  SQL_CHECK(validate_plan(*select));
  auto view =
      std::make_shared<View>(def, std::move(select), *options_.log, *store_,
                             ViewOptions{.cache_bytes = options_.cache_bytes,
                                         .checkpoint_interval_ms = options_.checkpoint_interval_ms,
                                         .pool = pool_.get()});
  Status opened = view->open(fresh);
  if (!opened.ok()) return sql::sql_error(sql::sqlstate::kIoError, opened.error().message());
  std::lock_guard lock(mu_);
  if (stopping_) return sql::sql_error("57P01", "the server is shutting down");
  auto entry = std::make_shared<Entry>();
  entry->view = std::move(view);
  views_[def.name] = entry;
  enqueue_locked(entry);
  return sql::Unit{};
}

sql::SqlStatus StreamEngine::drop(const std::string& name) {
  std::string prefix = view_prefix(name);
  {
    std::unique_lock lock(mu_);
    auto it = views_.find(name);
    if (it != views_.end()) {
      auto entry = it->second;
      views_.erase(it);
      ready_.erase(std::remove(ready_.begin(), ready_.end(), entry), ready_.end());
      cv_.wait(lock, [&] { return !entry->running; });
    }
    if (store_ == nullptr) return sql::sql_error("57P01", "the server is shutting down");
  }
  Status deleted = store_->delete_prefix(prefix);
  if (!deleted.ok()) return sql::sql_error(sql::sqlstate::kIoError, deleted.error().message());
  return sql::Unit{};
}

sql::SqlResult<std::vector<sql::Row>> StreamEngine::read(const std::string& name) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = views_.find(name);
    if (it == views_.end())
      return sql::sql_error("55000", "materialized view \"" + name + "\" is not running");
    entry = it->second;
  }
  return entry->view->read();
}

std::vector<sql::ViewStatus> StreamEngine::status() const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, entry] : views_)
      entries.push_back(entry);
  }
  std::vector<sql::ViewStatus> out;
  for (const auto& e : entries)
    out.push_back(e->view->status());
  return out;
}

sql::SqlResult<sql::ExplainNode> StreamEngine::explain(const sql::ViewDef& def,
                                                       const sql::Plan& select) const {
  if (store_ == nullptr) return sql::sql_error("57P01", "the server is shutting down");
  // The same View (and so the same build_pipeline) that start() would run, never opened.
  View view(def, std::make_shared<const sql::Plan>(select), *options_.log, *store_,
            ViewOptions{.cache_bytes = options_.cache_bytes,
                        .checkpoint_interval_ms = options_.checkpoint_interval_ms,
                        .pool = pool_.get()});
  sql::ExplainNode root{"Materialized View " + sql::quote_identifier(def.name), {}, {}};
  auto topic = options_.log->topic(select.table->topic);
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
  return root;
}

}  // namespace eddy::stream

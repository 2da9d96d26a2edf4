#include "stream/view.h"

#include <spdlog/spdlog.h>

#include <functional>

#include "sql/binder.h"
#include "sql/executor.h"
#include "storage/log_manager.h"
#include "stream/task_pool.h"

namespace eddy::stream {

namespace {
std::string offset_key(const std::string& prefix, int32_t partition) {
  std::string key = prefix + "o";
  append_be32(key, static_cast<uint32_t>(partition));
  return key;
}
std::string encode_be64(int64_t v) {
  std::string out;
  append_be64(out, static_cast<uint64_t>(v));
  return out;
}
}  // namespace

View::View(sql::ViewDef def, std::shared_ptr<const sql::Plan> select, storage::LogManager& log,
           StateStore& store, ViewOptions options)
    : def_(std::move(def)),
      select_(std::move(select)),
      table_(*select_->table),
      log_(log),
      store_(store),
      options_(options) {
  context_.store = &store_;
  context_.prefix = view_prefix(def_.name);
  context_.cache_bytes = options_.cache_bytes;
  context_.emit_output = !def_.topic.empty();
  context_.output_topic = def_.topic;
  used_columns_ = used_columns(*select_);
}

void View::grow(size_t partitions) {
  while (partitions_.size() < partitions) {
    auto work = std::make_unique<PartitionWork>();
    work->pipeline = build_pipeline(*select_, context_);
    partitions_.push_back(std::move(work));
  }
}

storage::ConfigMap View::output_overrides() const {
  // An aggregate view's topic is an upsert changelog: compaction keeps the latest per key.
  if (select_->grouped) return {{"cleanup.policy", "compact"}};
  return {};
}

Status View::ensure_output_topic() {
  if (def_.topic.empty()) return Status();
  auto made = sql::ensure_topic(log_, def_.topic, output_overrides());
  if (!made.ok()) return Error(ErrorCode::kIoError, made.error().message);
  return Status();
}

Status View::open(bool fresh) {
  RETURN_IF_ERROR(ensure_output_topic());
  if (fresh) return store_.delete_prefix(context_.prefix);
  auto topic = log_.topic(table_.topic);
  const int32_t partitions = topic ? topic->partitions : 0;
  grow(static_cast<size_t>(partitions));
  for (int32_t p = 0; p < partitions; ++p) {
    ASSIGN_OR_RETURN(auto stored, store_.get(offset_key(context_.prefix, p)));
    if (stored)
      partitions_[static_cast<size_t>(p)]->offset = static_cast<int64_t>(read_be64(*stored));
  }
  ASSIGN_OR_RETURN(auto counters, store_.get(context_.prefix + "m"));
  if (counters && counters->size() >= 16) {
    records_ = static_cast<int64_t>(read_be64(*counters));
    context_.skipped = static_cast<int64_t>(read_be64(std::string_view(*counters).substr(8)));
  }
  std::lock_guard lock(status_mu_);
  checkpointed_.clear();
  for (const auto& work : partitions_)
    checkpointed_.push_back(work->offset);
  return Status();
}

bool View::has_pending() const {
  if (failed_) return false;
  auto topic = log_.topic(table_.topic);
  if (!topic) return false;
  for (int32_t p = 0; p < topic->partitions; ++p) {
    auto partition = log_.partition(table_.topic, p);
    const int64_t at = static_cast<size_t>(p) < partitions_.size()
                           ? partitions_[static_cast<size_t>(p)]->offset
                           : 0;
    if (partition != nullptr && partition->high_watermark() > at) return true;
  }
  return false;
}

sql::SqlResult<bool> View::pump(int32_t p, PartitionWork& work) {
  auto partition = log_.partition(table_.topic, p);
  if (partition == nullptr) return false;
  int64_t& offset = work.offset;
  offset = std::max(offset, partition->log_start_offset());
  const int64_t end = partition->high_watermark();
  if (offset >= end) return false;
  auto read = partition->read(offset, storage::ReadOptions{.max_bytes = 1 << 20});
  if (!read.ok()) {
    if (read.error().code() == ErrorCode::kOutOfRange) {
      offset = std::max(offset + 1, partition->log_start_offset());
      return true;
    }
    return sql::sql_error(sql::sqlstate::kIoError, read.error().message());
  }
  if (read->data.empty()) return false;
  const size_t width = table_.columns.size() + std::size(sql::kMetadataColumns);
  Batch& batch = work.batch;
  batch.partition = p;
  batch.offsets.clear();
  batch.selection.clear();
  batch.columns.resize(width);
  for (auto& column : batch.columns)
    column.clear();
  sql::Row& row = work.row;
  std::string reason;
  int64_t last = offset;
  SQL_ASSIGN(
      const int64_t next,
      sql::for_each_record(
          read->data,
          [&](int64_t at, const storage::RecordView& record, int64_t ts) -> sql::SqlStatus {
            if (at < offset || at >= end) return sql::Unit{};
            last = at + 1;
            ++work.uncheckpointed;
            if (!sql::decode_table_record(table_, record, at, p, ts, row, reason, &used_columns_)) {
              skip_row(context_, reason);
              if (!table_.dead_letter.empty())
                work.dead_letters.push_back(
                    {record.key ? std::optional<std::string>(*record.key) : std::nullopt,
                     sql::dead_letter_json(reason, def_.name, table_.topic, p, at, record.value)});
              return sql::Unit{};
            }
            batch.selection.push_back(static_cast<uint32_t>(batch.offsets.size()));
            batch.offsets.push_back(at);
            for (size_t c = 0; c < width; ++c)
              batch.columns[c].push_back(std::move(row[c]));
            return sql::Unit{};
          }));
  // Stop at the high watermark even when the chunk held batches past it.
  const int64_t new_offset = std::min(std::max(next, last), end);
  if (new_offset <= offset) return false;
  SQL_CHECK(work.pipeline.head()->push(batch, Progress{.partition = p, .next_offset = new_offset}));
  offset = new_offset;
  work.dirty = true;
  return true;
}

sql::SqlResult<bool> View::pump_until(int32_t p, PartitionWork& work,
                                      std::chrono::steady_clock::time_point deadline) {
  while (true) {
    SQL_ASSIGN(const bool pumped, pump(p, work));
    if (!pumped) return false;
    if (std::chrono::steady_clock::now() >= deadline) return true;
  }
}

sql::SqlStatus View::checkpoint() {
  std::vector<StateWrite> writes;
  for (auto& work : partitions_)
    SQL_CHECK(work->pipeline.head()->checkpoint(writes));
  // Output and dead letters become durable before the positions that move past them
  // (at-least-once: a crash in between writes them again).
  if (!context_.outputs.empty()) {
    SQL_CHECK(sql::append_to_topic(log_, def_.topic, context_.outputs, output_overrides()));
    context_.outputs.clear();
  }
  std::vector<sql::TopicRecord> dead_letters;
  for (auto& work : partitions_) {
    for (auto& d : work->dead_letters)
      dead_letters.push_back(std::move(d));
    work->dead_letters.clear();
  }
  if (!dead_letters.empty())
    SQL_CHECK(sql::append_to_topic(log_, table_.dead_letter, dead_letters));
  int64_t records = records_;
  for (size_t p = 0; p < partitions_.size(); ++p) {
    writes.push_back({offset_key(context_.prefix, static_cast<int32_t>(p)),
                      encode_be64(partitions_[p]->offset)});
    records += partitions_[p]->uncheckpointed;
  }
  writes.push_back({context_.prefix + "m", encode_be64(records) + encode_be64(context_.skipped)});
  Status written = store_.write(writes);
  if (!written.ok()) return sql::sql_error(sql::sqlstate::kIoError, written.error().message());
  records_ = records;
  std::lock_guard lock(status_mu_);
  checkpointed_.clear();
  for (auto& work : partitions_) {
    work->uncheckpointed = 0;
    work->dirty = false;
    checkpointed_.push_back(work->offset);
  }
  return sql::Unit{};
}

void View::fail(const std::string& reason) {
  spdlog::error("materialized view {} stopped: {}", def_.name, reason);
  std::lock_guard lock(status_mu_);
  error_ = reason;
  failed_ = true;
}

bool View::step() {
  if (failed_) return false;
  auto topic = log_.topic(table_.topic);
  if (!topic) return false;
  grow(static_cast<size_t>(topic->partitions));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.checkpoint_interval_ms);
  // Each partition is pumped by one task, so its records flow in order; partitions run in
  // parallel on the pool.
  const size_t n = partitions_.size();
  std::vector<sql::SqlResult<bool>> results(n, false);
  std::vector<std::function<void()>> tasks;
  for (size_t p = 0; p < n; ++p)
    tasks.emplace_back([this, p, deadline, &results] {
      results[p] = pump_until(static_cast<int32_t>(p), *partitions_[p], deadline);
    });
  if (options_.pool != nullptr) {
    options_.pool->run(tasks);
  } else {
    for (auto& t : tasks)
      t();
  }
  bool more = false;
  for (auto& r : results) {
    if (!r.ok()) {
      fail(r.error().message);
      return false;
    }
    more = more || *r;
  }
  bool dirty = false;
  for (const auto& work : partitions_)
    dirty = dirty || work->dirty;
  if (dirty) {
    auto saved = checkpoint();
    if (!saved.ok()) {
      fail(saved.error().message);
      return false;
    }
  }
  return more;
}

sql::SqlResult<std::vector<sql::Row>> View::read() const {
  return read_contents(*select_, store_, context_.prefix);
}

sql::ViewStatus View::status() const {
  sql::ViewStatus s;
  s.name = def_.name;
  s.table = def_.table;
  s.records = records_;
  s.skipped = context_.skipped;
  std::lock_guard lock(status_mu_);
  s.state = failed_ ? "failed: " + error_ : "running";
  for (size_t p = 0; p < checkpointed_.size(); ++p) {
    auto partition = log_.partition(table_.topic, static_cast<int32_t>(p));
    if (partition != nullptr)
      s.lag += std::max<int64_t>(0, partition->high_watermark() - checkpointed_[p]);
  }
  return s;
}

sql::ExplainNode View::explain() {
  auto topic = log_.topic(table_.topic);
  const int32_t partitions = topic ? topic->partitions : 0;
  // The pipelines step() would run: one per partition, all alike, so the first describes them.
  grow(std::max<size_t>(1, static_cast<size_t>(partitions)));
  sql::ExplainNode source{"Source " + sql::quote_identifier(table_.name), {}, {}};
  source.details.push_back("Topic: " + table_.topic);
  source.details.push_back(
      "Partitions: " +
      (topic ? std::to_string(partitions) + " (" + sql::partition_range(partitions) + ")"
             : std::string("unknown (the topic does not exist)")));
  source.details.push_back(
      "Start: each partition's log start, then the checkpointed position after a restart");
  source.details.push_back("Batches: up to 1 MiB of records per partition per read");
  sql::ExplainNode decode{"Decode " + table_.format, {}, {}};
  std::string columns;
  for (const auto& c : table_.columns)
    columns += (columns.empty() ? "" : ", ") + sql::quote_identifier(c.name);
  decode.details.push_back("Columns: " + columns);
  std::string read;
  for (size_t i = 0; i < used_columns_.size(); ++i) {
    if (!used_columns_[i]) continue;
    const std::string name = i < table_.columns.size()
                                 ? table_.columns[i].name
                                 : sql::kMetadataColumns[i - table_.columns.size()];
    read += (read.empty() ? "" : ", ") + sql::quote_identifier(name);
  }
  decode.details.push_back("Columns Read: " + (read.empty() ? std::string("none") : read) +
                           " (unread text columns are not decoded)");
  decode.details.push_back(table_.dead_letter.empty()
                               ? std::string("Bad Records: counted")
                               : "Bad Records: counted and written to dead-letter topic " +
                                     table_.dead_letter);
  decode.children.push_back(std::move(source));
  sql::ExplainNode top = std::move(decode);
  for (const auto& op : partitions_.front()->pipeline.operators) {
    auto node = op->explain();
    if (!node) continue;
    node->children.push_back(std::move(top));
    top = std::move(*node);
  }
  return top;
}

}  // namespace eddy::stream

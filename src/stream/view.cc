#include "stream/view.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

#include "sql/binder.h"
#include "sql/executor.h"
#include "storage/log_manager.h"
#include "stream/change_feed.h"
#include "stream/task_pool.h"

namespace eddy::stream {

namespace {
std::string offset_key(const std::string& base, int32_t partition) {
  std::string key = base;
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
      log_(log),
      store_(store),
      options_(options) {
  context_.store = &store_;
  context_.prefix = view_prefix(def_.name);
  context_.key_format = def_.key_format;
  context_.cache_bytes = options_.cache_bytes;
  context_.state_ttl_ms = def_.state_ttl_ms;
  context_.pool = options_.pool;
  context_.emit_output = !def_.topic.empty();
  context_.retracting = plan_retracts(*select_);
  pipeline_ = build_pipeline(*select_, context_);
  // Sources in a fixed order (the plan's), so positions are found again after a restart: the
  // first arm's stream keeps the key 'o' views had before joins and UNION ALL.
  const auto arms = plan_arms(*select_);
  // A relation whose rows flow: the arm's stream (join < 0) or the relation of the arm's hash
  // join `join`.
  auto add_flowing = [&](const sql::TableDef& table, uint32_t arm, int join,
                         std::vector<bool> used) {
    Source source;
    source.table = table;
    source.arm = arm;
    source.join = join;
    source.used = std::move(used);
    if (table.is_view) {
      std::fill(source.used.begin(), source.used.end(), true);
      source.upstream_prefix = view_prefix(table.name);
      // A view read in several places is one reader of its feed (one position): each batch of
      // its changes goes to every place that reads it.
      auto same = std::find_if(sources_.begin(), sources_.end(), [&](const Source& s) {
        return s.upstream_prefix == source.upstream_prefix;
      });
      if (same != sources_.end()) {
        same->more_targets.emplace_back(arm, join);
        return;
      }
    } else if (table.has_primary_key()) {
      std::fill(source.used.begin(), source.used.end(), true);
      std::string prefix = context_.prefix;
      if (join < 0) {
        prefix += "k";
        append_be32(prefix, arm);
      } else {
        prefix += "K";
        append_be32(prefix, (arm << 16) | static_cast<uint32_t>(join));
      }
      // The plan's table: it outlives the source (which moves).
      source.latest = std::make_unique<LatestRows>(table, std::move(prefix), context_);
    }
    for (size_t c = 0; c < source.used.size(); ++c)
      if (source.used[c]) source.read_columns.push_back(static_cast<uint32_t>(c));
    sources_.push_back(std::move(source));
  };
  for (size_t a = 0; a < arms.size(); ++a) {
    // Streams decode only the columns their arm reads; a joined table's rows are kept whole,
    // and so are those of a table with a primary key (a change retracts the whole old row).
    const auto arm = static_cast<uint32_t>(a);
    std::vector<bool> used = used_columns(*arms[a]);
    // state_ttl ages a join's rows by their record timestamps.
    if (def_.state_ttl_ms > 0 && !arms[a]->joins.empty())
      used[arms[a]->table->columns.size() + 3] = true;
    add_flowing(*arms[a]->table, arm, -1, std::move(used));
    for (size_t j = 0; j < arms[a]->joins.size(); ++j) {
      const sql::TableDef& joined = arms[a]->joins[j].table;
      if (pipeline_.tables[a][j] == nullptr) {  // a hash join's relation
        // A stream's columns no expression reads are not decoded (nor kept in the join's
        // state); a keyed table's and a view's rows are kept whole (add_flowing).
        const std::vector<bool> read = columns_read(*arms[a]);
        const size_t base = arms[a]->joins[j].base;
        std::vector<bool> relation(
            read.begin() + static_cast<std::ptrdiff_t>(base),
            read.begin() + static_cast<std::ptrdiff_t>(base + sql::input_width(joined)));
        if (def_.state_ttl_ms > 0) relation[joined.columns.size() + 3] = true;
        add_flowing(joined, arm, static_cast<int>(j), std::move(relation));
        continue;
      }
      Source table;
      table.table = joined;
      table.arm = arm;
      table.side = pipeline_.tables[a][j];
      sources_.push_back(std::move(table));
    }
  }
  for (size_t i = 0; i < sources_.size(); ++i) {
    sources_[i].position_key = context_.prefix + (i == 0 ? "o" : "p");
    if (i > 0) append_be32(sources_[i].position_key, static_cast<uint32_t>(i));
  }
  context_.output_topic = def_.topic;
}

void View::grow(Source& source) {
  if (!source.table.dead_letter.empty()) {
    auto config = log_.effective_config(source.table.dead_letter);
    source.dead_letter_limit =
        config.ok() ? config->max_message_bytes : log_.defaults().max_message_bytes;
  }
  auto topic = log_.topic(source.table.topic);
  // A view's change feed is one sequence: one partition.
  const size_t partitions = !source.upstream_prefix.empty() ? 1
                            : topic                         ? static_cast<size_t>(topic->partitions)
                                                            : 0;
  while (source.partitions.size() < partitions) {
    auto work = std::make_unique<PartitionWork>();
    if (source.side == nullptr) work->pipeline = build_pipeline(*select_, context_);
    work->lanes.push_back(std::make_unique<Lane>());
    source.partitions.push_back(std::move(work));
  }
}

storage::ConfigMap View::output_overrides() const {
  // An aggregate view's topic is an upsert changelog, and so is that of a view whose rows can be
  // retracted: compaction keeps the latest per key.
  auto top = top_window(*select_);
  if (select_->grouped || keeps_row_counts(*select_) || (top.ok() && *top) ||
      outputs_keyed_by_row(*select_))
    return {{"cleanup.policy", "compact"}};
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
  if (fresh) RETURN_IF_ERROR(store_.delete_prefix(context_.prefix));
  for (auto& source : sources_) {
    grow(source);
    if (!source.upstream_prefix.empty()) {
      // A new reader's position and snapshot, if a reader of this name had any, are stale.
      const std::string position = reader_position_key(source.upstream_prefix, def_.name);
      if (fresh) {
        RETURN_IF_ERROR(store_.write({{position, std::nullopt}}));
        RETURN_IF_ERROR(
            store_.delete_prefix(reader_snapshot_prefix(source.upstream_prefix, def_.name)));
        continue;
      }
      ASSIGN_OR_RETURN(auto stored, store_.get(position));
      if (stored) {
        source.positioned = true;
        source.partitions[0]->offset = static_cast<int64_t>(read_be64(*stored));
      }
      continue;
    }
    if (fresh) continue;
    for (size_t p = 0; p < source.partitions.size(); ++p) {
      ASSIGN_OR_RETURN(auto stored,
                       store_.get(offset_key(source.position_key, static_cast<int32_t>(p))));
      if (stored) source.partitions[p]->offset = static_cast<int64_t>(read_be64(*stored));
    }
  }
  if (!fresh) {
    ASSIGN_OR_RETURN(auto head, store_.get(feed_head_key(context_.prefix)));
    if (head) feed_seq_ = static_cast<int64_t>(read_be64(*head));
    ASSIGN_OR_RETURN(auto counters, store_.get(context_.prefix + "m"));
    if (counters && counters->size() >= 16) {
      records_ = static_cast<int64_t>(read_be64(*counters));
      context_.skipped = static_cast<int64_t>(read_be64(std::string_view(*counters).substr(8)));
    }
  }
  RETURN_IF_ERROR(repair_output(fresh));
  std::lock_guard lock(status_mu_);
  for (auto& source : sources_) {
    source.checkpointed.clear();
    // A new view has checkpointed nothing: status() counts its lag from the log start.
    if (fresh) continue;
    for (const auto& work : source.partitions)
      source.checkpointed.push_back(work->offset);
  }
  return Status();
}

Status View::repair_output(bool fresh) {
  if (def_.topic.empty()) return Status();
  auto contents = [&]() -> Result<std::vector<sql::Row>> {
    auto rows = read();
    if (!rows.ok()) return Error(ErrorCode::kIoError, rows.error().message);
    return std::move(*rows);
  };
  const sql::TableDef output = output_table(*select_);
  ASSIGN_OR_RETURN(auto counters, store_.get(context_.prefix + "m"));
  if (select_->grouped && select_->group_keys.empty() && (fresh || !counters)) {
    ASSIGN_OR_RETURN(auto rows, contents());
    std::optional<std::string> value;
    if (!rows.empty()) value = sql::encode_json_row(output, rows.front());
    context_.outputs.push_back({sql::encode_json_row(sql::TableDef{}, {}), std::move(value)});
    return Status();
  }
  if (fresh || !(select_->grouped || outputs_keyed_by_row(*select_))) return Status();
  // Without the ends (a crash before the first checkpoint), everything in the topic may have
  // come from undone work.
  ASSIGN_OR_RETURN(auto stored_ends, store_.get(context_.prefix + "e"));
  const std::string ends = stored_ends.value_or(std::string());
  // The keys of the records after each partition's end as of the last checkpoint.
  std::set<std::string> keys;
  for (int32_t p = 0;; ++p) {
    auto partition = log_.partition(def_.topic, p);
    if (partition == nullptr) break;
    const size_t at = static_cast<size_t>(p) * 8;
    int64_t offset = at + 8 <= ends.size() ? static_cast<int64_t>(read_be64(ends.substr(at)))
                                           : partition->log_start_offset();
    const int64_t end = partition->high_watermark();
    while (offset < end) {
      auto read = partition->read(offset, storage::ReadOptions{.max_bytes = 1 << 20});
      if (!read.ok() || read->data.empty()) break;
      auto next = sql::for_each_record(
          read->data, [&](int64_t, const storage::RecordView& record, int64_t) -> sql::SqlStatus {
            if (record.key) keys.emplace(*record.key);
            return sql::Unit{};
          });
      if (!next.ok() || *next <= offset) break;
      offset = *next;
    }
  }
  if (keys.empty()) return Status();
  spdlog::info(
      "materialized view {}: rewriting {} keys of topic {} written after its last checkpoint",
      def_.name, keys.size(), def_.topic);
  if (select_->grouped) {
    auto repaired = repair_group_outputs(context_, keys);
    if (!repaired.ok()) return Error(ErrorCode::kIoError, repaired.error().message);
    return Status();
  }
  ASSIGN_OR_RETURN(auto rows, contents());
  std::set<std::string> present;
  for (const auto& row : rows)
    present.insert(sql::encode_json_row(output, row));
  for (const auto& key : keys)
    context_.outputs.push_back(
        {key, present.count(key) != 0 ? std::optional<std::string>(key) : std::nullopt});
  return Status();
}

bool View::has_pending() const {
  if (failed_) return false;
  if (!context_.outputs.empty()) return true;  // repair_output's records wait for a checkpoint
  {
    // A reader without a position waits for its snapshot (prepare_feed writes it).
    std::lock_guard lock(readers_mu_);
    for (const auto& reader : readers_)
      if (positioned_readers_.count(reader) == 0) return true;
  }
  for (const auto& source : sources_) {
    if (!source.upstream_prefix.empty()) {
      if (!source.positioned) {
        auto stored = store_.get(reader_position_key(source.upstream_prefix, def_.name));
        if (stored.ok() && *stored) return true;
        continue;
      }
      if (!source.snapshot_read) return true;
      auto head = store_.get(feed_head_key(source.upstream_prefix));
      if (head.ok() && *head &&
          static_cast<int64_t>(read_be64(**head)) > source.partitions[0]->offset)
        return true;
      continue;
    }
    auto topic = log_.topic(source.table.topic);
    if (!topic) continue;
    for (int32_t p = 0; p < topic->partitions; ++p) {
      auto partition = log_.partition(source.table.topic, p);
      const auto i = static_cast<size_t>(p);
      const int64_t at = i < source.partitions.size() ? source.partitions[i]->offset : 0;
      if (partition != nullptr && partition->high_watermark() > at) return true;
    }
  }
  return false;
}

void View::start_batch(const Source& source, int32_t p, Batch& batch) const {
  batch.partition = p;
  batch.arm = source.arm;
  batch.input = 0;  // a hash join tags the rows it makes from its relation's changes
  batch.offsets.clear();
  batch.selection.clear();
  batch.weights.clear();
  batch.columns.resize(sql::input_width(source.table));
  // Unread columns keep their nulls from the last batch (finish_batch sizes them): only read
  // ones are rebuilt.
  for (const uint32_t c : source.read_columns)
    batch.columns[c].clear();
}

void View::finish_batch(const Source& source, Batch& batch) const {
  for (size_t c = 0; c < batch.columns.size(); ++c)
    if (!source.used[c]) batch.columns[c].resize(batch.offsets.size());
}

void View::decode_into(const Source& source, int32_t p, Lane& lane, int64_t at,
                       const storage::RecordView& record, int64_t ts,
                       std::span<const std::byte> chunk) {
  const sql::TableDef& table = source.table;
  Batch& batch = lane.batch;
  if (sql::append_table_record(table, record, at, p, ts, source.used, source.read_columns,
                               batch.columns, lane.row, lane.reason, chunk)) {
    batch.selection.push_back(static_cast<uint32_t>(batch.offsets.size()));
    batch.offsets.push_back(at);
    return;
  }
  reject(source, p, lane, at, record);
}

sql::SqlStatus View::decode_change(Source& source, int32_t p, Lane& lane, int64_t at,
                                   const storage::RecordView& record, int64_t ts) {
  const sql::TableDef& table = source.table;
  sql::Row key;
  const bool fits =
      record.value ? sql::decode_table_record(table, record, at, p, ts, lane.row, lane.reason) &&
                         sql::primary_key_of_row(table, lane.row, key, lane.reason)
                   : sql::primary_key_of_tombstone(table, record, key, lane.reason);
  if (!fits) {
    reject(source, p, lane, at, record);
    return sql::Unit{};
  }
  std::optional<sql::Row> row;
  if (record.value) row = lane.row;
  SQL_ASSIGN(std::optional<sql::Row> previous, source.latest->replace(key, std::move(row)));
  Batch& batch = lane.batch;
  auto append = [&](const sql::Row& row, int32_t weight) {
    for (size_t c = 0; c < row.size(); ++c)
      batch.columns[c].push_back(row[c]);
    batch.selection.push_back(static_cast<uint32_t>(batch.offsets.size()));
    batch.offsets.push_back(at);
    batch.weights.push_back(weight);
  };
  if (previous) append(*previous, -1);
  if (record.value) append(lane.row, 1);
  return sql::Unit{};
}

void View::reject(const Source& source, int32_t p, Lane& lane, int64_t at,
                  const storage::RecordView& record) {
  const sql::TableDef& table = source.table;
  skip_row(context_, lane.reason);
  if (table.dead_letter.empty()) return;
  // Within the dead-letter topic's record limit, so no record can make the view fail; the key
  // and the batch framing need room too.
  const int64_t room =
      source.dead_letter_limit - static_cast<int64_t>(record.key ? record.key->size() : 0) - 512;
  lane.dead_letters.push_back(
      {record.key ? std::optional<std::string>(*record.key) : std::nullopt,
       sql::dead_letter_json(lane.reason, def_.name, table.topic, p, at, record.value,
                             static_cast<size_t>(std::max<int64_t>(room, 1024)))});
}

Operator* View::entry(const Pipeline& pipeline, uint32_t arm, int join) {
  return join < 0 ? pipeline.heads[arm] : pipeline.inputs[arm][static_cast<size_t>(join)];
}

sql::SqlResult<bool> View::pump_upstream(Source& source, PartitionWork& work) {
  auto io = [](const Error& e) { return sql::sql_error(sql::sqlstate::kIoError, e.message()); };
  const std::string& upstream = source.upstream_prefix;
  if (!source.positioned) {
    auto stored = store_.get(reader_position_key(upstream, def_.name));
    if (!stored.ok()) return io(stored.error());
    if (!*stored) return false;  // the upstream has not written this view's snapshot yet
    source.positioned = true;
    work.offset = static_cast<int64_t>(read_be64(**stored));
  }
  const size_t width = source.table.columns.size();
  Changes changes;
  std::optional<sql::SqlError> corrupt;
  auto bad = [&](const std::string& what) {
    corrupt =
        sql::sql_error(sql::sqlstate::kInternalError,
                       "corrupt " + what + " of materialized view \"" + source.table.name + "\"");
    return false;
  };
  int64_t next = work.offset;
  if (!source.snapshot_read) {
    Status scanned = store_.scan(reader_snapshot_prefix(upstream, def_.name),
                                 [&](std::string_view key, std::string_view value) {
                                   source.snapshot_keys.emplace_back(key);
                                   return decode_changes(value, width, changes) || bad("snapshot");
                                 });
    if (!scanned.ok()) return io(scanned.error());
    source.snapshot_read = true;
  } else {
    auto head = store_.get(feed_head_key(upstream));
    if (!head.ok()) return io(head.error());
    const int64_t last = *head ? static_cast<int64_t>(read_be64(**head)) : 0;
    if (last <= work.offset) return false;
    // Up to a few thousand changes per batch, whole entries at a time.
    constexpr size_t kBatchChanges = 4096;
    const std::string entries = feed_entries_prefix(upstream);
    Status scanned = store_.scan_from(
        entries, feed_entry_key(upstream, work.offset + 1),
        [&](std::string_view key, std::string_view value) {
          const auto seq = static_cast<int64_t>(read_be64(key.substr(entries.size())));
          if (seq > last) return false;
          if (seq != next + 1) return bad("change feed (an entry is missing)");
          if (!decode_changes(value, width, changes)) return bad("change feed");
          next = seq;
          return changes.size() < kBatchChanges;
        });
    if (!scanned.ok()) return io(scanned.error());
    if (!corrupt && next == work.offset) bad("change feed (an entry is missing)");
  }
  if (corrupt) return *corrupt;
  Lane& lane = *work.lanes[0];
  Batch& batch = lane.batch;
  start_batch(source, 0, batch);
  const size_t columns = batch.columns.size();
  for (auto& [row, weight] : changes) {
    for (size_t c = 0; c < columns; ++c)
      batch.columns[c].push_back(
          c < row.size() ? std::move(row[c]) : sql::Value::null_of(sql::kMetadataTypes[c - width]));
    batch.selection.push_back(static_cast<uint32_t>(batch.offsets.size()));
    batch.offsets.push_back(next);
    batch.weights.push_back(weight);
  }
  work.uncheckpointed += static_cast<int64_t>(changes.size());
  work.dirty = true;
  work.offset = next;
  if (changes.empty()) return true;
  const Progress progress{.partition = 0, .next_offset = next + 1};
  // Operators narrow a batch's selection: every further reader gets its own copy.
  for (const auto& [arm, join] : source.more_targets) {
    Batch copy = batch;
    copy.arm = arm;
    SQL_CHECK(entry(work.pipeline, arm, join)->push(copy, progress));
  }
  SQL_CHECK(entry(work.pipeline, source.arm, source.join)->push(batch, progress));
  return true;
}

sql::SqlResult<bool> View::pump(Source& source, int32_t p, PartitionWork& work) {
  if (!source.upstream_prefix.empty()) return pump_upstream(source, work);
  const sql::TableDef& table = source.table;
  auto partition = log_.partition(table.topic, p);
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
  if (source.side == nullptr && !source.latest && lanes_ > 1)
    return pump_lanes(source, p, work, read->data, end);
  Lane& lane = *work.lanes[0];
  if (source.side == nullptr) start_batch(source, p, lane.batch);
  sql::Row key;
  int64_t last = offset;
  SQL_ASSIGN(const int64_t next,
             sql::for_each_record(
                 read->data,
                 [&](int64_t at, const storage::RecordView& record, int64_t ts) -> sql::SqlStatus {
                   if (at < offset || at >= end) return sql::Unit{};
                   last = at + 1;
                   ++work.uncheckpointed;
                   if (source.latest) return decode_change(source, p, lane, at, record, ts);
                   if (source.side == nullptr) {
                     decode_into(source, p, lane, at, record, ts, read->data);
                     return sql::Unit{};
                   }
                   // A joined table's changelog: a tombstone deletes its key, a row updates it.
                   const bool fits =
                       record.value
                           ? sql::decode_table_record(table, record, at, p, ts, lane.row,
                                                      lane.reason) &&
                                 sql::primary_key_of_row(table, lane.row, key, lane.reason)
                           : sql::primary_key_of_tombstone(table, record, key, lane.reason);
                   if (!fits) {
                     reject(source, p, lane, at, record);
                     return sql::Unit{};
                   }
                   if (!record.value) return source.side->apply(key, std::nullopt);
                   return source.side->apply(key, std::move(lane.row));
                 }));
  // Stop at the high watermark even when the chunk held batches past it.
  const int64_t new_offset = std::min(std::max(next, last), end);
  if (source.side == nullptr) finish_batch(source, lane.batch);
  SQL_CHECK(hand_on(source, p, work, lane, new_offset));
  if (new_offset <= offset) return false;
  offset = new_offset;
  work.dirty = true;
  return true;
}

sql::SqlStatus View::hand_on(const Source& source, int32_t p, PartitionWork& work, Lane& lane,
                             int64_t new_offset) {
  for (auto& d : lane.dead_letters)
    work.dead_letters.push_back(std::move(d));
  lane.dead_letters.clear();
  if (source.side != nullptr || new_offset <= work.offset) return sql::Unit{};
  return entry(work.pipeline, source.arm, source.join)
      ->push(lane.batch, Progress{.partition = p, .next_offset = new_offset});
}

sql::SqlResult<bool> View::pump_lanes(Source& source, int32_t p, PartitionWork& work,
                                      std::span<const std::byte> chunk, int64_t end) {
  int64_t& offset = work.offset;
  work.pending.clear();
  work.decompressed.clear();
  int64_t last = offset;
  SQL_ASSIGN(const int64_t next,
             sql::for_each_record(
                 chunk,
                 [&](int64_t at, const storage::RecordView& record, int64_t ts) -> sql::SqlStatus {
                   if (at < offset || at >= end) return sql::Unit{};
                   last = at + 1;
                   work.pending.push_back({at, record, ts});
                   return sql::Unit{};
                 },
                 &work.decompressed));
  const int64_t new_offset = std::min(std::max(next, last), end);
  if (new_offset <= offset) return false;
  work.uncheckpointed += static_cast<int64_t>(work.pending.size());
  // Slices too small to be worth a thread hand-off stay on this one.
  constexpr size_t kMinLaneRecords = 256;
  const size_t lanes = std::clamp<size_t>(work.pending.size() / kMinLaneRecords, size_t{1}, lanes_);
  while (work.lanes.size() < lanes)
    work.lanes.push_back(std::make_unique<Lane>());
  std::vector<std::function<void()>> tasks;
  for (size_t l = 0; l < lanes; ++l) {
    tasks.emplace_back([&, l] {
      Lane& lane = *work.lanes[l];
      start_batch(source, p, lane.batch);
      const size_t from = work.pending.size() * l / lanes;
      const size_t to = work.pending.size() * (l + 1) / lanes;
      for (size_t i = from; i < to; ++i) {
        const PendingRecord& r = work.pending[i];
        decode_into(source, p, lane, r.offset, r.record, r.timestamp_ms, chunk);
      }
      finish_batch(source, lane.batch);
    });
  }
  options_.pool->run(tasks);
  // The slices go down the partition's pipeline in order, as one chunk would.
  for (size_t l = 0; l < lanes; ++l)
    SQL_CHECK(hand_on(source, p, work, *work.lanes[l], new_offset));
  offset = new_offset;
  work.dirty = true;
  return true;
}

sql::SqlResult<bool> View::pump_until(Source& source, int32_t p, PartitionWork& work,
                                      std::chrono::steady_clock::time_point deadline) {
  while (true) {
    SQL_ASSIGN(const bool pumped, pump(source, p, work));
    if (!pumped) return false;
    if (std::chrono::steady_clock::now() >= deadline) return true;
  }
}

sql::SqlStatus View::checkpoint() {
  std::vector<StateWrite> writes;
  // Shared state (groups, joined tables) is written by the first pipeline that reaches it.
  SQL_CHECK(pipeline_.checkpoint(writes));
  for (auto& source : sources_)
    if (source.latest) SQL_CHECK(source.latest->checkpoint(writes));
  for (auto& source : sources_)
    for (auto& work : source.partitions)
      if (source.side == nullptr) SQL_CHECK(work->pipeline.checkpoint(writes));
  // Output and dead letters become durable before the positions that move past them
  // (at-least-once: a crash in between writes them again).
  if (!context_.outputs.empty()) {
    SQL_CHECK(sql::append_to_topic(log_, def_.topic, context_.outputs, output_overrides()));
    context_.outputs.clear();
  }
  if (!def_.topic.empty()) {
    // Where the output topic ends now: after a crash, what lies past it was written by work the
    // crash undid (repair_output).
    std::string ends;
    for (int32_t p = 0;; ++p) {
      auto partition = log_.partition(def_.topic, p);
      if (partition == nullptr) break;
      append_be64(ends, static_cast<uint64_t>(partition->high_watermark()));
    }
    writes.push_back({context_.prefix + "e", std::move(ends)});
  }
  for (auto& source : sources_) {
    std::vector<sql::TopicRecord> dead_letters;
    for (auto& work : source.partitions) {
      for (auto& d : work->dead_letters)
        dead_letters.push_back(std::move(d));
      work->dead_letters.clear();
    }
    if (!dead_letters.empty())
      SQL_CHECK(sql::append_to_topic(log_, source.table.dead_letter, dead_letters));
  }
  int64_t records = records_;
  for (auto& source : sources_) {
    if (!source.upstream_prefix.empty()) {
      // A reader's position lives beside the feed it reads (the upstream trims by it).
      if (source.positioned)
        writes.push_back({reader_position_key(source.upstream_prefix, def_.name),
                          encode_be64(source.partitions[0]->offset)});
      for (auto& key : source.snapshot_keys)
        writes.push_back({std::move(key), std::nullopt});
      source.snapshot_keys.clear();
      records += source.partitions[0]->uncheckpointed;
      continue;
    }
    for (size_t p = 0; p < source.partitions.size(); ++p) {
      writes.push_back({offset_key(source.position_key, static_cast<int32_t>(p)),
                        encode_be64(source.partitions[p]->offset)});
      records += source.partitions[p]->uncheckpointed;
    }
  }
  SQL_CHECK(write_feed(writes));
  writes.push_back({context_.prefix + "m", encode_be64(records) + encode_be64(context_.skipped)});
  Status written = store_.write(writes);
  if (!written.ok()) return sql::sql_error(sql::sqlstate::kIoError, written.error().message());
  records_ = records;
  std::lock_guard lock(status_mu_);
  for (auto& source : sources_) {
    source.checkpointed.clear();
    source.feed_ready = source.positioned && source.snapshot_read;
    for (auto& work : source.partitions) {
      work->uncheckpointed = 0;
      work->dirty = false;
      source.checkpointed.push_back(work->offset);
    }
  }
  return sql::Unit{};
}

void View::set_readers(std::set<std::string> readers) {
  std::lock_guard lock(readers_mu_);
  // A reader registered anew (perhaps created again under its name) is looked for afresh.
  for (const auto& reader : readers)
    if (readers_.count(reader) == 0) positioned_readers_.erase(reader);
  readers_ = std::move(readers);
}

sql::SqlStatus View::prepare_feed() {
  auto io = [](const Error& e) { return sql::sql_error(sql::sqlstate::kIoError, e.message()); };
  std::set<std::string> readers;
  {
    std::lock_guard lock(readers_mu_);
    readers = readers_;
  }
  // Every stored position counts, also of a reader the engine has not started yet (after a
  // restart): the entries it has not read must stay.
  const std::string positions = reader_positions_prefix(context_.prefix);
  std::map<std::string, int64_t> stored;
  Status scanned = store_.scan(positions, [&](std::string_view key, std::string_view value) {
    std::string reader(key.substr(positions.size()));
    if (!reader.empty() && reader.back() == '\0') reader.pop_back();
    stored[reader] = static_cast<int64_t>(read_be64(value));
    return true;
  });
  if (!scanned.ok()) return io(scanned.error());
  context_.emit_changes = !readers.empty() || !stored.empty();
  slowest_reader_.reset();
  for (const auto& [reader, position] : stored)
    slowest_reader_ = std::min(slowest_reader_.value_or(position), position);
  for (const auto& reader : readers) {
    if (stored.count(reader) != 0) continue;
    // A new reader: this view's rows as of the last checkpoint (which the feed's last entry
    // reflects), in chunks, with its position, in one write.
    SQL_ASSIGN(std::vector<sql::Row> rows, read());
    std::vector<StateWrite> writes;
    constexpr size_t kChunkRows = 4096;
    for (size_t from = 0; from < rows.size(); from += kChunkRows) {
      Changes chunk;
      for (size_t i = from; i < std::min(rows.size(), from + kChunkRows); ++i)
        chunk.emplace_back(std::move(rows[i]), 1);
      std::string key = reader_snapshot_prefix(context_.prefix, reader);
      append_be32(key, static_cast<uint32_t>(from / kChunkRows));
      writes.push_back({std::move(key), encode_changes(chunk)});
    }
    writes.push_back({reader_position_key(context_.prefix, reader), encode_be64(feed_seq_)});
    Status written = store_.write(writes);
    if (!written.ok()) return io(written.error());
    slowest_reader_ = std::min(slowest_reader_.value_or(feed_seq_), feed_seq_);
  }
  std::lock_guard lock(readers_mu_);
  for (const auto& reader : readers)
    if (readers_.count(reader) != 0) positioned_readers_.insert(reader);
  return sql::Unit{};
}

sql::SqlStatus View::write_feed(std::vector<StateWrite>& writes) {
  if (context_.emit_changes && !context_.changes.empty()) {
    ++feed_seq_;
    writes.push_back(
        {feed_entry_key(context_.prefix, feed_seq_), encode_changes(context_.changes)});
    writes.push_back({feed_head_key(context_.prefix), encode_be64(feed_seq_)});
  }
  context_.changes.clear();
  // Entries every reader has passed go (all of them once no reader is left).
  const int64_t passed = slowest_reader_.value_or(feed_seq_);
  const std::string entries = feed_entries_prefix(context_.prefix);
  Status scanned = store_.scan(entries, [&](std::string_view key, std::string_view) {
    if (static_cast<int64_t>(read_be64(key.substr(entries.size()))) > passed) return false;
    writes.push_back({std::string(key), std::nullopt});
    return true;
  });
  if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
  return sql::Unit{};
}

void View::fail(const sql::SqlError& error) {
  // A full disk (53100) or an I/O error (58030) may pass; anything else (a record too large
  // for its topic, a bad definition) would fail the same way again, and every retry would
  // write the outputs since the checkpoint once more.
  const bool transient = error.sqlstate == "53100" || error.sqlstate == sql::sqlstate::kIoError;
  spdlog::error("materialized view {} {}: {}", def_.name,
                transient ? "paused (it restarts from its last checkpoint)" : "stopped",
                error.message);
  std::lock_guard lock(status_mu_);
  error_ = error.message;
  transient_ = transient;
  failed_ = true;
}

std::string View::failure() const {
  std::lock_guard lock(status_mu_);
  return error_;
}

bool View::step() {
  if (failed_) return false;
  for (auto& source : sources_)
    grow(source);
  if (auto prepared = prepare_feed(); !prepared.ok()) {
    fail(prepared.error());
    return false;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.checkpoint_interval_ms);
  auto finish = [&](bool more) {
    bool dirty = !context_.outputs.empty();  // repair_output's records
    for (const auto& source : sources_)
      for (const auto& work : source.partitions)
        dirty = dirty || work->dirty;
    if (dirty) {
      auto saved = checkpoint();
      if (!saved.ok()) {
        fail(saved.error());
        return false;
      }
    }
    return more;
  };
  // Joined tables first, up to their end, on this thread: stream records then join with every
  // table change the view could see before them (and a new view sees the reference data that is
  // already there).
  for (auto& source : sources_) {
    if (source.side == nullptr) continue;
    for (size_t p = 0; p < source.partitions.size(); ++p) {
      auto more = pump_until(source, static_cast<int32_t>(p), *source.partitions[p], deadline);
      if (!more.ok()) {
        fail(more.error());
        return false;
      }
      if (*more) return finish(true);
    }
  }
  // Each stream partition is pumped by one task, so its records flow in order; partitions run
  // in parallel on the pool.
  std::vector<std::pair<Source*, size_t>> parts;
  for (auto& source : sources_)
    if (source.side == nullptr)
      for (size_t p = 0; p < source.partitions.size(); ++p)
        parts.emplace_back(&source, p);
  lanes_ = lanes_for_step();
  context_.lanes = lanes_;
  std::vector<sql::SqlResult<bool>> results(parts.size(), false);
  std::vector<std::function<void()>> tasks;
  for (size_t i = 0; i < parts.size(); ++i)
    tasks.emplace_back([this, i, deadline, &parts, &results] {
      auto [source, p] = parts[i];
      results[i] = pump_until(*source, static_cast<int32_t>(p), *source->partitions[p], deadline);
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
      fail(r.error());
      return false;
    }
    more = more || *r;
  }
  return finish(more);
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
  // Every partition counts, from its start when nothing of it is checkpointed yet (a new view).
  for (const auto& source : sources_) {
    if (!source.upstream_prefix.empty()) {
      // Feed entries not read yet (a reader still waiting for its snapshot counts one).
      auto head = store_.get(feed_head_key(source.upstream_prefix));
      const int64_t last = head.ok() && *head ? static_cast<int64_t>(read_be64(**head)) : 0;
      const int64_t at = source.checkpointed.empty() ? 0 : source.checkpointed[0];
      s.lag += source.feed_ready ? std::max<int64_t>(0, last - at) : 1;
      continue;
    }
    auto topic = log_.topic(source.table.topic);
    for (int32_t p = 0; topic && p < topic->partitions; ++p) {
      auto partition = log_.partition(source.table.topic, p);
      if (partition == nullptr) continue;
      const auto i = static_cast<size_t>(p);
      const int64_t at =
          i < source.checkpointed.size() ? source.checkpointed[i] : partition->log_start_offset();
      s.lag += std::max<int64_t>(0, partition->high_watermark() - at);
    }
  }
  return s;
}

size_t View::lanes_for_step() const {
  size_t partitions = 0;
  for (const auto& source : sources_)
    if (source.side == nullptr) partitions += source.partitions.size();
  // Threads left over when there are fewer partitions than threads decode slices of each chunk.
  const size_t threads = options_.pool != nullptr ? options_.pool->threads() + 1 : 1;
  return partitions == 0 ? 1 : std::clamp<size_t>(threads / partitions, 1, 4);
}

sql::ExplainNode View::explain() {
  for (auto& source : sources_)
    grow(source);
  const size_t lanes = lanes_for_step();
  // A source topic and its decoding, as the pipelines see it.
  auto describe = [&](const Source& src) {
    const sql::TableDef& table = src.table;
    if (!src.upstream_prefix.empty())
      return sql::ExplainNode{
          "Change Feed of " + sql::quote_identifier(table.name),
          {"Start: a snapshot of the view's rows, then the changes of each of its checkpoints "
           "(rows retracted and inserted)",
           "Position: beside the feed, written in this view's checkpoint (each change once)"},
          {}};
    auto topic = log_.topic(table.topic);
    const int32_t partitions = topic ? topic->partitions : 0;
    sql::ExplainNode source{(src.side != nullptr || src.latest ? "Changelog " : "Source ") +
                                sql::quote_identifier(table.name),
                            {},
                            {}};
    source.details.push_back("Topic: " + table.topic);
    source.details.push_back(
        "Partitions: " +
        (topic ? std::to_string(partitions) + " (" + sql::partition_range(partitions) + ")"
               : std::string("unknown (the topic does not exist)")));
    source.details.push_back(
        src.side != nullptr
            ? std::string("Start: read to its end before the streams in every step; upserts by "
                          "primary key, tombstones delete")
            : std::string(
                  "Start: each partition's log start, then the checkpointed position after a "
                  "restart"));
    if (src.latest)
      source.details.push_back(
          "Changes: an upsert retracts the key's previous row and inserts the new one, a "
          "tombstone retracts it; the latest row per key is kept in the view's state");
    source.details.push_back("Batches: up to 1 MiB of records per partition per read");
    sql::ExplainNode decode{"Decode " + table.format, {}, {}};
    std::string columns;
    for (const auto& c : table.columns)
      columns += (columns.empty() ? "" : ", ") + sql::quote_identifier(c.name);
    decode.details.push_back("Columns: " + columns);
    if (src.side == nullptr) {
      std::string read;
      for (size_t i = 0; i < src.used.size(); ++i) {
        if (!src.used[i]) continue;
        const std::string name = i < table.columns.size()
                                     ? table.columns[i].name
                                     : sql::kMetadataColumns[i - table.columns.size()];
        read += (read.empty() ? "" : ", ") + sql::quote_identifier(name);
      }
      decode.details.push_back("Columns Read: " + (read.empty() ? std::string("none") : read) +
                               " (unread text columns are not decoded)");
      if (lanes > 1)
        decode.details.push_back("Slices: " + std::to_string(lanes) +
                                 " per chunk, decoded in parallel, passed on in offset order");
    }
    decode.details.push_back(table.dead_letter.empty()
                                 ? std::string("Bad Records: counted")
                                 : "Bad Records: counted and written to dead-letter topic " +
                                       table.dead_letter);
    decode.children.push_back(std::move(source));
    return decode;
  };
  // Every partition's pipeline is alike: the one built for the shared state describes them.
  std::vector<sql::ExplainNode> arms;
  const auto plan_arm_list = plan_arms(*select_);
  for (size_t a = 0; a < pipeline_.chains.size(); ++a) {
    // The arm's stream, and per join the relation's source (a lookup's table or a hash join's
    // flowing relation).
    const Source* stream = nullptr;
    std::vector<const Source*> joined(plan_arm_list[a]->joins.size(), nullptr);
    for (const auto& src : sources_) {
      auto place = [&](uint32_t arm, int join) {
        if (arm != a || src.side != nullptr) return;  // lookup tables: below
        if (join < 0)
          stream = &src;
        else
          joined[static_cast<size_t>(join)] = &src;
      };
      place(src.arm, src.join);
      for (const auto& [arm, join] : src.more_targets)
        place(arm, join);
    }
    for (size_t j = 0; j < joined.size(); ++j)
      for (const auto& src : sources_)
        if (pipeline_.tables[a][j] != nullptr && src.side == pipeline_.tables[a][j])
          joined[j] = &src;
    sql::ExplainNode top = describe(*stream);
    size_t next_join = 0;
    for (const Operator* op : pipeline_.chains[a]) {
      auto node = op->explain();
      if (!node) continue;
      node->children.push_back(std::move(top));
      const bool is_join = node->title.find("Lookup Join") != std::string::npos ||
                           node->title.find("Hash Join") != std::string::npos;
      if (is_join && next_join < joined.size() && joined[next_join] != nullptr)
        node->children.push_back(describe(*joined[next_join]));
      if (is_join) ++next_join;
      top = std::move(*node);
    }
    arms.push_back(std::move(top));
  }
  auto sink = pipeline_.sink->explain();
  if (arms.size() > 1) {
    sql::ExplainNode all{select_->union_distinct ? "Union" : "Union All", {}, std::move(arms)};
    if (!sink) return all;
    sink->children.push_back(std::move(all));
    return std::move(*sink);
  }
  if (!sink) return std::move(arms.front());
  sink->children.push_back(std::move(arms.front()));
  return std::move(*sink);
}

}  // namespace eddy::stream

#include "stream/operators.h"

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>
#include <set>
#include <span>
#include <unordered_set>

#include "sql/binder.h"
#include "sql/key_codec.h"
#include "stream/task_pool.h"

namespace eddy::stream {

using sql::Row;
using sql::SqlResult;
using sql::SqlStatus;
using sql::Unit;
using sql::Value;

void append_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void append_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t read_be64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < in.size(); ++i)
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string view_prefix(const std::string& name) {
  return "v" + name + std::string(1, '\0');
}

SqlStatus Operator::advance(const Progress& progress) {
  return next_ != nullptr ? next_->advance(progress) : SqlStatus(Unit{});
}

SqlStatus Operator::checkpoint(std::vector<StateWrite>& writes) {
  return next_ != nullptr ? next_->checkpoint(writes) : SqlStatus(Unit{});
}

void skip_row(OperatorContext& context, const std::string& reason) {
  ++context.skipped;
  std::lock_guard lock(context.error_mu);
  context.last_error = reason;
}

namespace {

void collect_columns(const sql::Expr& e, std::set<size_t>& out) {
  if (e.kind == sql::ExprKind::kColumn) out.insert(static_cast<size_t>(e.index));
  for (const auto& a : e.args)
    collect_columns(a, out);
}

// Evaluates row-level expressions over a batch: a scratch row holds just the columns they read.
// Evaluation context for one row of a batch: expressions read the batch's columns in place.
class RowScratch {
 public:
  const sql::EvalContext& load(const Batch& batch, uint32_t r) {
    ctx_.columns = &batch.columns;
    ctx_.position = r;
    return ctx_;
  }

 private:
  std::vector<Value> params_;
  sql::EvalContext ctx_{.row = nullptr, .columns = nullptr, .position = 0, .params = &params_};
};

void skip_row(OperatorContext& context, const sql::SqlError& error) {
  skip_row(context, error.message);
}

class Filter final : public Operator {
 public:
  Filter(const sql::Plan& plan, OperatorContext& context)
      : predicate_(*plan.where), kernel_(sql::IntKernel::compile(predicate_)), context_(context) {}

  SqlStatus push(Batch& batch, const Progress& progress) override {
    size_t kept = 0;
    for (uint32_t r : batch.selection) {
      int64_t truth = 0;
      if (kernel_ && kernel_->run(batch.columns, r, truth)) {
        if (truth != 0) batch.selection[kept++] = r;
        continue;
      }
      auto keep = sql::eval_predicate(predicate_, scratch_.load(batch, r));
      if (!keep.ok()) {
        skip_row(context_, keep.error());
        continue;
      }
      if (*keep) batch.selection[kept++] = r;
    }
    batch.selection.resize(kept);
    return next_->push(batch, progress);
  }
  std::optional<sql::ExplainNode> explain() const override {
    return sql::ExplainNode{"Filter", {"Filter: " + sql::expr_text(predicate_)}, {}};
  }

 private:
  const sql::Expr& predicate_;
  std::optional<sql::IntKernel> kernel_;  // integer predicates, evaluated without Values
  OperatorContext& context_;
  RowScratch scratch_;
};

// Evaluates the visible outputs into a new batch (rows that fail are skipped). Outputs that are
// plain source columns are taken over without evaluation, moved when nothing else reads them.
class Project final : public Operator {
 public:
  Project(const sql::Plan& plan, OperatorContext& context)
      : outputs_(plan.outputs.begin(), plan.outputs.begin() + plan.columns.size()),
        context_(context) {
    std::unordered_map<int, int> references;
    for (const auto& e : outputs_)
      if (e.kind == sql::ExprKind::kColumn) ++references[e.index];
    for (const auto& e : outputs_) {
      movable_.push_back(e.kind == sql::ExprKind::kColumn && references[e.index] == 1);
      kernels_.push_back(e.kind == sql::ExprKind::kColumn ? std::nullopt
                                                          : sql::IntKernel::compile(e));
    }
    out_.columns.resize(outputs_.size());
  }

  // Column at a time: each computed output over the live rows (a row whose evaluation fails is
  // skipped with its first error, as PostgreSQL would stop at it), then the plain columns, which
  // are handed over whole when every row of the batch survives.
  SqlStatus push(Batch& batch, const Progress& progress) override {
    Batch& out = out_;
    out.partition = batch.partition;
    out.arm = batch.arm;
    out.offsets.clear();
    out.selection.clear();
    const size_t live = batch.selection.size();
    failed_.assign(live, 0);
    size_t failures = 0;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      auto& column = out.columns[i];
      column.clear();
      if (outputs_[i].kind == sql::ExprKind::kColumn) continue;
      column.resize(live);
      for (size_t k = 0; k < live; ++k) {
        if (failed_[k]) continue;
        const uint32_t r = batch.selection[k];
        if (int64_t computed = 0; kernels_[i] && kernels_[i]->run(batch.columns, r, computed)) {
          column[k] = kernels_[i]->type() == sql::Type::kBool
                          ? Value::boolean(computed != 0)
                          : Value::integer(kernels_[i]->type(), computed);
          continue;
        }
        auto v = sql::eval(outputs_[i], scratch_.load(batch, r));
        if (!v.ok()) {
          skip_row(context_, v.error());
          failed_[k] = 1;
          ++failures;
          continue;
        }
        column[k] = std::move(*v);
      }
    }
    for (size_t k = 0; k < live; ++k) {
      if (failed_[k]) continue;
      out.selection.push_back(static_cast<uint32_t>(out.offsets.size()));
      out.offsets.push_back(batch.offsets[batch.selection[k]]);
    }
    const bool whole = failures == 0 && live == batch.size();
    for (size_t i = 0; i < outputs_.size(); ++i) {
      auto& column = out.columns[i];
      if (outputs_[i].kind != sql::ExprKind::kColumn) {
        if (failures > 0) {
          size_t kept = 0;
          for (size_t k = 0; k < live; ++k) {
            if (failed_[k]) continue;
            if (kept != k) column[kept] = std::move(column[k]);
            ++kept;
          }
          column.resize(kept);
        }
        continue;
      }
      auto& source = batch.columns[static_cast<size_t>(outputs_[i].index)];
      if (whole) {
        // The batch's column is not read again: a movable one changes hands.
        if (movable_[i])
          column.swap(source);
        else
          column = source;
        continue;
      }
      column.reserve(out.offsets.size());
      for (size_t k = 0; k < live; ++k) {
        if (failed_[k]) continue;
        Value& value = source[batch.selection[k]];
        if (movable_[i])
          column.push_back(std::move(value));
        else
          column.push_back(value);
      }
    }
    return next_->push(out, progress);
  }
  std::optional<sql::ExplainNode> explain() const override {
    std::string list;
    for (const auto& e : outputs_)
      list += (list.empty() ? "" : ", ") + sql::expr_text(e);
    return sql::ExplainNode{"Project", {"Output: " + list}, {}};
  }

 private:
  std::vector<std::optional<sql::IntKernel>> kernels_;  // per computed output, when integer
  std::vector<sql::Expr> outputs_;
  OperatorContext& context_;
  RowScratch scratch_;
  std::vector<bool> movable_;    // a plain column no other output reads: moved, not copied
  std::vector<uint8_t> failed_;  // per live row of the batch being pushed
  Batch out_;                    // reused so its columns keep their capacity
};

// The view's visible columns as a table, for JSON output.
sql::TableDef output_table(const sql::Plan& plan) {
  sql::TableDef t;
  for (const auto& c : plan.columns)
    t.columns.push_back({c.name, c.type});
  return t;
}

// The group key as a table: each key is named like the output column that shows it, or
// group_<n> when no output column does.
sql::TableDef key_table(const sql::Plan& plan) {
  sql::TableDef t;
  for (size_t i = 0; i < plan.group_keys.size(); ++i) {
    std::string name = "group_" + std::to_string(i + 1);
    for (size_t j = 0; j < plan.columns.size(); ++j)
      if (plan.outputs[j].kind == sql::ExprKind::kGroupRef &&
          plan.outputs[j].index == static_cast<int>(i)) {
        name = plan.columns[j].name;
        break;
      }
    t.columns.push_back({name, plan.group_keys[i].type});
  }
  return t;
}

std::string mib(size_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

// Keeps an append-only view's rows. The rows of one pushed batch are stored as one chunk keyed
// by the source position of its first row: one state-store write per batch instead of one per
// row (a memtable insert per row dominated the cost of wide append-only views).
class RowSink final : public Operator {
 public:
  RowSink(const sql::Plan& plan, OperatorContext& context)
      : context_(context), output_(output_table(plan)) {}

  SqlStatus push(Batch& batch, const Progress&) override {
    if (batch.selection.empty()) return Unit{};
    StateWrite w{context_.prefix + "c", std::string()};
    append_be32(w.key, static_cast<uint32_t>(batch.partition));
    append_be64(w.key, static_cast<uint64_t>(batch.offsets[batch.selection.front()]));
    // Arms of a UNION ALL read different topics: the arm keeps their positions apart.
    if (batch.arm > 0) append_be32(w.key, batch.arm);
    std::string& chunk = *w.value;
    Row row(batch.columns.size());
    for (uint32_t r : batch.selection) {
      if (context_.emit_output) {
        for (size_t c = 0; c < row.size(); ++c)
          row[c] = batch.columns[c][r];
        outputs_.push_back({std::nullopt, sql::encode_json_row(output_, row)});
      }
      for (const auto& column : batch.columns)
        sql::append_value(chunk, column[r]);
    }
    pending_.push_back(std::move(w));
    return Unit{};
  }
  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    for (auto& w : pending_)
      writes.push_back(std::move(w));
    pending_.clear();
    for (auto& o : outputs_)
      context_.outputs.push_back(std::move(o));
    outputs_.clear();
    return Unit{};
  }
  std::optional<sql::ExplainNode> explain() const override {
    sql::ExplainNode node{"Row Sink", {}, {}};
    node.details.push_back(
        "State: one RocksDB entry per source batch (its output rows), keyed by the source "
        "partition and offset of its first row");
    if (context_.emit_output)
      node.details.push_back("Output Topic: " + context_.output_topic +
                             " (one keyless JSON record per row, append-only)");
    return node;
  }

 private:
  OperatorContext& context_;
  sql::TableDef output_;
  std::vector<StateWrite> pending_;
  std::vector<sql::TopicRecord> outputs_;  // this partition's output rows since the checkpoint
};

}  // namespace

// One group's key values and aggregate states (outside the anonymous namespace because
// GroupTable, declared in the header, keeps them).
struct GroupState {
  Row keys;
  std::vector<sql::Accumulator> accs;
};

namespace {

std::vector<sql::Accumulator> fresh_accumulators(const sql::Plan& plan) {
  std::vector<sql::Accumulator> out;
  for (const auto& spec : plan.aggs)
    out.emplace_back(spec);
  return out;
}

std::string serialize_group(const GroupState& g) {
  std::string out;
  out.push_back(static_cast<char>(g.keys.size()));
  for (const auto& k : g.keys)
    sql::append_value(out, k);
  for (const auto& a : g.accs)
    a.serialize(out);
  return out;
}

bool deserialize_group(std::string_view in, const sql::Plan& plan, GroupState& g) {
  if (in.empty() || static_cast<size_t>(in[0]) != plan.group_keys.size()) return false;
  in.remove_prefix(1);
  g.keys.resize(plan.group_keys.size());
  for (auto& k : g.keys)
    if (!sql::read_value(in, k)) return false;
  g.accs = fresh_accumulators(plan);
  for (auto& a : g.accs)
    if (!a.deserialize(in)) return false;
  return in.empty();
}

// A group's visible row; nullopt when HAVING rejects it.
SqlResult<std::optional<Row>> group_row(const sql::Plan& select, const GroupState& g) {
  static const std::vector<Value> kNoParams;
  Row aggs;
  for (const auto& acc : g.accs) {
    SQL_ASSIGN(Value v, acc.finish());
    aggs.push_back(std::move(v));
  }
  sql::EvalContext ctx{.params = &kNoParams, .groups = &g.keys, .aggs = &aggs};
  if (select.having) {
    SQL_ASSIGN(bool keep, sql::eval_predicate(*select.having, ctx));
    if (!keep) return std::optional<Row>();
  }
  Row out;
  for (size_t i = 0; i < select.columns.size(); ++i) {
    SQL_ASSIGN(Value v, sql::eval(select.outputs[i], ctx));
    out.push_back(std::move(v));
  }
  return std::optional<Row>(std::move(out));
}

}  // namespace

// Group states keyed by the encoded group key, split into GroupTable's key shards.
using ShardedPartials = std::array<std::unordered_map<std::string, GroupState>, kGroupShards>;

// The keyed aggregate state of a view, shared by its partitions' pipelines and split by key into
// kGroupShards shards, each with its own lock: batches are first aggregated into partial states
// per key without a lock (the expensive part, done in parallel), then merged here shard by shard
// (cache first, the state store behind it), so threads merging different keys do not wait for
// each other.
class GroupTable {
 public:
  GroupTable(const sql::Plan& plan, OperatorContext& context)
      : plan_(plan), context_(context), output_(output_table(plan)), key_(key_table(plan)) {}

  static size_t shard_of(const std::string& key) {
    return std::hash<std::string>{}(key) % kGroupShards;
  }

  // Merges one shard's partials, in the order of `partials` (string_agg keeps arrival order).
  SqlStatus merge_shard(size_t shard, std::span<ShardedPartials> partials) {
    Shard& target = shards_[shard];
    std::lock_guard lock(target.mu);
    for (auto& sharded : partials) {
      for (auto& [key, partial] : sharded[shard]) {
        auto found = target.cache.find(key);
        if (found == target.cache.end()) {
          GroupState state{partial.keys, fresh_accumulators(plan_)};
          auto stored = context_.store->get(context_.prefix + "s" + key);
          if (!stored.ok())
            return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
          if (*stored && !deserialize_group(**stored, plan_, state))
            return sql::sql_error(sql::sqlstate::kInternalError, "corrupt aggregate state");
          target.cache_bytes += key.size() * 2 + 128 * (1 + plan_.aggs.size());
          found = target.cache.emplace(key, std::move(state)).first;
        }
        for (size_t i = 0; i < partial.accs.size(); ++i)
          SQL_CHECK(found->second.accs[i].merge(partial.accs[i]));
        target.dirty.insert(key);
      }
    }
    return Unit{};
  }

  // DISTINCT aggregates: whether `value` is new for aggregate `agg` of the group `group` (then
  // it is remembered). The values seen live in the state store ('d' keys), not only in memory;
  // the group's shard lock makes concurrent threads agree on which of them saw a value first.
  SqlResult<bool> first_sighting(const std::string& group, size_t agg, const Value& value) {
    std::string key = group;
    append_be32(key, static_cast<uint32_t>(agg));
    sql::append_key(key, value, context_.key_format);
    Shard& shard = shards_[shard_of(group)];
    std::lock_guard lock(shard.mu);
    if (shard.distinct_seen.count(key) != 0) return false;
    auto stored = context_.store->get(context_.prefix + "d" + key);
    if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
    shard.cache_bytes += key.size() + 32;
    const bool fresh = !stored->has_value();
    if (fresh) shard.new_distinct.insert(key);
    shard.distinct_seen.insert(std::move(key));
    return fresh;
  }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    std::array<std::unique_lock<std::mutex>, kGroupShards> locks;
    for (size_t i = 0; i < kGroupShards; ++i)
      locks[i] = std::unique_lock(shards_[i].mu);
    // Keys in order across shards, as one table would write them.
    std::vector<std::pair<const std::string*, Shard*>> distinct, dirty;
    size_t cached = 0;
    for (auto& shard : shards_) {
      for (const auto& key : shard.new_distinct)
        distinct.emplace_back(&key, &shard);
      for (const auto& key : shard.dirty)
        dirty.emplace_back(&key, &shard);
      cached += shard.cache_bytes;
    }
    auto by_key = [](const auto& a, const auto& b) { return *a.first < *b.first; };
    std::sort(distinct.begin(), distinct.end(), by_key);
    std::sort(dirty.begin(), dirty.end(), by_key);
    for (const auto& [key, shard] : distinct)
      writes.push_back({context_.prefix + "d" + *key, std::string()});
    for (const auto& [key, shard] : dirty) {
      const GroupState& g = shard->cache.at(*key);
      writes.push_back({context_.prefix + "s" + *key, serialize_group(g)});
      if (!context_.emit_output) continue;
      // Upsert keyed by the group key; a group HAVING rejects is a tombstone.
      auto row = group_row(plan_, g);
      if (!row.ok()) {
        skip_row(context_, row.error().message);
        continue;
      }
      std::optional<std::string> value;
      if (*row) value = sql::encode_json_row(output_, **row);
      context_.outputs.push_back({sql::encode_json_row(key_, g.keys), std::move(value)});
    }
    for (auto& shard : shards_) {
      shard.new_distinct.clear();
      shard.dirty.clear();
    }
    // Everything is clean now: keep the cache within its budget.
    if (cached > context_.cache_bytes) {
      for (auto& shard : shards_) {
        shard.cache.clear();
        shard.distinct_seen.clear();
        shard.cache_bytes = 0;
      }
    }
    return Unit{};
  }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, GroupState> cache;
    std::set<std::string> dirty;
    std::unordered_set<std::string> distinct_seen;  // known 'd' keys (cache of the store)
    std::set<std::string> new_distinct;             // written at the next checkpoint
    size_t cache_bytes = 0;
  };
  const sql::Plan& plan_;
  OperatorContext& context_;
  sql::TableDef output_;
  sql::TableDef key_;
  std::array<Shard, kGroupShards> shards_;
};

namespace {

// GROUP BY keys + aggregates over one partition's batches; the merged state is the view's
// GroupTable.
class KeyedAggregate final : public Operator {
 public:
  KeyedAggregate(const sql::Plan& plan, OperatorContext& context) : plan_(plan), context_(context) {
    if (context_.groups == nullptr) context_.groups = std::make_shared<GroupTable>(plan, context);
    groups_ = context_.groups;
  }

  std::optional<sql::ExplainNode> explain() const override {
    sql::ExplainNode node{"Keyed Aggregate", {}, {}};
    std::string keys, aggs;
    for (const auto& k : plan_.group_keys)
      keys += (keys.empty() ? "" : ", ") + sql::expr_text(k, &plan_);
    for (const auto& a : plan_.aggs)
      aggs += (aggs.empty() ? "" : ", ") + sql::aggregate_text(a, &plan_);
    node.details.push_back("Group Key: " + (keys.empty() ? "none (one group)" : keys));
    if (!aggs.empty()) node.details.push_back("Aggregates: " + aggs);
    if (plan_.having) node.details.push_back("Having: " + sql::expr_text(*plan_.having, &plan_));
    node.details.push_back(
        "State: one group table for all partitions, in " + std::to_string(kGroupShards) +
        " key shards merged in parallel, one RocksDB entry per group, cache up to " +
        mib(context_.cache_bytes));
    if (context_.emit_output)
      node.details.push_back(
          "Output Topic: " + context_.output_topic +
          " (compacted; an upsert keyed by the group key per changed group at "
          "each checkpoint" +
          std::string(plan_.having ? ", a tombstone when HAVING rejects it" : "") + ")");
    return node;
  }

  // A big batch with spare threads is spread twice: by row range (partial aggregates per range,
  // lock-free) and then by key (each thread merges the key shards it owns, ranges in order).
  SqlStatus push(Batch& batch, const Progress&) override {
    constexpr size_t kMinRowsPerLane = 256;
    const size_t rows = batch.selection.size();
    const size_t lanes = context_.pool == nullptr
                             ? 1
                             : std::clamp<size_t>(rows / kMinRowsPerLane, 1, context_.lanes.load());
    if (partials_.size() < lanes) partials_.resize(lanes);
    if (lanes == 1) {
      SQL_CHECK(accumulate(batch, 0, rows, partials_[0]));
      for (size_t shard = 0; shard < kGroupShards; ++shard)
        SQL_CHECK(groups_->merge_shard(shard, std::span(partials_.data(), 1)));
      return Unit{};
    }
    std::vector<SqlStatus> results(lanes, Unit{});
    std::vector<std::function<void()>> tasks;
    for (size_t l = 0; l < lanes; ++l)
      tasks.emplace_back([&, l] {
        results[l] = accumulate(batch, rows * l / lanes, rows * (l + 1) / lanes, partials_[l]);
      });
    context_.pool->run(tasks);
    for (auto& r : results)
      SQL_CHECK(r);
    tasks.clear();
    for (size_t l = 0; l < lanes; ++l)
      tasks.emplace_back([&, l] {
        for (size_t shard = l; shard < kGroupShards; shard += lanes) {
          results[l] = groups_->merge_shard(shard, std::span(partials_.data(), lanes));
          if (!results[l].ok()) return;
        }
      });
    context_.pool->run(tasks);
    for (auto& r : results)
      SQL_CHECK(r);
    return Unit{};
  }

  // Every partition's pipeline calls this; the first call of a checkpoint writes all changes.
  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    return groups_->checkpoint(writes);
  }

 private:
  // Partial aggregates of the selected rows [from, to) into `out` (cleared first).
  SqlStatus accumulate(const Batch& batch, size_t from, size_t to, ShardedPartials& out) {
    for (auto& shard : out)
      shard.clear();
    RowScratch scratch;
    Row keys(plan_.group_keys.size());
    Row args(plan_.aggs.size());
    for (size_t k = from; k < to; ++k) {
      const auto& ctx = scratch.load(batch, batch.selection[k]);
      std::optional<sql::SqlError> failed;
      for (size_t i = 0; i < keys.size() && !failed; ++i) {
        auto v = sql::eval(plan_.group_keys[i], ctx);
        if (v.ok())
          keys[i] = std::move(*v);
        else
          failed = v.error();
      }
      for (size_t i = 0; i < args.size() && !failed; ++i) {
        if (plan_.aggs[i].kind == sql::AggKind::kCountStar) continue;
        auto v = sql::eval(plan_.aggs[i].arg, ctx);
        if (v.ok())
          args[i] = std::move(*v);
        else
          failed = v.error();
      }
      if (failed) {
        skip_row(context_, *failed);
        continue;
      }
      std::string key = sql::encode_key(keys, context_.key_format);
      auto& shard = out[GroupTable::shard_of(key)];
      auto [it, inserted] = shard.try_emplace(std::move(key));
      if (inserted) it->second = GroupState{keys, fresh_accumulators(plan_)};
      for (size_t i = 0; i < args.size(); ++i) {
        if (plan_.aggs[i].distinct && !args[i].null) {
          SQL_ASSIGN(bool fresh, groups_->first_sighting(it->first, i, args[i]));
          if (!fresh) continue;
        }
        auto added = it->second.accs[i].add(args[i]);
        if (!added.ok()) skip_row(context_, added.error());
      }
    }
    return Unit{};
  }

  const sql::Plan& plan_;
  OperatorContext& context_;
  std::shared_ptr<GroupTable> groups_;
  std::vector<ShardedPartials> partials_;  // per lane, reused
};

std::string serialize_row(const Row& row) {
  std::string out;
  for (const auto& v : row)
    sql::append_value(out, v);
  return out;
}

// For each primary-key column of the joined table, the key pair of the join that equates it
// (right side the bare column, or a cast of it); nullopt when some column is not equated.
std::optional<std::vector<size_t>> key_pairs(const sql::JoinSpec& join) {
  std::vector<size_t> out;
  for (size_t c : join.table.primary_key) {
    std::optional<size_t> found;
    for (size_t i = 0; i < join.right_keys.size() && !found; ++i) {
      const sql::Expr* e = &join.right_keys[i];
      if (e->kind == sql::ExprKind::kCast && e->args.size() == 1) e = &e->args[0];
      if (e->kind == sql::ExprKind::kColumn && static_cast<size_t>(e->index) == join.base + c)
        found = i;
    }
    if (!found) return std::nullopt;
    out.push_back(*found);
  }
  return out;
}

}  // namespace

// A joined table's latest row per primary key: a cache (rows and known absences) in front of the
// view's state store. The view applies the table's changelog on its worker before the stream
// partitions run; their pipelines then look rows up in parallel, hence the mutex.
class JoinTable final : public TableSide {
 public:
  JoinTable(const sql::JoinSpec& join, uint32_t tag, OperatorContext& context)
      : join_(join), context_(context), prefix_(context.prefix + "j") {
    append_be32(prefix_, tag);
  }

  SqlStatus apply(const Row& key, std::optional<Row> row) override {
    std::lock_guard lock(mu_);
    std::string k = sql::encode_key(key, context_.key_format);
    cache_bytes_ += k.size() + 64 + (row ? row->size() * 32 : 0);
    cache_[k] = std::move(row);
    dirty_.insert(std::move(k));
    return Unit{};
  }

  // The row under `key` (encoded), or nullopt.
  SqlResult<std::optional<Row>> lookup(const std::string& k) {
    std::lock_guard lock(mu_);
    auto found = cache_.find(k);
    if (found != cache_.end()) return found->second;
    auto stored = context_.store->get(prefix_ + k);
    if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
    std::optional<Row> row;
    if (*stored) {
      Row values(sql::input_width(join_.table));
      std::string_view in = **stored;
      for (auto& v : values)
        if (!sql::read_value(in, v))
          return sql::sql_error(sql::sqlstate::kInternalError, "corrupt joined table state");
      row = std::move(values);
    }
    cache_bytes_ += k.size() + 64 + (row ? row->size() * 32 : 0);
    cache_.emplace(k, row);
    return row;
  }

  // Every pipeline's join calls this; the first call of a checkpoint writes all changes.
  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    std::lock_guard lock(mu_);
    for (const auto& k : dirty_) {
      const auto& row = cache_.at(k);
      writes.push_back(
          {prefix_ + k, row ? std::optional<std::string>(serialize_row(*row)) : std::nullopt});
    }
    dirty_.clear();
    if (cache_bytes_ > context_.cache_bytes) {
      cache_.clear();
      cache_bytes_ = 0;
    }
    return Unit{};
  }

 private:
  const sql::JoinSpec& join_;
  OperatorContext& context_;
  std::string prefix_;
  std::mutex mu_;
  std::unordered_map<std::string, std::optional<Row>> cache_;
  std::set<std::string> dirty_;  // written at the next checkpoint
  size_t cache_bytes_ = 0;
};

namespace {

// A stream-table join: each stream row looks up the joined table's row by primary key in the
// table's state as it is now (processing time); an inner join drops rows without a match, a left
// join extends them with NULLs. Later changes of the table never revisit earlier output.
class StreamTableJoin final : public Operator {
 public:
  StreamTableJoin(const sql::Plan& plan, size_t index, uint32_t arm, OperatorContext& context)
      : join_(plan.joins[index]),
        context_(context),
        pairs_(key_pairs(join_).value_or(std::vector<size_t>{})),
        width_(join_.base + sql::input_width(join_.table)) {
    const uint32_t tag = (arm << 16) | static_cast<uint32_t>(index);
    auto& table = context_.joins[tag];
    if (table == nullptr) table = std::make_shared<JoinTable>(join_, tag, context_);
    table_ = table;
  }

  JoinTable* table() const { return table_.get(); }

  SqlStatus push(Batch& batch, const Progress& progress) override {
    Batch& out = out_;
    out.partition = batch.partition;
    out.arm = batch.arm;
    out.offsets.clear();
    out.selection.clear();
    out.columns.resize(width_);
    for (auto& column : out.columns)
      column.clear();
    const size_t declared = join_.table.columns.size();
    Row key(pairs_.size());
    for (uint32_t r : batch.selection) {
      const auto at = static_cast<uint32_t>(out.offsets.size());
      out.offsets.push_back(batch.offsets[r]);
      for (size_t c = 0; c < join_.base; ++c)
        out.columns[c].push_back(std::move(batch.columns[c][r]));
      for (size_t c = join_.base; c < width_; ++c) {
        const size_t rc = c - join_.base;
        out.columns[c].push_back(Value::null_of(
            rc < declared ? join_.table.columns[rc].type : sql::kMetadataTypes[rc - declared]));
      }
      auto matched = match(out, at, key);
      if (!matched.ok()) {
        skip_row(context_, matched.error());
        drop_last(out);
        continue;
      }
      if (!*matched) {
        for (size_t c = join_.base; c < width_; ++c)
          out.columns[c].back() = Value::null_of(out.columns[c].back().type);
        if (!join_.left_outer) {
          drop_last(out);
          continue;
        }
      }
      out.selection.push_back(at);
    }
    return next_->push(out, progress);
  }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    SQL_CHECK(table_->checkpoint(writes));
    return Operator::checkpoint(writes);
  }

  std::optional<sql::ExplainNode> explain() const override {
    sql::ExplainNode node{std::string(join_.left_outer ? "Left " : "") + "Lookup Join on " +
                              sql::quote_identifier(join_.table.name),
                          {},
                          {}};
    std::string key;
    for (size_t k = 0; k < pairs_.size(); ++k)
      key += (key.empty() ? "" : ", ") + sql::expr_text(join_.left_keys[pairs_[k]]);
    node.details.push_back("Primary Key Lookup: " + key);
    if (join_.condition) node.details.push_back("Join Filter: " + sql::expr_text(*join_.condition));
    node.details.push_back(
        "State: the table's latest row per primary key, shared by the partitions' pipelines, one "
        "RocksDB entry per key, cache up to " +
        mib(context_.cache_bytes));
    node.details.push_back(
        "Semantics: processing time (each row joins the table as consumed so far; the table is "
        "consumed to its end before the stream in every step)");
    return node;
  }

 private:
  static void drop_last(Batch& out) {
    out.offsets.pop_back();
    for (auto& column : out.columns)
      column.pop_back();
  }

  // Fills the joined columns of row `at` from the table state; true when the row matches.
  SqlResult<bool> match(Batch& out, uint32_t at, Row& key) {
    const auto& ctx = scratch_.load(out, at);
    std::vector<Value> left(join_.left_keys.size());
    for (size_t i = 0; i < left.size(); ++i) {
      SQL_ASSIGN(left[i], sql::eval(join_.left_keys[i], ctx));
      if (left[i].null) return false;  // equal to nothing
    }
    for (size_t k = 0; k < pairs_.size(); ++k) {
      const sql::Type type = join_.table.columns[join_.table.primary_key[k]].type;
      auto cast = sql::cast_value(left[pairs_[k]], type);
      if (!cast.ok()) return false;  // no key of the column's type equals it
      key[k] = std::move(*cast);
    }
    SQL_ASSIGN(std::optional<Row> row, table_->lookup(sql::encode_key(key, context_.key_format)));
    if (!row) return false;
    for (size_t c = 0; c < row->size(); ++c)
      out.columns[join_.base + c][at] = std::move((*row)[c]);
    // Every equality (a cast key may have matched a different value) and the whole condition.
    const auto& full = scratch_.load(out, at);
    for (size_t i = 0; i < left.size(); ++i) {
      SQL_ASSIGN(Value right, sql::eval(join_.right_keys[i], full));
      if (right.null || sql::compare_values(left[i], right) != 0) return false;
    }
    if (join_.condition) return sql::eval_predicate(*join_.condition, full);
    return true;
  }

  const sql::JoinSpec& join_;
  OperatorContext& context_;
  std::vector<size_t> pairs_;
  size_t width_;
  RowScratch scratch_;
  std::shared_ptr<JoinTable> table_;
  Batch out_;  // reused so its columns keep their capacity
};

// Pushes every batch on unchanged (the head when a view has no WHERE).
class Pass final : public Operator {
 public:
  SqlStatus push(Batch& batch, const Progress& progress) override {
    return next_->push(batch, progress);
  }
};

}  // namespace

std::vector<const sql::Plan*> plan_arms(const sql::Plan& select) {
  if (select.union_arms.empty()) return {&select};
  std::vector<const sql::Plan*> out;
  for (const auto& arm : select.union_arms)
    out.push_back(arm.get());
  return out;
}

SqlStatus Pipeline::checkpoint(std::vector<StateWrite>& writes) const {
  for (Operator* head : heads)
    SQL_CHECK(head->checkpoint(writes));
  return Unit{};
}

SqlStatus validate_plan(const sql::Plan& select) {
  auto unsupported = [](const std::string& what) {
    return sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                          what + " is not supported in a materialized view yet");
  };
  if (!select.union_arms.empty()) {
    if (select.set_op != sql::Plan::SetOp::kUnion)
      return unsupported("INTERSECT/EXCEPT (they would have to retract rows)");
    if (select.union_distinct)
      return unsupported("UNION without ALL (it would have to retract duplicates)");
    if (!select.order.empty()) return unsupported("ORDER BY (order when you query the view)");
    if (select.limit || select.offset) return unsupported("LIMIT/OFFSET");
    for (const sql::Plan* arm : plan_arms(select)) {
      if (arm->grouped)
        return unsupported("an aggregate inside UNION ALL (aggregate in a view of its own)");
      SQL_CHECK(validate_plan(*arm));
    }
    return Unit{};
  }
  if (select.table && select.table->subquery)
    return unsupported("a subquery in FROM or a WITH query");
  for (const auto& join : select.joins)
    if (join.table.subquery) return unsupported("a subquery in FROM or a WITH query");
  if (!select.table || select.table->is_view) return unsupported("a view without a source table");
  if (!select.order.empty()) return unsupported("ORDER BY (order when you query the view)");
  if (select.limit || select.offset) return unsupported("LIMIT/OFFSET");
  if (select.distinct) return unsupported("SELECT DISTINCT over aggregates");
  if (select.table->has_primary_key() && !select.joins.empty())
    return unsupported("a join whose left side \"" + select.table->name +
                       "\" has a primary key (a table-table join; the left side must be a "
                       "stream)");
  if (select.table->has_primary_key())
    return unsupported("a view reading table \"" + select.table->name +
                       "\" with a primary key other than as the right side of a join");
  for (const auto& join : select.joins) {
    if (join.table.is_view)
      return unsupported("a join with a materialized view (\"" + join.table.name + "\")");
    if (!join.table.has_primary_key())
      return sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                            "a join in a materialized view needs a table with a PRIMARY KEY on "
                            "its right side (a stream-table join); \"" +
                                join.table.name + "\" has none");
    if (!key_pairs(join)) {
      std::string key;
      for (size_t c : join.table.primary_key)
        key += (key.empty() ? "" : ", ") + join.table.columns[c].name;
      return sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                            "a join in a materialized view must equate the whole primary key of "
                            "\"" +
                                join.table.name + "\" (" + key +
                                ") with the left side, so each row joins at most one row");
    }
  }
  return Unit{};
}

Pipeline build_pipeline(const sql::Plan& select, OperatorContext& context) {
  Pipeline p;
  Operator* sink = nullptr;
  if (select.grouped) {
    p.operators.push_back(std::make_unique<KeyedAggregate>(select, context));
    sink = p.operators.back().get();
  } else {
    p.operators.push_back(std::make_unique<RowSink>(select, context));
    sink = p.operators.back().get();
  }
  p.sink = sink;
  const auto arms = plan_arms(select);
  for (size_t a = 0; a < arms.size(); ++a) {
    const sql::Plan& arm = *arms[a];
    std::vector<Operator*> chain;
    auto add = [&](std::unique_ptr<Operator> op) {
      chain.push_back(op.get());
      p.operators.push_back(std::move(op));
    };
    // The WHERE of a join may read the joined columns: it runs after the joins.
    if (arm.where && arm.joins.empty())
      add(std::make_unique<Filter>(arm, context));
    else
      add(std::make_unique<Pass>());
    p.tables.emplace_back();
    for (size_t j = 0; j < arm.joins.size(); ++j) {
      auto join = std::make_unique<StreamTableJoin>(arm, j, static_cast<uint32_t>(a), context);
      p.tables.back().push_back(join->table());
      add(std::move(join));
    }
    if (arm.where && !arm.joins.empty()) add(std::make_unique<Filter>(arm, context));
    if (!select.grouped) add(std::make_unique<Project>(arm, context));
    p.chains.push_back(chain);
    chain.push_back(sink);
    for (size_t i = 0; i + 1 < chain.size(); ++i)
      chain[i]->set_next(chain[i + 1]);
    p.heads.push_back(chain.front());
  }
  return p;
}

std::vector<bool> used_columns(const sql::Plan& select) {
  std::set<size_t> used;
  if (select.where) collect_columns(*select.where, used);
  for (const auto& e : select.outputs)
    collect_columns(e, used);
  for (const auto& e : select.group_keys)
    collect_columns(e, used);
  for (const auto& a : select.aggs)
    collect_columns(a.arg, used);
  for (const auto& j : select.joins) {
    for (const auto& e : j.left_keys)
      collect_columns(e, used);
    if (j.condition) collect_columns(*j.condition, used);
  }
  // Only the first input's columns: joined columns come from the joined tables' state.
  std::vector<bool> out(sql::input_width(*select.table), false);
  for (size_t c : used)
    if (c < out.size()) out[c] = true;
  return out;
}

SqlResult<std::vector<Row>> read_contents(const sql::Plan& select, const StateStore& store,
                                          const std::string& prefix) {
  std::vector<Row> rows;
  std::optional<sql::SqlError> failed;
  const size_t visible = select.columns.size();
  if (!select.grouped) {
    // 'c' holds chunks of rows; 'r' one row per key (state written before chunks existed).
    for (const char* kind : {"c", "r"}) {
      Status scanned = store.scan(prefix + kind, [&](std::string_view, std::string_view value) {
        while (!value.empty()) {
          Row row(visible);
          for (auto& v : row)
            if (!sql::read_value(value, v)) {
              failed = sql::sql_error(sql::sqlstate::kInternalError, "corrupt view row");
              return false;
            }
          rows.push_back(std::move(row));
        }
        return true;
      });
      if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
      if (failed) return *failed;
    }
    return rows;
  }
  auto emit = [&](const GroupState& g) -> SqlStatus {
    SQL_ASSIGN(std::optional<Row> row, group_row(select, g));
    if (row) rows.push_back(std::move(*row));
    return Unit{};
  };
  size_t groups = 0;
  Status scanned = store.scan(prefix + "s", [&](std::string_view, std::string_view value) {
    GroupState g;
    ++groups;
    if (!deserialize_group(value, select, g)) {
      failed = sql::sql_error(sql::sqlstate::kInternalError, "corrupt aggregate state");
      return false;
    }
    auto done = emit(g);
    if (!done.ok()) failed = done.error();
    return done.ok();
  });
  if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
  if (failed) return *failed;
  if (groups == 0 && select.group_keys.empty()) {
    // An aggregate without GROUP BY has one row even over no input.
    SQL_CHECK(emit(GroupState{{}, fresh_accumulators(select)}));
  }
  return rows;
}

}  // namespace eddy::stream

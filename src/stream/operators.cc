#include "stream/operators.h"

#include <set>

#include "stream/key_codec.h"

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
class RowScratch {
 public:
  RowScratch(size_t width, const std::vector<const sql::Expr*>& exprs) : row_(width) {
    std::set<size_t> used;
    for (const auto* e : exprs)
      collect_columns(*e, used);
    used_.assign(used.begin(), used.end());
  }
  const sql::EvalContext& load(const Batch& batch, uint32_t r) {
    for (size_t c : used_)
      row_[c] = batch.columns[c][r];
    return ctx_;
  }

 private:
  Row row_;
  std::vector<size_t> used_;
  std::vector<Value> params_;
  sql::EvalContext ctx_{.row = &row_, .params = &params_};
};

void skip_row(OperatorContext& context, const sql::SqlError& error) {
  skip_row(context, error.message);
}

class Filter final : public Operator {
 public:
  Filter(const sql::Plan& plan, OperatorContext& context)
      : predicate_(*plan.where),
        context_(context),
        scratch_(plan.table->columns.size() + std::size(sql::kMetadataColumns), {&predicate_}) {}

  SqlStatus push(Batch& batch, const Progress& progress) override {
    size_t kept = 0;
    for (uint32_t r : batch.selection) {
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
  OperatorContext& context_;
  RowScratch scratch_;
};

std::vector<const sql::Expr*> pointers(const std::vector<sql::Expr>& exprs) {
  std::vector<const sql::Expr*> out;
  for (const auto& e : exprs)
    out.push_back(&e);
  return out;
}

// Evaluates the visible outputs into a new batch (rows that fail are skipped). Outputs that are
// plain source columns are taken over without evaluation, moved when nothing else reads them.
class Project final : public Operator {
 public:
  Project(const sql::Plan& plan, OperatorContext& context)
      : outputs_(plan.outputs.begin(), plan.outputs.begin() + plan.columns.size()),
        context_(context),
        scratch_(plan.table->columns.size() + std::size(sql::kMetadataColumns),
                 computed(outputs_)) {
    std::unordered_map<int, int> references;
    for (const auto& e : outputs_)
      if (e.kind == sql::ExprKind::kColumn) ++references[e.index];
    for (const auto& e : outputs_)
      movable_.push_back(e.kind == sql::ExprKind::kColumn && references[e.index] == 1);
    out_.columns.resize(outputs_.size());
  }

  SqlStatus push(Batch& batch, const Progress& progress) override {
    Batch& out = out_;
    out.partition = batch.partition;
    out.offsets.clear();
    out.selection.clear();
    for (auto& column : out.columns)
      column.clear();
    Row values(outputs_.size());
    for (uint32_t r : batch.selection) {
      const auto& ctx = scratch_.load(batch, r);
      bool ok = true;
      for (size_t i = 0; i < outputs_.size() && ok; ++i) {
        if (outputs_[i].kind == sql::ExprKind::kColumn) continue;
        auto v = sql::eval(outputs_[i], ctx);
        if (!v.ok()) {
          skip_row(context_, v.error());
          ok = false;
        } else {
          values[i] = std::move(*v);
        }
      }
      if (!ok) continue;
      out.selection.push_back(static_cast<uint32_t>(out.offsets.size()));
      out.offsets.push_back(batch.offsets[r]);
      for (size_t i = 0; i < outputs_.size(); ++i) {
        if (outputs_[i].kind != sql::ExprKind::kColumn) {
          out.columns[i].push_back(std::move(values[i]));
          continue;
        }
        Value& source = batch.columns[static_cast<size_t>(outputs_[i].index)][r];
        if (movable_[i])
          out.columns[i].push_back(std::move(source));
        else
          out.columns[i].push_back(source);
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
  static std::vector<const sql::Expr*> computed(const std::vector<sql::Expr>& outputs) {
    std::vector<const sql::Expr*> out;
    for (const auto& e : outputs)
      if (e.kind != sql::ExprKind::kColumn) out.push_back(&e);
    return out;
  }

  std::vector<sql::Expr> outputs_;
  OperatorContext& context_;
  RowScratch scratch_;
  std::vector<bool> movable_;  // a plain column no other output reads: moved, not copied
  Batch out_;                  // reused so its columns keep their capacity
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

// The keyed aggregate state of a view, shared by its partitions' pipelines: each batch is first
// aggregated into partial states per key without a lock (the expensive part, done in parallel),
// then merged here under the lock (cache first, the state store behind it).
class GroupTable {
 public:
  GroupTable(const sql::Plan& plan, OperatorContext& context)
      : plan_(plan), context_(context), output_(output_table(plan)), key_(key_table(plan)) {}

  SqlStatus merge(std::unordered_map<std::string, GroupState>& partials) {
    std::lock_guard lock(mu_);
    for (auto& [key, partial] : partials) {
      auto found = cache_.find(key);
      if (found == cache_.end()) {
        GroupState state{partial.keys, fresh_accumulators(plan_)};
        auto stored = context_.store->get(context_.prefix + "s" + key);
        if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
        if (*stored && !deserialize_group(**stored, plan_, state))
          return sql::sql_error(sql::sqlstate::kInternalError, "corrupt aggregate state");
        cache_bytes_ += key.size() * 2 + 128 * (1 + plan_.aggs.size());
        found = cache_.emplace(key, std::move(state)).first;
      }
      for (size_t i = 0; i < partial.accs.size(); ++i)
        SQL_CHECK(found->second.accs[i].merge(partial.accs[i]));
      dirty_.insert(key);
    }
    return Unit{};
  }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    std::lock_guard lock(mu_);
    for (const auto& key : dirty_) {
      const GroupState& g = cache_.at(key);
      writes.push_back({context_.prefix + "s" + key, serialize_group(g)});
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
    dirty_.clear();
    // Everything is clean now: keep the cache within its budget.
    if (cache_bytes_ > context_.cache_bytes) {
      cache_.clear();
      cache_bytes_ = 0;
    }
    return Unit{};
  }

 private:
  const sql::Plan& plan_;
  OperatorContext& context_;
  sql::TableDef output_;
  sql::TableDef key_;
  std::mutex mu_;
  std::unordered_map<std::string, GroupState> cache_;
  std::set<std::string> dirty_;
  size_t cache_bytes_ = 0;
};

namespace {

// GROUP BY keys + aggregates over one partition's batches; the merged state is the view's
// GroupTable.
class KeyedAggregate final : public Operator {
 public:
  KeyedAggregate(const sql::Plan& plan, OperatorContext& context)
      : plan_(plan), context_(context), scratch_(width(plan), arguments(plan)) {
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
        "State: one group table shared by the partitions' pipelines, one RocksDB entry per "
        "group (key values and partial aggregates), cache up to " +
        mib(context_.cache_bytes));
    if (context_.emit_output)
      node.details.push_back(
          "Output Topic: " + context_.output_topic +
          " (compacted; an upsert keyed by the group key per changed group at "
          "each checkpoint" +
          std::string(plan_.having ? ", a tombstone when HAVING rejects it" : "") + ")");
    return node;
  }

  SqlStatus push(Batch& batch, const Progress&) override {
    std::unordered_map<std::string, GroupState> partials;
    Row keys(plan_.group_keys.size());
    Row args(plan_.aggs.size());
    for (uint32_t r : batch.selection) {
      const auto& ctx = scratch_.load(batch, r);
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
      auto [it, inserted] = partials.try_emplace(encode_key(keys));
      if (inserted) it->second = GroupState{keys, fresh_accumulators(plan_)};
      for (size_t i = 0; i < args.size(); ++i) {
        auto added = it->second.accs[i].add(args[i]);
        if (!added.ok()) skip_row(context_, added.error());
      }
    }
    return groups_->merge(partials);
  }

  // Every partition's pipeline calls this; the first call of a checkpoint writes all changes.
  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    return groups_->checkpoint(writes);
  }

 private:
  static size_t width(const sql::Plan& plan) {
    return plan.table->columns.size() + std::size(sql::kMetadataColumns);
  }
  static std::vector<const sql::Expr*> arguments(const sql::Plan& plan) {
    std::vector<const sql::Expr*> out = pointers(plan.group_keys);
    for (const auto& a : plan.aggs)
      out.push_back(&a.arg);
    return out;
  }

  const sql::Plan& plan_;
  OperatorContext& context_;
  RowScratch scratch_;
  std::shared_ptr<GroupTable> groups_;
};

// Pushes every batch on unchanged (the head when a view has no WHERE).
class Pass final : public Operator {
 public:
  SqlStatus push(Batch& batch, const Progress& progress) override {
    return next_->push(batch, progress);
  }
};

}  // namespace

SqlStatus validate_plan(const sql::Plan& select) {
  auto unsupported = [](const std::string& what) {
    return sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                          what + " is not supported in a materialized view yet");
  };
  if (!select.table || select.table->is_view) return unsupported("a view without a source table");
  if (!select.order.empty()) return unsupported("ORDER BY (order when you query the view)");
  if (select.limit || select.offset) return unsupported("LIMIT/OFFSET");
  for (const auto& a : select.aggs)
    if (a.distinct) return unsupported("an aggregate with DISTINCT");
  return Unit{};
}

Pipeline build_pipeline(const sql::Plan& select, OperatorContext& context) {
  Pipeline p;
  if (select.where)
    p.operators.push_back(std::make_unique<Filter>(select, context));
  else
    p.operators.push_back(std::make_unique<Pass>());
  if (select.grouped) {
    p.operators.push_back(std::make_unique<KeyedAggregate>(select, context));
  } else {
    p.operators.push_back(std::make_unique<Project>(select, context));
    p.operators.push_back(std::make_unique<RowSink>(select, context));
  }
  for (size_t i = 0; i + 1 < p.operators.size(); ++i)
    p.operators[i]->set_next(p.operators[i + 1].get());
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
  std::vector<bool> out(select.table->columns.size() + std::size(sql::kMetadataColumns), false);
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

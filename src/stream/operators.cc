#include "stream/operators.h"

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>
#include <set>
#include <span>
#include <unordered_set>
#include <utility>

#include "sql/binder.h"
#include "sql/key_codec.h"
#include "stream/join.h"
#include "stream/rows.h"
#include "stream/set_ops.h"
#include "stream/task_pool.h"
#include "stream/top_per_group.h"

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

uint32_t read_be32(std::string_view in) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && i < in.size(); ++i)
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string view_prefix(const std::string& name) {
  return "v" + name + std::string(1, '\0');
}

std::string mib(size_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

std::string serialize_row(const Row& row) {
  std::string out;
  for (const auto& v : row)
    sql::append_value(out, v);
  return out;
}

SqlStatus Operator::advance(const Progress& progress) {
  return next_ != nullptr ? next_->advance(progress) : SqlStatus(Unit{});
}

SqlStatus Operator::checkpoint(std::vector<StateWrite>& writes) {
  return next_ != nullptr ? next_->checkpoint(writes) : SqlStatus(Unit{});
}

sql::TableDef output_table(const sql::Plan& plan) {
  sql::TableDef t;
  for (const auto& c : plan.columns)
    t.columns.push_back({c.name, c.type});
  return t;
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
  Filter(sql::Expr predicate, OperatorContext& context)
      : predicate_(std::move(predicate)),
        kernel_(sql::IntKernel::compile(predicate_)),
        context_(context) {}

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
  const sql::Expr predicate_;
  std::optional<sql::IntKernel> kernel_;  // integer predicates, evaluated without Values
  OperatorContext& context_;
  RowScratch scratch_;
};

// Evaluates the visible outputs into a new batch (rows that fail are skipped). Outputs that are
// plain source columns are taken over without evaluation, moved when nothing else reads them.
class Project final : public Operator {
 public:
  // With `hidden`, also the hidden outputs after the visible ones (ORDER BY keys of a Top-N).
  Project(const sql::Plan& plan, OperatorContext& context, bool hidden = false)
      : outputs_(plan.outputs.begin(),
                 hidden ? plan.outputs.end() : plan.outputs.begin() + plan.columns.size()),
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
    out.input = batch.input;
    out.offsets.clear();
    out.selection.clear();
    out.weights.clear();
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
      if (!batch.weights.empty()) out.weights.push_back(batch.weights[batch.selection[k]]);
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
    // Arms of a UNION ALL read different topics: the arm keeps their positions apart, and so
    // does the input within the arm (a join's relation).
    if (batch.arm > 0 || batch.input > 0) append_be32(w.key, batch.arm);
    if (batch.input > 0) append_be32(w.key, batch.input);
    // A join passes the rows one change makes in several batches when they are many: a batch
    // that starts at the same position as the one before gets a number after the key.
    // (A marker byte first: the key's length then tells it from every key without one.)
    if (w.key == last_key_) {
      w.key.push_back('\xff');
      append_be32(w.key, ++repeats_);
    } else {
      last_key_ = w.key;
      repeats_ = 0;
    }
    std::string& chunk = *w.value;
    Row row(batch.columns.size());
    for (uint32_t r : batch.selection) {
      if (context_.emit_output || context_.emit_changes) {
        for (size_t c = 0; c < row.size(); ++c)
          row[c] = batch.columns[c][r];
        if (context_.emit_output)
          outputs_.push_back({std::nullopt, sql::encode_json_row(output_, row)});
        if (context_.emit_changes) changes_.emplace_back(row, 1);
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
    for (auto& c : changes_)
      context_.changes.push_back(std::move(c));
    changes_.clear();
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
  std::string last_key_;  // of the last batch, and how many after it started at its position
  uint32_t repeats_ = 0;
  std::vector<sql::TopicRecord> outputs_;  // this partition's output rows since the checkpoint
  std::vector<std::pair<Row, int64_t>> changes_;  // the same rows for the change feed
};

}  // namespace

// Row `r` of a batch, its first `width` columns.
Row row_at(const Batch& batch, uint32_t r, size_t width) {
  Row row(width);
  for (size_t c = 0; c < width; ++c)
    row[c] = batch.columns[c][r];
  return row;
}

// A stored row with its count ('u' and 't' values: the count, then the row's values); false
// when it is corrupt.
bool read_counted_row(std::string_view value, size_t width, int64_t& count, Row& row) {
  if (value.size() < 8) return false;
  count = static_cast<int64_t>(read_be64(value));
  value.remove_prefix(8);
  row.assign(width, Value{});
  for (auto& v : row)
    if (!sql::read_value(value, v)) return false;
  return value.empty();
}

// A row keyed by itself in a view's output topic: an upsert when it appears (its count goes
// from none to some), a tombstone when it goes.
void output_row_change(OperatorContext& context, const sql::TableDef& output, const Row& row,
                       int64_t before, int64_t after) {
  if (!context.emit_output || (before > 0) == (after > 0)) return;
  std::string json = sql::encode_json_row(output, row);
  std::optional<std::string> value;
  if (after > 0) value = json;
  context.outputs.push_back({std::move(json), std::move(value)});
}

void append_sort_key(std::string& out, const Value& v, const sql::SortKey& key,
                     sql::KeyFormat format) {
  if (v.null) {
    out.push_back(key.nulls_first ? '\x00' : '\x02');
    return;
  }
  out.push_back('\x01');
  const size_t from = out.size();
  sql::append_key(out, v, format);
  if (key.descending)
    for (size_t i = from; i < out.size(); ++i)
      out[i] = static_cast<char>(~static_cast<uint8_t>(out[i]));
}

SqlStatus merge_counted_rows(
    const StateStore& store, const std::string& prefix, const PendingRows::Map* overlay,
    size_t width, const std::function<bool(const std::string&, const Row&, int64_t)>& visit) {
  auto next = overlay != nullptr ? overlay->begin() : PendingRows::Map::const_iterator{};
  auto overlay_end = overlay != nullptr ? overlay->end() : next;
  bool more = true;
  std::optional<sql::SqlError> corrupt;
  Status scanned = store.scan(prefix, [&](std::string_view k, std::string_view value) {
    const std::string key(k.substr(prefix.size()));
    for (; more && next != overlay_end && next->first < key; ++next)
      more = visit(next->first, next->second.row, next->second.count);
    if (!more) return false;
    if (next != overlay_end && next->first == key) {
      more = visit(key, next->second.row, next->second.count);
      ++next;
      return more;
    }
    int64_t count = 0;
    Row row;
    if (!read_counted_row(value, width, count, row)) {
      corrupt = sql::sql_error(sql::sqlstate::kInternalError, "corrupt Top-N state");
      return false;
    }
    more = visit(key, row, count);
    return more;
  });
  if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
  if (corrupt) return *corrupt;
  for (; more && next != overlay_end; ++next)
    more = visit(next->first, next->second.row, next->second.count);
  return Unit{};
}

// The rows of a view without GROUP BY over retracting sources, with their multiplicities: the
// changes of a checkpoint interval are summed per row in memory, then added to the stored
// counts ('u' keys) at the checkpoint. Shared by the partitions' pipelines (a row may come from
// any partition), hence the mutex.
class RowMultiset {
 public:
  RowMultiset(const sql::Plan& plan, OperatorContext& context)
      : context_(context),
        output_(output_table(plan)),
        once_(!plan.union_arms.empty() && plan.union_distinct) {}

  void add(KeyedChanges& changes) { pending_.add(changes); }

  // Each changed row's new count, or its deletion at zero. With an output topic, a row that
  // appears is an upsert keyed by the whole row, one that disappears its tombstone.
  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    for (auto& [key, change] : pending_.take()) {
      if (change.count == 0) continue;
      const std::string state_key = context_.prefix + "u" + key;
      auto stored = context_.store->get(state_key);
      if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
      const int64_t before = *stored ? static_cast<int64_t>(read_be64(**stored)) : 0;
      const int64_t after = before + change.count;
      if (after <= 0) {
        if (*stored) writes.push_back({state_key, std::nullopt});
      } else {
        std::string value;
        append_be64(value, static_cast<uint64_t>(after));
        value += serialize_row(change.row);
        writes.push_back({state_key, std::move(value)});
      }
      // What readers see: every copy, or (UNION without ALL) the row while it is present.
      if (context_.emit_changes) {
        if (!once_)
          context_.changes.emplace_back(change.row, after - before);
        else if ((before > 0) != (after > 0))
          context_.changes.emplace_back(change.row, after > 0 ? 1 : -1);
      }
      output_row_change(context_, output_, change.row, before, after);
    }
    return Unit{};
  }

 private:
  OperatorContext& context_;
  sql::TableDef output_;
  bool once_;            // UNION without ALL: a row shows once however many copies it has
  PendingRows pending_;  // by encoded row
};

namespace {

// The sink of a view without GROUP BY over retracting sources: each row's weight goes to the
// view's RowMultiset.
class RowMultisetSink final : public Operator {
 public:
  RowMultisetSink(const sql::Plan& plan, OperatorContext& context)
      : context_(context), distinct_(!plan.union_arms.empty() && plan.union_distinct) {
    if (context_.rows == nullptr) context_.rows = std::make_shared<RowMultiset>(plan, context);
    rows_ = context_.rows;
  }

  SqlStatus push(Batch& batch, const Progress&) override {
    for (uint32_t r : batch.selection) {
      Row row = row_at(batch, r, batch.columns.size());
      // Rows are kept exactly as they are (1.0 and 1.00 are two rows), except under UNION
      // without ALL, where rows equal as SQL compares them are one.
      std::string key = distinct_ ? sql::encode_key(row, context_.key_format) : serialize_row(row);
      changes_.emplace_back(std::move(key), std::move(row), batch.weight(r));
    }
    rows_->add(changes_);
    return Unit{};
  }
  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    return rows_->checkpoint(writes);
  }
  std::optional<sql::ExplainNode> explain() const override {
    sql::ExplainNode node{"Row Multiset", {}, {}};
    node.details.push_back(
        "State: one RocksDB entry per distinct row with its count; a retraction takes one "
        "away, the row goes at zero");
    if (context_.emit_output)
      node.details.push_back("Output Topic: " + context_.output_topic +
                             " (compacted; keyed by the whole row: an upsert when a row "
                             "appears, a tombstone when it goes)");
    return node;
  }

 private:
  OperatorContext& context_;
  bool distinct_;
  std::shared_ptr<RowMultiset> rows_;
  KeyedChanges changes_;  // reused
};

// The ORDER BY keys of a row (its outputs, hidden ones too), in bytewise ORDER BY order.
std::string sort_key(const sql::Plan& plan, const Batch& batch, uint32_t r, sql::KeyFormat format) {
  std::string out;
  for (const auto& key : plan.order)
    append_sort_key(out, batch.columns[key.column][r], key, format);
  return out;
}

}  // namespace

// The rows of a Top-N view (ORDER BY ... LIMIT without GROUP BY) in ORDER BY order: 't' keys are
// the sort key then the row, with the row's count and the row as value; the view's rows are
// those from OFFSET on, LIMIT of them. Over append-only input the rows past the window can never
// come back and are deleted at each checkpoint; over retracting input all are kept (one of them
// moves up when a row of the window is retracted).
class TopRows {
 public:
  TopRows(const sql::Plan& plan, OperatorContext& context, TopWindow window)
      : plan_(plan), context_(context), output_(output_table(plan)), window_(window) {}

  void add(KeyedChanges& changes) { pending_.add(changes); }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    PendingRows::Map pending = pending_.take();
    if (pending.empty()) return Unit{};
    const bool report = context_.emit_output || context_.emit_changes;
    Visible before;
    if (report) SQL_CHECK(scan_window(nullptr, before, nullptr));
    // The new count of every changed row (the pending deltas become absolute counts).
    for (auto& [key, entry] : pending) {
      auto stored = context_.store->get(state_key(key));
      if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
      entry.count += *stored ? static_cast<int64_t>(read_be64(**stored)) : 0;
    }
    Visible after;
    std::vector<std::string> past;  // append-only input: the keys past the window
    SQL_CHECK(scan_window(&pending, after, context_.retracting ? nullptr : &past));
    std::set<std::string> dropped(past.begin(), past.end());
    for (auto& [key, entry] : pending) {
      if (entry.count <= 0 || dropped.count(key) != 0) {
        writes.push_back({state_key(key), std::nullopt});
        continue;
      }
      std::string value;
      append_be64(value, static_cast<uint64_t>(entry.count));
      value += serialize_row(entry.row);
      writes.push_back({state_key(key), std::move(value)});
    }
    for (const auto& key : past)
      if (pending.count(key) == 0) writes.push_back({state_key(key), std::nullopt});
    if (report) {
      // Rows that entered or left the window (or changed their count in it).
      for (auto& [key, seen] : after) {
        auto was = before.find(key);
        const int64_t had = was == before.end() ? 0 : was->second.second;
        report_change(seen.first, had, seen.second);
        if (was != before.end()) before.erase(was);
      }
      for (auto& [key, seen] : before)
        report_change(seen.first, seen.second, 0);
    }
    return Unit{};
  }

 private:
  using Visible = std::map<std::string, std::pair<Row, int64_t>>;  // key -> row, copies shown

  std::string state_key(const std::string& key) const { return context_.prefix + "t" + key; }

  void report_change(const Row& row, int64_t before, int64_t after) {
    if (before == after) return;
    if (context_.emit_changes) context_.changes.emplace_back(row, after - before);
    output_row_change(context_, output_, row, before, after);
  }

  // The window's rows in key order, from the stored rows with `overlay`'s counts in place of
  // theirs; with `past`, goes on to the end and collects the keys wholly past the window.
  SqlStatus scan_window(const PendingRows::Map* overlay, Visible& out,
                        std::vector<std::string>* past) {
    const int64_t end = window_.offset + window_.limit;
    int64_t seen = 0;
    auto take = [&](const std::string& key, const Row& row, int64_t count) {
      if (count <= 0) return true;
      const int64_t from = std::max(seen, window_.offset), to = std::min(seen + count, end);
      if (to > from) out.emplace(key, std::make_pair(row, to - from));
      if (seen >= end && past != nullptr) past->push_back(key);
      seen += count;
      return seen < end || past != nullptr;
    };
    return merge_counted_rows(*context_.store, context_.prefix + "t", overlay, plan_.columns.size(),
                              take);
  }

  const sql::Plan& plan_;
  OperatorContext& context_;
  sql::TableDef output_;
  TopWindow window_;
  PendingRows pending_;  // by sort key and row
};

namespace {

// The sink of a Top-N view: each row (with its ORDER BY keys among the hidden outputs) goes to
// the view's TopRows under its sort key.
class TopNSink final : public Operator {
 public:
  TopNSink(const sql::Plan& plan, OperatorContext& context, TopWindow window)
      : plan_(plan), context_(context), window_(window) {
    if (context_.top == nullptr) context_.top = std::make_shared<TopRows>(plan, context, window);
    top_ = context_.top;
  }

  SqlStatus push(Batch& batch, const Progress&) override {
    const size_t visible = plan_.columns.size();
    for (uint32_t r : batch.selection) {
      Row row = row_at(batch, r, visible);
      // Rows that sort alike are told apart by their exact values.
      std::string key = sort_key(plan_, batch, r, context_.key_format);
      key += serialize_row(row);
      changes_.emplace_back(std::move(key), std::move(row), batch.weight(r));
    }
    top_->add(changes_);
    return Unit{};
  }
  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    return top_->checkpoint(writes);
  }
  std::optional<sql::ExplainNode> explain() const override {
    std::string keys;
    for (const auto& k : plan_.order)
      keys +=
          (keys.empty() ? "" : ", ") + sql::expr_text(plan_.outputs[k.column]) +
          (k.descending ? " DESC" : "") +
          (k.nulls_first != k.descending ? (k.nulls_first ? " NULLS FIRST" : " NULLS LAST") : "");
    sql::ExplainNode node{"Top-N", {"Sort Key: " + keys}, {}};
    node.details.push_back("Window: " + std::to_string(window_.limit) + " rows" +
                           (window_.offset > 0
                                ? " after the first " + std::to_string(window_.offset)
                                : std::string()));
    node.details.push_back(
        context_.retracting
            ? std::string("State: every row, one RocksDB entry per distinct row in ORDER BY order "
                          "(a retracted row of the window is replaced by the next)")
            : std::string("State: the window's rows, one RocksDB entry per distinct row in ORDER "
                          "BY order (rows past it are deleted at each checkpoint)"));
    if (context_.emit_output)
      node.details.push_back("Output Topic: " + context_.output_topic +
                             " (compacted; keyed by the whole row: an upsert when a row enters "
                             "the window, a tombstone when it leaves)");
    return node;
  }

 private:
  const sql::Plan& plan_;
  OperatorContext& context_;
  TopWindow window_;
  std::shared_ptr<TopRows> top_;
  KeyedChanges changes_;  // reused
};

}  // namespace

// Orders values as SQL compares them, so equal values (1.0 and 1.00) are one key.
struct ValueLess {
  bool operator()(const Value& a, const Value& b) const { return sql::compare_values(a, b) < 0; }
};

// One aggregate's state over retracting input. The aggregates that subtract exactly (count(*),
// count, sum and avg of integers, without DISTINCT) keep a count and a sum; the others keep
// every non-null input value with its multiplicity, so min and max find the next value when
// theirs is retracted, DISTINCT sees which values are still present, and float, numeric and
// interval sums are summed again from the values when the result is asked for.
struct RetractableAggregate {
  int64_t count = 0;
  __int128 int_sum = 0;
  std::map<Value, int64_t, ValueLess> values;
};

// One group's key values and aggregate states (outside the anonymous namespace because
// GroupTable, declared in the header, keeps them).
struct GroupState {
  Row keys;
  std::vector<sql::Accumulator> accs;  // over append-only input
  // Over retracting input: the group's rows (it disappears at zero) and per aggregate.
  int64_t rows = 0;
  std::vector<RetractableAggregate> retractable;
};

namespace {

std::vector<sql::Accumulator> fresh_accumulators(const sql::Plan& plan) {
  std::vector<sql::Accumulator> out;
  for (const auto& spec : plan.aggs)
    out.emplace_back(spec);
  return out;
}

GroupState fresh_group(const sql::Plan& plan, Row keys, bool retracting) {
  GroupState g{std::move(keys), {}, 0, {}};
  if (retracting)
    g.retractable.resize(plan.aggs.size());
  else
    g.accs = fresh_accumulators(plan);
  return g;
}

bool read_be64_from(std::string_view& in, uint64_t& out) {
  if (in.size() < 8) return false;
  out = read_be64(in);
  in.remove_prefix(8);
  return true;
}

bool read_be32_from(std::string_view& in, uint32_t& out) {
  if (in.size() < 4) return false;
  out = read_be32(in);
  in.remove_prefix(4);
  return true;
}

// The key count and key values, then per aggregate its Accumulator state (append-only input)
// or, over retracting input, the group's row count and per aggregate count, integer sum (high
// and low 64 bits) and value multiset (size, then each value's count and the value).
std::string serialize_group(const GroupState& g, bool retracting) {
  std::string out;
  out.push_back(static_cast<char>(g.keys.size()));
  for (const auto& k : g.keys)
    sql::append_value(out, k);
  if (!retracting) {
    for (const auto& a : g.accs)
      a.serialize(out);
    return out;
  }
  append_be64(out, static_cast<uint64_t>(g.rows));
  for (const auto& a : g.retractable) {
    append_be64(out, static_cast<uint64_t>(a.count));
    append_be64(out, static_cast<uint64_t>(static_cast<unsigned __int128>(a.int_sum) >> 64));
    append_be64(out, static_cast<uint64_t>(a.int_sum));
    append_be32(out, static_cast<uint32_t>(a.values.size()));
    for (const auto& [value, count] : a.values) {
      append_be64(out, static_cast<uint64_t>(count));
      sql::append_value(out, value);
    }
  }
  return out;
}

bool deserialize_group(std::string_view in, const sql::Plan& plan, bool retracting, GroupState& g) {
  if (in.empty() || static_cast<size_t>(in[0]) != plan.group_keys.size()) return false;
  in.remove_prefix(1);
  Row keys(plan.group_keys.size());
  for (auto& k : keys)
    if (!sql::read_value(in, k)) return false;
  g = fresh_group(plan, std::move(keys), retracting);
  if (!retracting) {
    for (auto& a : g.accs)
      if (!a.deserialize(in)) return false;
    return in.empty();
  }
  uint64_t rows = 0;
  if (!read_be64_from(in, rows)) return false;
  g.rows = static_cast<int64_t>(rows);
  for (auto& a : g.retractable) {
    uint64_t count = 0, high = 0, low = 0;
    uint32_t values = 0;
    if (!read_be64_from(in, count) || !read_be64_from(in, high) || !read_be64_from(in, low) ||
        !read_be32_from(in, values))
      return false;
    a.count = static_cast<int64_t>(count);
    a.int_sum = static_cast<__int128>((static_cast<unsigned __int128>(high) << 64) | low);
    for (uint32_t i = 0; i < values; ++i) {
      uint64_t n = 0;
      Value v;
      if (!read_be64_from(in, n) || !sql::read_value(in, v)) return false;
      a.values.emplace_hint(a.values.end(), std::move(v), static_cast<int64_t>(n));
    }
  }
  return in.empty();
}

// Adds `weight` copies of `value` to a multiset (a count that reaches zero leaves it).
// Returns whether the value is new to it.
bool add_to_multiset(std::map<Value, int64_t, ValueLess>& values, const Value& value,
                     int64_t weight) {
  auto [it, inserted] = values.try_emplace(value, 0);
  it->second += weight;
  if (it->second == 0) values.erase(it);
  return inserted;
}

// The aggregate's value over what a retractable state holds, computed by the same Accumulator
// the bounded executor uses.
SqlResult<Value> finish_retractable(const sql::AggSpec& spec, const RetractableAggregate& a) {
  sql::Accumulator acc(spec);
  if (sql::Accumulator::is_count_and_sum(spec)) {
    acc.set_totals(a.count, a.int_sum);
    return acc.finish();
  }
  auto present = [](const auto& entry) { return entry.second > 0; };
  switch (spec.kind) {
    case sql::AggKind::kMin: {
      auto it = std::find_if(a.values.begin(), a.values.end(), present);
      if (it != a.values.end()) SQL_CHECK(acc.add(it->first));
      break;
    }
    case sql::AggKind::kMax: {
      auto it = std::find_if(a.values.rbegin(), a.values.rend(), present);
      if (it != a.values.rend()) SQL_CHECK(acc.add(it->first));
      break;
    }
    default: {
      // DISTINCT and bool_and/bool_or see each value once; sums see every copy.
      const bool once = spec.distinct || spec.kind == sql::AggKind::kBoolAnd ||
                        spec.kind == sql::AggKind::kBoolOr;
      for (const auto& [value, count] : a.values)
        for (int64_t i = 0; i < (once ? std::min<int64_t>(count, 1) : count); ++i)
          SQL_CHECK(acc.add(value));
    }
  }
  return acc.finish();
}

// A group's visible row; nullopt when HAVING rejects it.
SqlResult<std::optional<Row>> group_row(const sql::Plan& select, const GroupState& g) {
  static const std::vector<Value> kNoParams;
  Row aggs;
  for (const auto& acc : g.accs) {
    SQL_ASSIGN(Value v, acc.finish());
    aggs.push_back(std::move(v));
  }
  for (size_t i = 0; i < g.retractable.size(); ++i) {
    SQL_ASSIGN(Value v, finish_retractable(select.aggs[i], g.retractable[i]));
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
        bool existed = true;  // a cached group was stored at the last checkpoint or is dirty
        if (found == target.cache.end()) {
          GroupState state = fresh_group(plan_, partial.keys, context_.retracting);
          auto stored = context_.store->get(context_.prefix + "s" + key);
          if (!stored.ok())
            return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
          if (*stored && !deserialize_group(**stored, plan_, context_.retracting, state))
            return sql::sql_error(sql::sqlstate::kInternalError, "corrupt aggregate state");
          existed = stored->has_value();
          target.cache_bytes += key.size() * 2 + 128 * (1 + plan_.aggs.size());
          for (const auto& a : state.retractable)
            target.cache_bytes += a.values.size() * kValueEntryBytes;
          found = target.cache.emplace(key, std::move(state)).first;
        }
        GroupState& group = found->second;
        // Readers of the view are sent the change of its row: remember the row as it was.
        if (context_.emit_changes && target.dirty.count(key) == 0)
          target.before.emplace(key, visible_row(group, existed));
        for (size_t i = 0; i < partial.accs.size(); ++i)
          SQL_CHECK(group.accs[i].merge(partial.accs[i]));
        group.rows += partial.rows;
        for (size_t i = 0; i < partial.retractable.size(); ++i) {
          RetractableAggregate& into = group.retractable[i];
          const RetractableAggregate& from = partial.retractable[i];
          into.count += from.count;
          into.int_sum += from.int_sum;
          for (const auto& [value, count] : from.values)
            if (add_to_multiset(into.values, value, count))
              target.cache_bytes += kValueEntryBytes + value.s.size();
        }
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

  // For each output-topic key (a group key's JSON) in `keys`, the group's current upsert, or a
  // tombstone when the group is not there (or HAVING rejects it), into the context's outputs.
  // One scan of the stored groups (only after a crash left records past the last checkpoint).
  SqlStatus repair_outputs(const std::set<std::string>& keys) {
    std::set<std::string> missing = keys;
    std::optional<sql::SqlError> failure;
    const std::string prefix = context_.prefix + "s";
    Status scanned = context_.store->scan(prefix, [&](std::string_view, std::string_view value) {
      GroupState g;
      if (!deserialize_group(value, plan_, context_.retracting, g)) {
        failure = sql::sql_error(sql::sqlstate::kInternalError, "corrupt aggregate state");
        return false;
      }
      std::string key = sql::encode_json_row(key_, g.keys);
      auto it = missing.find(key);
      if (it == missing.end()) return true;
      missing.erase(it);
      auto row = group_row(plan_, g);
      if (!row.ok()) {  // as checkpoint() does: the row is skipped, the topic keeps what it has
        skip_row(context_, row.error().message);
        return true;
      }
      std::optional<std::string> upsert;
      if (*row) upsert = sql::encode_json_row(output_, **row);
      context_.outputs.push_back({std::move(key), std::move(upsert)});
      return true;
    });
    if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
    if (failure) return *failure;
    for (const auto& key : missing)
      context_.outputs.push_back({key, std::nullopt});
    return Unit{};
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
      if (context_.emit_changes) {
        auto before = shard->before.find(*key);
        add_change(before == shard->before.end() ? std::nullopt : std::move(before->second),
                   visible_row(g, true));
      }
      // Over retracting input a group whose rows are all retracted is gone (the one group of
      // an aggregate without GROUP BY stays: it has a row even over no input).
      if (context_.retracting && !plan_.group_keys.empty() && g.rows <= 0) {
        writes.push_back({context_.prefix + "s" + *key, std::nullopt});
        if (context_.emit_output)
          context_.outputs.push_back({sql::encode_json_row(key_, g.keys), std::nullopt});
        shard->cache.erase(*key);
        continue;
      }
      writes.push_back({context_.prefix + "s" + *key, serialize_group(g, context_.retracting)});
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
      shard.before.clear();
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
    // With emit_changes: each dirty group's visible row as of the last checkpoint.
    std::unordered_map<std::string, std::optional<Row>> before;
    size_t cache_bytes = 0;
  };

  // The row a reader of the view sees for a group, if any: none for a group that is not there
  // (never stored, or all its rows retracted; the group of an aggregate without GROUP BY is
  // always there) or that HAVING rejects.
  std::optional<Row> visible_row(const GroupState& g, bool existed) {
    const bool keyed = !plan_.group_keys.empty();
    if (keyed && (!existed || (context_.retracting && g.rows <= 0))) return std::nullopt;
    auto row = group_row(plan_, g);
    if (!row.ok()) {
      skip_row(context_, row.error().message);
      return std::nullopt;
    }
    return std::move(*row);
  }

  void add_change(std::optional<Row> before, std::optional<Row> after) {
    if (before && after && serialize_row(*before) == serialize_row(*after)) return;
    if (before) context_.changes.emplace_back(std::move(*before), -1);
    if (after) context_.changes.emplace_back(std::move(*after), 1);
  }
  // What a value in a retractable aggregate's multiset costs the cache, besides its text.
  static constexpr size_t kValueEntryBytes = 96;
  const sql::Plan& plan_;
  OperatorContext& context_;
  sql::TableDef output_;
  sql::TableDef key_;
  std::array<Shard, kGroupShards> shards_;
};

sql::SqlStatus repair_group_outputs(OperatorContext& context, const std::set<std::string>& keys) {
  if (context.groups == nullptr) return Unit{};
  return context.groups->repair_outputs(keys);
}

namespace {

// GROUP BY keys + aggregates over one partition's batches (with their weights over retracting
// input); the merged state is the view's GroupTable.
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
    if (context_.retracting)
      node.details.push_back(
          "Retractions: each group counts its rows and goes at zero; count and integer sum/avg "
          "subtract, the other aggregates keep their input values with counts");
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
      if (inserted) it->second = fresh_group(plan_, keys, context_.retracting);
      if (context_.retracting) {
        retract_or_add(it->second, args, batch.weight(batch.selection[k]));
        continue;
      }
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

  // One row's weight into a group's retractable state (its aggregates' inputs in `args`).
  void retract_or_add(GroupState& group, const Row& args, int64_t weight) {
    group.rows += weight;
    for (size_t i = 0; i < args.size(); ++i) {
      const sql::AggSpec& spec = plan_.aggs[i];
      RetractableAggregate& state = group.retractable[i];
      if (spec.kind == sql::AggKind::kCountStar) {
        state.count += weight;
        continue;
      }
      if (args[i].null) continue;
      if (sql::Accumulator::is_count_and_sum(spec)) {
        state.count += weight;
        if (spec.kind != sql::AggKind::kCount)
          state.int_sum += static_cast<__int128>(args[i].i) * weight;
        continue;
      }
      add_to_multiset(state.values, args[i], weight);
    }
  }

  const sql::Plan& plan_;
  OperatorContext& context_;
  std::shared_ptr<GroupTable> groups_;
  std::vector<ShardedPartials> partials_;  // per lane, reused
};

}  // namespace

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

LatestRows::LatestRows(const sql::TableDef& table, std::string state_prefix,
                       OperatorContext& context)
    : table_(table), context_(context), prefix_(std::move(state_prefix)) {}

SqlStatus LatestRows::apply(const Row& key, std::optional<Row> row) {
  std::lock_guard lock(mu_);
  std::string k = sql::encode_key(key, context_.key_format);
  cache_bytes_ += k.size() + 64 + (row ? row->size() * 32 : 0);
  cache_[k] = std::move(row);
  dirty_.insert(std::move(k));
  return Unit{};
}

SqlResult<std::optional<Row>> LatestRows::replace(const Row& key, std::optional<Row> row) {
  std::lock_guard lock(mu_);
  std::string k = sql::encode_key(key, context_.key_format);
  SQL_ASSIGN(std::optional<Row> previous, lookup_locked(k));
  cache_bytes_ += row ? row->size() * 32 : 0;
  cache_[k] = std::move(row);
  dirty_.insert(std::move(k));
  return previous;
}

SqlResult<std::optional<Row>> LatestRows::lookup(const std::string& k) {
  std::lock_guard lock(mu_);
  return lookup_locked(k);
}

SqlResult<std::optional<Row>> LatestRows::lookup_locked(const std::string& k) {
  auto found = cache_.find(k);
  if (found != cache_.end()) return found->second;
  auto stored = context_.store->get(prefix_ + k);
  if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
  std::optional<Row> row;
  if (*stored) {
    Row values(sql::input_width(table_));
    std::string_view in = **stored;
    for (auto& v : values)
      if (!sql::read_value(in, v))
        return sql::sql_error(sql::sqlstate::kInternalError,
                              "corrupt state of table \"" + table_.name + "\"");
    row = std::move(values);
  }
  cache_bytes_ += k.size() + 64 + (row ? row->size() * 32 : 0);
  cache_.emplace(k, row);
  return row;
}

SqlStatus LatestRows::checkpoint(std::vector<StateWrite>& writes) {
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
    if (table == nullptr) {
      std::string prefix = context_.prefix + "j";
      append_be32(prefix, tag);
      table = std::make_shared<LatestRows>(join_.table, std::move(prefix), context_);
    }
    table_ = table;
  }

  LatestRows* table() const { return table_.get(); }

  SqlStatus push(Batch& batch, const Progress& progress) override {
    Batch& out = out_;
    out.partition = batch.partition;
    out.arm = batch.arm;
    out.input = batch.input;
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
  std::shared_ptr<LatestRows> table_;
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
  if (select.table && select.table->subquery) return {select.table->subquery.get()};
  if (select.union_arms.empty()) return {&select};
  std::vector<const sql::Plan*> out;
  for (const auto& arm : select.union_arms)
    out.push_back(arm.get());
  return out;
}

bool plan_retracts(const sql::Plan& select) {
  for (const sql::Plan* arm : plan_arms(select)) {
    if (arm->table && (arm->table->has_primary_key() || arm->table->is_view)) return true;
    for (size_t j = 0; j < arm->joins.size(); ++j)
      if (join_retracts(*arm, j)) return true;
  }
  return false;
}

SqlResult<std::optional<TopWindow>> top_window(const sql::Plan& select) {
  if (select.order.empty() || !select.limit || select.grouped || !select.union_arms.empty())
    return std::optional<TopWindow>();
  static const std::vector<Value> kNoParams;
  auto constant = [&](const sql::Expr& e, const char* what) -> SqlResult<int64_t> {
    auto v = sql::eval(e, sql::EvalContext{.params = &kNoParams});
    if (!v.ok() || v->null || !sql::is_integer(v->type))
      return sql::sql_error(
          sql::sqlstate::kFeatureNotSupported,
          std::string(what) + " of a materialized view must be a constant integer", e.location);
    if (v->i < 0)
      return sql::sql_error("2201W", std::string(what) + " must not be negative", e.location);
    return v->i;
  };
  TopWindow window;
  SQL_ASSIGN(window.limit, constant(*select.limit, "LIMIT"));
  if (select.offset) {
    SQL_ASSIGN(window.offset, constant(*select.offset, "OFFSET"));
  }
  return std::optional<TopWindow>(window);
}

bool outputs_keyed_by_row(const sql::Plan& select) {
  if (is_intersect_or_except(select)) return true;
  if (auto grouped = per_group_top(select); grouped.ok() && *grouped) return true;
  auto top = top_window(select);
  return keeps_row_counts(select) || (top.ok() && top->has_value());
}

bool keeps_row_counts(const sql::Plan& select) {
  if (select.grouped || (select.table && select.table->subquery) || is_intersect_or_except(select))
    return false;
  return plan_retracts(select) || (!select.union_arms.empty() && select.union_distinct);
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
    if (select.set_op != sql::Plan::SetOp::kUnion && select.union_arms.size() != 2)
      return unsupported("INTERSECT/EXCEPT of more than two inputs");
    if (!select.order.empty()) return unsupported("ORDER BY (order when you query the view)");
    if (select.limit || select.offset) return unsupported("LIMIT/OFFSET");
    for (const sql::Plan* arm : plan_arms(select)) {
      if (!arm->union_arms.empty() || !arm->table)
        return unsupported(
            "a set operation inside another (UNION of a UNION with a different ALL, chains of "
            "INTERSECT or EXCEPT: put the inner one in a view of its own)");
      if (arm->grouped)
        return unsupported("an aggregate inside UNION ALL (aggregate in a view of its own)");
      if (!arm->distinct_on.empty() || arm->table->subquery)
        return unsupported(
            "DISTINCT ON or a subquery in FROM inside a set operation (put that arm in a view of "
            "its own)");
      SQL_CHECK(validate_plan(*arm));
    }
    return Unit{};
  }
  SQL_ASSIGN(const std::optional<PerGroupTop> per_group, per_group_top(select));
  // Top-N per group: the derived table's SELECT is lowered as the view's arm (DISTINCT ON: the
  // view's own SELECT, checked below without its ORDER BY, which picks the row per key).
  if (per_group && !per_group->distinct_on) {
    sql::Plan ranked = *per_group->inner;  // its row_number() is the sink's
    ranked.windows.clear();
    return validate_plan(ranked);
  }
  if (!select.windows.empty())
    return unsupported(
        "window functions (other than row_number() for Top-N per group: SELECT ... FROM (SELECT "
        "..., row_number() OVER (...) AS rn FROM t) s WHERE rn <= N)");
  for (const auto& join : select.joins)
    if (join.table.subquery) return unsupported("a subquery in FROM or a WITH query");
  if (!select.table) return unsupported("a view without a source table");
  if (select.grouped && select.limit && !select.order.empty())
    return unsupported(
        "ORDER BY ... LIMIT over GROUP BY (aggregate in a view of its own, and keep its top rows "
        "in a view over that one)");
  if (!select.order.empty() && !select.limit && !per_group)
    return unsupported("ORDER BY without LIMIT (order when you query the view)");
  if (select.limit && select.order.empty())
    return unsupported("LIMIT without ORDER BY (which rows it keeps would be arbitrary)");
  if (select.offset && !select.limit) return unsupported("OFFSET without LIMIT");
  if (select.distinct) return unsupported("SELECT DISTINCT over aggregates");
  SQL_CHECK(top_window(select));
  if (plan_retracts(select))
    for (const auto& agg : select.aggs)
      if (agg.kind == sql::AggKind::kStringAgg)
        return unsupported(
            "string_agg over rows that can be retracted (a table with a primary key, a "
            "materialized view, an outer join or a join of changing inputs; its order is arrival "
            "order, which a retracted row cannot be taken out of)");
  for (const auto& join : select.joins)
    if (join.left_keys.empty())
      return sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                            "a join in a materialized view needs an equality between its sides "
                            "(ON a.x = b.y or USING); the join with \"" +
                                join.table.name + "\" has none");
  return Unit{};
}

namespace {

void conjuncts_of(const sql::Expr& e, std::vector<const sql::Expr*>& out) {
  if (e.kind == sql::ExprKind::kAnd) {
    for (const auto& a : e.args)
      conjuncts_of(a, out);
    return;
  }
  out.push_back(&e);
}

std::optional<sql::Expr> conjunction(std::vector<sql::Expr> parts) {
  if (parts.empty()) return std::nullopt;
  if (parts.size() == 1) return std::move(parts.front());
  sql::Expr all;
  all.kind = sql::ExprKind::kAnd;
  all.type = sql::Type::kBool;
  all.args = std::move(parts);
  return all;
}

// `e` with its column indexes moved down by `by` (for the rows of one input alone).
sql::Expr shift_columns(sql::Expr e, size_t by) {
  if (e.kind == sql::ExprKind::kColumn) e.index -= static_cast<int>(by);
  for (auto& a : e.args)
    a = shift_columns(std::move(a), by);
  return e;
}

// The WHERE of an arm with joins, split so that its conjuncts run as early as they may: those
// that read only the stream run before the joins (unless a RIGHT or FULL join pads the stream's
// columns with NULLs, which the conjunct would then have to see), those that read only the
// relation of hash join j run on that relation's changes before they reach the join (unless
// the join or a later one can pad them), and the rest after the joins.
struct SplitWhere {
  std::optional<sql::Expr> stream;
  std::vector<std::optional<sql::Expr>> relations;  // per join, columns renumbered from 0
  std::optional<sql::Expr> rest;
};

SplitWhere split_where(const sql::Plan& arm) {
  SplitWhere out;
  out.relations.resize(arm.joins.size());
  if (!arm.where) return out;
  std::vector<const sql::Expr*> parts;
  conjuncts_of(*arm.where, parts);
  std::vector<sql::Expr> stream, rest;
  std::vector<std::vector<sql::Expr>> relations(arm.joins.size());
  const size_t stream_width = sql::input_width(*arm.table);
  for (const sql::Expr* part : parts) {
    std::set<size_t> columns;
    collect_columns(*part, columns);
    // The input every column read belongs to (0 the stream, j + 1 join j), if only one.
    std::optional<size_t> input;
    bool several = false;
    for (size_t c : columns) {
      size_t i = 0;
      if (c >= stream_width)
        for (size_t j = 0; j < arm.joins.size(); ++j)
          if (c >= arm.joins[j].base) i = j + 1;
      if (input && *input != i) several = true;
      input = i;
    }
    auto padded_later = [&](size_t from) {
      for (size_t k = from; k < arm.joins.size(); ++k)
        if (arm.joins[k].right_outer) return true;
      return false;
    };
    if (!input || several || sql::has_subquery(*part)) {
      rest.push_back(*part);
    } else if (*input == 0 && !padded_later(0)) {
      stream.push_back(*part);
    } else if (*input > 0 && !is_lookup_join(arm, *input - 1) &&
               !arm.joins[*input - 1].left_outer && !padded_later(*input)) {
      relations[*input - 1].push_back(shift_columns(*part, arm.joins[*input - 1].base));
    } else {
      rest.push_back(*part);
    }
  }
  out.stream = conjunction(std::move(stream));
  for (size_t j = 0; j < relations.size(); ++j)
    out.relations[j] = conjunction(std::move(relations[j]));
  out.rest = conjunction(std::move(rest));
  return out;
}

}  // namespace

Pipeline build_pipeline(const sql::Plan& select, OperatorContext& context) {
  Pipeline p;
  Operator* sink = nullptr;
  auto per_group = per_group_top(select);
  if (per_group.ok() && *per_group) {
    p.operators.push_back(make_per_group_top_sink(select, **per_group, context));
  } else if (is_intersect_or_except(select)) {
    p.operators.push_back(make_set_op_sink(select, context));
  } else if (select.grouped) {
    p.operators.push_back(std::make_unique<KeyedAggregate>(select, context));
  } else if (auto window = top_window(select); window.ok() && *window) {
    p.operators.push_back(std::make_unique<TopNSink>(select, context, **window));
  } else if (keeps_row_counts(select)) {
    p.operators.push_back(std::make_unique<RowMultisetSink>(select, context));
  } else {
    p.operators.push_back(std::make_unique<RowSink>(select, context));
  }
  sink = p.operators.back().get();
  p.sink = sink;
  const auto arms = plan_arms(select);
  for (size_t a = 0; a < arms.size(); ++a) {
    const sql::Plan& arm = *arms[a];
    std::vector<Operator*> chain;
    auto own = [&](std::unique_ptr<Operator> op) {
      Operator* raw = op.get();
      p.operators.push_back(std::move(op));
      return raw;
    };
    auto add = [&](std::unique_ptr<Operator> op) { chain.push_back(own(std::move(op))); };
    SplitWhere where = split_where(arm);
    if (arm.joins.empty()) where.stream = arm.where;
    if (where.stream)
      add(std::make_unique<Filter>(*where.stream, context));
    else
      add(std::make_unique<Pass>());
    p.tables.emplace_back();
    p.inputs.emplace_back();
    for (size_t j = 0; j < arm.joins.size(); ++j) {
      if (is_lookup_join(arm, j)) {
        auto join = std::make_unique<StreamTableJoin>(arm, j, static_cast<uint32_t>(a), context);
        p.tables.back().push_back(join->table());
        p.inputs.back().push_back(nullptr);
        add(std::move(join));
        continue;
      }
      Operator* right = nullptr;
      add(make_hash_join(arm, j, static_cast<uint32_t>(a), context, &right));
      p.tables.back().push_back(nullptr);
      if (where.relations[j]) {
        // The relation's own conjuncts of the WHERE, on its changes before the join.
        Operator* filter = own(std::make_unique<Filter>(*where.relations[j], context));
        filter->set_next(right);
        right = filter;
      }
      p.inputs.back().push_back(right);
    }
    if (where.rest) add(std::make_unique<Filter>(*where.rest, context));
    // The Top-N per group sink evaluates the derived table's outputs itself.
    const bool ranked = per_group.ok() && *per_group && !(*per_group)->distinct_on;
    const bool distinct_on = per_group.ok() && *per_group && (*per_group)->distinct_on;
    if (!select.grouped && !ranked)
      add(std::make_unique<Project>(arm, context, !select.order.empty() || distinct_on));
    p.chains.push_back(chain);
    chain.push_back(sink);
    for (size_t i = 0; i + 1 < chain.size(); ++i)
      chain[i]->set_next(chain[i + 1]);
    p.heads.push_back(chain.front());
  }
  return p;
}

std::vector<bool> columns_read(const sql::Plan& select) {
  std::set<size_t> used;
  if (select.where) collect_columns(*select.where, used);
  for (const auto& e : select.outputs)
    collect_columns(e, used);
  for (const auto& e : select.group_keys)
    collect_columns(e, used);
  for (const auto& a : select.aggs)
    collect_columns(a.arg, used);
  for (const auto& w : select.windows)
    for (const auto* list : {&w.args, &w.partition, &w.order})
      for (const auto& e : *list)
        collect_columns(e, used);
  for (const auto& j : select.joins) {
    for (const auto* list : {&j.left_keys, &j.right_keys})
      for (const auto& e : *list)
        collect_columns(e, used);
    if (j.condition) collect_columns(*j.condition, used);
  }
  std::vector<bool> out(select.row_width(), false);
  for (size_t c : used)
    if (c < out.size()) out[c] = true;
  return out;
}

std::vector<bool> used_columns(const sql::Plan& select) {
  // Only the first input's columns: joined columns come from the joined tables' state.
  std::vector<bool> out = columns_read(select);
  out.resize(sql::input_width(*select.table));
  return out;
}

SqlResult<std::vector<Row>> read_contents(const sql::Plan& select, const StateStore& store,
                                          const std::string& prefix) {
  SQL_ASSIGN(const std::optional<PerGroupTop> per_group, per_group_top(select));
  if (per_group) return read_per_group_top(select, *per_group, store, prefix);
  if (is_intersect_or_except(select)) return read_set_op(select, store, prefix);
  std::vector<Row> rows;
  std::optional<sql::SqlError> failed;
  const size_t visible = select.columns.size();
  const bool retracting = plan_retracts(select);
  SQL_ASSIGN(const std::optional<TopWindow> window, top_window(select));
  if (window) {
    // 't': in ORDER BY order, a row's count then the row; the window of them.
    int64_t seen = 0;
    const int64_t end = window->offset + window->limit;
    Status scanned = store.scan(prefix + "t", [&](std::string_view, std::string_view value) {
      int64_t count = 0;
      Row row;
      if (!read_counted_row(value, visible, count, row)) {
        failed = sql::sql_error(sql::sqlstate::kInternalError, "corrupt Top-N state");
        return false;
      }
      for (int64_t i = 0; i < count && seen < end; ++i, ++seen)
        if (seen >= window->offset) rows.push_back(row);
      return seen < end;
    });
    if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
    if (failed) return *failed;
    return rows;
  }
  if (keeps_row_counts(select)) {
    // 'u': a row's count, then the row; UNION without ALL shows each row once.
    const bool once = !select.union_arms.empty() && select.union_distinct;
    Status scanned = store.scan(prefix + "u", [&](std::string_view, std::string_view value) {
      int64_t count = 0;
      Row row;
      if (!read_counted_row(value, visible, count, row)) {
        failed = sql::sql_error(sql::sqlstate::kInternalError, "corrupt view row");
        return false;
      }
      for (int64_t i = 1; i < count && !once; ++i)
        rows.push_back(row);
      rows.push_back(std::move(row));
      return true;
    });
    if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
    if (failed) return *failed;
    return rows;
  }
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
    if (!deserialize_group(value, select, retracting, g)) {
      failed = sql::sql_error(sql::sqlstate::kInternalError, "corrupt aggregate state");
      return false;
    }
    if (retracting && !select.group_keys.empty() && g.rows <= 0) return true;
    auto done = emit(g);
    if (!done.ok()) failed = done.error();
    return done.ok();
  });
  if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
  if (failed) return *failed;
  if (groups == 0 && select.group_keys.empty()) {
    // An aggregate without GROUP BY has one row even over no input.
    SQL_CHECK(emit(fresh_group(select, {}, retracting)));
  }
  return rows;
}

}  // namespace eddy::stream

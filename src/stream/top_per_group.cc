#include "stream/top_per_group.h"

#include <map>
#include <set>
#include <utility>

#include "sql/binder.h"
#include "sql/key_codec.h"
#include "stream/rows.h"

namespace eddy::stream {

using sql::Row;
using sql::SqlResult;
using sql::SqlStatus;
using sql::Unit;
using sql::Value;

namespace {

sql::SqlError unsupported(const std::string& what) {
  return sql::sql_error(sql::sqlstate::kFeatureNotSupported,
                        what + " is not supported in a materialized view yet");
}

bool refers_to_window(const sql::Expr& e) {
  if (e.kind == sql::ExprKind::kWindowRef) return true;
  for (const auto& a : e.args)
    if (refers_to_window(a)) return true;
  return false;
}

const sql::Expr& uncast(const sql::Expr& e) {
  return e.kind == sql::ExprKind::kCast && e.args.size() == 1 ? uncast(e.args[0]) : e;
}

// `rn <= c`, `rn < c`, `rn = 1` (or the constant first): how many rows per partition it keeps.
std::optional<int64_t> rank_limit(const sql::Expr& where, size_t rank_column) {
  if (where.kind != sql::ExprKind::kCall || where.args.size() != 2) return std::nullopt;
  std::string op = where.name;
  const sql::Expr* column = &uncast(where.args[0]);
  const sql::Expr* bound = &uncast(where.args[1]);
  if (column->kind == sql::ExprKind::kConst) {
    std::swap(column, bound);
    op = op == "<=" ? ">=" : op == ">=" ? "<=" : op == "<" ? ">" : op == ">" ? "<" : op;
  }
  if (column->kind != sql::ExprKind::kColumn || static_cast<size_t>(column->index) != rank_column ||
      bound->kind != sql::ExprKind::kConst || bound->value.null ||
      !sql::is_integer(bound->value.type))
    return std::nullopt;
  const int64_t c = bound->value.i;
  if (op == "<=") return std::max<int64_t>(c, 0);
  if (op == "<") return std::max<int64_t>(c - 1, 0);
  if (op == "=" && c == 1) return 1;
  return std::nullopt;
}

// The view's rows for the first `limit` inner rows of one partition (in order, with counts):
// each copy gets its row number, then the outer SELECT's outputs.
SqlStatus visible_rows(const sql::Plan& select, const PerGroupTop& top,
                       const std::vector<std::pair<Row, int64_t>>& head, std::vector<Row>& out) {
  if (top.distinct_on) {  // the first row per key, as it is
    for (const auto& [row, count] : head)
      if (count > 0) out.push_back(row);
    return Unit{};
  }
  static const std::vector<Value> kNoParams;
  Row input(sql::input_width(*select.table));
  for (size_t c = top.inner->columns.size(); c < input.size(); ++c)
    input[c] = Value::null_of(sql::kMetadataTypes[c - top.inner->columns.size()]);
  int64_t rank = 0;
  for (const auto& [row, count] : head)
    for (int64_t i = 0; i < count && rank < top.limit; ++i) {
      ++rank;
      for (size_t c = 0; c < row.size(); ++c)
        input[c] = row[c];
      input[top.rank_column] = Value::integer(sql::Type::kInt8, rank);
      const sql::EvalContext ctx{.row = &input, .params = &kNoParams};
      Row visible;
      for (size_t c = 0; c < select.columns.size(); ++c) {
        SQL_ASSIGN(Value v, sql::eval(select.outputs[c], ctx));
        visible.push_back(std::move(v));
      }
      out.push_back(std::move(visible));
    }
  return Unit{};
}

}  // namespace

SqlResult<std::optional<PerGroupTop>> per_group_top(const sql::Plan& select) {
  if (!select.distinct_on.empty() && select.union_arms.empty()) {
    if (select.grouped)
      return unsupported("DISTINCT ON over GROUP BY (aggregate in a view of its own)");
    if (select.limit || select.offset) return unsupported("LIMIT/OFFSET with DISTINCT ON");
    PerGroupTop top;
    top.inner = &select;
    top.limit = 1;
    top.distinct_on = true;
    return std::optional<PerGroupTop>(top);
  }
  if (!select.table || !select.table->subquery) return std::optional<PerGroupTop>();
  const sql::Plan& inner = *select.table->subquery;
  const char* shape =
      "a subquery in FROM other than Top-N per group (SELECT ... FROM (SELECT ..., row_number() "
      "OVER (PARTITION BY ... ORDER BY ...) AS rn FROM t) s WHERE rn <= N)";
  if (!select.joins.empty() || select.grouped || !select.windows.empty() || !select.order.empty() ||
      select.limit || select.offset || select.distinct || !select.distinct_on.empty() ||
      !select.where || inner.kind != sql::Plan::Kind::kSelect || !inner.union_arms.empty() ||
      inner.grouped || inner.windows.size() != 1 || !inner.order.empty() || inner.limit ||
      inner.offset || !inner.table || inner.table->subquery || !inner.distinct_on.empty() ||
      inner.distinct)
    return unsupported(shape);
  const sql::WindowSpec& window = inner.windows[0];
  if (window.fn != sql::WindowSpec::Fn::kRowNumber)
    return unsupported("Top-N per group with " + window.name + "() (use row_number())");
  if (window.order.empty())
    return unsupported("row_number() without ORDER BY (which rows it keeps would be arbitrary)");
  PerGroupTop top;
  top.inner = &inner;
  std::optional<size_t> rank;
  for (size_t c = 0; c < inner.outputs.size(); ++c) {
    const sql::Expr& e = inner.outputs[c];
    if (e.kind == sql::ExprKind::kWindowRef && c < inner.columns.size() && !rank) {
      rank = c;
      continue;
    }
    if (refers_to_window(e)) return unsupported(shape);
  }
  if (!rank) return unsupported(shape);
  top.rank_column = *rank;
  auto limit = rank_limit(*select.where, top.rank_column);
  if (!limit) return unsupported(shape);
  top.limit = *limit;
  return std::optional<PerGroupTop>(top);
}

// The inner rows of every partition in ORDER BY order ('n' partition sort key row -> count and
// row), shared by the pipelines of the view's partitions. Over append-only input the rows past
// the first N of a partition can never come back and are deleted at the checkpoint; over
// retracting input all are kept (the next moves up when one of the first N is retracted).
class PartitionTops {
 public:
  PartitionTops(const sql::Plan& select, PerGroupTop top, OperatorContext& context)
      : select_(select), top_(top), context_(context), output_(output_table(select)) {}

  // Keys are partition prefix (without the view's) + sort key + serialized row.
  void add(KeyedChanges& changes) { pending_.add(changes); }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    PendingRows::Map pending = pending_.take();
    // Per partition (its part of the key), the pending changes of its rows.
    std::map<std::string, PendingRows::Map> partitions;
    for (auto& [key, entry] : pending) {
      const size_t length = 4 + read_be32(key);
      partitions[key.substr(0, length)].emplace(key.substr(length), std::move(entry));
    }
    for (auto& [partition, changes] : partitions) {
      const std::string prefix = context_.prefix + "n" + partition;
      std::vector<std::pair<Row, int64_t>> before_head, after_head;
      SQL_CHECK(head(prefix, nullptr, before_head, nullptr));
      for (auto& [rest, entry] : changes) {
        auto stored = context_.store->get(prefix + rest);
        if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
        entry.count += *stored ? static_cast<int64_t>(read_be64(**stored)) : 0;
      }
      std::vector<std::string> past;
      SQL_CHECK(head(prefix, &changes, after_head, context_.retracting ? nullptr : &past));
      std::set<std::string> dropped(past.begin(), past.end());
      for (auto& [rest, entry] : changes) {
        if (entry.count <= 0 || dropped.count(rest) != 0) {
          writes.push_back({prefix + rest, std::nullopt});
          continue;
        }
        std::string value;
        append_be64(value, static_cast<uint64_t>(entry.count));
        value += serialize_row(entry.row);
        writes.push_back({prefix + rest, std::move(value)});
      }
      for (const auto& rest : past)
        if (changes.count(rest) == 0) writes.push_back({prefix + rest, std::nullopt});
      if (!context_.emit_changes && !context_.emit_output) continue;
      std::vector<Row> before, after;
      SQL_CHECK(visible_rows(select_, top_, before_head, before));
      SQL_CHECK(visible_rows(select_, top_, after_head, after));
      // The rows that differ, with their count change.
      std::map<std::string, std::pair<Row, std::pair<int64_t, int64_t>>> diff;
      for (auto& row : before) {
        auto& d = diff[serialize_row(row)];
        d.first = std::move(row);
        ++d.second.first;
      }
      for (auto& row : after) {
        auto& d = diff[serialize_row(row)];
        d.first = std::move(row);
        ++d.second.second;
      }
      for (const auto& [key, d] : diff) {
        const auto [had, has] = d.second;
        if (had == has) continue;
        if (context_.emit_changes) context_.changes.emplace_back(d.first, has - had);
        output_row_change(context_, output_, d.first, had, has);
      }
    }
    return Unit{};
  }

 private:
  // The first `limit` rows (counting copies) of the partition under `prefix`: the stored rows
  // with `overlay`'s counts in place of theirs (keys without the prefix); with `past`, goes on
  // to the end and collects the keys wholly past them.
  SqlStatus head(const std::string& prefix, const PendingRows::Map* overlay,
                 std::vector<std::pair<Row, int64_t>>& out, std::vector<std::string>* past) {
    int64_t seen = 0;
    auto take = [&](const std::string& key, const Row& row, int64_t count) {
      if (count <= 0) return true;
      if (seen >= top_.limit) {
        if (past != nullptr) past->push_back(key);
      } else {
        out.emplace_back(row, std::min(count, top_.limit - seen));
      }
      seen += count;
      return seen < top_.limit || past != nullptr;
    };
    return merge_counted_rows(*context_.store, prefix, overlay, top_.inner->columns.size(), take);
  }

  const sql::Plan& select_;
  PerGroupTop top_;
  OperatorContext& context_;
  sql::TableDef output_;
  PendingRows pending_;
};

namespace {

class PerGroupTopSink final : public Operator {
 public:
  PerGroupTopSink(const sql::Plan& select, PerGroupTop top, OperatorContext& context)
      : top_(top), context_(context), window_(top.distinct_on ? nullptr : &top.inner->windows[0]) {
    if (context_.per_group_top == nullptr)
      context_.per_group_top = std::make_shared<PartitionTops>(select, top, context);
    tops_ = context_.per_group_top;
  }

  SqlStatus push(Batch& batch, const Progress&) override {
    static const std::vector<Value> kNoParams;
    const size_t width = top_.inner->columns.size();
    for (uint32_t r : batch.selection) {
      if (top_.distinct_on) {  // the projected row, its hidden ORDER BY columns after it
        changes_.emplace_back(distinct_on_key(batch, r), row_at(batch, r, width), batch.weight(r));
        continue;
      }
      const sql::EvalContext ctx{.columns = &batch.columns, .position = r, .params = &kNoParams};
      auto key = keyed_row(ctx, width);
      if (!key.ok()) {
        skip_row(context_, key.error().message);
        continue;
      }
      changes_.emplace_back(std::move(key->first), std::move(key->second), batch.weight(r));
    }
    tops_->add(changes_);
    return Unit{};
  }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    return tops_->checkpoint(writes);
  }

  std::optional<sql::ExplainNode> explain() const override {
    std::string partition, order;
    const sql::Plan& plan = *top_.inner;
    if (top_.distinct_on) {
      for (size_t c : plan.distinct_on)
        partition += (partition.empty() ? "" : ", ") + sql::expr_text(plan.outputs[c], &plan);
      for (const auto& k : plan.order)
        order += (order.empty() ? "" : ", ") + sql::expr_text(plan.outputs[k.column], &plan) +
                 (k.descending ? " DESC" : "");
    } else {
      for (const auto& e : window_->partition)
        partition += (partition.empty() ? "" : ", ") + sql::expr_text(e, &plan);
      for (size_t i = 0; i < window_->order.size(); ++i)
        order += (order.empty() ? "" : ", ") + sql::expr_text(window_->order[i], &plan) +
                 (window_->order_keys[i].descending ? " DESC" : "");
    }
    sql::ExplainNode node{top_.distinct_on ? "Distinct On" : "Top-N per Group", {}, {}};
    node.details.push_back("Partition Key: " + (partition.empty() ? "none" : partition));
    node.details.push_back("Sort Key: " + (order.empty() ? std::string("the row") : order));
    if (!top_.distinct_on)
      node.details.push_back("Rows per Partition: " + std::to_string(top_.limit) +
                             " (row_number() <= " + std::to_string(top_.limit) + ")");
    node.details.push_back(
        context_.retracting
            ? std::string("State: every row, one RocksDB entry per distinct row by partition in "
                          "ORDER BY order (a retracted row of the first N is replaced by the next)")
            : std::string("State: the first rows of each partition, one RocksDB entry per "
                          "distinct row in ORDER BY order (rows past them are deleted at each "
                          "checkpoint)"));
    if (context_.emit_output)
      node.details.push_back("Output Topic: " + context_.output_topic +
                             " (compacted; keyed by the whole row: an upsert when a row enters, "
                             "a tombstone when it leaves or its row number changes)");
    return node;
  }

 private:
  static std::string partition_part(const Row& partition, sql::KeyFormat format) {
    const std::string partition_key = sql::encode_key(partition, format);
    std::string key;
    append_be32(key, static_cast<uint32_t>(partition_key.size()));
    key += partition_key;
    return key;
  }

  // DISTINCT ON: the state key from the projected row's columns.
  std::string distinct_on_key(const Batch& batch, uint32_t r) const {
    const sql::Plan& plan = *top_.inner;
    Row partition;
    for (size_t c : plan.distinct_on)
      partition.push_back(batch.columns[c][r]);
    std::string key = partition_part(partition, context_.key_format);
    for (const auto& k : plan.order)
      append_sort_key(key, batch.columns[k.column][r], k, context_.key_format);
    key += serialize_row(row_at(batch, r, plan.columns.size()));
    return key;
  }

  // The state key (partition key, sort key, row) and the inner row (row number NULL).
  SqlResult<std::pair<std::string, Row>> keyed_row(const sql::EvalContext& ctx, size_t width) {
    Row partition;
    for (const auto& e : window_->partition) {
      SQL_ASSIGN(Value v, sql::eval(e, ctx));
      partition.push_back(std::move(v));
    }
    std::string key = partition_part(partition, context_.key_format);
    for (size_t i = 0; i < window_->order.size(); ++i) {
      SQL_ASSIGN(Value v, sql::eval(window_->order[i], ctx));
      append_sort_key(key, v, window_->order_keys[i], context_.key_format);
    }
    Row row(width);
    for (size_t c = 0; c < width; ++c) {
      if (c == top_.rank_column) {
        row[c] = Value::null_of(sql::Type::kInt8);
        continue;
      }
      SQL_ASSIGN(row[c], sql::eval(top_.inner->outputs[c], ctx));
    }
    // Rows that sort alike are told apart by their exact values.
    key += serialize_row(row);
    return std::make_pair(std::move(key), std::move(row));
  }

  PerGroupTop top_;
  OperatorContext& context_;
  const sql::WindowSpec* window_;  // row_number()'s (null for DISTINCT ON)
  std::shared_ptr<PartitionTops> tops_;
  KeyedChanges changes_;  // reused
};

}  // namespace

std::unique_ptr<Operator> make_per_group_top_sink(const sql::Plan& select, PerGroupTop top,
                                                  OperatorContext& context) {
  return std::make_unique<PerGroupTopSink>(select, top, context);
}

SqlResult<std::vector<Row>> read_per_group_top(const sql::Plan& select, const PerGroupTop& top,
                                               const StateStore& store, const std::string& prefix) {
  std::vector<Row> rows;
  std::vector<std::pair<Row, int64_t>> head;
  std::string partition;
  int64_t seen = 0;
  std::optional<sql::SqlError> failed;
  const std::string states = prefix + "n";
  const size_t width = top.inner->columns.size();
  auto flush = [&] {
    auto made = visible_rows(select, top, head, rows);
    if (!made.ok()) failed = made.error();
    head.clear();
    seen = 0;
  };
  Status scanned = store.scan(states, [&](std::string_view k, std::string_view value) {
    std::string_view rest = k.substr(states.size());
    const size_t length = 4 + read_be32(rest);
    if (rest.substr(0, length) != partition) {
      flush();
      partition = std::string(rest.substr(0, length));
    }
    if (seen >= top.limit) return !failed;
    int64_t count = 0;
    Row row;
    if (!read_counted_row(value, width, count, row)) {
      failed = sql::sql_error(sql::sqlstate::kInternalError, "corrupt Top-N state");
      return false;
    }
    if (count <= 0) return true;
    head.emplace_back(std::move(row), count);
    seen += count;
    return !failed;
  });
  if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
  if (!failed) flush();
  if (failed) return *failed;
  return rows;
}

}  // namespace eddy::stream

#include "stream/set_ops.h"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <utility>

#include "sql/key_codec.h"
#include "stream/rows.h"

namespace eddy::stream {

using sql::Row;
using sql::SqlResult;
using sql::SqlStatus;
using sql::Unit;

namespace {

// How many times a row with `a` copies in the first arm and `b` in the second is in the view.
int64_t visible_copies(const sql::Plan& select, int64_t a, int64_t b) {
  a = std::max<int64_t>(a, 0);
  b = std::max<int64_t>(b, 0);
  const bool all = !select.union_distinct;
  if (select.set_op == sql::Plan::SetOp::kIntersect)
    return all ? std::min(a, b) : (a > 0 && b > 0 ? 1 : 0);
  return all ? std::max<int64_t>(a - b, 0) : (a > 0 && b == 0 ? 1 : 0);
}

// A stored entry: the two counts (be64 each), then the row; false when corrupt.
bool read_entry(std::string_view value, size_t width, int64_t& a, int64_t& b, Row& row) {
  if (value.size() < 16) return false;
  a = static_cast<int64_t>(read_be64(value));
  b = static_cast<int64_t>(read_be64(value.substr(8)));
  value.remove_prefix(16);
  row.assign(width, sql::Value{});
  for (auto& v : row)
    if (!sql::read_value(value, v)) return false;
  return value.empty();
}

}  // namespace

bool is_intersect_or_except(const sql::Plan& select) {
  return select.union_arms.size() == 2 && select.set_op != sql::Plan::SetOp::kUnion;
}

// The per-row counts of both arms, shared by every partition's pipeline: changes are summed per
// row and arm in memory, then added to the stored counts at the checkpoint.
class SetOpRows {
 public:
  SetOpRows(const sql::Plan& select, OperatorContext& context)
      : select_(select), context_(context), output_(output_table(select)) {}

  void add(uint32_t arm, KeyedChanges& changes) { pending_[arm == 0 ? 0 : 1].add(changes); }

  SqlStatus checkpoint(std::vector<StateWrite>& writes) {
    // Per row: its change in each arm.
    std::map<std::string, std::pair<Row, std::array<int64_t, 2>>> changed;
    for (int arm = 0; arm < 2; ++arm)
      for (auto& [key, entry] : pending_[arm].take()) {
        auto& c = changed[key];
        if (c.first.empty()) c.first = std::move(entry.row);
        c.second[arm] += entry.count;
      }
    const size_t width = select_.columns.size();
    for (auto& [key, change] : changed) {
      auto& [row, delta] = change;
      if (delta[0] == 0 && delta[1] == 0) continue;
      const std::string state_key = context_.prefix + "x" + key;
      auto stored = context_.store->get(state_key);
      if (!stored.ok()) return sql::sql_error(sql::sqlstate::kIoError, stored.error().message());
      int64_t a = 0, b = 0;
      if (*stored) {
        Row kept;
        if (!read_entry(**stored, width, a, b, kept))
          return sql::sql_error(sql::sqlstate::kInternalError, "corrupt set operation state");
        row = std::move(kept);  // the row as first seen (of rows equal as SQL compares them)
      }
      const int64_t before = visible_copies(select_, a, b);
      a += delta[0];
      b += delta[1];
      const int64_t after = visible_copies(select_, a, b);
      if (a <= 0 && b <= 0) {
        if (*stored) writes.push_back({state_key, std::nullopt});
      } else {
        std::string value;
        append_be64(value, static_cast<uint64_t>(a));
        append_be64(value, static_cast<uint64_t>(b));
        value += serialize_row(row);
        writes.push_back({state_key, std::move(value)});
      }
      if (before == after) continue;
      if (context_.emit_changes) context_.changes.emplace_back(row, after - before);
      output_row_change(context_, output_, row, before, after);
    }
    return Unit{};
  }

 private:
  const sql::Plan& select_;
  OperatorContext& context_;
  sql::TableDef output_;
  std::array<PendingRows, 2> pending_;  // per arm, by encoded row
};

namespace {

class SetOpSink final : public Operator {
 public:
  SetOpSink(const sql::Plan& select, OperatorContext& context)
      : select_(select), context_(context) {
    if (context_.set_op == nullptr) context_.set_op = std::make_shared<SetOpRows>(select, context);
    rows_ = context_.set_op;
  }

  SqlStatus push(Batch& batch, const Progress&) override {
    for (uint32_t r : batch.selection) {
      Row row = row_at(batch, r, select_.columns.size());
      std::string key = sql::encode_key(row, context_.key_format);
      changes_.emplace_back(std::move(key), std::move(row), batch.weight(r));
    }
    rows_->add(batch.arm, changes_);
    return Unit{};
  }
  SqlStatus checkpoint(std::vector<StateWrite>& writes) override {
    return rows_->checkpoint(writes);
  }
  std::optional<sql::ExplainNode> explain() const override {
    const bool intersect = select_.set_op == sql::Plan::SetOp::kIntersect;
    const bool all = !select_.union_distinct;
    sql::ExplainNode node{
        std::string(intersect ? "Intersect" : "Except") + (all ? " All" : ""), {}, {}};
    node.details.push_back(
        "State: per distinct row its count in each arm, one RocksDB entry per row; the view holds "
        "it " +
        std::string(intersect ? (all ? "min(first, second) times" : "once while both arms have it")
                              : (all ? "first - second times (at least 0)"
                                     : "once while the first arm has it and the second not")));
    if (context_.emit_output)
      node.details.push_back("Output Topic: " + context_.output_topic +
                             " (compacted; keyed by the whole row: an upsert when a row appears, "
                             "a tombstone when it goes)");
    return node;
  }

 private:
  const sql::Plan& select_;
  OperatorContext& context_;
  std::shared_ptr<SetOpRows> rows_;
  KeyedChanges changes_;  // reused
};

}  // namespace

std::unique_ptr<Operator> make_set_op_sink(const sql::Plan& select, OperatorContext& context) {
  return std::make_unique<SetOpSink>(select, context);
}

SqlResult<std::vector<Row>> read_set_op(const sql::Plan& select, const StateStore& store,
                                        const std::string& prefix) {
  std::vector<Row> rows;
  bool corrupt = false;
  const size_t width = select.columns.size();
  Status scanned = store.scan(prefix + "x", [&](std::string_view, std::string_view value) {
    int64_t a = 0, b = 0;
    Row row;
    if (!read_entry(value, width, a, b, row)) {
      corrupt = true;
      return false;
    }
    for (int64_t i = visible_copies(select, a, b); i > 0; --i)
      rows.push_back(row);
    return true;
  });
  if (!scanned.ok()) return sql::sql_error(sql::sqlstate::kIoError, scanned.error().message());
  if (corrupt) return sql::sql_error(sql::sqlstate::kInternalError, "corrupt set operation state");
  return rows;
}

}  // namespace eddy::stream

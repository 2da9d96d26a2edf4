// A bound statement: what the binder produces from one parsed statement and the executor runs.
// Internal to the sql folder; no parse-tree types appear here.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sql/catalog.h"
#include "sql/cursor.h"
#include "sql/expr.h"

namespace eddy::sql {

struct ColumnDesc {
  std::string name;
  Type type = Type::kText;
};

struct SortKey {
  size_t column = 0;  // index into Plan::outputs
  bool descending = false;
  bool nulls_first = false;
};

// One window function call (`fn(args) OVER (PARTITION BY ... ORDER BY ... frame)`), computed
// after WHERE, GROUP BY and HAVING over the rows (or groups) the query made, before DISTINCT,
// ORDER BY and LIMIT. Its expressions are evaluated like the select list's (over a row, or over
// a group's keys and aggregates); the select list reads its value as kWindowRef.
struct WindowSpec {
  enum class Fn : uint8_t {
    kRowNumber,
    kRank,
    kDenseRank,
    kPercentRank,
    kCumeDist,
    kNtile,
    kLag,
    kLead,
    kFirstValue,
    kLastValue,
    kNthValue,
    kAggregate,  // `agg` over the frame
  };
  Fn fn = Fn::kRowNumber;
  std::string name;  // as written, for EXPLAIN
  Type result = Type::kUnknown;
  std::vector<Expr> args;  // the function's arguments (an aggregate's is agg.arg)
  AggSpec agg{AggKind::kCountStar};
  std::vector<Expr> partition;
  std::vector<Expr> order;
  std::vector<SortKey> order_keys;  // one per `order`: its direction (column unused)
  // The frame: which rows of the partition an aggregate, first_value, last_value and
  // nth_value see. PostgreSQL's default: RANGE UNBOUNDED PRECEDING to CURRENT ROW (the peers
  // of the current row included), so without ORDER BY the whole partition.
  enum class Mode : uint8_t { kRange, kRows, kGroups };
  enum class Bound : uint8_t {
    kUnboundedPreceding,
    kPreceding,
    kCurrentRow,
    kFollowing,
    kUnboundedFollowing
  };
  enum class Exclude : uint8_t { kNoOthers, kCurrentRow, kGroup, kTies };
  Mode mode = Mode::kRange;
  Bound start = Bound::kUnboundedPreceding;
  Bound end = Bound::kCurrentRow;
  // kPreceding/kFollowing: a row or group count (ROWS, GROUPS), or a distance from the ORDER BY
  // value (RANGE, of a type the value can be added to: a number, an interval for dates).
  std::optional<Expr> start_offset, end_offset;
  // RANGE with an offset: how a bound is computed from the current row's ORDER BY value
  // (kColumn 0) and the offset (kColumn 1), `key` + offset and `key` - offset, and the ORDER BY
  // value as the bound's type (kColumn 0), so rows compare with the bound in one type.
  struct RangeBound {
    Expr plus, minus, key;
  };
  std::optional<RangeBound> range_start, range_end;
  Exclude exclude = Exclude::kNoOthers;
};

// One more input joined to the rows so far (`FROM a JOIN b ON ... LEFT JOIN c USING (...)`, left
// deep). A joined row is every input's row (declared columns, then metadata) side by side, so the
// expressions of the whole SELECT index one combined row.
struct JoinSpec {
  TableDef table;
  std::string alias;
  bool left_outer = false;   // LEFT or FULL: left rows without a match get NULLs here
  bool right_outer = false;  // RIGHT or FULL: this input's rows without a match get NULLs before
  size_t base = 0;           // index of this input's first column in the combined row
  // The equalities of ON/USING that a hash join (or a primary-key lookup) can use: left_keys[i]
  // reads only the inputs before this one, right_keys[i] only this one, both of one type.
  std::vector<Expr> left_keys;
  std::vector<Expr> right_keys;
  // The whole join condition, checked on every candidate pair (null: USING only).
  std::optional<Expr> condition;
};

// Columns of one input row: declared ones, then the metadata columns.
inline size_t input_width(const TableDef& t) {
  return t.columns.size() + std::size(kMetadataColumns);
}

// COPY ... FROM STDIN / TO STDOUT options, checked by the binder.
struct CopyOptions {
  bool csv = false;  // FORMAT csv; text otherwise
  char delimiter = '\t';
  char quote = '"';
  char escape = '"';
  std::string null_string = "\\N";
  bool header = false;
  bool header_match = false;  // HEADER MATCH: the header line must name the columns
  // CSV, one flag per COPY column (empty: none): quote every non-NULL value (TO); read the NULL
  // string as a value (FROM); read a quoted NULL string as NULL (FROM).
  std::vector<bool> force_quote, force_not_null, force_null;
};

struct Plan {
  enum class Kind {
    kSelect,
    kInsert,
    kCreateTable,
    kDropTable,
    kSet,
    kReset,
    kResetAll,
    kShow,
    kShowAll,
    kShowTables,
    kCreateView,
    kDropView,
    kShowViews,
    kBegin,
    kCommit,
    kRollback,
    kCopyFrom,       // COPY t [(cols)] FROM STDIN: `table`, `insert_columns`, `copy`
    kCopyTo,         // COPY t / (SELECT ...) TO STDOUT: `copy_query`, `copy`
    kNoOp,           // accepted and ignored (e.g. SET TRANSACTION ...); answers `tag`
    kShowColumns,    // SHOW COLUMNS FROM `variable` (a table, view or system relation)
    kShowCreate,     // SHOW CREATE TABLE / MATERIALIZED VIEW `variable` (`value`: which)
    kExplain,        // EXPLAIN `explained`
    kDeallocate,     // DEALLOCATE `variable` (a prepared statement; empty: ALL)
    kDeclareCursor,  // DECLARE `variable` CURSOR FOR `cursor_query`
    kFetch,          // FETCH / MOVE (tag "MOVE"): `fetch_direction`, `fetch_count`
    kCloseCursor,    // CLOSE `variable` (empty: ALL)
  };
  Kind kind = Kind::kNoOp;
  std::string tag;
  std::vector<Type> param_types;
  std::vector<ColumnDesc> columns;  // result columns (empty: no rows)

  // SELECT
  std::optional<TableDef> table;  // the first (or only) input
  std::vector<JoinSpec> joins;    // further inputs, joined in order
  // UNION [ALL]: the arms' rows (already cast to `columns`' types) are this plan's input; then
  // only `columns`, `order`, `limit` and `offset` of this plan apply. Every arm is a plan of its
  // own (kSelect, without ORDER BY/LIMIT).
  std::vector<std::shared_ptr<const Plan>> union_arms;
  bool union_distinct = false;  // without ALL: equal rows count once
  // What combines the arms: UNION appends them; INTERSECT and EXCEPT (two arms) keep the rows
  // of the first that the second has, or lacks (with ALL: as many times as min(m, n), or
  // m - n, for m and n copies).
  enum class SetOp : uint8_t { kUnion, kIntersect, kExcept };
  SetOp set_op = SetOp::kUnion;
  std::optional<Expr> where;
  bool grouped = false;
  std::vector<Expr> group_keys;
  std::vector<AggSpec> aggs;
  std::optional<Expr> having;
  // SELECT DISTINCT over grouped rows: equal output rows after grouping are dropped (DISTINCT
  // without aggregates is bound as GROUP BY every output column instead).
  bool distinct = false;
  // SELECT DISTINCT ON (...): output columns (visible or hidden); of the rows equal on them only
  // the first in ORDER BY order is kept.
  std::vector<size_t> distinct_on;
  std::vector<WindowSpec> windows;  // window function calls (kWindowRef i reads windows[i])
  std::vector<Expr> outputs;        // visible columns first, then hidden sort columns
  std::vector<SortKey> order;
  std::optional<Expr> limit;
  std::optional<Expr> offset;

  // INSERT: rows of expressions already cast to their target column's type.
  std::vector<int> insert_columns;  // declared column index per VALUES position
  std::vector<std::vector<Expr>> insert_rows;
  // INSERT ... SELECT: the query whose rows are inserted; insert_rows then holds one row of
  // expressions over a result row of it (its column i is kColumn i).
  std::shared_ptr<const Plan> insert_query;

  // CREATE TABLE
  TableDef create{};
  bool topic_given = false;
  int32_t partitions = 0;  // 0: the server default
  bool if_not_exists = false;
  bool or_replace = false;  // CREATE OR REPLACE VIEW

  // DROP TABLE / VIEW / MATERIALIZED VIEW (`value`: which of the three words)
  std::vector<std::string> drop_names;
  bool missing_ok = false;
  bool cascade = false;  // CASCADE: the views that read what is dropped are dropped first

  // CREATE MATERIALIZED VIEW: the defining SELECT, bound (its `table` is the source).
  std::shared_ptr<const Plan> view_select;
  ViewDef view{};

  // Width of one combined input row (all inputs' columns).
  size_t row_width() const {
    size_t w = table ? input_width(*table) : 0;
    for (const auto& j : joins)
      w += input_width(j.table);
    return w;
  }
  // DECLARE, FETCH, MOVE, CLOSE: the cursor named `variable`.
  std::shared_ptr<const Plan> cursor_query;
  CursorOptions cursor_options{};
  FetchDirection fetch_direction = FetchDirection::kForward;
  int64_t fetch_count = 1;

  // COPY
  CopyOptions copy{};
  std::shared_ptr<const Plan> copy_query;

  // SET / SHOW / RESET
  std::string variable;
  std::string value;

  // EXPLAIN: the bound statement it describes (a SELECT or a CREATE MATERIALIZED VIEW).
  std::shared_ptr<const Plan> explained;
};

// Whether the plan's own expressions hold a subquery (not counting its inputs' and arms');
// with `uncorrelated_only`, one that can run once before the plan's rows.
inline bool plan_has_subqueries(const Plan& plan, bool uncorrelated_only = false) {
  auto in = [&](const std::optional<Expr>& e) { return e && has_subquery(*e, uncorrelated_only); };
  auto any = [&](const std::vector<Expr>& list) {
    return std::any_of(list.begin(), list.end(),
                       [&](const Expr& e) { return has_subquery(e, uncorrelated_only); });
  };
  if (in(plan.where) || in(plan.having) || in(plan.limit) || in(plan.offset) || any(plan.outputs) ||
      any(plan.group_keys))
    return true;
  for (const auto& a : plan.aggs)
    if (has_subquery(a.arg, uncorrelated_only)) return true;
  for (const auto& w : plan.windows)
    if (any(w.args) || any(w.partition) || any(w.order) ||
        has_subquery(w.agg.arg, uncorrelated_only) || in(w.start_offset) || in(w.end_offset))
      return true;
  for (const auto& j : plan.joins)
    if (in(j.condition) || any(j.left_keys) || any(j.right_keys)) return true;
  return false;
}

}  // namespace eddy::sql

#include "stream/derived_tables.h"

#include <optional>

#include "stream/top_per_group.h"

namespace eddy::stream {

namespace {

constexpr char kSeparator = '#';

struct Splitter {
  const sql::ViewDef& def;
  std::vector<ViewPart> parts;
  // Why a derived table with a window function is not Top-N per group (its own message is
  // clearer than the one its hidden view would get).
  std::optional<sql::SqlError> error;

  // `table`'s subquery as a hidden view (after the views it needs), and the table read of it.
  sql::TableDef view_of(const sql::TableDef& table) {
    std::shared_ptr<const sql::Plan> query = lower(table.subquery);
    sql::ViewDef child;
    child.name = def.name + kSeparator + std::to_string(parts.size() + 1);
    child.sql = "(a subquery in FROM of " + def.name + ")";
    child.table = first_table(*query);
    child.columns = table.columns;
    child.key_format = def.key_format;
    child.state_ttl_ms = def.state_ttl_ms;
    parts.push_back({child, query});
    sql::TableDef read;
    read.name = child.name;
    read.columns = child.columns;
    read.is_view = true;
    return read;
  }

  static std::string first_table(const sql::Plan& query) {
    if (!query.union_arms.empty()) return first_table(*query.union_arms.front());
    return query.table ? query.table->name : std::string();
  }

  // Whether `e` is `x IN (SELECT ...)` with a subquery that does not read the row around it.
  static bool is_semi_join(const sql::Expr& e) {
    return e.kind == sql::ExprKind::kSubquery && e.index == sql::kInSubquery && !e.negated &&
           !e.correlated && e.subquery && e.args.size() == 1 && !e.subquery->columns.empty();
  }

  static void conjuncts(const sql::Expr& e, std::vector<sql::Expr>& out) {
    if (e.kind == sql::ExprKind::kAnd) {
      for (const auto& a : e.args)
        conjuncts(a, out);
      return;
    }
    out.push_back(e);
  }

  // `x IN (SELECT y ...)` in WHERE becomes an inner join with the subquery's distinct values
  // (SELECT DISTINCT y FROM (SELECT y ...)), which keeps each row once when it matches: the
  // join is on x = y, so a NULL x matches nothing, as IN answers NULL for it.
  static void semi_joins_to_joins(sql::Plan& plan) {
    if (!plan.where || !plan.union_arms.empty() || !plan.table) return;
    std::vector<sql::Expr> parts, kept;
    conjuncts(*plan.where, parts);
    bool any = false;
    for (auto& part : parts) {
      if (!is_semi_join(part)) {
        kept.push_back(std::move(part));
        continue;
      }
      any = true;
      const sql::Plan& query = *part.subquery;
      const sql::Type type = query.columns[0].type;
      sql::TableDef values;
      values.name = "in";
      values.columns = {sql::ColumnDef{query.columns[0].name, type}};
      values.subquery = part.subquery;
      sql::Plan distinct;
      distinct.kind = sql::Plan::Kind::kSelect;
      distinct.columns = {query.columns[0]};
      distinct.table = std::move(values);
      distinct.grouped = true;
      sql::Expr column;
      column.kind = sql::ExprKind::kColumn;
      column.type = type;
      distinct.group_keys = {column};
      sql::Expr key;
      key.kind = sql::ExprKind::kGroupRef;
      key.type = type;
      distinct.outputs = {key};
      sql::JoinSpec join;
      join.table.name = "in";
      join.table.columns = distinct.table->columns;
      join.table.subquery = std::make_shared<const sql::Plan>(std::move(distinct));
      join.alias = "in";
      join.base = plan.row_width();
      join.left_keys = {part.args[0]};
      sql::Expr right = column;
      right.index = static_cast<int>(join.base);
      join.right_keys = {right};
      plan.joins.push_back(std::move(join));
    }
    if (!any) return;
    if (kept.empty()) {
      plan.where.reset();
    } else if (kept.size() == 1) {
      plan.where = std::move(kept.front());
    } else {
      plan.where->args = std::move(kept);  // the AND of the rest
    }
  }

  // `plan` with every derived table (but a Top-N per group's) read from a hidden view.
  std::shared_ptr<const sql::Plan> lower(const std::shared_ptr<const sql::Plan>& plan) {
    sql::Plan copy = *plan;
    const size_t joins = copy.joins.size();
    semi_joins_to_joins(copy);
    bool changed = copy.joins.size() != joins;
    // The arms of a set operation are not split (a derived table there is 0A000 for now:
    // validate_plan).
    if (copy.table && copy.table->subquery && !copy.table->named_view) {
      auto ranked = per_group_top(copy);
      if (!ranked.ok() && !copy.table->subquery->windows.empty() && !error) error = ranked.error();
      if (ranked.ok() && *ranked && !(*ranked)->distinct_on) {
        // Top-N per group ranks the derived table's rows itself; what that reads is split off.
        auto inner = lower(copy.table->subquery);
        changed = changed || inner != copy.table->subquery;
        copy.table->subquery = std::move(inner);
      } else {
        copy.table = view_of(*copy.table);
        changed = true;
      }
    }
    for (auto& join : copy.joins)
      if (join.table.subquery && !join.table.named_view) {
        join.table = view_of(join.table);
        changed = true;
      }
    return changed ? std::make_shared<const sql::Plan>(std::move(copy)) : plan;
  }
};

}  // namespace

sql::SqlResult<std::vector<ViewPart>> split_derived_tables(
    const sql::ViewDef& def, std::shared_ptr<const sql::Plan> select) {
  Splitter splitter{def, {}, {}};
  auto lowered = splitter.lower(select);
  if (splitter.error) return *splitter.error;
  splitter.parts.push_back({def, std::move(lowered)});
  return std::move(splitter.parts);
}

bool is_derived_view(const std::string& name) {
  return name.find(kSeparator) != std::string::npos;
}

}  // namespace eddy::stream

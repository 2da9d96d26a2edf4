// SELECT: FROM and joins, the select list, WHERE, GROUP BY and HAVING, ORDER BY, LIMIT, UNION.
#include "sql/binder_internal.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <string_view>

#include "common/stack_guard.h"
#include "sql/formats.h"
#include "sql/system_tables.h"

namespace eddy::sql::binding {

namespace {

// PostgreSQL's FigureColname: the name of an unaliased select item and how strongly it holds
// (2: a column, function or keyword expression's own name; 1: a type name or "case", which an
// enclosing cast or CASE replaces; 0: none, "?column?").
std::pair<std::string, int> figure_column_name(const Node* node) {
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_COLUMN_REF: {
      const auto* ref = node->column_ref;
      return {str(ref->fields[ref->n_fields - 1]), 2};
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL:
      return {last_name(node->func_call->n_funcname, node->func_call->funcname), 2};
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
      auto inner = figure_column_name(node->type_cast->arg);
      if (inner.second > 1) return inner;
      const auto* tn = node->type_cast->type_name;
      return {last_name(tn->n_names, tn->names), 1};
    }
    case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
      return figure_column_name(node->collate_clause->arg);
    case PG_QUERY__NODE__NODE_CASE_EXPR: {
      // The ELSE result's name, when it has a strong one.
      if (node->case_expr->defresult != nullptr) {
        auto inner = figure_column_name(node->case_expr->defresult);
        if (inner.second > 1) return inner;
      }
      return {"case", 1};
    }
    case PG_QUERY__NODE__NODE_COALESCE_EXPR:
      return {"coalesce", 2};
    case PG_QUERY__NODE__NODE_MIN_MAX_EXPR:
      return {node->min_max_expr->op == PG_QUERY__MIN_MAX_OP__IS_LEAST ? "least" : "greatest", 2};
    case PG_QUERY__NODE__NODE_A_EXPR:
      if (node->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF) return {"nullif", 2};
      return {"?column?", 0};
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION:
      return {sql_value_function_name(node->sqlvalue_function->op), 2};
    case PG_QUERY__NODE__NODE_SUB_LINK: {
      // EXISTS is "exists"; a scalar subquery takes its one column's name.
      const auto* link = node->sub_link;
      if (link->sub_link_type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK) return {"exists", 2};
      if (link->sub_link_type != PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK ||
          link->subselect == nullptr ||
          link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
        return {"?column?", 0};
      const auto* select = link->subselect->select_stmt;
      while (select->op != PG_QUERY__SET_OPERATION__SETOP_NONE && select->larg != nullptr)
        select = select->larg;
      if (select->n_target_list == 0) return {"?column?", 2};
      const auto* target = select->target_list[0]->res_target;
      if (target->name != nullptr && *target->name != '\0') return {target->name, 2};
      if (target->val == nullptr) return {"?column?", 2};
      const std::string inner = figure_column_name(target->val).first;
      return {inner.empty() ? "?column?" : inner, 2};
    }
    default:
      return {"?column?", 0};
  }
}

}  // namespace

std::string Binder::output_name(const Node* node) const {
  return figure_column_name(node).first;
}

namespace {

// Marks the computed values of `kind` (kAggRef, kWindowRef) `e` refers to.
void mark_refs(const Expr& e, ExprKind kind, std::vector<bool>& used) {
  if (e.kind == kind && e.index >= 0 && static_cast<size_t>(e.index) < used.size())
    used[static_cast<size_t>(e.index)] = true;
  for (const auto& a : e.args)
    mark_refs(a, kind, used);
}

void renumber_refs(Expr& e, ExprKind kind, const std::vector<int>& renumbered) {
  if (e.kind == kind) e.index = renumbered[static_cast<size_t>(e.index)];
  for (auto& a : e.args)
    renumber_refs(a, kind, renumbered);
}

// Removes the aggregates (or window calls) none of `exprs` refers to and renumbers the
// references.
template <typename Spec>
void drop_unreferenced(std::vector<Spec>& specs, ExprKind kind, const std::vector<Expr*>& exprs) {
  std::vector<bool> used(specs.size(), false);
  for (const Expr* e : exprs)
    mark_refs(*e, kind, used);
  if (std::all_of(used.begin(), used.end(), [](bool u) { return u; })) return;
  std::vector<int> renumbered(specs.size(), -1);
  std::vector<Spec> kept;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!used[i]) continue;
    renumbered[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(specs[i]));
  }
  specs = std::move(kept);
  for (Expr* e : exprs)
    renumber_refs(*e, kind, renumbered);
}

// The inputs an expression reads, as a bit per scope (columns only).
void scopes_read(const Expr& e, const std::vector<size_t>& bases, uint64_t& mask) {
  if (e.kind == ExprKind::kColumn) {
    size_t scope = 0;
    while (scope + 1 < bases.size() && static_cast<size_t>(e.index) >= bases[scope + 1])
      ++scope;
    mask |= uint64_t{1} << std::min<size_t>(scope, 63);
  }
  for (const auto& a : e.args)
    scopes_read(a, bases, mask);
}

// The conjuncts of `e` (AND flattened).
void conjuncts(const Expr& e, std::vector<const Expr*>& out) {
  if (e.kind == ExprKind::kAnd) {
    for (const auto& a : e.args)
      conjuncts(a, out);
  } else {
    out.push_back(&e);
  }
}

}  // namespace

SqlResult<const TableDef*> Binder::add_scope(const PgQuery__RangeVar* rv, Plan& plan, bool first) {
  const std::string alias = rv->alias != nullptr ? rv->alias->aliasname : rv->relname;
  if (rv->alias != nullptr && rv->alias->n_colnames > 0)
    return unsupported("column aliases in FROM", rv->location);
  // A WITH query of that name hides any table (the innermost WITH first).
  if (rv->schemaname == nullptr || *rv->schemaname == '\0')
    for (auto it = ctes_.rbegin(); it != ctes_.rend(); ++it)
      if (it->first == rv->relname) return add_scope(it->second, alias, rv->location, plan, first);
  SQL_ASSIGN(std::optional<TableDef> def,
             resolve_relation(rv->schemaname, rv->relname, rv->location));
  // What the statement names (not what the views it names read: they record their own).
  if (def->system.empty() && expanding_views_.empty() &&
      std::find(relations_read_.begin(), relations_read_.end(), def->name) == relations_read_.end())
    relations_read_.push_back(def->name);
  if (def->is_view)
    if (auto view = input_.catalog->view(def->name); view && !view->materialized) {
      SQL_ASSIGN(def, bind_named_view(*view));
    }
  return add_scope(std::move(*def), alias, rv->location, plan, first);
}

SqlResult<const TableDef*> Binder::add_scope(TableDef def, const std::string& alias, int,
                                             Plan& plan, bool first) {
  for (const auto& sc : scopes_)
    if (sc.alias == alias)
      return sql_error("42712", "table name \"" + alias + "\" specified more than once");
  const size_t base = plan.row_width();
  if (first) {
    plan.table = std::move(def);
    scopes_.push_back({alias, &*plan.table, base});
    return &*plan.table;
  }
  JoinSpec join;
  join.table = std::move(def);
  join.alias = alias;
  join.base = base;
  plan.joins.push_back(std::move(join));
  // Scopes point into plan.joins, which may have moved: point them again.
  scopes_.resize(1);
  for (auto& j : plan.joins)
    scopes_.push_back({j.alias, &j.table, j.base});
  return &plan.joins.back().table;
}

SqlResult<Plan> Binder::bind_in_own_scope(const PgQuery__SelectStmt* s, bool keep_unknown) {
  auto saved_scopes = std::move(scopes_);
  auto saved_using = std::move(using_names_);
  auto saved_front = std::move(star_front_);
  auto saved_hidden = std::move(star_hidden_);
  auto saved_merged = std::move(merged_columns_);
  const bool saved_keep = keep_unknown_outputs_;
  const Clause saved_clause = clause_;
  const int saved_arm = arm_;
  scopes_.clear();
  using_names_.clear();
  star_front_.clear();
  star_hidden_.clear();
  merged_columns_.clear();
  keep_unknown_outputs_ = keep_unknown;
  auto bound = bind_select(s);
  scopes_ = std::move(saved_scopes);
  using_names_ = std::move(saved_using);
  star_front_ = std::move(saved_front);
  star_hidden_ = std::move(saved_hidden);
  merged_columns_ = std::move(saved_merged);
  keep_unknown_outputs_ = saved_keep;
  clause_ = saved_clause;
  arm_ = saved_arm;
  return bound;
}

SqlResult<TableDef> Binder::bind_subquery_table(const PgQuery__SelectStmt* query,
                                                const std::string& name, Node** colnames,
                                                size_t n_colnames, int location) {
  // Without LATERAL it sees nothing of the queries around it, not even an enclosing
  // subquery's.
  // (A level with no scopes stands between it and them, so a name found beyond is the 0A000
  // of a correlated reference PostgreSQL would allow, not "does not exist".)
  outer_scopes_.push_back({{}, -1});
  auto bound_or = bind_in_own_scope(query, false);
  outer_scopes_.pop_back();
  SQL_ASSIGN(Plan bound, std::move(bound_or));
  if (n_colnames > bound.columns.size())
    return sql_error("42P10",
                     std::string(location >= 0 ? "WITH query" : "table") + " \"" + name +
                         "\" has " + std::to_string(bound.columns.size()) +
                         " columns available but " + std::to_string(n_colnames) +
                         " columns specified",
                     location);
  TableDef def;
  def.name = name;
  for (size_t i = 0; i < bound.columns.size(); ++i) {
    ColumnDef c;
    c.name = i < n_colnames ? str(colnames[i]) : bound.columns[i].name;
    c.type = bound.columns[i].type;
    def.columns.push_back(std::move(c));
  }
  def.subquery = std::make_shared<const Plan>(std::move(bound));
  return def;
}

SqlResult<Unit> Binder::bind_from(const Node* from, Plan& plan) {
  if (from->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
    SQL_CHECK(add_scope(from->range_var, plan, scopes_.empty()));
    return Unit{};
  }
  if (from->node_case == PG_QUERY__NODE__NODE_RANGE_SUBSELECT) {
    const auto* sub = from->range_subselect;
    if (sub->lateral) return unsupported("LATERAL");
    if (sub->subquery == nullptr || sub->subquery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
        sub->alias == nullptr)
      return unsupported("this subquery in FROM");
    SQL_ASSIGN(TableDef def, bind_subquery_table(sub->subquery->select_stmt, sub->alias->aliasname,
                                                 sub->alias->colnames, sub->alias->n_colnames, -1));
    SQL_CHECK(add_scope(std::move(def), sub->alias->aliasname, -1, plan, scopes_.empty()));
    return Unit{};
  }
  if (from->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR)
    return unsupported("FROM " + node_name(from));
  const auto* j = from->join_expr;
  if (j->alias != nullptr || j->join_using_alias != nullptr)
    return unsupported("an alias for a join");
  if (j->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER &&
      j->jointype != PG_QUERY__JOIN_TYPE__JOIN_LEFT &&
      j->jointype != PG_QUERY__JOIN_TYPE__JOIN_RIGHT &&
      j->jointype != PG_QUERY__JOIN_TYPE__JOIN_FULL)
    return unsupported("this kind of join");
  SQL_CHECK(bind_from(j->larg, plan));
  if (j->rarg->node_case != PG_QUERY__NODE__NODE_RANGE_VAR &&
      j->rarg->node_case != PG_QUERY__NODE__NODE_RANGE_SUBSELECT)
    return unsupported("a join whose right side is not a table (joins nest to the left)");
  const size_t left_scopes = scopes_.size();
  SQL_CHECK(bind_from(j->rarg, plan));
  JoinSpec& join = plan.joins.back();
  const bool full = j->jointype == PG_QUERY__JOIN_TYPE__JOIN_FULL;
  join.left_outer = full || j->jointype == PG_QUERY__JOIN_TYPE__JOIN_LEFT;
  join.right_outer = full || j->jointype == PG_QUERY__JOIN_TYPE__JOIN_RIGHT;
  const size_t right = scopes_.size() - 1;
  // NATURAL: USING every declared column name both sides have, in the left side's order.
  std::vector<std::string> using_list;
  for (size_t i = 0; i < j->n_using_clause; ++i)
    using_list.push_back(str(j->using_clause[i]));
  if (j->is_natural) {
    for (size_t sc = 0; sc < left_scopes; ++sc)
      for (const auto& c : scopes_[sc].table->columns)
        if (std::any_of(join.table.columns.begin(), join.table.columns.end(),
                        [&](const ColumnDef& r) { return r.name == c.name; }) &&
            std::find(using_list.begin(), using_list.end(), c.name) == using_list.end())
          using_list.push_back(c.name);
  }
  for (const auto& name : using_list) {
    SQL_ASSIGN(auto l, find_column(name, left_scopes, -1));
    auto r = column_index(join.table, name);
    if (l.first < 0 || (r && *r >= join.table.columns.size()) ||
        static_cast<size_t>(l.second) >=
            scopes_[static_cast<size_t>(l.first)].table->columns.size())
      return sql_error(
          sqlstate::kUndefinedColumn,
          "column \"" + name + "\" specified in USING clause does not exist in left table");
    if (!r)
      return sql_error(
          sqlstate::kUndefinedColumn,
          "column \"" + name + "\" specified in USING clause does not exist in right table");
    Expr le;
    le.kind = ExprKind::kColumn;
    le.name = name;
    le.index = static_cast<int>(scopes_[static_cast<size_t>(l.first)].base + l.second);
    le.type = scopes_[static_cast<size_t>(l.first)].table->columns[l.second].type;
    const std::pair<size_t, size_t> left_col{static_cast<size_t>(l.first), l.second};
    // The left side's column is what an earlier RIGHT/FULL join made of it, if one did.
    if (auto it = merged_columns_.find(left_col); it != merged_columns_.end()) le = it->second;
    Expr re;
    re.kind = ExprKind::kColumn;
    re.name = name;
    re.index = static_cast<int>(join.base + *r);
    re.type = join.table.columns[*r].type;
    SQL_ASSIGN(Expr eq, make_operator("=", le, re, -1));
    join.left_keys.push_back(eq.args[0]);
    join.right_keys.push_back(eq.args[1]);
    // The merged column: the left one for INNER and LEFT, the right one for RIGHT, and for FULL
    // whichever side has a row (COALESCE), each in the type both compare as.
    const Type common = eq.args[0].type;
    if (!join.right_outer && le.type != common) {
      // PostgreSQL's merged column has the type both compare as: for LEFT the left one cast
      // to it, for INNER whichever side already has it.
      merged_columns_[left_col] = join.left_outer || re.type != common ? eq.args[0] : eq.args[1];
    } else if (join.right_outer) {
      Expr merged = eq.args[1];
      if (full) {
        merged = Expr{};
        merged.kind = ExprKind::kCoalesce;
        merged.type = eq.args[1].type;
        merged.name = name;
        merged.args = {eq.args[0], eq.args[1]};
      }
      merged_columns_[left_col] = std::move(merged);
    }
    if (std::find(using_names_.begin(), using_names_.end(), name) == using_names_.end())
      using_names_.push_back(name);
    if (std::find(star_front_.begin(), star_front_.end(), left_col) == star_front_.end())
      star_front_.push_back(left_col);
    star_hidden_.insert(left_col);
    star_hidden_.insert({right, *r});
  }
  if (j->quals != nullptr) {
    SQL_ASSIGN(Expr on, bind_expr(j->quals));
    if (on.type != Type::kBool && on.type != Type::kUnknown)
      return sql_error(
          sqlstate::kDatatypeMismatch,
          std::string("argument of JOIN/ON must be type boolean, not type ") + type_name(on.type),
          on.location);
    SQL_ASSIGN(on, coerce_to(std::move(on), Type::kBool));
    // Equalities between the inputs so far and this one become hash keys.
    std::vector<size_t> bases;
    for (const auto& sc : scopes_)
      bases.push_back(sc.base);
    std::vector<const Expr*> parts;
    conjuncts(on, parts);
    const uint64_t right_bit = uint64_t{1} << std::min<size_t>(right, 63);
    bool constant_only = true;  // every conjunct a constant (ON true)
    for (const Expr* part : parts) {
      constant_only = constant_only && part->kind == ExprKind::kConst;
      // A correlated subquery reads columns scopes_read cannot see: never a hash key.
      if (has_subquery(*part)) continue;
      if (part->kind == ExprKind::kCall && part->name == "=" && part->args.size() == 2) {
        uint64_t a = 0, b = 0;
        scopes_read(part->args[0], bases, a);
        scopes_read(part->args[1], bases, b);
        if (a != 0 && b == right_bit && (a & right_bit) == 0) {
          join.left_keys.push_back(part->args[0]);
          join.right_keys.push_back(part->args[1]);
        } else if (b != 0 && a == right_bit && (b & right_bit) == 0) {
          join.left_keys.push_back(part->args[1]);
          join.right_keys.push_back(part->args[0]);
        }
      }
    }
    // PostgreSQL's FULL JOIN is a hash or merge join: it needs an equality between the two
    // sides to hash on (any other condition then filters the pairs), unless ON is constant.
    if (full && join.left_keys.empty() && !constant_only)
      return sql_error(sqlstate::kFeatureNotSupported,
                       "FULL JOIN is only supported with merge-joinable or hash-joinable join "
                       "conditions");
    join.condition = std::move(on);
  }
  return Unit{};
}

namespace {

// Where an expression starts in the text (a cast's own location is its `::`).
int start_of(const Expr& e) {
  int loc = e.location;
  for (const auto& a : e.args)
    if (a.location >= 0 && (loc < 0 || a.location < loc)) loc = start_of(a);
  return loc;
}

// Where an ORDER BY expression starts, as far as the parse tree tells.
int sort_location(const Node* n) {
  switch (n->node_case) {
    case PG_QUERY__NODE__NODE_A_EXPR: {
      const Node* left = n->a_expr->lexpr;
      return left != nullptr ? sort_location(left) : n->a_expr->location;
    }
    case PG_QUERY__NODE__NODE_COLUMN_REF:
      return n->column_ref->location;
    case PG_QUERY__NODE__NODE_FUNC_CALL:
      return n->func_call->location;
    case PG_QUERY__NODE__NODE_A_CONST:
      return n->a_const->location;
    default:
      return -1;
  }
}

// `name` alone (no table qualifier, not `*`).
// Whether two select-list items are written as the same kind of expression (a column from *
// counts as a column reference); a cast may vanish in analysis, so it matches any kind.
bool same_node_kind(const Node* a, const Node* b) {
  const auto kind = [](const Node* n) {
    return n == nullptr ? PG_QUERY__NODE__NODE_COLUMN_REF : n->node_case;
  };
  return kind(a) == kind(b) || kind(a) == PG_QUERY__NODE__NODE_TYPE_CAST ||
         kind(b) == PG_QUERY__NODE__NODE_TYPE_CAST;
}

bool is_single_column_ref(const Node* n) {
  return n->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && n->column_ref->n_fields == 1 &&
         n->column_ref->fields[0]->node_case == PG_QUERY__NODE__NODE_STRING;
}

// An ORDER BY item's direction and NULLS placement into `key`, and the output column it names
// by position (ORDER BY 2) or by output name; nullopt when it names neither (an expression, or
// a name no output has). With `outputs` (and their parse nodes, null for a column from *), a
// name that two different output expressions have is ambiguous (42702), as in PostgreSQL, which
// compares them as written: simplification may make `CASE false WHEN ... ELSE x END` into x,
// but they remain two expressions.
SqlResult<std::optional<size_t>> order_by_output(const PgQuery__SortBy* sb,
                                                 const std::vector<std::string>& names,
                                                 SortKey& key,
                                                 const std::vector<Expr>* outputs = nullptr,
                                                 const std::vector<const Node*>* nodes = nullptr) {
  if (sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_USING) return unsupported("ORDER BY USING");
  key.descending = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
  key.nulls_first = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_DEFAULT ||
                            sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORT_BY_NULLS_UNDEFINED
                        ? key.descending
                        : sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST;
  const Node* n = sb->node;
  if (n->node_case == PG_QUERY__NODE__NODE_A_CONST &&
      n->a_const->val_case != PG_QUERY__A__CONST__VAL_IVAL)  // 'abc', 1.5, true, NULL
    return sql_error(sqlstate::kSyntaxError, "non-integer constant in ORDER BY",
                     n->a_const->location);
  if (n->node_case == PG_QUERY__NODE__NODE_A_CONST &&
      n->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
    const int pos = n->a_const->ival->ival;
    if (pos < 1 || static_cast<size_t>(pos) > names.size())
      return sql_error("42P10",
                       "ORDER BY position " + std::to_string(pos) + " is not in select list",
                       n->a_const->location);
    return std::optional<size_t>(static_cast<size_t>(pos - 1));
  }
  if (is_single_column_ref(n)) {
    const std::string name = str(n->column_ref->fields[0]);
    std::optional<size_t> found;
    for (size_t c = 0; c < names.size(); ++c) {
      if (names[c] != name) continue;
      if (!found) {
        found = c;
        if (outputs == nullptr) break;
      } else if (!same_expr((*outputs)[*found], (*outputs)[c]) ||
                 (nodes != nullptr && !same_node_kind((*nodes)[*found], (*nodes)[c]))) {
        return sql_error("42702", "ORDER BY \"" + name + "\" is ambiguous",
                         n->column_ref->location);
      }
    }
    return found;
  }
  return std::optional<size_t>();
}

}  // namespace

SqlStatus Binder::bind_limit_offset(const PgQuery__SelectStmt* s, Plan& plan) {
  clause_ = Clause::kLimit;
  for (auto [node, slot] :
       {std::pair{s->limit_count, &plan.limit}, std::pair{s->limit_offset, &plan.offset}}) {
    if (node == nullptr) continue;
    no_windows_in_ = slot == &plan.limit ? "LIMIT" : "OFFSET";
    SQL_ASSIGN(Expr e, bind_expr(node));
    SQL_ASSIGN(e, coerce_to(std::move(e), Type::kInt8, CastContext::kAssignment));
    *slot = std::move(e);
  }
  return Unit{};
}

SqlResult<Plan> Binder::bind_union(const PgQuery__SelectStmt* s) {
  const Plan::SetOp set_op = s->op == PG_QUERY__SET_OPERATION__SETOP_INTERSECT
                                 ? Plan::SetOp::kIntersect
                             : s->op == PG_QUERY__SET_OPERATION__SETOP_EXCEPT ? Plan::SetOp::kExcept
                                                                              : Plan::SetOp::kUnion;
  const std::string op_name = set_op == Plan::SetOp::kIntersect ? "INTERSECT"
                              : set_op == Plan::SetOp::kExcept  ? "EXCEPT"
                                                                : "UNION";
  if (s->with_clause != nullptr) return unsupported("WITH", s->with_clause->location);
  if (s->n_locking_clause > 0) return unsupported("FOR UPDATE/SHARE");
  // A nested UNION resolves its own types first (as PostgreSQL does), so unknowns stay unknown
  // only for plain arms.
  SQL_ASSIGN(Plan left,
             bind_in_own_scope(s->larg, s->larg->op == PG_QUERY__SET_OPERATION__SETOP_NONE));
  SQL_ASSIGN(Plan right,
             bind_in_own_scope(s->rarg, s->rarg->op == PG_QUERY__SET_OPERATION__SETOP_NONE));
  if (left.columns.size() != right.columns.size())
    return sql_error(sqlstate::kSyntaxError,
                     "each " + op_name + " query must have the same number of columns",
                     right.outputs.empty() ? -1 : start_of(right.outputs[0]));
  Plan plan;
  plan.kind = Plan::Kind::kSelect;
  plan.union_distinct = !s->all;
  plan.set_op = set_op;
  for (size_t i = 0; i < left.columns.size(); ++i) {
    const Type a = left.columns[i].type, b = right.columns[i].type;
    auto t = common_type(a, b);
    if (!t)
      return sql_error(
          sqlstate::kDatatypeMismatch,
          op_name + " types " + type_name(a) + " and " + type_name(b) + " cannot be matched",
          start_of(right.outputs[i]));
    const Type target = *t == Type::kUnknown ? Type::kText : *t;
    for (Plan* arm : {&left, &right}) {
      SQL_ASSIGN(arm->outputs[i], coerce_to(std::move(arm->outputs[i]), target));
      arm->columns[i].type = target;
    }
    plan.columns.push_back({left.columns[i].name, target});
    Expr ref;
    ref.kind = ExprKind::kColumn;
    ref.index = static_cast<int>(i);
    ref.type = target;
    ref.name = left.columns[i].name;
    plan.outputs.push_back(std::move(ref));
  }
  // UNION ALL of UNION ALLs is one list of arms.
  for (Plan* arm : {&left, &right}) {
    if (!arm->union_arms.empty() && !arm->union_distinct && !plan.union_distinct &&
        set_op == Plan::SetOp::kUnion && arm->set_op == Plan::SetOp::kUnion && arm->order.empty() &&
        !arm->limit && !arm->offset) {
      for (const auto& inner : arm->union_arms) {
        // The inner arms were cast to the inner UNION's types; cast them on to ours.
        Plan copy = *inner;
        for (size_t i = 0; i < copy.columns.size(); ++i) {
          SQL_ASSIGN(copy.outputs[i], coerce_to(std::move(copy.outputs[i]), plan.columns[i].type));
          copy.columns[i].type = plan.columns[i].type;
        }
        plan.union_arms.push_back(std::make_shared<const Plan>(std::move(copy)));
      }
    } else {
      plan.union_arms.push_back(std::make_shared<const Plan>(std::move(*arm)));
    }
  }
  arm_ = -1;  // the set operation's own clauses, which PostgreSQL's planner folds first
  clause_ = Clause::kTargets;
  SQL_CHECK(bind_set_order_limit(s, plan));
  return plan;
}

SqlStatus Binder::bind_set_order_limit(const PgQuery__SelectStmt* s, Plan& plan) {
  std::vector<std::string> names;
  for (const auto& c : plan.columns)
    names.push_back(c.name);
  for (size_t i = 0; i < s->n_sort_clause; ++i) {
    const auto* sb = s->sort_clause[i]->sort_by;
    SortKey key;
    SQL_ASSIGN(const std::optional<size_t> column, order_by_output(sb, names, key));
    const Node* n = sb->node;
    if (!column && is_single_column_ref(n))
      return sql_error(sqlstate::kUndefinedColumn,
                       "column \"" + str(n->column_ref->fields[0]) + "\" does not exist",
                       n->column_ref->location);
    if (!column) {
      SqlError error =
          sql_error(sqlstate::kFeatureNotSupported,
                    "invalid UNION/INTERSECT/EXCEPT ORDER BY clause", sort_location(n));
      error.detail = "Only result column names can be used, not expressions or functions.";
      return error;
    }
    key.column = *column;
    plan.order.push_back(key);
  }
  return bind_limit_offset(s, plan);
}

SqlResult<Plan> Binder::bind_values(const PgQuery__SelectStmt* s) {
  no_windows_in_ = "VALUES";
  arm_ = arms_++;
  clause_ = Clause::kTargets;
  std::vector<Plan> rows;
  size_t width = 0;
  for (size_t r = 0; r < s->n_values_lists; ++r) {
    const Node* item = s->values_lists[r];
    if (item->node_case != PG_QUERY__NODE__NODE_LIST) return unsupported("this VALUES list");
    const auto* list = item->list;
    if (r == 0) width = list->n_items;
    if (list->n_items != width)
      return sql_error(sqlstate::kSyntaxError, "VALUES lists must all be the same length",
                       list->n_items > 0 ? sort_location(list->items[0]) : -1);
    Plan row;
    row.kind = Plan::Kind::kSelect;
    for (size_t c = 0; c < list->n_items; ++c) {
      SQL_ASSIGN(Expr e, bind_expr(list->items[c]));
      row.columns.push_back({"column" + std::to_string(c + 1), e.type});
      row.outputs.push_back(std::move(e));
    }
    rows.push_back(std::move(row));
  }
  Plan plan;
  plan.kind = Plan::Kind::kSelect;
  for (size_t c = 0; c < width; ++c) {
    std::vector<Expr*> column;
    for (auto& row : rows)
      column.push_back(&row.outputs[c]);
    SQL_ASSIGN(const Type t, unify(column, "VALUES", -1));
    for (auto& row : rows)
      row.columns[c].type = t;
    plan.columns.push_back({"column" + std::to_string(c + 1), t});
    Expr ref;
    ref.kind = ExprKind::kColumn;
    ref.index = static_cast<int>(c);
    ref.type = t;
    ref.name = plan.columns.back().name;
    plan.outputs.push_back(std::move(ref));
  }
  for (auto& row : rows)
    plan.union_arms.push_back(std::make_shared<const Plan>(std::move(row)));
  SQL_CHECK(bind_set_order_limit(s, plan));
  return plan;
}

SqlResult<TableDef> Binder::resolve_relation(const std::string& schema, const std::string& name,
                                             int location) const {
  const bool public_schema = schema.empty() || schema == kSchemaName;
  if (public_schema) {
    if (auto def = input_.catalog->table(name)) return *def;
    if (auto view = input_.catalog->view(name)) {
      TableDef def;
      def.name = view->name;
      def.columns = view->columns;
      def.is_view = true;
      return def;
    }
  }
  if (schema.empty() || is_system_schema(schema)) {
    if (auto def = system_table(schema, name)) return *def;
  }
  if (auto missing = missing_system_relation(schema, name, location)) return *missing;
  const std::string full = schema.empty() ? name : schema + "." + name;
  return sql_error(sqlstate::kUndefinedTable, "relation \"" + full + "\" does not exist", location);
}

SqlStatus Binder::check_catalog_relations(const Node* from) const {
  if (from == nullptr) return Unit{};
  switch (from->node_case) {
    case PG_QUERY__NODE__NODE_RANGE_VAR: {
      const auto* rv = from->range_var;
      auto resolved = resolve_relation(rv->schemaname, rv->relname, rv->location);
      if (!resolved.ok() && resolved.error().sqlstate == sqlstate::kFeatureNotSupported)
        return resolved.error();
      return Unit{};
    }
    case PG_QUERY__NODE__NODE_JOIN_EXPR:
      SQL_CHECK(check_catalog_relations(from->join_expr->larg));
      return check_catalog_relations(from->join_expr->rarg);
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT:
      return check_catalog_relations(from->range_subselect->subquery);
    case PG_QUERY__NODE__NODE_SELECT_STMT:
      return check_catalog_relations(from->select_stmt);
    default:
      return Unit{};
  }
}

SqlStatus Binder::check_catalog_relations(const PgQuery__SelectStmt* s) const {
  if (s == nullptr) return Unit{};
  for (size_t i = 0; i < s->n_from_clause; ++i)
    SQL_CHECK(check_catalog_relations(s->from_clause[i]));
  SQL_CHECK(check_catalog_relations(s->larg));
  return check_catalog_relations(s->rarg);
}

std::optional<SqlResult<Plan>> Binder::bind_set_config(const PgQuery__SelectStmt* s) {
  if (s->n_target_list != 1 || s->n_from_clause != 0 || s->where_clause != nullptr ||
      s->op != PG_QUERY__SET_OPERATION__SETOP_NONE || s->n_values_lists > 0)
    return std::nullopt;
  const auto* rt = s->target_list[0]->res_target;
  if (rt->val->node_case != PG_QUERY__NODE__NODE_FUNC_CALL) return std::nullopt;
  const auto* f = rt->val->func_call;
  if (last_name(f->n_funcname, f->funcname) != "set_config" || f->n_args != 3) return std::nullopt;
  std::vector<Value> args;
  for (size_t i = 0; i < 3; ++i) {
    auto arg = bind_expr(f->args[i]);
    if (!arg.ok()) return SqlResult<Plan>(arg.error());
    if (arg->kind != ExprKind::kConst)
      return SqlResult<Plan>(unsupported("set_config() with non-constant arguments", f->location));
    args.push_back(arg->value);
  }
  if (args[0].null)
    return SqlResult<Plan>(sql_error("22004", "SET requires parameter name", f->location));
  Plan plan;
  plan.kind = Plan::Kind::kSet;
  plan.tag = "SELECT 1";
  plan.variable = lower(args[0].s);
  // is_local (args[2]) changes nothing: settings are not transactional yet, like SET LOCAL.
  plan.value = args[1].null ? std::string() : to_text(args[1]);
  plan.columns = {{rt->name[0] != '\0' ? rt->name : "set_config", Type::kText}};
  return SqlResult<Plan>(std::move(plan));
}

SqlStatus Binder::bind_distinct_on(const PgQuery__SelectStmt* s,
                                   const std::vector<std::string>& names,
                                   const std::vector<const Node*>& target_nodes,
                                   std::vector<Expr>& outputs, Plan& plan) {
  // Each expression is an output column (by position or name, as ORDER BY names them) or
  // an expression, matched to an equal output or kept as a hidden one.
  std::vector<int> locations;
  for (size_t i = 0; i < s->n_distinct_clause; ++i) {
    PgQuery__SortBy by = PG_QUERY__SORT_BY__INIT;
    by.node = s->distinct_clause[i];
    by.location = -1;
    SortKey ignored;
    SQL_ASSIGN(std::optional<size_t> column,
               order_by_output(&by, names, ignored, &outputs, &target_nodes));
    // Errors point at the expression as written in DISTINCT ON.
    const Node* node = s->distinct_clause[i];
    int location = node->node_case == PG_QUERY__NODE__NODE_COLUMN_REF ? node->column_ref->location
                   : node->node_case == PG_QUERY__NODE__NODE_A_CONST  ? node->a_const->location
                                                                      : -1;
    if (!column) {
      SQL_ASSIGN(Expr e, bind_expr(s->distinct_clause[i]));
      if (e.type == Type::kUnknown) {
        SQL_ASSIGN(e, coerce_to(std::move(e), Type::kText));
      }
      if (location < 0) location = e.location;
      for (size_t c = 0; c < outputs.size() && !column; ++c)
        if (same_expr(e, outputs[c])) column = c;
      if (!column) {
        column = outputs.size();
        outputs.push_back(std::move(e));
      }
    } else if (location < 0 && *column < outputs.size()) {
      location = outputs[*column].location;
    }
    if (std::find(plan.distinct_on.begin(), plan.distinct_on.end(), *column) ==
        plan.distinct_on.end()) {
      plan.distinct_on.push_back(*column);
      locations.push_back(location);
    }
  }
  // ORDER BY must begin with the DISTINCT ON expressions (in any order): the first row of each
  // set is the one kept.
  bool skipped = false;
  std::vector<bool> matched(plan.distinct_on.size(), false);
  std::vector<size_t> seen;  // a key ORDER BY repeats counts once, as PostgreSQL drops it
  for (const auto& key : plan.order) {
    if (std::find(seen.begin(), seen.end(), key.column) != seen.end()) continue;
    seen.push_back(key.column);
    auto it = std::find(plan.distinct_on.begin(), plan.distinct_on.end(), key.column);
    if (it == plan.distinct_on.end()) {
      skipped = true;
      continue;
    }
    const size_t k = static_cast<size_t>(it - plan.distinct_on.begin());
    if (skipped)
      return sql_error("42P10",
                       "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                       locations[k]);
    matched[k] = true;
  }
  for (size_t k = 0; k < matched.size(); ++k)
    if (skipped && !matched[k])
      return sql_error("42P10",
                       "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                       locations[k]);
  return Unit{};
}

SqlStatus Binder::bind_with(const PgQuery__WithClause* with) {
  // In order: each sees the ones before it.
  if (with->recursive) return unsupported("WITH RECURSIVE", with->location);
  const size_t outer = ctes_.size();
  for (size_t i = 0; i < with->n_ctes; ++i) {
    const auto* cte = with->ctes[i]->common_table_expr;
    for (size_t k = outer; k < ctes_.size(); ++k)
      if (ctes_[k].first == cte->ctename)
        return sql_error(
            "42712",
            "WITH query name \"" + std::string(cte->ctename) + "\" specified more than once",
            cte->location);
    if (cte->ctequery == nullptr || cte->ctequery->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
      return unsupported("WITH holding a statement other than SELECT", cte->location);
    SQL_ASSIGN(TableDef def,
               bind_subquery_table(cte->ctequery->select_stmt, cte->ctename, cte->aliascolnames,
                                   cte->n_aliascolnames, cte->location));
    ctes_.emplace_back(cte->ctename, std::move(def));
  }
  return Unit{};
}

SqlResult<Plan> Binder::bind_select(const PgQuery__SelectStmt* s) {
  if (stack_nearly_exhausted()) return statement_too_complex();  // nested UNIONs
  struct Depth {
    int& depth;
    explicit Depth(int& d) : depth(d) { ++depth; }
    ~Depth() { --depth; }
  } depth(select_depth_);
  // Window calls belong to the SELECT they are written in: a subquery has its own.
  struct WindowState {
    Binder& b;
    std::vector<WindowSpec>* windows;
    bool allow, in_window;
    const char* no_windows_in;
    std::vector<PgQuery__WindowDef> named;
    explicit WindowState(Binder& binder)
        : b(binder),
          windows(binder.windows_),
          allow(binder.allow_windows_),
          in_window(binder.in_window_),
          no_windows_in(binder.no_windows_in_),
          named(std::move(binder.named_windows_)) {
      b.windows_ = nullptr;
      b.allow_windows_ = b.in_window_ = false;
      b.named_windows_.clear();
    }
    ~WindowState() {
      b.windows_ = windows;
      b.allow_windows_ = allow;
      b.in_window_ = in_window;
      b.no_windows_in_ = no_windows_in;
      b.named_windows_ = std::move(named);
    }
  } window_state(*this);
  SQL_CHECK(check_catalog_relations(s));
  // Only the statement itself can be a SET (not a subquery, a view's or INSERT's query).
  if (top_level_select_ && select_depth_ == 1)
    if (auto set = bind_set_config(s)) return std::move(*set);
  if (s->with_clause != nullptr) {
    // The query is bound with its WITH queries in view; they are inputs like subqueries in FROM,
    // run where the query reads them.
    const size_t outer = ctes_.size();
    auto bound = [&]() -> SqlResult<Plan> {
      SQL_CHECK(bind_with(s->with_clause));
      PgQuery__SelectStmt rest = *s;
      rest.with_clause = nullptr;
      return bind_select(&rest);
    }();
    ctes_.resize(outer);
    return bound;
  }
  if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE) return bind_union(s);
  if (s->n_values_lists > 0) return bind_values(s);
  arm_ = arms_++;
  clause_ = Clause::kJoinOn;  // FROM binds first; its only expressions are JOIN ON conditions
  // Plain DISTINCT is a list of one empty node; DISTINCT ON lists its expressions.
  const bool distinct_on = s->n_distinct_clause > 0 &&
                           (s->n_distinct_clause != 1 ||
                            (s->distinct_clause[0] != nullptr &&
                             s->distinct_clause[0]->node_case != PG_QUERY__NODE__NODE__NOT_SET));
  const bool distinct = s->n_distinct_clause > 0 && !distinct_on;
  if (s->into_clause != nullptr) return unsupported("SELECT INTO");
  if (s->n_locking_clause > 0) return unsupported("FOR UPDATE/SHARE");
  Plan plan;
  plan.kind = Plan::Kind::kSelect;
  windows_ = &plan.windows;
  SQL_CHECK(resolve_window_clause(s));
  no_windows_in_ = "JOIN conditions";
  // FROM a, b: a cross join (WHERE then filters the pairs).
  for (size_t i = 0; i < s->n_from_clause; ++i) {
    const Node* item = s->from_clause[i];
    if (i > 0 && item->node_case != PG_QUERY__NODE__NODE_RANGE_VAR &&
        item->node_case != PG_QUERY__NODE__NODE_RANGE_SUBSELECT)
      return unsupported("a join after a comma in FROM (write JOIN ... ON)");
    SQL_CHECK(bind_from(item, plan));
  }
  clause_ = Clause::kWhere;
  no_windows_in_ = "WHERE";
  if (s->where_clause != nullptr) {
    SQL_ASSIGN(Expr w, bind_expr(s->where_clause));
    if (w.type != Type::kBool && w.type != Type::kUnknown)
      return sql_error(
          sqlstate::kDatatypeMismatch,
          std::string("argument of WHERE must be type boolean, not type ") + type_name(w.type),
          w.location);
    SQL_ASSIGN(w, coerce_to(std::move(w), Type::kBool));
    plan.where = std::move(w);
  }
  // Select list (with * expanded), bound with aggregates allowed.
  clause_ = Clause::kTargets;
  struct Target {
    const Node* node;  // null: a table column from *
    std::string name;
    int column = -1;  // index in the combined row
    Type type = Type::kText;
    std::optional<Expr> merged{};  // from *: a USING column a RIGHT/FULL join merged
  };
  std::vector<Target> targets;
  for (size_t i = 0; i < s->n_target_list; ++i) {
    const auto* rt = s->target_list[i]->res_target;
    const Node* val = rt->val;
    if (val->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
        val->column_ref->fields[val->column_ref->n_fields - 1]->node_case ==
            PG_QUERY__NODE__NODE_A_STAR) {
      const auto* ref = val->column_ref;
      if (ref->n_fields == 2) {  // t.*: every declared column of t
        const std::string qualifier = str(ref->fields[0]);
        auto scope = std::find_if(scopes_.begin(), scopes_.end(),
                                  [&](const Scope& sc) { return sc.alias == qualifier; });
        if (scope == scopes_.end())
          return sql_error(sqlstate::kUndefinedTable,
                           "missing FROM-clause entry for table \"" + qualifier + "\"",
                           ref->location);
        for (size_t c = 0; c < scope->table->columns.size(); ++c)
          targets.push_back({nullptr, scope->table->columns[c].name,
                             static_cast<int>(scope->base + c), scope->table->columns[c].type});
        continue;
      }
      if (ref->n_fields > 2) return unsupported("schema-qualified column references", rt->location);
      if (scopes_.empty())
        return sql_error(sqlstate::kSyntaxError, "SELECT * with no tables specified is not valid",
                         rt->location);
      // USING columns once, first; then every input's declared columns.
      auto add = [&](size_t scope, size_t c) {
        const Scope& sc = scopes_[scope];
        targets.push_back({nullptr, sc.table->columns[c].name, static_cast<int>(sc.base + c),
                           sc.table->columns[c].type});
        if (auto it = merged_columns_.find({scope, c}); it != merged_columns_.end()) {
          targets.back().merged = it->second;
          targets.back().type = it->second.type;
        }
      };
      for (auto [scope, c] : star_front_)
        add(scope, c);
      for (size_t scope = 0; scope < scopes_.size(); ++scope)
        for (size_t c = 0; c < scopes_[scope].table->columns.size(); ++c)
          if (star_hidden_.count({scope, c}) == 0) add(scope, c);
      continue;
    }
    targets.push_back({val, rt->name[0] != '\0' ? rt->name : output_name(val)});
  }
  // GROUP BY keys: expressions, output ordinals or output names.
  no_windows_in_ = "GROUP BY";
  for (size_t i = 0; i < s->n_group_clause; ++i) {
    const Node* g = s->group_clause[i];
    const Node* source = g;
    if (g->node_case == PG_QUERY__NODE__NODE_A_CONST &&
        g->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
      const int n = g->a_const->ival->ival;
      if (n < 1 || static_cast<size_t>(n) > targets.size() || targets[n - 1].node == nullptr)
        return sql_error("42P10",
                         "GROUP BY position " + std::to_string(n) + " is not in select list",
                         g->a_const->location);
      source = targets[n - 1].node;
    } else if (g->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && g->column_ref->n_fields == 1) {
      const std::string name = str(g->column_ref->fields[0]);
      const bool is_column = std::any_of(scopes_.begin(), scopes_.end(), [&](const Scope& sc) {
        return std::any_of(sc.table->columns.begin(), sc.table->columns.end(),
                           [&](const ColumnDef& c) { return c.name == name; });
      });
      if (!is_column) {
        for (const auto& t : targets)
          if (t.node != nullptr && t.name == name) source = t.node;
      }
    } else if (g->node_case != PG_QUERY__NODE__NODE_COLUMN_REF &&
               g->node_case == PG_QUERY__NODE__NODE_GROUPING_SET) {
      return unsupported("GROUPING SETS/ROLLUP/CUBE");
    }
    if (g->node_case == PG_QUERY__NODE__NODE_A_CONST &&
        g->a_const->val_case != PG_QUERY__A__CONST__VAL_IVAL)  // 'abc', 1.5, true, NULL
      return sql_error(sqlstate::kSyntaxError, "non-integer constant in GROUP BY",
                       g->a_const->location);
    SQL_ASSIGN(Expr key, bind_expr(source));
    SQL_ASSIGN(key, coerce_to(std::move(key), key.type == Type::kUnknown ? Type::kText : key.type));
    plan.group_keys.push_back(std::move(key));
  }
  allow_aggregates_ = true;
  allow_windows_ = true;
  aggs_ = &plan.aggs;
  std::vector<Expr> outputs;
  for (const auto& t : targets) {
    if (t.node == nullptr && t.merged) {
      outputs.push_back(*t.merged);
      continue;
    }
    if (t.node == nullptr) {
      Expr e;
      e.kind = ExprKind::kColumn;
      e.index = t.column;
      e.type = t.type;
      e.name = t.name;
      outputs.push_back(std::move(e));
      continue;
    }
    SQL_ASSIGN(Expr e, bind_expr(t.node));
    if (e.type == Type::kUnknown && !keep_unknown_outputs_) {
      SQL_ASSIGN(e, coerce_to(std::move(e), Type::kText));
    }
    outputs.push_back(std::move(e));
  }
  if (distinct && plan.aggs.empty() && plan.group_keys.empty() && s->having_clause == nullptr &&
      plan.windows.empty()) {
    // DISTINCT without aggregates is grouping by every output column: one engine path, which
    // materialized views share.
    for (const auto& o : outputs)
      plan.group_keys.push_back(o);
  } else if (distinct) {
    plan.distinct = true;  // after grouping: the executor drops repeated output rows
  }
  std::optional<Expr> having;
  if (s->having_clause != nullptr) {
    clause_ = Clause::kHaving;
    allow_windows_ = false;
    no_windows_in_ = "HAVING";
    SQL_ASSIGN(Expr h, bind_expr(s->having_clause));
    SQL_ASSIGN(h, coerce_to(std::move(h), Type::kBool));
    having = std::move(h);
  }
  // ORDER BY: an output ordinal, an output name, or an expression (a hidden output column).
  clause_ = Clause::kTargets;
  allow_windows_ = true;
  std::vector<std::string> names;
  std::vector<const Node*> target_nodes;
  for (const auto& t : targets) {
    names.push_back(t.name);
    target_nodes.push_back(t.node);
  }
  for (size_t i = 0; i < s->n_sort_clause; ++i) {
    const auto* sb = s->sort_clause[i]->sort_by;
    SortKey key;
    SQL_ASSIGN(std::optional<size_t> column,
               order_by_output(sb, names, key, &outputs, &target_nodes));
    if (!column) {
      SQL_ASSIGN(Expr e, bind_expr(sb->node));
      if (e.type == Type::kUnknown) {
        SQL_ASSIGN(e, coerce_to(std::move(e), Type::kText));
      }
      if (distinct) {
        // Sorting on anything but the output columns would split or merge the distinct rows.
        for (size_t c = 0; c < targets.size() && !column; ++c)
          if (same_expr(e, outputs[c])) column = c;
        if (!column)
          return sql_error("42P10",
                           "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                           e.location);
      } else {
        // An expression the select list has is that output, as PostgreSQL matches them.
        for (size_t c = 0; c < outputs.size() && !column; ++c)
          if (same_expr(e, outputs[c])) column = c;
        if (!column) {
          column = outputs.size();
          outputs.push_back(std::move(e));
        }
      }
    }
    key.column = *column;
    plan.order.push_back(key);
  }
  if (distinct_on) SQL_CHECK(bind_distinct_on(s, names, target_nodes, outputs, plan));
  allow_aggregates_ = false;
  allow_windows_ = false;
  no_windows_in_ = "LIMIT";
  plan.grouped = !plan.aggs.empty() || !plan.group_keys.empty() || having.has_value();
  if (plan.grouped || !plan.windows.empty()) {
    // A correlated subquery runs per input row; over groups (or in a window) there is no row.
    auto correlated = [](const Expr& e, auto& self) -> bool {
      if (e.kind == ExprKind::kSubquery && e.correlated) return true;
      return std::any_of(e.args.begin(), e.args.end(),
                         [&](const Expr& a) { return self(a, self); });
    };
    bool found = having && correlated(*having, correlated);
    for (const auto& o : outputs)
      found = found || correlated(o, correlated);
    for (const auto& w : plan.windows) {
      for (const auto* list : {&w.args, &w.partition, &w.order})
        for (const auto& e : *list)
          found = found || correlated(e, correlated);
      found = found || correlated(w.agg.arg, correlated);
      for (const auto* o : {&w.start_offset, &w.end_offset})
        found = found || (*o && correlated(**o, correlated));
    }
    if (found)
      return unsupported("a correlated subquery in a query with GROUP BY, aggregates or windows");
  }
  if (plan.grouped) {
    group_keys_ = &plan.group_keys;
    for (auto& o : outputs) {
      SQL_ASSIGN(o, to_group_refs(std::move(o)));
    }
    // A window over a grouped query reads the groups: its expressions too.
    for (auto& w : plan.windows) {
      for (auto* list : {&w.args, &w.partition, &w.order})
        for (auto& e : *list) {
          SQL_ASSIGN(e, to_group_refs(std::move(e)));
        }
      if (w.fn == WindowSpec::Fn::kAggregate && w.agg.kind != AggKind::kCountStar) {
        SQL_ASSIGN(w.agg.arg, to_group_refs(std::move(w.agg.arg)));
      }
    }
    if (having) {
      SQL_ASSIGN(Expr h, to_group_refs(std::move(*having)));
      plan.having = std::move(h);
    }
  }
  // An aggregate whose every reference simplification removed (CASE WHEN false THEN sum(x) END)
  // is not computed, as in PostgreSQL, so its argument is never evaluated. (Not in a
  // materialized view: its aggregates' positions are part of its stored state, which views
  // created before this rule have too.)
  // Window calls likewise (their arguments are never evaluated); only the select list and
  // ORDER BY refer to them.
  if (!binding_view_) {
    std::vector<Expr*> exprs;
    for (auto& o : outputs)
      exprs.push_back(&o);
    drop_unreferenced(plan.windows, ExprKind::kWindowRef, exprs);
    if (plan.having) exprs.push_back(&*plan.having);
    for (auto& w : plan.windows) {
      for (auto* list : {&w.args, &w.partition, &w.order})
        for (auto& e : *list)
          exprs.push_back(&e);
      exprs.push_back(&w.agg.arg);
    }
    drop_unreferenced(plan.aggs, ExprKind::kAggRef, exprs);
  }
  for (size_t i = 0; i < targets.size(); ++i)
    plan.columns.push_back({targets[i].name, outputs[i].type});
  plan.outputs = std::move(outputs);
  SQL_CHECK(bind_limit_offset(s, plan));
  return plan;
}

}  // namespace eddy::sql::binding

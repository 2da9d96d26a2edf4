// Internal to the binder's files: the Binder, which turns one parsed statement (libpg_query's
// protobuf tree) into a Plan, and the helpers its parts share. binder.cc parses and dispatches
// statements; binder_expr.cc binds expressions (names, types, casts, operators, functions,
// constant folding); binder_select.cc binds SELECT and its FROM, GROUP BY, ORDER BY, UNION;
// binder_statements.cc binds the other statements (INSERT, CREATE, DROP, SET, SHOW, COPY,
// EXPLAIN, DECLARE). It includes libpg_query's headers: include it from the binder only.
#pragma once

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sql/binder.h"
#include "sql/builtins.h"

namespace eddy::sql {

// A statement PostgreSQL's grammar does not have, recognised before parsing.
struct SpecialShow {
  enum Kind { kNone, kViews, kColumns, kCreateTable, kCreateView } kind = kNone;
  std::string schema;
  std::string name;
  int location = -1;  // of the name
  int start = 0;      // of the statement
};

namespace binding {

using Node = PgQuery__Node;

SqlError unsupported(const std::string& what, int location = -1);
// 0A000 for a subquery that names a column of the query around it.
SqlError correlated_subquery(int location);
// The message field name of a node ("SelectStmt"), for "not supported" messages.
std::string node_name(const Node* node);
std::string str(const Node* node);  // a String node's text ("" for any other node)
std::string lower(std::string s);
// Last element of a qualified name list ("pg_catalog"."lower" -> "lower").
std::string last_name(size_t n, Node** names);
// The column name PostgreSQL gives a SQL value function (current_user, current_date, ...).
std::string sql_value_function_name(PgQuery__SQLValueFunctionOp op);

struct TypeSpec {
  Type type;
  int scale = -1;
  int precision = -1;  // numeric(p[, s]); -1: unconstrained
};

SqlResult<TypeSpec> resolve_type(const PgQuery__TypeName* tn);

// 42883 "function name(types) does not exist", with PostgreSQL's hint.
SqlError no_such_function(const std::string& name, const std::vector<Type>& types, int location);

// Constant folding and simplification (binder_expr.cc).
Expr make_const(Value v, int location);
// A reference to computed value `index` (kAggRef, kWindowRef, kGroupRef) of `type`.
inline Expr make_ref(ExprKind kind, Type type, int index, std::string name, int location) {
  Expr ref;
  ref.kind = kind;
  ref.type = type;
  ref.index = index;
  ref.name = std::move(name);
  ref.location = location;
  return ref;
}
SqlError statement_too_complex();
bool is_const(const Expr& e);
bool has_null_constant_argument(const Expr& call, const Signature& sig);
Expr fold_call(Expr call);
SqlStatus raise_deferred_fold_errors(const Expr& e, const std::vector<AggSpec>* aggs = nullptr);
bool no_deferred_fold_errors(const std::vector<Expr>& args);
Expr simplify_case(Expr e);
Expr simplify_coalesce(Expr e);
SqlResult<Expr> simplify_and_or(Expr e);
Expr fold_constant_test(Expr e);
bool same_expr(const Expr& a, const Expr& b);
std::optional<size_t> column_index(const TableDef& t, const std::string& name);

// A plan of `kind` that answers `tag` (binder_statements.cc).
Plan tagged(Plan::Kind kind, const char* tag);
// An option's value as text (EXPLAIN's, WITH's), or 42601 naming `what`.
SqlResult<std::string> option_value(const PgQuery__DefElem* opt, const char* what);

class Binder {
 public:
  Binder(const BindInput& input, std::string statement)
      : input_(input),
        stored_view_(input.stored_view_columns != nullptr),
        statement_(std::move(statement)),
        params_(input.param_types) {}

  SqlResult<Plan> bind_statement(const Node* stmt);
  SqlResult<Plan> bind_special(const SpecialShow& special);

 private:
  SqlResult<Plan> bind_explain(const PgQuery__ExplainStmt* s);
  SqlResult<Plan> bind_declare_cursor(const PgQuery__DeclareCursorStmt* s);
  // A relation named in FROM (or by SHOW COLUMNS): a table, a view or a system relation.
  SqlResult<TableDef> resolve_relation(const std::string& schema, const std::string& name,
                                       int location) const;
  // 0A000 for the first PostgreSQL catalog relation Eddy lacks anywhere in the FROM clauses of
  // `s` (joins and subqueries included), before anything else about the query is refused: that
  // is what psql's \d queries run into, and what their user needs to hear.
  SqlStatus check_catalog_relations(const PgQuery__SelectStmt* s) const;
  SqlStatus check_catalog_relations(const Node* from) const;
  SqlResult<Expr> bind_sql_value_function(const PgQuery__SQLValueFunction* f);
  // EXISTS (SELECT ...), (SELECT ...) as a value, x IN (SELECT ...): uncorrelated subqueries,
  // bound in a scope of their own and run before the statement's rows.
  SqlResult<Expr> bind_sublink(const PgQuery__SubLink* link);
  int select_depth_ = 0;           // SELECTs being bound (subqueries are allowed only inside one)
  bool top_level_select_ = false;  // the statement is a SELECT

  SqlResult<Plan> bind_select(const PgQuery__SelectStmt* s);
  SqlResult<Plan> bind_union(const PgQuery__SelectStmt* s);
  SqlStatus bind_limit_offset(const PgQuery__SelectStmt* s, Plan& plan);
  // VALUES (...), (...) as a query: one arm of a UNION ALL per row, typed per column as UNION
  // types its arms, columns named column1, column2, ...
  SqlResult<Plan> bind_values(const PgQuery__SelectStmt* s);
  // A set operation's (or VALUES') own ORDER BY (output columns only) and LIMIT/OFFSET.
  SqlStatus bind_set_order_limit(const PgQuery__SelectStmt* s, Plan& plan);
  // SELECT set_config(name, value, is_local), alone: a SET that answers the new value. Its
  // effect must happen when the statement runs, not when it is bound, so it is a kSet plan
  // rather than a function.
  std::optional<SqlResult<Plan>> bind_set_config(const PgQuery__SelectStmt* s);
  SqlResult<Plan> bind_insert(const PgQuery__InsertStmt* s);
  SqlResult<Plan> bind_create(const PgQuery__CreateStmt* s);
  SqlResult<Plan> bind_drop(const PgQuery__DropStmt* s);
  SqlResult<Plan> bind_create_view(const PgQuery__CreateTableAsStmt* s);
  // CREATE [OR REPLACE] VIEW: a named query (not materialized).
  SqlResult<Plan> bind_create_plain_view(const PgQuery__ViewStmt* s);
  // A view read in FROM: its stored query bound in a scope of its own, as a subquery.
  SqlResult<TableDef> bind_named_view(const ViewDef& view);
  static constexpr size_t kMaxViewNesting = 64;
  std::vector<std::string>
      expanding_views_;  // views whose queries are being bound, outermost first
  // The tables, views and materialized views the statement names anywhere (its subqueries and
  // WITH queries, used or not, included), in order: what a view created by it depends on.
  std::vector<std::string> relations_read_;
  SqlResult<Plan> bind_set(const PgQuery__VariableSetStmt* s);
  SqlResult<Plan> bind_show(const PgQuery__VariableShowStmt* s);
  SqlResult<Plan> bind_copy(const PgQuery__CopyStmt* s);

  // Binds one expression. The outermost call (not one for a subexpression) also raises the errors
  // constant folding deferred (see fold_call) that PostgreSQL's simplification would reach.
  SqlResult<Expr> bind_expr(const Node* node);
  SqlResult<Expr> bind_expr_node(const Node* node);
  SqlResult<Expr> bind_column(const PgQuery__ColumnRef* ref);
  SqlResult<Expr> bind_const(const PgQuery__AConst* c);
  SqlResult<Expr> bind_a_expr(const PgQuery__AExpr* a);
  SqlResult<Expr> bind_func(const PgQuery__FuncCall* f);
  // An aggregate call's spec (its argument bound; over_window: it is a window aggregate,
  // whose argument may hold the query's own aggregates).
  SqlResult<AggSpec> bind_aggregate_spec(const PgQuery__FuncCall* f, const std::string& name,
                                         AggKind kind, bool over_window);
  // fn(...) OVER (...) (binder_window.cc): a WindowSpec in *windows_, read as kWindowRef.
  SqlResult<Expr> bind_window_function(const PgQuery__FuncCall* f, const std::string& name);
  SqlResult<const PgQuery__WindowDef*> named_window(const std::string& name, int location) const;
  // `spec` (which names `base`) with what it takes from base, or PostgreSQL's 42P20.
  SqlResult<PgQuery__WindowDef> derive_window(const PgQuery__WindowDef& spec,
                                              const PgQuery__WindowDef& base, bool in_over) const;
  // The SELECT's WINDOW clause, each entry merged with the earlier one it names.
  SqlStatus resolve_window_clause(const PgQuery__SelectStmt* s);
  std::vector<WindowSpec>* windows_ = nullptr;     // the window calls of the SELECT being bound
  bool allow_windows_ = false;                     // in its select list or ORDER BY
  bool in_window_ = false;                         // binding a window call's own expressions
  const char* no_windows_in_ = "this position";    // the clause, for the 42P20 message
  std::vector<PgQuery__WindowDef> named_windows_;  // its WINDOW clause, resolved
  SqlResult<Expr> bind_operator(const std::string& op, const Node* left, const Node* right,
                                int location);
  SqlResult<Expr> make_operator(const std::string& op, std::optional<Expr> left, Expr right,
                                int location);
  SqlResult<Expr> coerce_to(Expr e, Type target, CastContext context = CastContext::kImplicit);
  // Brings every expression to one type (CASE branches, COALESCE, IN lists).
  SqlResult<Type> unify(std::vector<Expr*> exprs, const char* construct, int location);
  // After binding in a grouped query: group expressions become kGroupRef, and any column left
  // outside an aggregate is an error.
  SqlResult<Expr> to_group_refs(Expr e);
  std::string output_name(const Node* node) const;

  const BindInput& input_;
  // Rebinding a view the catalog stored: what was accepted when it was created still is (the
  // constant errors later found in its aggregates' arguments are left for run time).
  const bool stored_view_;
  bool binding_view_ = false;  // binding the SELECT of a CREATE MATERIALIZED VIEW
  std::string statement_;      // this statement's text
  std::vector<Type> params_;
  // The inputs in FROM, in order; each one's columns start at `base` in the combined row.
  struct Scope {
    std::string alias;
    const TableDef* table;
    size_t base;
  };
  std::vector<Scope> scopes_;
  // While an expression's subquery binds: the scopes of the queries around it, innermost last.
  // A name found only there makes the subquery correlated (0A000) rather than unknown.
  struct OuterScopes {
    std::vector<Scope> scopes;
    int location;                            // of the subquery bound inside them
    std::vector<std::string> using_names{};  // their USING columns (named once, the left one)
  };
  std::vector<OuterScopes> outer_scopes_;
  // A column of the query right around the subquery being bound, as kOuterRef (nullopt when
  // it has none of that name); sets correlated_found_.
  SqlResult<std::optional<Expr>> outer_column(const std::string& qualifier, const std::string& name,
                                              int loc);
  bool correlated_found_ = false;  // the subquery being bound read its outer query's row
  // The location of the subquery whose surrounding query has the name; nullopt when none.
  std::optional<int> names_outer_scope(const std::string& qualifier, const std::string& name) const;
  // Columns named in USING: unqualified, they mean the left input's column.
  std::vector<std::string> using_names_;
  // SELECT * with USING: the merged columns first (scope, column), and those hidden after.
  std::vector<std::pair<size_t, size_t>> star_front_;
  std::set<std::pair<size_t, size_t>> star_hidden_;
  // USING columns a RIGHT or FULL join merged into an expression (the right column, or
  // COALESCE of both), by the left column (scope, column) that names them.
  std::map<std::pair<size_t, size_t>, Expr> merged_columns_;
  // Binding an arm of a UNION: outputs of unknown type stay unknown (the UNION resolves them).
  bool keep_unknown_outputs_ = false;
  SqlResult<Unit> bind_from(const Node* from, Plan& plan);
  SqlResult<const TableDef*> add_scope(const PgQuery__RangeVar* rv, Plan& plan, bool first);
  // A subquery in FROM, or a WITH query: an input named `name` whose columns are the query's
  // (renamed by `colnames`, as many as given).
  SqlResult<const TableDef*> add_scope(TableDef def, const std::string& alias, int location,
                                       Plan& plan, bool first);
  SqlResult<TableDef> bind_subquery_table(const PgQuery__SelectStmt* query, const std::string& name,
                                          Node** colnames, size_t n_colnames, int location);
  // A SELECT with scopes of its own (a UNION arm, a subquery), the enclosing query's restored
  // after it. Outputs of unknown type stay unknown when `keep_unknown`.
  SqlResult<Plan> bind_in_own_scope(const PgQuery__SelectStmt* s, bool keep_unknown);
  // WITH queries visible to the statement being bound, innermost last.
  std::vector<std::pair<std::string, TableDef>> ctes_;
  // Binds the queries of `with` onto ctes_ (the caller drops them when its statement is bound).
  SqlStatus bind_with(const PgQuery__WithClause* with);
  // DISTINCT ON (...): Plan::distinct_on, checked against the ORDER BY already bound.
  SqlStatus bind_distinct_on(const PgQuery__SelectStmt* s, const std::vector<std::string>& names,
                             const std::vector<const Node*>& target_nodes,
                             std::vector<Expr>& outputs, Plan& plan);
  // (scope, column) of `name` in scopes [0, limit); -1 scope when absent; 42702 when ambiguous.
  SqlResult<std::pair<int, size_t>> find_column(const std::string& name, size_t limit, int loc);
  // Nesting of bind_expr calls: 0 outside any expression.
  int expr_depth_ = 0;
  // Constant errors that survived simplification are raised once the whole statement is bound,
  // as PostgreSQL raises them in its planner after parse analysis: every error parse analysis
  // finds (bad literal text, a name that does not exist) comes first. Among several, the first
  // in the planner's order wins: the top query's clauses before the set operation's arms, arms
  // left to right, and in each the select list (with GROUP BY and ORDER BY) before JOIN ON,
  // WHERE, HAVING and LIMIT/OFFSET.
  enum class Clause : int { kTargets = 0, kJoinOn = 1, kWhere = 2, kHaving = 3, kLimit = 4 };
  void note_fold_error(SqlError error) {
    // A planner error: PostgreSQL reports no position for it.
    error.location = -1;
    const auto rank = std::make_tuple(arm_, static_cast<int>(clause_), fold_errors_seen_++);
    if (!fold_error_ || rank < fold_error_rank_) {
      fold_error_ = std::move(error);
      fold_error_rank_ = rank;
    }
  }
  std::optional<SqlError> fold_error_;
  std::tuple<int, int, int> fold_error_rank_{};
  int fold_errors_seen_ = 0;
  int arm_ = 0;   // -1 while binding a set operation's own ORDER BY and LIMIT
  int arms_ = 0;  // leaf SELECTs bound so far
  Clause clause_ = Clause::kTargets;
  bool allow_aggregates_ = false;
  bool in_aggregate_ = false;
  std::vector<AggSpec>* aggs_ = nullptr;
  const std::vector<Expr>* group_keys_ = nullptr;
};

}  // namespace binding
}  // namespace eddy::sql

#include "sql/binder.h"

#include "sql/builtins.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include "common/stack_guard.h"
#include "sql/formats.h"
#include "sql/system_tables.h"

namespace eddy::sql {

// A statement PostgreSQL's grammar does not have, recognised before parsing.
struct SpecialShow {
  enum Kind { kNone, kViews, kColumns, kCreateTable, kCreateView } kind = kNone;
  std::string schema;
  std::string name;
  int location = -1;  // of the name
  int start = 0;      // of the statement
};

struct ParsedQuery::Impl {
  std::string sql;
  std::vector<SpecialShow> specials;
  PgQuery__ParseResult* tree = nullptr;
  ~Impl() {
    if (tree != nullptr) pg_query__parse_result__free_unpacked(tree, nullptr);
  }
};

namespace {

using Node = PgQuery__Node;

SqlError unsupported(const std::string& what, int location = -1) {
  return sql_error(sqlstate::kFeatureNotSupported, what + " is not supported yet", location);
}

// The message field name of a node ("SelectStmt"), for "not supported" messages.
std::string node_name(const Node* node) {
  if (node == nullptr) return "empty node";
  const ProtobufCFieldDescriptor* field = protobuf_c_message_descriptor_get_field(
      node->base.descriptor, static_cast<unsigned>(node->node_case));
  if (field == nullptr) return "node";
  std::string name = field->name;
  // snake_case -> CamelCase
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return out;
}

std::string str(const Node* node) {
  if (node != nullptr && node->node_case == PG_QUERY__NODE__NODE_STRING) return node->string->sval;
  return {};
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Last element of a qualified name list ("pg_catalog"."lower" -> "lower").
std::string last_name(size_t n, Node** names) {
  return n == 0 ? std::string() : str(names[n - 1]);
}

struct TypeSpec {
  Type type;
  int scale = -1;
  int precision = -1;  // numeric(p[, s]); -1: unconstrained
};

SqlResult<TypeSpec> resolve_type(const PgQuery__TypeName* tn) {
  std::string name = last_name(tn->n_names, tn->names);
  if (tn->n_array_bounds > 0) return unsupported("array types", tn->location);
  auto type = type_from_name(name);
  if (!type) {
    static const char* kKnownLater[] = {"bytea", "time", "timetz", "uuid"};
    for (const char* later : kKnownLater)
      if (name == later) return unsupported("type " + name, tn->location);
    return sql_error(sqlstate::kUndefinedObject, "type \"" + name + "\" does not exist",
                     tn->location);
  }
  TypeSpec spec{*type};
  // INTERVAL '1' DAY restricts and reinterprets the input; interval(p) rounds. Neither is done,
  // so refuse rather than answer differently from PostgreSQL (0x7FFF: all fields).
  if (*type == Type::kInterval && tn->n_typmods > 0) {
    const Node* m = tn->typmods[0];
    const bool full = m->node_case == PG_QUERY__NODE__NODE_A_CONST &&
                      m->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL &&
                      m->a_const->ival->ival == 0x7FFF;
    if (!full || tn->n_typmods > 1)
      return unsupported("interval field restrictions and precision", tn->location);
  }
  if (*type == Type::kNumeric && tn->n_typmods > 0) {
    const auto int_modifier = [](const Node* m) -> std::optional<int> {
      if (m->node_case == PG_QUERY__NODE__NODE_A_CONST &&
          m->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL)
        return m->a_const->ival->ival;
      return std::nullopt;
    };
    const auto precision = int_modifier(tn->typmods[0]);
    if (tn->n_typmods > 2 || !precision)
      return sql_error(sqlstate::kSyntaxError, "invalid NUMERIC type modifier", tn->location);
    if (*precision < 1 || *precision > 1000)
      return sql_error(
          "22023",
          "NUMERIC precision " + std::to_string(*precision) + " must be between 1 and 1000",
          tn->location);
    int scale = 0;
    if (tn->n_typmods == 2) {
      const auto s = int_modifier(tn->typmods[1]);
      if (!s)
        return sql_error(sqlstate::kSyntaxError, "invalid NUMERIC type modifier", tn->location);
      if (*s < -1000 || *s > 1000)
        return sql_error("22023",
                         "NUMERIC scale " + std::to_string(*s) + " must be between -1000 and 1000",
                         tn->location);
      scale = *s;
    }
    spec.precision = *precision;
    spec.scale = scale;
  }
  return spec;
}

Expr make_const(Value v, int location) {
  Expr e;
  e.kind = ExprKind::kConst;
  e.type = v.type;
  e.location = location;
  e.value = std::move(v);
  return e;
}

SqlError statement_too_complex() {
  return SqlError{sqlstate::kStatementTooComplex, "statement too complex", -1, "",
                  "Nest fewer expressions (long chains of operators, deep parentheses)."};
}

bool is_const(const Expr& e) {
  return e.kind == ExprKind::kConst;
}

// A strict call with a constant NULL argument is NULL, whatever its other arguments are: they are
// never evaluated (PostgreSQL's simplification does the same at plan time).
bool has_null_constant_argument(const Expr& call, const Signature& sig) {
  if (!sig.strict || is_nonstrict_function(sig.fn)) return false;
  return std::any_of(call.args.begin(), call.args.end(),
                     [](const Expr& a) { return a.kind == ExprKind::kConst && a.value.null; });
}

// Constant folding: a call over constants runs once, at bind time. A call that fails (1/0) is
// kept unfolded instead of failing the statement here, because it may sit in a branch that
// PostgreSQL's simplification drops unread (CASE WHEN false THEN 1/0, coalesce(1, 1/0),
// true OR 1/0 = 1); raise_deferred_fold_errors reports the ones that remain reachable.
Expr fold_call(Expr call) {
  auto folded = eval(call, EvalContext{});
  if (!folded.ok()) return call;
  return make_const(std::move(*folded), call.location);
}

// The error of the first call (in evaluation order) that failed to fold: a non-volatile call whose
// arguments are all constants is one, since folding would have replaced it otherwise.
// `aggs`: the aggregates kAggRef nodes refer to (their arguments left the tree when the aggregate
// became a reference); null where there are none.
SqlStatus raise_deferred_fold_errors(const Expr& e, const std::vector<AggSpec>* aggs = nullptr) {
  for (const Expr& a : e.args) {
    SQL_CHECK(raise_deferred_fold_errors(a, aggs));
  }
  // A cast of a constant that failed (coerce leaves it unfolded).
  if (e.kind == ExprKind::kCast && e.args.size() == 1 && is_const(e.args[0])) {
    auto cast = eval(e, EvalContext{});
    if (!cast.ok()) return std::move(cast.error());
  }
  if (e.kind == ExprKind::kAggRef && aggs != nullptr && e.index >= 0 &&
      static_cast<size_t>(e.index) < aggs->size())
    SQL_CHECK(raise_deferred_fold_errors((*aggs)[static_cast<size_t>(e.index)].arg));
  if (e.kind == ExprKind::kCall && !is_volatile_function(e.fn) &&
      std::all_of(e.args.begin(), e.args.end(), is_const)) {
    auto folded = eval(e, EvalContext{});
    if (!folded.ok()) return std::move(folded.error());
  }
  return Unit{};
}

// Whether none of `args` holds a constant error left for later. A call folded to NULL must not
// hide one (PostgreSQL simplified those arguments first, so 1/0 + NULL fails), so such a call
// stays a call: raise_deferred_fold_errors finds the error if the call is still reachable once
// the whole expression is bound, and a branch that drops the call drops the error with it.
bool no_deferred_fold_errors(const std::vector<Expr>& args) {
  return std::all_of(args.begin(), args.end(),
                     [](const Expr& a) { return raise_deferred_fold_errors(a).ok(); });
}

// PostgreSQL's simplification of a bound CASE: a WHEN whose condition is a constant false or null
// is dropped unread, and a constant true one ends the CASE with its result.
Expr simplify_case(Expr e) {
  const size_t arms = (e.args.size() - (e.has_else ? 1 : 0)) / 2;
  Expr out = e;
  out.args.clear();
  out.has_else = false;
  for (size_t i = 0; i < arms; ++i) {
    Expr& cond = e.args[2 * i];
    Expr& result = e.args[2 * i + 1];
    if (is_const(cond)) {
      if (cond.value.null || !cond.value.b) continue;
      out.args.push_back(std::move(result));
      out.has_else = true;
      break;
    }
    out.args.push_back(std::move(cond));
    out.args.push_back(std::move(result));
  }
  if (!out.has_else && e.has_else) {
    out.args.push_back(std::move(e.args.back()));
    out.has_else = true;
  }
  if (out.args.size() == 1) return std::move(out.args[0]);
  if (out.args.empty()) return make_const(Value::null_of(out.type), out.location);
  return out;
}

// COALESCE stops at its first non-null constant; constant nulls before it are dropped.
Expr simplify_coalesce(Expr e) {
  Expr out = e;
  out.args.clear();
  for (Expr& a : e.args) {
    if (is_const(a) && a.value.null) continue;
    const bool last = is_const(a);
    out.args.push_back(std::move(a));
    if (last) break;
  }
  if (out.args.size() == 1) return std::move(out.args[0]);
  if (out.args.empty()) return make_const(Value::null_of(out.type), out.location);
  return out;
}

// AND with a constant false argument is false, OR with a constant true one is true: PostgreSQL's
// simplification replaces the whole expression, so no argument is read at run time. The ones
// before it were folded first, so their constant errors are still raised; the ones after it
// were never looked at.
SqlResult<Expr> simplify_and_or(Expr e) {
  const bool decisive = e.kind == ExprKind::kOr;
  for (size_t i = 0; i < e.args.size(); ++i) {
    const Expr& a = e.args[i];
    if (is_const(a) && !a.value.null && a.value.b == decisive) {
      for (size_t j = 0; j < i; ++j)
        SQL_CHECK(raise_deferred_fold_errors(e.args[j]));
      return make_const(Value::boolean(decisive), e.location);
    }
  }
  return e;
}

// A test, comparison or NOT over constants is folded like a call (IS NULL, IS TRUE, IN, LIKE,
// NOT, NULLIF, GREATEST), so that AND, OR and CASE see a constant and drop what it decides, as
// PostgreSQL's simplification does. One that fails to evaluate is left for run time.
Expr fold_constant_test(Expr e) {
  switch (e.kind) {
    case ExprKind::kIsNull:
    case ExprKind::kBoolTest:
    case ExprKind::kIn:
    case ExprKind::kLike:
    case ExprKind::kNot:
    case ExprKind::kNullIf:
    case ExprKind::kGreatest:
      break;
    default:
      return e;
  }
  if (e.args.empty() || !std::all_of(e.args.begin(), e.args.end(), is_const)) return e;
  auto folded = eval(e, EvalContext{});
  if (!folded.ok()) return e;
  if (folded->null) *folded = Value::null_of(e.type);
  if (folded->type != e.type) return e;  // (a representation this fold does not vouch for)
  return make_const(std::move(*folded), e.location);
}

bool same_expr(const Expr& a, const Expr& b) {
  if (a.kind != b.kind || a.type != b.type || a.index != b.index || a.fn != b.fn ||
      a.negated != b.negated || a.case_insensitive != b.case_insensitive ||
      a.args.size() != b.args.size() || a.scale != b.scale || a.precision != b.precision ||
      a.has_else != b.has_else)
    return false;
  if (a.kind == ExprKind::kConst &&
      (a.value.null != b.value.null || to_text(a.value) != to_text(b.value)))
    return false;
  if (a.kind == ExprKind::kBoolTest && a.value.b != b.value.b) return false;  // IS TRUE / FALSE
  for (size_t i = 0; i < a.args.size(); ++i)
    if (!same_expr(a.args[i], b.args[i])) return false;
  return true;
}

// A column of `t` by name: declared columns, then metadata columns.
std::optional<size_t> column_index(const TableDef& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i].name == name) return i;
  for (size_t i = 0; i < std::size(kMetadataColumns); ++i)
    if (name == kMetadataColumns[i]) return t.columns.size() + i;
  return std::nullopt;
}

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
  SqlResult<Plan> bind_select(const PgQuery__SelectStmt* s);
  SqlResult<Plan> bind_union(const PgQuery__SelectStmt* s);
  SqlStatus bind_limit_offset(const PgQuery__SelectStmt* s, Plan& plan);
  // SELECT set_config(name, value, is_local), alone: a SET that answers the new value. Its
  // effect must happen when the statement runs, not when it is bound, so it is a kSet plan
  // rather than a function.
  std::optional<SqlResult<Plan>> bind_set_config(const PgQuery__SelectStmt* s);
  SqlResult<Plan> bind_insert(const PgQuery__InsertStmt* s);
  SqlResult<Plan> bind_create(const PgQuery__CreateStmt* s);
  SqlResult<Plan> bind_drop(const PgQuery__DropStmt* s);
  SqlResult<Plan> bind_create_view(const PgQuery__CreateTableAsStmt* s);
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
  // Columns named in USING: unqualified, they mean the left input's column.
  std::vector<std::string> using_names_;
  // SELECT * with USING: the merged columns first (scope, column), and those hidden after.
  std::vector<std::pair<size_t, size_t>> star_front_;
  std::set<std::pair<size_t, size_t>> star_hidden_;
  // Binding an arm of a UNION: outputs of unknown type stay unknown (the UNION resolves them).
  bool keep_unknown_outputs_ = false;
  SqlResult<Unit> bind_from(const Node* from, Plan& plan);
  SqlResult<const TableDef*> add_scope(const PgQuery__RangeVar* rv, Plan& plan, bool first);
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

SqlResult<Expr> Binder::coerce_to(Expr e, Type target, CastContext context) {
  if (e.kind == ExprKind::kParam && e.type == Type::kUnknown) {
    Type& declared = params_[static_cast<size_t>(e.index)];
    if (declared == Type::kUnknown) declared = target;
    e.type = declared;
  }
  return coerce(std::move(e), target, context);
}

SqlResult<Type> Binder::unify(std::vector<Expr*> exprs, const char* construct, int location) {
  Type t = Type::kUnknown;
  for (Expr* e : exprs) {
    auto c = common_type(t, e->type);
    if (!c) {
      return sql_error(sqlstate::kDatatypeMismatch,
                       std::string(construct) + " types " + type_name(t) + " and " +
                           type_name(e->type) + " cannot be matched",
                       e->location >= 0 ? e->location : location);
    }
    t = (t == Type::kUnknown && e->type == Type::kUnknown) ? Type::kUnknown : *c;
  }
  if (t == Type::kUnknown) t = Type::kText;
  for (Expr* e : exprs) {
    SQL_ASSIGN(*e, coerce_to(std::move(*e), t));
  }
  return t;
}

SqlResult<Expr> Binder::bind_const(const PgQuery__AConst* c) {
  const int loc = c->location;
  if (c->isnull) return make_const(Value::null_of(Type::kUnknown), loc);
  switch (c->val_case) {
    case PG_QUERY__A__CONST__VAL_IVAL:
      return make_const(Value::integer(Type::kInt4, c->ival->ival), loc);
    case PG_QUERY__A__CONST__VAL_FVAL: {
      const std::string text = c->fval->fval;
      if (text.find_first_of(".eE") == std::string::npos) {
        // An integer too large for int4 arrives here; negated, -2147483648 fits again and is
        // an integer, as in PostgreSQL (so -2147483648 * 2 overflows int4).
        auto v = from_text(Type::kInt8, text);
        if (v.ok() && v->i >= INT32_MIN && v->i <= INT32_MAX)
          return make_const(Value::integer(Type::kInt4, v->i), loc);
        if (v.ok()) return make_const(*v, loc);
      }
      auto v = from_text(Type::kNumeric, text);
      if (!v.ok()) {
        v.error().location = loc;
        return v.error();
      }
      return make_const(*v, loc);
    }
    case PG_QUERY__A__CONST__VAL_BOOLVAL:
      return make_const(Value::boolean(c->boolval->boolval), loc);
    case PG_QUERY__A__CONST__VAL_SVAL:
      return make_const(Value::text(c->sval->sval, Type::kUnknown), loc);
    default:
      return unsupported("this kind of constant", loc);
  }
}

SqlResult<Expr> Binder::bind_column(const PgQuery__ColumnRef* ref) {
  const int loc = ref->location;
  std::string name;
  std::string qualifier;
  for (size_t i = 0; i < ref->n_fields; ++i) {
    if (ref->fields[i]->node_case == PG_QUERY__NODE__NODE_A_STAR)
      return unsupported("* in this position", loc);
    if (i + 1 < ref->n_fields) qualifier = str(ref->fields[i]);
  }
  name = str(ref->fields[ref->n_fields - 1]);
  if (ref->n_fields > 2) return unsupported("schema-qualified column references", loc);
  Expr e;
  e.kind = ExprKind::kColumn;
  e.location = loc;
  e.name = name;
  auto place = [&](size_t scope, size_t column) {
    const Scope& sc = scopes_[scope];
    e.index = static_cast<int>(sc.base + column);
    e.type = column < sc.table->columns.size() ? sc.table->columns[column].type
                                               : kMetadataTypes[column - sc.table->columns.size()];
    return e;
  };
  if (!qualifier.empty()) {
    for (size_t i = 0; i < scopes_.size(); ++i) {
      if (scopes_[i].alias != qualifier) continue;
      if (auto c = column_index(*scopes_[i].table, name)) return place(i, *c);
      return sql_error(sqlstate::kUndefinedColumn,
                       "column " + qualifier + "." + name + " does not exist", loc);
    }
    return sql_error(sqlstate::kUndefinedTable,
                     "missing FROM-clause entry for table \"" + qualifier + "\"", loc);
  }
  SQL_ASSIGN(auto found, find_column(name, scopes_.size(), loc));
  if (found.first < 0)
    return sql_error(sqlstate::kUndefinedColumn, "column \"" + name + "\" does not exist", loc);
  return place(static_cast<size_t>(found.first), found.second);
}

SqlResult<std::pair<int, size_t>> Binder::find_column(const std::string& name, size_t limit,
                                                      int loc) {
  std::pair<int, size_t> found{-1, 0};
  const bool merged =
      std::find(using_names_.begin(), using_names_.end(), name) != using_names_.end();
  for (size_t i = 0; i < limit && i < scopes_.size(); ++i) {
    auto c = column_index(*scopes_[i].table, name);
    if (!c) continue;
    if (found.first >= 0) {
      if (merged) break;  // the USING column: the left one
      return sql_error("42702", "column reference \"" + name + "\" is ambiguous", loc);
    }
    found = {static_cast<int>(i), *c};
  }
  return found;
}

SqlResult<Expr> Binder::make_operator(const std::string& op, std::optional<Expr> left, Expr right,
                                      int location) {
  auto sig =
      resolve_operator(op, left ? std::optional<Type>(left->type) : std::nullopt, right.type);
  if (!sig) {
    std::string msg = "operator does not exist: ";
    if (left) msg += std::string(type_name(left->type)) + " ";
    msg += op + " " + type_name(right.type);
    return sql_error(sqlstate::kUndefinedFunction, msg, location);
  }
  if (sig->check_literal != nullptr && is_const(right) && right.type == Type::kUnknown &&
      !right.value.null)
    SQL_CHECK(sig->check_literal(right.value.s, right.location));
  Expr call;
  call.kind = ExprKind::kCall;
  call.type = sig->result;
  call.location = location;
  call.name = op;
  call.fn = sig->fn;
  size_t p = 0;
  if (left) {
    SQL_ASSIGN(Expr l, coerce_to(std::move(*left), sig->params[p++], CastContext::kExplicit));
    call.args.push_back(std::move(l));
  }
  SQL_ASSIGN(Expr r, coerce_to(std::move(right), sig->params[p], CastContext::kExplicit));
  call.args.push_back(std::move(r));
  if (has_null_constant_argument(call, *sig) && no_deferred_fold_errors(call.args))
    return make_const(Value::null_of(call.type), location);
  // Constant folding: operators over constants run once, here (errors keep their position).
  bool all_const = std::all_of(call.args.begin(), call.args.end(),
                               [](const Expr& a) { return a.kind == ExprKind::kConst; });
  if (all_const) return fold_call(std::move(call));
  return call;
}

SqlResult<Expr> Binder::bind_operator(const std::string& op, const Node* left, const Node* right,
                                      int location) {
  std::optional<Expr> l;
  if (left != nullptr) {
    SQL_ASSIGN(Expr bound, bind_expr(left));
    l = std::move(bound);
  }
  SQL_ASSIGN(Expr r, bind_expr(right));
  return make_operator(op, std::move(l), std::move(r), location);
}

SqlResult<Expr> Binder::bind_a_expr(const PgQuery__AExpr* a) {
  const int loc = a->location;
  const std::string op = last_name(a->n_name, a->name);
  switch (a->kind) {
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP:
      return bind_operator(op, a->lexpr, a->rexpr, loc);
    case PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF: {
      Expr e;
      e.kind = ExprKind::kNullIf;
      e.location = loc;
      SQL_ASSIGN(Expr l, bind_expr(a->lexpr));
      SQL_ASSIGN(Expr r, bind_expr(a->rexpr));
      e.args.push_back(std::move(l));
      e.args.push_back(std::move(r));
      SQL_ASSIGN(e.type, unify({&e.args[0], &e.args[1]}, "NULLIF", loc));
      // NULLIF(NULL, x) is NULL without reading x, as PostgreSQL simplifies it.
      if (is_const(e.args[0]) && e.args[0].value.null && no_deferred_fold_errors(e.args))
        return make_const(Value::null_of(e.type), loc);
      return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_IN: {
      Expr e;
      e.kind = ExprKind::kIn;
      e.type = Type::kBool;
      e.location = loc;
      e.negated = op == "<>";
      SQL_ASSIGN(Expr needle, bind_expr(a->lexpr));
      e.args.push_back(std::move(needle));
      if (a->rexpr->node_case != PG_QUERY__NODE__NODE_LIST)
        return unsupported("IN (subquery)", loc);
      for (size_t i = 0; i < a->rexpr->list->n_items; ++i) {
        SQL_ASSIGN(Expr item, bind_expr(a->rexpr->list->items[i]));
        e.args.push_back(std::move(item));
      }
      std::vector<Expr*> all;
      for (auto& arg : e.args)
        all.push_back(&arg);
      SQL_CHECK(unify(all, "IN", loc));
      return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_LIKE:
    case PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE: {
      Expr e;
      e.kind = ExprKind::kLike;
      e.type = Type::kBool;
      e.location = loc;
      e.negated = !op.empty() && op[0] == '!';
      e.case_insensitive = a->kind == PG_QUERY__A__EXPR__KIND__AEXPR_ILIKE;
      for (const Node* side : {a->lexpr, a->rexpr}) {
        SQL_ASSIGN(Expr s, bind_expr(side));
        if (s.type != Type::kText && s.type != Type::kUnknown)
          return sql_error(
              sqlstate::kUndefinedFunction,
              std::string("operator does not exist: ") + type_name(s.type) + " ~~ " + "unknown",
              loc);
        SQL_ASSIGN(Expr t, coerce_to(std::move(s), Type::kText));
        e.args.push_back(std::move(t));
      }
      return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_BETWEEN:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN: {
      const Node* bounds = a->rexpr;
      if (bounds->node_case != PG_QUERY__NODE__NODE_LIST || bounds->list->n_items != 2)
        return unsupported("this BETWEEN form", loc);
      const bool negated = a->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NOT_BETWEEN;
      SQL_ASSIGN(Expr x, bind_expr(a->lexpr));
      SQL_ASSIGN(Expr lo, bind_expr(bounds->list->items[0]));
      SQL_ASSIGN(Expr hi, bind_expr(bounds->list->items[1]));
      SQL_ASSIGN(Expr ge, make_operator(negated ? "<" : ">=", x, std::move(lo), loc));
      SQL_ASSIGN(Expr le, make_operator(negated ? ">" : "<=", std::move(x), std::move(hi), loc));
      Expr e;
      e.kind = negated ? ExprKind::kOr : ExprKind::kAnd;
      e.type = Type::kBool;
      e.location = loc;
      e.args.push_back(std::move(ge));
      e.args.push_back(std::move(le));
      return e;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_DISTINCT:
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT:
      return unsupported("IS [NOT] DISTINCT FROM", loc);
    case PG_QUERY__A__EXPR__KIND__AEXPR_SIMILAR:
      return unsupported("SIMILAR TO", loc);
    default:
      return unsupported("ANY/ALL and symmetric BETWEEN", loc);
  }
}

SqlResult<Expr> Binder::bind_func(const PgQuery__FuncCall* f) {
  const int loc = f->location;
  const std::string name = last_name(f->n_funcname, f->funcname);
  if (f->over != nullptr) return unsupported("window functions", loc);
  if (auto agg = aggregate_kind(name)) {
    if (!allow_aggregates_)
      return sql_error(sqlstate::kGroupingError,
                       "aggregate functions are not allowed in this position", loc);
    if (in_aggregate_)
      return sql_error(sqlstate::kGroupingError, "aggregate function calls cannot be nested", loc);
    if (f->agg_filter != nullptr || f->n_agg_order > 0)
      return unsupported("FILTER and ORDER BY inside aggregates", loc);
    AggSpec spec{*agg, static_cast<bool>(f->agg_distinct)};
    if (f->agg_star) {
      if (*agg != AggKind::kCount)
        return sql_error(sqlstate::kSyntaxError, name + "(*) is not valid", loc);
      spec.kind = AggKind::kCountStar;
      spec.arg.location = loc;
      spec.result = Type::kInt8;
    } else {
      if (*agg == AggKind::kStringAgg && f->n_args == 2) {
        // The delimiter must be a constant here (PostgreSQL allows any expression).
        SQL_ASSIGN(Expr d, bind_expr(f->args[1]));
        SQL_ASSIGN(d, coerce_to(std::move(d), Type::kText));
        if (d.kind != ExprKind::kConst)
          return unsupported("a string_agg delimiter that is not a constant", d.location);
        if (d.value.null) return unsupported("a NULL string_agg delimiter", d.location);
        spec.delimiter = d.value.s;
      } else if (*agg == AggKind::kStringAgg) {
        return sql_error(
            sqlstate::kUndefinedFunction,
            "function string_agg with " + std::to_string(f->n_args) + " arguments does not exist",
            loc);
      } else if (f->n_args != 1)
        return sql_error(
            sqlstate::kUndefinedFunction,
            "function " + name + " with " + std::to_string(f->n_args) + " arguments does not exist",
            loc);
      in_aggregate_ = true;
      auto arg = bind_expr(f->args[0]);
      in_aggregate_ = false;
      if (!arg.ok()) return arg.error();
      Expr a = std::move(*arg);
      if (a.type == Type::kUnknown) {
        SQL_ASSIGN(a,
                   coerce_to(std::move(a), *agg == AggKind::kCount ? Type::kText
                                           : *agg == AggKind::kBoolAnd || *agg == AggKind::kBoolOr
                                               ? Type::kBool
                                               : Type::kText));
      }
      auto result = aggregate_result(*agg, a.type);
      if (!result)
        return sql_error(sqlstate::kUndefinedFunction,
                         "function " + name + "(" + type_name(a.type) + ") does not exist", loc);
      spec.result = *result;
      spec.arg = std::move(a);
    }
    Expr ref;
    ref.kind = ExprKind::kAggRef;
    ref.type = spec.result;
    ref.location = loc;
    ref.name = name;
    ref.index = static_cast<int>(aggs_->size());
    aggs_->push_back(std::move(spec));
    return ref;
  }
  if (f->agg_star || f->agg_distinct)
    return sql_error(sqlstate::kSyntaxError, name + " is not an aggregate function", loc);
  std::vector<Expr> args;
  // Named arguments (name => value) are placed by parameter name; only make_interval has them.
  static const char* kMakeIntervalParams[] = {"years", "months", "weeks", "days",
                                              "hours", "mins",   "secs"};
  std::vector<bool> given;
  for (size_t i = 0; i < f->n_args; ++i) {
    const Node* node = f->args[i];
    if (node->node_case == PG_QUERY__NODE__NODE_NAMED_ARG_EXPR) {
      const auto* named = node->named_arg_expr;
      size_t slot = std::size(kMakeIntervalParams);
      if (name == "make_interval")
        for (size_t k = 0; k < std::size(kMakeIntervalParams); ++k)
          if (named->name == std::string(kMakeIntervalParams[k])) slot = k;
      SQL_ASSIGN(Expr a, bind_expr(named->arg));
      if (slot == std::size(kMakeIntervalParams))
        return sql_error(sqlstate::kUndefinedFunction,
                         "function " + name + "(" + named->name + " => " + type_name(a.type) +
                             ") does not exist",
                         loc);
      given.resize(std::max(given.size(), args.size()), true);  // positional ones are given
      if (args.size() <= slot) {
        args.resize(slot + 1, make_const(Value::integer(Type::kInt4, 0), loc));
        given.resize(slot + 1, false);
      }
      if (given[slot])
        return sql_error(sqlstate::kSyntaxError,
                         std::string("argument name \"") + named->name + "\" used more than once",
                         named->location);
      args[slot] = std::move(a);
      given[slot] = true;
      continue;
    }
    if (!given.empty())
      return sql_error(sqlstate::kSyntaxError, "positional argument cannot follow named argument",
                       loc);
    SQL_ASSIGN(Expr a, bind_expr(node));
    args.push_back(std::move(a));
  }
  // Functions answered from the session or the server, folded to constants.
  if (name == "current_database" && args.empty())
    return make_const(Value::text(kDatabaseName), loc);
  if (name == "current_schema" && args.empty()) return make_const(Value::text(kSchemaName), loc);
  if (name == "current_schemas") return unsupported("current_schemas() (it returns an array)", loc);
  if (name == "set_config")
    return unsupported("set_config() other than alone in a SELECT without FROM", loc);
  if (name == "pg_backend_pid" && args.empty())
    return make_const(Value::integer(Type::kInt4, input_.backend_pid), loc);
  if (name == "version" && args.empty())
    return make_const(Value::text("PostgreSQL 15.0 (Eddy) on x86_64-pc-linux-gnu"), loc);
  if (name == "current_setting" && (args.size() == 1 || args.size() == 2) &&
      args[0].kind == ExprKind::kConst && !args[0].value.null) {
    auto value = input_.setting ? input_.setting(args[0].value.s) : std::nullopt;
    const bool missing_ok = args.size() == 2 && args[1].kind == ExprKind::kConst &&
                            !args[1].value.null && cast_value(args[1].value, Type::kBool).ok() &&
                            cast_value(args[1].value, Type::kBool)->b;
    if (!value) {
      if (missing_ok) return make_const(Value::null_of(Type::kText), loc);
      return sql_error(sqlstate::kUndefinedObject,
                       "unrecognized configuration parameter \"" + args[0].value.s + "\"", loc);
    }
    return make_const(Value::text(*value), loc);
  }
  if (name == "pg_typeof" && args.size() == 1) {
    return make_const(Value::text(type_name(args[0].type)), loc);
  }
  std::vector<Type> types;
  for (const auto& a : args)
    types.push_back(a.type);
  bool known = false;
  auto sig = resolve_function(name, types, &known);
  // A resolver that matched the name but not the argument count has no signature for the call.
  if (sig && sig->params.size() != args.size() && !sig->variadic) sig.reset();
  if (!sig) {
    std::string list;
    for (Type t : types)
      list += (list.empty() ? "" : ", ") + std::string(type_name(t));
    return sql_error(sqlstate::kUndefinedFunction,
                     "function " + name + "(" + list + ") does not exist", loc);
  }
  Expr call;
  call.kind = ExprKind::kCall;
  call.type = sig->result;
  call.location = loc;
  call.name = name;
  call.fn = sig->fn;
  for (size_t i = 0; i < args.size(); ++i) {
    const Type param = sig->variadic ? sig->params.at(0) : sig->params[i];
    SQL_ASSIGN(Expr a, coerce_to(std::move(args[i]), param, CastContext::kExplicit));
    call.args.push_back(std::move(a));
  }
  if (has_null_constant_argument(call, *sig) && no_deferred_fold_errors(call.args))
    return make_const(Value::null_of(call.type), loc);
  // now() and friends read the statement's start time when the statement runs, which may be long
  // after it is bound (prepared statements): never folded.
  bool all_const = !is_volatile_function(call.fn) &&
                   std::all_of(call.args.begin(), call.args.end(),
                               [](const Expr& a) { return a.kind == ExprKind::kConst; });
  if (all_const) return fold_call(std::move(call));
  return call;
}

SqlResult<Expr> Binder::bind_expr(const Node* node) {
  // The binder recurses once per nesting level of the statement (1+1+...+1 is 2,000 levels for
  // 2,000 terms), so the statement's shape decides the stack depth: refuse before it runs out.
  if (stack_nearly_exhausted()) return statement_too_complex();
  ++expr_depth_;
  SqlResult<Expr> bound = bind_expr_node(node);
  if (bound.ok()) *bound = fold_constant_test(std::move(*bound));
  --expr_depth_;
  if (expr_depth_ == 0 && bound.ok()) {
    // (An aggregate's argument counts where its reference survived simplification: CASE WHEN
    // false THEN sum(1/0) END reads none.)
    SqlStatus reachable =
        raise_deferred_fold_errors(*bound, allow_aggregates_ && !stored_view_ ? aggs_ : nullptr);
    if (!reachable.ok()) note_fold_error(std::move(reachable.error()));
  }
  return bound;
}

SqlResult<Expr> Binder::bind_expr_node(const Node* node) {
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_A_CONST:
      return bind_const(node->a_const);
    case PG_QUERY__NODE__NODE_COLUMN_REF:
      return bind_column(node->column_ref);
    case PG_QUERY__NODE__NODE_PARAM_REF: {
      const int n = node->param_ref->number;
      if (n < 1 || n > 65535 || !input_.parameters_allowed)
        return sql_error("42P02", "there is no parameter $" + std::to_string(n),
                         node->param_ref->location);
      if (static_cast<size_t>(n) > params_.size()) params_.resize(static_cast<size_t>(n));
      Expr e;
      e.kind = ExprKind::kParam;
      e.index = n - 1;
      e.type = params_[static_cast<size_t>(n - 1)];
      e.location = node->param_ref->location;
      return e;
    }
    case PG_QUERY__NODE__NODE_A_EXPR:
      return bind_a_expr(node->a_expr);
    case PG_QUERY__NODE__NODE_BOOL_EXPR: {
      const auto* b = node->bool_expr;
      Expr e;
      e.kind = b->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR  ? ExprKind::kAnd
               : b->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR ? ExprKind::kOr
                                                                : ExprKind::kNot;
      e.type = Type::kBool;
      e.location = b->location;
      for (size_t i = 0; i < b->n_args; ++i) {
        SQL_ASSIGN(Expr a, bind_expr(b->args[i]));
        if (a.type != Type::kBool && a.type != Type::kUnknown)
          return sql_error(sqlstate::kDatatypeMismatch,
                           std::string("argument of ") +
                               (e.kind == ExprKind::kAnd  ? "AND"
                                : e.kind == ExprKind::kOr ? "OR"
                                                          : "NOT") +
                               " must be type boolean, not type " + type_name(a.type),
                           a.location);
        SQL_ASSIGN(Expr c, coerce_to(std::move(a), Type::kBool));
        e.args.push_back(std::move(c));
      }
      if (e.kind == ExprKind::kNot) return e;
      return simplify_and_or(std::move(e));
    }
    case PG_QUERY__NODE__NODE_NULL_TEST: {
      Expr e;
      e.kind = ExprKind::kIsNull;
      e.type = Type::kBool;
      e.location = node->null_test->location;
      e.negated = node->null_test->nulltesttype == PG_QUERY__NULL_TEST_TYPE__IS_NOT_NULL;
      SQL_ASSIGN(Expr a, bind_expr(node->null_test->arg));
      e.args.push_back(std::move(a));
      return e;
    }
    case PG_QUERY__NODE__NODE_BOOLEAN_TEST: {
      const auto* t = node->boolean_test;
      Expr e;
      e.type = Type::kBool;
      e.location = t->location;
      SQL_ASSIGN(Expr a, bind_expr(t->arg));
      SQL_ASSIGN(Expr c, coerce_to(std::move(a), Type::kBool));
      e.args.push_back(std::move(c));
      switch (t->booltesttype) {
        case PG_QUERY__BOOL_TEST_TYPE__IS_UNKNOWN:
        case PG_QUERY__BOOL_TEST_TYPE__IS_NOT_UNKNOWN:
          e.kind = ExprKind::kIsNull;
          e.negated = t->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_UNKNOWN;
          return e;
        default:
          e.kind = ExprKind::kBoolTest;
          e.value = Value::boolean(t->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_TRUE ||
                                   t->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE);
          e.negated = t->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_TRUE ||
                      t->booltesttype == PG_QUERY__BOOL_TEST_TYPE__IS_NOT_FALSE;
          return e;
      }
    }
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
      const auto* c = node->type_cast;
      SQL_ASSIGN(TypeSpec spec, resolve_type(c->type_name));
      SQL_ASSIGN(Expr a, bind_expr(c->arg));
      const bool arg_is_const = a.kind == ExprKind::kConst;
      auto cast = coerce_to(std::move(a), spec.type, CastContext::kExplicit);
      if (!cast.ok()) {
        // A cast that cannot exist points at the "::", as PostgreSQL does; bad input text keeps
        // pointing at the literal.
        if (cast.error().sqlstate == sqlstate::kCannotCoerce || !arg_is_const)
          if (c->location >= 0) cast.error().location = c->location;
        return cast.error();
      }
      Expr e = std::move(*cast);
      if (spec.precision >= 0) {
        std::optional<SqlResult<Numeric>> typed;
        if (e.kind == ExprKind::kConst && !e.value.null)
          typed = numeric_typmod(e.value.n, spec.precision, spec.scale, c->location);
        if (typed && typed->ok()) {
          e.value.n = std::move(**typed);
        } else if (e.kind != ExprKind::kConst || typed) {
          // Not a constant, or a constant that does not fit: a cast that runs. PostgreSQL
          // applies a type modifier with a function its planner folds (even to a literal), so
          // the failing one is raised only if simplification leaves it reachable.
          if (e.kind != ExprKind::kCast) {
            Expr wrap;
            wrap.kind = ExprKind::kCast;
            wrap.type = spec.type;
            wrap.args.push_back(std::move(e));
            e = std::move(wrap);
          }
          e.scale = spec.scale;
          e.precision = spec.precision;
        }
      }
      if (c->location >= 0) e.location = c->location;
      return e;
    }
    case PG_QUERY__NODE__NODE_FUNC_CALL:
      return bind_func(node->func_call);
    case PG_QUERY__NODE__NODE_CASE_EXPR: {
      const auto* c = node->case_expr;
      Expr e;
      e.kind = ExprKind::kCase;
      e.location = c->location;
      std::optional<Expr> subject;
      if (c->arg != nullptr) {
        SQL_ASSIGN(Expr s, bind_expr(c->arg));
        subject = std::move(s);
      }
      std::vector<size_t> results;
      for (size_t i = 0; i < c->n_args; ++i) {
        const auto* when = c->args[i]->case_when;
        SQL_ASSIGN(Expr cond, bind_expr(when->expr));
        if (subject) {
          SQL_ASSIGN(cond, make_operator("=", *subject, std::move(cond), when->location));
        }
        SQL_ASSIGN(cond, coerce_to(std::move(cond), Type::kBool));
        SQL_ASSIGN(Expr then, bind_expr(when->result));
        e.args.push_back(std::move(cond));
        results.push_back(e.args.size());
        e.args.push_back(std::move(then));
      }
      if (c->defresult != nullptr) {
        SQL_ASSIGN(Expr other, bind_expr(c->defresult));
        e.has_else = true;
        results.push_back(e.args.size());
        e.args.push_back(std::move(other));
      }
      std::vector<Expr*> branches;
      for (size_t r : results)
        branches.push_back(&e.args[r]);
      SQL_ASSIGN(e.type, unify(branches, "CASE", e.location));
      return simplify_case(std::move(e));
    }
    case PG_QUERY__NODE__NODE_COALESCE_EXPR:
    case PG_QUERY__NODE__NODE_MIN_MAX_EXPR: {
      const bool coalesce = node->node_case == PG_QUERY__NODE__NODE_COALESCE_EXPR;
      Expr e;
      e.kind = coalesce ? ExprKind::kCoalesce : ExprKind::kGreatest;
      e.location = coalesce ? node->coalesce_expr->location : node->min_max_expr->location;
      e.negated = !coalesce && node->min_max_expr->op == PG_QUERY__MIN_MAX_OP__IS_LEAST;
      const size_t n = coalesce ? node->coalesce_expr->n_args : node->min_max_expr->n_args;
      Node** items = coalesce ? node->coalesce_expr->args : node->min_max_expr->args;
      for (size_t i = 0; i < n; ++i) {
        SQL_ASSIGN(Expr a, bind_expr(items[i]));
        e.args.push_back(std::move(a));
      }
      std::vector<Expr*> all;
      for (auto& a : e.args)
        all.push_back(&a);
      SQL_ASSIGN(e.type, unify(all, coalesce ? "COALESCE" : "GREATEST/LEAST", e.location));
      if (coalesce) return simplify_coalesce(std::move(e));
      return e;
    }
    case PG_QUERY__NODE__NODE_SUB_LINK:
      return unsupported("subqueries", node->sub_link->location);
    case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION: {
      const auto* f = node->sqlvalue_function;
      Expr call;
      call.kind = ExprKind::kCall;
      call.location = f->location;
      switch (f->op) {
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_DATE:
          call.type = Type::kDate;
          call.fn = current_date_fn();
          call.name = "current_date";
          return call;
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP:
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP_N:
          call.type = Type::kTimestamptz;
          call.fn = now_fn();
          call.name = "current_timestamp";
          return call;
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP:
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP_N:
          call.type = Type::kTimestamp;
          call.fn = localtimestamp_fn();
          call.name = "localtimestamp";
          return call;
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_ROLE:
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_USER:
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_USER:
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER:
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_CATALOG:
        case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_SCHEMA:
          return bind_sql_value_function(f);
        default:
          return unsupported("this SQL value function (CURRENT_TIME, LOCALTIME)", f->location);
      }
    }
    default:
      return unsupported("expression " + node_name(node));
  }
}

SqlResult<Expr> Binder::to_group_refs(Expr e) {
  for (size_t i = 0; i < group_keys_->size(); ++i) {
    if (same_expr(e, (*group_keys_)[i])) {
      Expr ref;
      ref.kind = ExprKind::kGroupRef;
      ref.type = e.type;
      ref.index = static_cast<int>(i);
      ref.location = e.location;
      ref.name = e.name;
      return ref;
    }
  }
  if (e.kind == ExprKind::kColumn)
    return sql_error(sqlstate::kGroupingError,
                     "column \"" + e.name +
                         "\" must appear in the GROUP BY clause or be used in an aggregate "
                         "function",
                     e.location);
  for (auto& a : e.args) {
    SQL_ASSIGN(a, to_group_refs(std::move(a)));
  }
  return e;
}

// The column name PostgreSQL gives a SQL value function (current_user, current_date, ...).
std::string sql_value_function_name(PgQuery__SQLValueFunctionOp op) {
  switch (op) {
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_DATE:
      return "current_date";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIME:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIME_N:
      return "current_time";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_TIMESTAMP_N:
      return "current_timestamp";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIME:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIME_N:
      return "localtime";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP:
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_LOCALTIMESTAMP_N:
      return "localtimestamp";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_ROLE:
      return "current_role";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_USER:
      return "current_user";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_USER:
      return "user";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_SESSION_USER:
      return "session_user";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_CATALOG:
      return "current_catalog";
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_SCHEMA:
      return "current_schema";
    default:
      return "?column?";
  }
}

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
    default:
      return {"?column?", 0};
  }
}

std::string Binder::output_name(const Node* node) const {
  return figure_column_name(node).first;
}

// Marks the aggregates `e` refers to.
void mark_aggregate_refs(const Expr& e, std::vector<bool>& used) {
  if (e.kind == ExprKind::kAggRef && e.index >= 0 && static_cast<size_t>(e.index) < used.size())
    used[static_cast<size_t>(e.index)] = true;
  for (const auto& a : e.args)
    mark_aggregate_refs(a, used);
}

void renumber_aggregate_refs(Expr& e, const std::vector<int>& renumbered) {
  if (e.kind == ExprKind::kAggRef) e.index = renumbered[static_cast<size_t>(e.index)];
  for (auto& a : e.args)
    renumber_aggregate_refs(a, renumbered);
}

// Removes the aggregates none of `exprs` refers to and renumbers the references.
void drop_unreferenced_aggregates(std::vector<AggSpec>& aggs, const std::vector<Expr*>& exprs) {
  std::vector<bool> used(aggs.size(), false);
  for (const Expr* e : exprs)
    mark_aggregate_refs(*e, used);
  if (std::all_of(used.begin(), used.end(), [](bool u) { return u; })) return;
  std::vector<int> renumbered(aggs.size(), -1);
  std::vector<AggSpec> kept;
  for (size_t i = 0; i < aggs.size(); ++i) {
    if (!used[i]) continue;
    renumbered[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(aggs[i]));
  }
  aggs = std::move(kept);
  for (Expr* e : exprs)
    renumber_aggregate_refs(*e, renumbered);
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

SqlResult<const TableDef*> Binder::add_scope(const PgQuery__RangeVar* rv, Plan& plan, bool first) {
  SQL_ASSIGN(std::optional<TableDef> def,
             resolve_relation(rv->schemaname, rv->relname, rv->location));
  const std::string alias = rv->alias != nullptr ? rv->alias->aliasname : rv->relname;
  if (rv->alias != nullptr && rv->alias->n_colnames > 0)
    return unsupported("column aliases in FROM", rv->location);
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
  join.table = std::move(*def);
  join.alias = alias;
  join.base = base;
  plan.joins.push_back(std::move(join));
  // Scopes point into plan.joins, which may have moved: point them again.
  scopes_.resize(1);
  for (auto& j : plan.joins)
    scopes_.push_back({j.alias, &j.table, j.base});
  return &plan.joins.back().table;
}

SqlResult<Unit> Binder::bind_from(const Node* from, Plan& plan) {
  if (from->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
    SQL_CHECK(add_scope(from->range_var, plan, scopes_.empty()));
    return Unit{};
  }
  if (from->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR)
    return unsupported("FROM " + node_name(from));
  const auto* j = from->join_expr;
  if (j->alias != nullptr || j->join_using_alias != nullptr)
    return unsupported("an alias for a join");
  if (j->jointype == PG_QUERY__JOIN_TYPE__JOIN_RIGHT ||
      j->jointype == PG_QUERY__JOIN_TYPE__JOIN_FULL)
    return unsupported(j->jointype == PG_QUERY__JOIN_TYPE__JOIN_RIGHT
                           ? "RIGHT JOIN (write it as a LEFT JOIN with the inputs swapped)"
                           : "FULL JOIN");
  if (j->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER &&
      j->jointype != PG_QUERY__JOIN_TYPE__JOIN_LEFT)
    return unsupported("this kind of join");
  SQL_CHECK(bind_from(j->larg, plan));
  if (j->rarg->node_case != PG_QUERY__NODE__NODE_RANGE_VAR)
    return unsupported("a join whose right side is not a table (joins nest to the left)");
  const size_t left_scopes = scopes_.size();
  SQL_CHECK(add_scope(j->rarg->range_var, plan, false));
  JoinSpec& join = plan.joins.back();
  join.left_outer = j->jointype == PG_QUERY__JOIN_TYPE__JOIN_LEFT;
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
    Expr re = le;
    re.index = static_cast<int>(join.base + *r);
    re.type = join.table.columns[*r].type;
    SQL_ASSIGN(Expr eq, make_operator("=", le, re, -1));
    join.left_keys.push_back(eq.args[0]);
    join.right_keys.push_back(eq.args[1]);
    if (std::find(using_names_.begin(), using_names_.end(), name) == using_names_.end())
      using_names_.push_back(name);
    const std::pair<size_t, size_t> left_col{static_cast<size_t>(l.first), l.second};
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
    for (const Expr* part : parts) {
      if (part->kind != ExprKind::kCall || part->name != "=" || part->args.size() != 2) continue;
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
    join.condition = std::move(on);
  }
  return Unit{};
}

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

SqlStatus Binder::bind_limit_offset(const PgQuery__SelectStmt* s, Plan& plan) {
  clause_ = Clause::kLimit;
  for (auto [node, slot] :
       {std::pair{s->limit_count, &plan.limit}, std::pair{s->limit_offset, &plan.offset}}) {
    if (node == nullptr) continue;
    SQL_ASSIGN(Expr e, bind_expr(node));
    SQL_ASSIGN(e, coerce_to(std::move(e), Type::kInt8, CastContext::kAssignment));
    *slot = std::move(e);
  }
  return Unit{};
}

SqlResult<Plan> Binder::bind_union(const PgQuery__SelectStmt* s) {
  if (s->op != PG_QUERY__SET_OPERATION__SETOP_UNION) return unsupported("INTERSECT/EXCEPT");
  if (s->with_clause != nullptr) return unsupported("WITH", s->with_clause->location);
  if (s->n_locking_clause > 0) return unsupported("FOR UPDATE/SHARE");
  // Each arm has its own FROM: bind it with a scope of its own.
  auto bind_arm = [&](const PgQuery__SelectStmt* arm, bool keep_unknown) -> SqlResult<Plan> {
    auto saved_scopes = std::move(scopes_);
    auto saved_using = std::move(using_names_);
    auto saved_front = std::move(star_front_);
    auto saved_hidden = std::move(star_hidden_);
    const bool saved_keep = keep_unknown_outputs_;
    scopes_.clear();
    using_names_.clear();
    star_front_.clear();
    star_hidden_.clear();
    keep_unknown_outputs_ = keep_unknown;
    auto bound = bind_select(arm);
    scopes_ = std::move(saved_scopes);
    using_names_ = std::move(saved_using);
    star_front_ = std::move(saved_front);
    star_hidden_ = std::move(saved_hidden);
    keep_unknown_outputs_ = saved_keep;
    return bound;
  };
  // A nested UNION resolves its own types first (as PostgreSQL does), so unknowns stay unknown
  // only for plain arms.
  SQL_ASSIGN(Plan left, bind_arm(s->larg, s->larg->op == PG_QUERY__SET_OPERATION__SETOP_NONE));
  SQL_ASSIGN(Plan right, bind_arm(s->rarg, s->rarg->op == PG_QUERY__SET_OPERATION__SETOP_NONE));
  if (left.columns.size() != right.columns.size())
    return sql_error(sqlstate::kSyntaxError,
                     "each UNION query must have the same number of columns",
                     right.outputs.empty() ? -1 : start_of(right.outputs[0]));
  Plan plan;
  plan.kind = Plan::Kind::kSelect;
  plan.union_distinct = !s->all;
  for (size_t i = 0; i < left.columns.size(); ++i) {
    const Type a = left.columns[i].type, b = right.columns[i].type;
    auto t = common_type(a, b);
    if (!t)
      return sql_error(sqlstate::kDatatypeMismatch,
                       std::string("UNION types ") + type_name(a) + " and " + type_name(b) +
                           " cannot be matched",
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
        arm->order.empty() && !arm->limit && !arm->offset) {
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
  SQL_CHECK(bind_limit_offset(s, plan));
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

SqlResult<Plan> Binder::bind_select(const PgQuery__SelectStmt* s) {
  if (stack_nearly_exhausted()) return statement_too_complex();  // nested UNIONs
  SQL_CHECK(check_catalog_relations(s));
  if (auto set = bind_set_config(s)) return std::move(*set);
  if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE) return bind_union(s);
  if (s->n_values_lists > 0) return unsupported("VALUES as a query");
  if (s->with_clause != nullptr) return unsupported("WITH", s->with_clause->location);
  arm_ = arms_++;
  clause_ = Clause::kJoinOn;  // FROM binds first; its only expressions are JOIN ON conditions
  // Plain DISTINCT is a list of one empty node; DISTINCT ON lists its expressions.
  const bool distinct = s->n_distinct_clause > 0;
  if (distinct && (s->n_distinct_clause != 1 ||
                   (s->distinct_clause[0] != nullptr &&
                    s->distinct_clause[0]->node_case != PG_QUERY__NODE__NODE__NOT_SET)))
    return unsupported("SELECT DISTINCT ON");
  if (s->into_clause != nullptr) return unsupported("SELECT INTO");
  if (s->n_window_clause > 0) return unsupported("WINDOW");
  if (s->n_locking_clause > 0) return unsupported("FOR UPDATE/SHARE");
  Plan plan;
  plan.kind = Plan::Kind::kSelect;
  // FROM a, b: a cross join (WHERE then filters the pairs).
  for (size_t i = 0; i < s->n_from_clause; ++i) {
    const Node* item = s->from_clause[i];
    if (i > 0 && item->node_case != PG_QUERY__NODE__NODE_RANGE_VAR)
      return unsupported("a join after a comma in FROM (write JOIN ... ON)");
    SQL_CHECK(bind_from(item, plan));
  }
  clause_ = Clause::kWhere;
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
  aggs_ = &plan.aggs;
  std::vector<Expr> outputs;
  for (const auto& t : targets) {
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
  if (distinct && plan.aggs.empty() && plan.group_keys.empty() && s->having_clause == nullptr) {
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
    SQL_ASSIGN(Expr h, bind_expr(s->having_clause));
    SQL_ASSIGN(h, coerce_to(std::move(h), Type::kBool));
    having = std::move(h);
  }
  // ORDER BY: an output ordinal, an output name, or an expression (a hidden output column).
  clause_ = Clause::kTargets;
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
        column = outputs.size();
        outputs.push_back(std::move(e));
      }
    }
    key.column = *column;
    plan.order.push_back(key);
  }
  allow_aggregates_ = false;
  plan.grouped = !plan.aggs.empty() || !plan.group_keys.empty() || having.has_value();
  if (plan.grouped) {
    group_keys_ = &plan.group_keys;
    for (auto& o : outputs) {
      SQL_ASSIGN(o, to_group_refs(std::move(o)));
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
  if (!binding_view_) {
    std::vector<Expr*> exprs;
    for (auto& o : outputs)
      exprs.push_back(&o);
    if (plan.having) exprs.push_back(&*plan.having);
    drop_unreferenced_aggregates(plan.aggs, exprs);
  }
  for (size_t i = 0; i < targets.size(); ++i)
    plan.columns.push_back({targets[i].name, outputs[i].type});
  plan.outputs = std::move(outputs);
  SQL_CHECK(bind_limit_offset(s, plan));
  return plan;
}

SqlResult<Plan> Binder::bind_insert(const PgQuery__InsertStmt* s) {
  if (s->n_returning_list > 0) return unsupported("INSERT ... RETURNING");
  if (s->on_conflict_clause != nullptr) return unsupported("INSERT ... ON CONFLICT");
  if (s->with_clause != nullptr) return unsupported("WITH");
  const auto* rv = s->relation;
  const std::string schema = rv->schemaname;
  if (!schema.empty() && schema != kSchemaName) {
    SQL_ASSIGN(TableDef target, resolve_relation(schema, rv->relname, rv->location));
    // The system relations are views in PostgreSQL, and these are not updatable.
    return sql_error("55000", "cannot insert into view \"" + target.name + "\"", rv->location);
  }
  auto def = input_.catalog->table(rv->relname);
  if (!def)
    return sql_error(sqlstate::kUndefinedTable,
                     "relation \"" + std::string(rv->relname) + "\" does not exist", rv->location);
  Plan plan;
  plan.kind = Plan::Kind::kInsert;
  plan.table = def;
  if (s->n_cols == 0) {
    for (size_t i = 0; i < def->columns.size(); ++i)
      plan.insert_columns.push_back(static_cast<int>(i));
  }
  for (size_t i = 0; i < s->n_cols; ++i) {
    const auto* rt = s->cols[i]->res_target;
    const std::string name = rt->name;
    int found = -1;
    for (size_t c = 0; c < def->columns.size(); ++c)
      if (def->columns[c].name == name) found = static_cast<int>(c);
    if (found < 0)
      return sql_error(sqlstate::kUndefinedColumn,
                       "column \"" + name + "\" of relation \"" + def->name + "\" does not exist",
                       rt->location);
    plan.insert_columns.push_back(found);
  }
  const Node* source = s->select_stmt;
  if (source == nullptr || source->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
      source->select_stmt->n_values_lists == 0)
    return unsupported("INSERT without VALUES (INSERT ... SELECT, DEFAULT VALUES)");
  const auto* values = source->select_stmt;
  for (size_t r = 0; r < values->n_values_lists; ++r) {
    const auto* list = values->values_lists[r]->list;
    if (list->n_items > plan.insert_columns.size())
      return sql_error(sqlstate::kSyntaxError, "INSERT has more expressions than target columns",
                       -1);
    if (list->n_items < plan.insert_columns.size() && s->n_cols > 0)
      return sql_error(sqlstate::kSyntaxError, "INSERT has more target columns than expressions",
                       -1);
    std::vector<Expr> row;
    for (size_t i = 0; i < list->n_items; ++i) {
      if (list->items[i]->node_case == PG_QUERY__NODE__NODE_SET_TO_DEFAULT) {
        row.push_back(make_const(Value::null_of(Type::kUnknown), -1));
      } else {
        SQL_ASSIGN(Expr e, bind_expr(list->items[i]));
        row.push_back(std::move(e));
      }
      const Type target = def->columns[static_cast<size_t>(plan.insert_columns[i])].type;
      const int loc = row.back().location;
      auto cast = coerce_to(std::move(row.back()), target, CastContext::kAssignment);
      if (!cast.ok()) {
        if (cast.error().sqlstate == sqlstate::kDatatypeMismatch)
          cast.error().message = "column \"" +
                                 def->columns[static_cast<size_t>(plan.insert_columns[i])].name +
                                 "\" is of type " + type_name(target) +
                                 " but expression is of type " + type_name(row.back().type);
        cast.error().location = loc;
        return cast.error();
      }
      row.back() = std::move(*cast);
    }
    plan.insert_rows.push_back(std::move(row));
  }
  return plan;
}

// The text of a WITH (key = value) option: a string, an integer or a bare word.
static SqlResult<std::string> option_value(const PgQuery__DefElem* opt, const char* what) {
  if (opt->arg == nullptr) return std::string();
  if (opt->arg->node_case == PG_QUERY__NODE__NODE_STRING)
    return std::string(opt->arg->string->sval);
  if (opt->arg->node_case == PG_QUERY__NODE__NODE_INTEGER)
    return std::to_string(opt->arg->integer->ival);
  if (opt->arg->node_case == PG_QUERY__NODE__NODE_TYPE_NAME)
    return last_name(opt->arg->type_name->n_names, opt->arg->type_name->names);
  return sql_error(sqlstate::kInvalidParameterValue,
                   "invalid value for " + std::string(what) + " option \"" + opt->defname + "\"",
                   opt->location);
}

SqlResult<Plan> Binder::bind_create(const PgQuery__CreateStmt* s) {
  if (s->n_inh_relations > 0 || s->partspec != nullptr || s->of_typename != nullptr)
    return unsupported("CREATE TABLE with inheritance, partitioning or OF type");
  if (s->relation->relpersistence[0] == 't') return unsupported("temporary tables");
  Plan plan;
  plan.kind = Plan::Kind::kCreateTable;
  plan.tag = "CREATE TABLE";
  plan.if_not_exists = s->if_not_exists;
  TableDef& def = plan.create;
  def.name = s->relation->relname;
  std::vector<std::pair<std::string, int>> key_names;  // PRIMARY KEY columns, with positions
  bool key_declared = false;
  auto primary_key = [&](int location) -> SqlStatus {
    if (key_declared)
      return sql_error("42P16",
                       "multiple primary keys for table \"" + def.name + "\" are not allowed",
                       location);
    key_declared = true;
    return Unit{};
  };
  for (size_t i = 0; i < s->n_table_elts; ++i) {
    const Node* elt = s->table_elts[i];
    if (elt->node_case == PG_QUERY__NODE__NODE_CONSTRAINT &&
        elt->constraint->contype == PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY) {
      SQL_CHECK(primary_key(elt->constraint->location));
      for (size_t k = 0; k < elt->constraint->n_keys; ++k)
        key_names.push_back({str(elt->constraint->keys[k]), elt->constraint->location});
      continue;
    }
    if (elt->node_case != PG_QUERY__NODE__NODE_COLUMN_DEF)
      return unsupported("table constraints other than PRIMARY KEY (" + node_name(elt) + ")");
    const auto* cd = elt->column_def;
    const std::string name = cd->colname;
    if (name.size() > 0 && name[0] == '_' &&
        std::any_of(std::begin(kMetadataColumns), std::end(kMetadataColumns),
                    [&](const char* m) { return name == m; }))
      return sql_error("42701", "column name \"" + name + "\" is reserved for metadata",
                       cd->location);
    for (const auto& existing : def.columns)
      if (existing.name == name)
        return sql_error("42701", "column \"" + name + "\" specified more than once", cd->location);
    for (size_t k = 0; k < cd->n_constraints; ++k) {
      const auto* c = cd->constraints[k]->constraint;
      if (cd->constraints[k]->node_case != PG_QUERY__NODE__NODE_CONSTRAINT ||
          c->contype != PG_QUERY__CONSTR_TYPE__CONSTR_PRIMARY)
        return unsupported("column constraints other than PRIMARY KEY", cd->location);
      SQL_CHECK(primary_key(c->location));
      key_names.push_back({name, c->location});
    }
    if (cd->raw_default != nullptr) return unsupported("column defaults", cd->location);
    SQL_ASSIGN(TypeSpec spec, resolve_type(cd->type_name));
    def.columns.push_back({name, spec.type});
  }
  for (const auto& [key, location] : key_names) {
    const std::string& wanted = key;  // (a structured binding cannot be captured before C++20)
    auto found = std::find_if(def.columns.begin(), def.columns.end(),
                              [&](const ColumnDef& c) { return c.name == wanted; });
    if (found == def.columns.end())
      return sql_error(sqlstate::kUndefinedColumn,
                       "column \"" + key + "\" named in key does not exist", location);
    const auto index = static_cast<size_t>(found - def.columns.begin());
    if (std::find(def.primary_key.begin(), def.primary_key.end(), index) != def.primary_key.end())
      return sql_error("42701", "column \"" + key + "\" appears twice in primary key constraint",
                       location);
    def.primary_key.push_back(index);
  }
  def.dead_letter = default_dead_letter(def.name);
  bool csv_options = false;
  for (size_t i = 0; i < s->n_options; ++i) {
    const auto* opt = s->options[i]->def_elem;
    // `csv.delimiter` arrives as namespace "csv", name "delimiter".
    const std::string key = opt->defnamespace != nullptr && opt->defnamespace[0] != '\0'
                                ? std::string(opt->defnamespace) + "." + opt->defname
                                : std::string(opt->defname);
    SQL_ASSIGN(const std::string value, option_value(opt, "table"));
    if (key == "dead_letter") {
      def.dead_letter = value;
    } else if (key == "topic") {
      if (value.empty())
        return sql_error(sqlstate::kInvalidParameterValue, "topic must not be empty",
                         opt->location);
      def.topic = value;
      plan.topic_given = true;
    } else if (key == "format") {
      if (!is_table_format(value))
        return sql_error(sqlstate::kFeatureNotSupported,
                         "format \"" + value + "\" is not supported yet (supported: " +
                             supported_table_formats() + ")",
                         opt->location);
      def.format = value;
    } else if (key == "csv.delimiter" || key == "csv.quote") {
      // One ASCII character, not a line break: the catalog and every record must say it
      // the same way.
      if (value.size() != 1 || static_cast<unsigned char>(value[0]) >= 0x80 || value[0] == '\n' ||
          value[0] == '\r')
        return sql_error(sqlstate::kInvalidParameterValue,
                         key + " must be a single one-byte character other than a line break",
                         opt->location);
      (key == "csv.delimiter" ? def.csv_delimiter : def.csv_quote) = value[0];
      csv_options = true;
    } else if (key == "partitions") {
      auto n = from_text(Type::kInt4, value);
      if (!n.ok() || n->i < 1 || n->i > 10000)
        return sql_error(sqlstate::kInvalidParameterValue,
                         "partitions must be an integer between 1 and 10000", opt->location);
      plan.partitions = static_cast<int32_t>(n->i);
    } else {
      return sql_error(sqlstate::kInvalidParameterValue,
                       "unrecognized table option \"" + key +
                           "\" (supported: topic, format, partitions, dead_letter, "
                           "csv.delimiter, csv.quote)",
                       opt->location);
    }
  }
  if (csv_options && def.format != "csv")
    return sql_error(sqlstate::kInvalidParameterValue,
                     "csv.delimiter and csv.quote apply only to format 'csv'");
  if (def.format == "csv" && def.csv_delimiter == def.csv_quote)
    return sql_error(sqlstate::kInvalidParameterValue,
                     "csv.delimiter and csv.quote must be different characters");
  SQL_CHECK(check_table_format(def));
  if (def.topic.empty()) {
    def.topic = def.name;
    def.owns_topic = true;
  }
  if (def.dead_letter == def.topic)
    return sql_error(sqlstate::kInvalidParameterValue,
                     "dead_letter must name a topic other than the table's own");
  return plan;
}

SqlResult<Plan> Binder::bind_create_view(const PgQuery__CreateTableAsStmt* s) {
  if (s->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW)
    return unsupported("CREATE TABLE AS / SELECT INTO (use CREATE MATERIALIZED VIEW)");
  const auto* into = s->into;
  if (into->rel->relpersistence[0] == 't') return unsupported("temporary materialized views");
  if (into->n_col_names > 0) return unsupported("column names after the view name");
  std::string output_topic;
  for (size_t i = 0; i < into->n_options; ++i) {
    const auto* opt = into->options[i]->def_elem;
    const std::string key = opt->defname;
    SQL_ASSIGN(const std::string value, option_value(opt, "materialized view"));
    if (key == "topic") {
      if (value.empty())
        return sql_error(sqlstate::kInvalidParameterValue, "topic must not be empty",
                         opt->location);
      output_topic = value;
    } else if (key == "format") {
      if (value != "json")
        return sql_error(sqlstate::kFeatureNotSupported,
                         "format \"" + value + "\" is not supported yet (supported: json)",
                         opt->location);
    } else {
      return sql_error(
          sqlstate::kInvalidParameterValue,
          "unrecognized materialized view option \"" + key + "\" (supported: topic, format)",
          opt->location);
    }
  }
  if (into->skip_data) return unsupported("WITH NO DATA");
  if (s->query == nullptr || s->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
    return unsupported("this materialized view query");
  binding_view_ = true;
  auto bound_select = bind_select(s->query->select_stmt);
  binding_view_ = false;
  if (!bound_select.ok()) return std::move(bound_select.error());
  Plan select = std::move(*bound_select);
  if (!params_.empty())
    return sql_error(sqlstate::kFeatureNotSupported,
                     "materialized views cannot have parameters ($1, ...)");
  // The arms of a UNION ALL each read their own tables; the first arm's is the view's table.
  std::vector<const Plan*> arms = {&select};
  if (!select.union_arms.empty()) {
    arms.clear();
    for (const auto& arm : select.union_arms)
      arms.push_back(arm.get());
  }
  for (const Plan* arm : arms) {
    if (!arm->table)
      return unsupported("a materialized view without FROM (it needs a source table)");
    if (!arm->table->system.empty())
      return unsupported("a materialized view over a system relation (it has no topic to follow)");
    if (arm->table->is_view)
      return unsupported("a materialized view over another materialized view");
  }
  const std::string first = arms[0]->table->name;
  std::vector<std::string> inputs;
  auto add_input = [&](const std::string& name) {
    if (name != first && std::find(inputs.begin(), inputs.end(), name) == inputs.end())
      inputs.push_back(name);
  };
  Plan plan;
  plan.kind = Plan::Kind::kCreateView;
  plan.tag = "CREATE MATERIALIZED VIEW";
  plan.if_not_exists = s->if_not_exists;
  plan.view.name = into->rel->relname;
  plan.view.sql = statement_;
  plan.view.table = first;
  std::vector<const TableDef*> read;
  for (const Plan* arm : arms) {
    add_input(arm->table->name);
    read.push_back(&*arm->table);
    for (const auto& j : arm->joins) {
      add_input(j.table.name);
      read.push_back(&j.table);
    }
  }
  for (const TableDef* t : read)
    if (!t->is_view && output_topic == t->topic)
      return sql_error(sqlstate::kInvalidParameterValue,
                       "a materialized view cannot write to the topic it reads");
  plan.view.inputs = std::move(inputs);
  plan.view.topic = output_topic;
  // A view the catalog stored keeps the column names it was created with, even where the
  // binder names an unaliased column differently now (its output topic and readers use them).
  if (const auto* stored = input_.stored_view_columns;
      stored != nullptr && stored->size() == select.columns.size()) {
    for (size_t i = 0; i < stored->size(); ++i) {
      select.columns[i].name = (*stored)[i].name;
      // Its state and output hold values of the stored types: a statement that types a column
      // differently now (an older server computed sqrt(numeric) in float8) cannot go on from
      // them.
      if ((*stored)[i].type != select.columns[i].type)
        return sql_error(sqlstate::kFeatureNotSupported,
                         "column \"" + (*stored)[i].name + "\" was " +
                             type_name((*stored)[i].type) + " when the view was created and is " +
                             type_name(select.columns[i].type) +
                             " now; drop the view and create it again");
    }
  }
  for (const auto& c : select.columns) {
    for (const auto& other : plan.view.columns)
      if (other.name == c.name)
        return sql_error("42701",
                         "column \"" + c.name + "\" specified more than once (name it with AS)");
    plan.view.columns.push_back({c.name, c.type});
  }
  plan.view_select = std::make_shared<const Plan>(std::move(select));
  return plan;
}

SqlResult<Plan> Binder::bind_drop(const PgQuery__DropStmt* s) {
  const bool view = s->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW;
  if (s->remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && !view)
    return unsupported("DROP of this object type");
  Plan plan;
  plan.kind = view ? Plan::Kind::kDropView : Plan::Kind::kDropTable;
  plan.tag = view ? "DROP MATERIALIZED VIEW" : "DROP TABLE";
  plan.missing_ok = s->missing_ok;
  for (size_t i = 0; i < s->n_objects; ++i) {
    const auto* list = s->objects[i]->list;
    plan.drop_names.push_back(last_name(list->n_items, list->items));
  }
  return plan;
}

Plan tagged(Plan::Kind kind, const char* tag) {
  Plan plan;
  plan.kind = kind;
  plan.tag = tag;
  return plan;
}

SqlResult<Plan> Binder::bind_set(const PgQuery__VariableSetStmt* s) {
  Plan plan;
  plan.variable = lower(s->name);
  switch (s->kind) {
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE: {
      plan.kind = Plan::Kind::kSet;
      plan.tag = "SET";
      std::string value;
      for (size_t i = 0; i < s->n_args; ++i) {
        const Node* arg = s->args[i];
        std::string part;
        if (arg->node_case == PG_QUERY__NODE__NODE_A_CONST) {
          SQL_ASSIGN(Expr c, bind_const(arg->a_const));
          part = to_text(c.value);
        } else if (arg->node_case == PG_QUERY__NODE__NODE_TYPE_CAST &&
                   arg->type_cast->arg->node_case == PG_QUERY__NODE__NODE_A_CONST) {
          SQL_ASSIGN(Expr c, bind_const(arg->type_cast->arg->a_const));
          part = to_text(c.value);
        } else {
          return unsupported("this SET value");
        }
        // List settings of names keep each name as SQL would write it, as PostgreSQL does.
        if (plan.variable == "search_path" && arg->node_case == PG_QUERY__NODE__NODE_A_CONST &&
            arg->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL)
          part = quote_identifier(part);
        value += (i == 0 ? "" : ", ") + part;
      }
      plan.value = value;
      return plan;
    }
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT:
    case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET: {
      Plan reset = tagged(Plan::Kind::kReset,
                          s->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ? "RESET" : "SET");
      reset.variable = plan.variable;
      return reset;
    }
    case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL:
      return tagged(Plan::Kind::kResetAll, "RESET");
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI:
      // SET TRANSACTION ... / SET SESSION CHARACTERISTICS: nothing to do without transactions.
      return tagged(Plan::Kind::kNoOp, "SET");
    default:
      return unsupported("SET ... FROM CURRENT");
  }
}

SqlResult<Plan> Binder::bind_show(const PgQuery__VariableShowStmt* s) {
  Plan plan;
  plan.variable = lower(s->name);
  plan.tag = "SHOW";
  if (plan.variable == "tables") {
    plan.kind = Plan::Kind::kShowTables;
    plan.columns = {{"name", Type::kText}, {"topic", Type::kText}, {"format", Type::kText}};
  } else if (plan.variable == "materialized_views" || plan.variable == "views") {
    plan.kind = Plan::Kind::kShowViews;
    plan.columns = {{"name", Type::kText},    {"table", Type::kText},   {"status", Type::kText},
                    {"records", Type::kInt8}, {"skipped", Type::kInt8}, {"lag", Type::kInt8}};
  } else if (plan.variable == "all") {
    plan.kind = Plan::Kind::kShowAll;
    plan.columns = {{"name", Type::kText}, {"setting", Type::kText}};
  } else {
    plan.kind = Plan::Kind::kShow;
    plan.columns = {{plan.variable, Type::kText}};
  }
  return plan;
}

namespace {

// A COPY option's value as text: a string, a number, a bare word; "true" when absent.
std::string copy_option_text(const PgQuery__DefElem* opt) {
  if (opt->arg == nullptr) return "true";
  switch (opt->arg->node_case) {
    case PG_QUERY__NODE__NODE_STRING:
      return opt->arg->string->sval;
    case PG_QUERY__NODE__NODE_INTEGER:
      return std::to_string(opt->arg->integer->ival);
    case PG_QUERY__NODE__NODE_BOOLEAN:
      return opt->arg->boolean->boolval ? "true" : "false";
    case PG_QUERY__NODE__NODE_FLOAT:
      return opt->arg->float_->fval;
    default:
      return {};
  }
}

std::string upper(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// PostgreSQL's defGetBoolean spellings.
std::optional<bool> copy_boolean(const std::string& text) {
  const std::string v = lower(text);
  if (v == "true" || v == "on" || v == "1" || v == "t" || v == "yes") return true;
  if (v == "false" || v == "off" || v == "0" || v == "f" || v == "no") return false;
  return std::nullopt;
}

}  // namespace

SqlResult<Plan> Binder::bind_copy(const PgQuery__CopyStmt* s) {
  Plan plan;
  plan.kind = s->is_from ? Plan::Kind::kCopyFrom : Plan::Kind::kCopyTo;
  plan.tag = "COPY";
  if (s->is_program) return unsupported("COPY to or from an external program");
  if (s->filename != nullptr && s->filename[0] != '\0')
    return sql_error(sqlstate::kFeatureNotSupported,
                     std::string("COPY ") + (s->is_from ? "from" : "to") +
                         " a file on the server is not supported; use COPY ... " +
                         (s->is_from ? "FROM STDIN" : "TO STDOUT") + " (psql's \\copy)");
  if (s->where_clause != nullptr) return unsupported("COPY FROM ... WHERE");
  CopyOptions& o = plan.copy;
  std::set<std::string> seen;
  bool quote_given = false, escape_given = false, delimiter_given = false, null_given = false;
  std::map<std::string, std::vector<std::string>> force;  // FORCE_* option -> column names
  bool force_quote_all = false;
  for (size_t i = 0; i < s->n_options; ++i) {
    const auto* opt = s->options[i]->def_elem;
    const std::string name = opt->defname;
    if (!seen.insert(name).second)
      return sql_error(sqlstate::kSyntaxError, "conflicting or redundant options", opt->location);
    const std::string value = copy_option_text(opt);
    if (name == "format") {
      if (value == "csv") {
        o.csv = true;
      } else if (value == "binary") {
        return unsupported("COPY format binary", opt->location);
      } else if (value != "text") {
        return sql_error(sqlstate::kInvalidParameterValue,
                         "COPY format \"" + value + "\" not recognized", opt->location);
      }
    } else if (name == "delimiter" || name == "quote" || name == "escape") {
      if (value.size() != 1)
        return sql_error(sqlstate::kFeatureNotSupported,
                         "COPY " + name + " must be a single one-byte character");
      (name == "delimiter" ? o.delimiter : name == "quote" ? o.quote : o.escape) = value[0];
      (name == "delimiter" ? delimiter_given : name == "quote" ? quote_given : escape_given) = true;
    } else if (name == "null") {
      o.null_string = value;
      null_given = true;
    } else if (name == "header") {
      if (lower(value) == "match") {
        if (!s->is_from)
          return sql_error(sqlstate::kFeatureNotSupported,
                           "cannot use \"match\" with HEADER in COPY TO");
        o.header = o.header_match = true;
      } else if (auto b = copy_boolean(value)) {
        o.header = *b;
      } else {
        return sql_error(sqlstate::kSyntaxError, "header requires a Boolean value or \"match\"");
      }
    } else if (name == "encoding") {
      const std::string enc = lower(value);
      if (enc != "utf8" && enc != "utf-8" && enc != "unicode")
        return unsupported("COPY encoding other than UTF8", opt->location);
    } else if (name == "force_quote" || name == "force_not_null" || name == "force_null") {
      std::vector<std::string>& names = force[name];
      if (opt->arg != nullptr && opt->arg->node_case == PG_QUERY__NODE__NODE_A_STAR &&
          name == "force_quote") {
        force_quote_all = true;
      } else if (opt->arg != nullptr && opt->arg->node_case == PG_QUERY__NODE__NODE_LIST) {
        for (size_t k = 0; k < opt->arg->list->n_items; ++k)
          names.push_back(str(opt->arg->list->items[k]));
      } else {
        return sql_error(sqlstate::kSyntaxError,
                         "argument to option \"" + name + "\" must be a list of column names",
                         opt->location);
      }
    } else if (name == "freeze") {
      return unsupported("COPY option " + name, opt->location);
    } else {
      return sql_error(sqlstate::kSyntaxError, "option \"" + name + "\" not recognized",
                       opt->location);
    }
  }
  // PostgreSQL's checks, in its order.
  if (o.csv) {
    if (!delimiter_given) o.delimiter = ',';
    if (!null_given) o.null_string = "";
    if (!escape_given) o.escape = o.quote;
  }
  if (o.delimiter == '\n' || o.delimiter == '\r')
    return sql_error(sqlstate::kInvalidParameterValue,
                     "COPY delimiter cannot be newline or carriage return");
  if (o.null_string.find_first_of("\r\n") != std::string::npos)
    return sql_error(sqlstate::kInvalidParameterValue,
                     "COPY null representation cannot use newline or carriage return");
  if (!o.csv && std::string_view("\\.abcdefghijklmnopqrstuvwxyz0123456789").find(o.delimiter) !=
                    std::string_view::npos)
    return sql_error(sqlstate::kInvalidParameterValue,
                     std::string("COPY delimiter cannot be \"") + o.delimiter + "\"");
  if (!o.csv && quote_given)
    return sql_error(sqlstate::kFeatureNotSupported, "COPY quote available only in CSV mode");
  if (!o.csv && escape_given)
    return sql_error(sqlstate::kFeatureNotSupported, "COPY escape available only in CSV mode");
  const bool any_force_quote = force_quote_all || force.count("force_quote") != 0;
  if (!o.csv && any_force_quote)
    return sql_error(sqlstate::kFeatureNotSupported, "COPY force quote available only in CSV mode");
  if (s->is_from && any_force_quote)
    return sql_error(sqlstate::kFeatureNotSupported,
                     "COPY force quote only available using COPY TO");
  for (const auto& [option, label] :
       {std::pair<std::string, std::string>{"force_not_null", "force not null"},
        {"force_null", "force null"}}) {
    if (force.count(option) == 0) continue;
    if (!o.csv)
      return sql_error(sqlstate::kFeatureNotSupported,
                       "COPY " + label + " available only in CSV mode");
    if (!s->is_from)
      return sql_error(sqlstate::kFeatureNotSupported,
                       "COPY " + label + " only available using COPY FROM");
  }
  if (o.csv && o.delimiter == o.quote)
    return sql_error(sqlstate::kInvalidParameterValue,
                     "COPY delimiter and quote must be different");
  if (o.null_string.find(o.delimiter) != std::string::npos)
    return sql_error(sqlstate::kFeatureNotSupported,
                     "COPY delimiter must not appear in the NULL specification");
  if (o.csv && o.null_string.find(o.quote) != std::string::npos)
    return sql_error(sqlstate::kFeatureNotSupported,
                     "CSV quote character must not appear in the NULL specification");

  // FORCE_* column names become one flag per COPY column.
  auto resolve_force = [&](const std::vector<std::string>& copy_columns,
                           const TableDef* table) -> SqlStatus {
    const std::pair<const char*, std::vector<bool>*> lists[] = {
        {"force_quote", &o.force_quote},
        {"force_not_null", &o.force_not_null},
        {"force_null", &o.force_null}};
    for (const auto& [option, flags] : lists) {
      const bool all = std::string(option) == "force_quote" && force_quote_all;
      if (!all && force.count(option) == 0) continue;
      flags->assign(copy_columns.size(), all);
      for (const auto& name : force[option]) {
        auto at = std::find(copy_columns.begin(), copy_columns.end(), name);
        const bool in_table =
            table == nullptr || std::any_of(table->columns.begin(), table->columns.end(),
                                            [&](const ColumnDef& c) { return c.name == name; });
        if (!in_table)
          return sql_error(sqlstate::kUndefinedColumn, "column \"" + name + "\" of relation \"" +
                                                           table->name + "\" does not exist");
        if (at == copy_columns.end())
          return sql_error("42P10",
                           upper(option) + " column \"" + name + "\" not referenced by COPY");
        (*flags)[static_cast<size_t>(at - copy_columns.begin())] = true;
      }
    }
    return Unit{};
  };
  if (s->relation == nullptr) {
    // COPY (query) TO STDOUT
    if (s->query == nullptr || s->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
      return unsupported("COPY of a statement other than SELECT");
    SQL_ASSIGN(Plan select, bind_select(s->query->select_stmt));
    std::vector<std::string> names;
    for (const auto& c : select.columns)
      names.push_back(c.name);
    SQL_CHECK(resolve_force(names, nullptr));
    plan.copy_query = std::make_shared<const Plan>(std::move(select));
    return plan;
  }
  const auto* rv = s->relation;
  const std::string schema = rv->schemaname;
  const bool public_schema = schema.empty() || schema == "public";
  if (public_schema && input_.catalog->view(rv->relname)) {
    SqlError e = sql_error("42809", std::string("cannot copy ") + (s->is_from ? "to" : "from") +
                                        " materialized view \"" + rv->relname + "\"");
    if (!s->is_from) e.hint = "Try the COPY (SELECT ...) TO variant.";
    return e;
  }
  auto def = public_schema ? input_.catalog->table(rv->relname) : std::nullopt;
  if (!def) {
    std::string full = schema.empty() ? rv->relname : schema + "." + rv->relname;
    return sql_error(sqlstate::kUndefinedTable, "relation \"" + full + "\" does not exist");
  }
  std::vector<int> columns;
  for (size_t i = 0; i < s->n_attlist; ++i) {
    const std::string name = str(s->attlist[i]);
    int found = -1;
    for (size_t c = 0; c < def->columns.size(); ++c)
      if (def->columns[c].name == name) found = static_cast<int>(c);
    if (found < 0)
      return sql_error(sqlstate::kUndefinedColumn,
                       "column \"" + name + "\" of relation \"" + def->name + "\" does not exist");
    if (std::find(columns.begin(), columns.end(), found) != columns.end())
      return sql_error("42701", "column \"" + name + "\" specified more than once");
    columns.push_back(found);
  }
  if (columns.empty())
    for (size_t c = 0; c < def->columns.size(); ++c)
      columns.push_back(static_cast<int>(c));
  std::vector<std::string> names;
  for (int c : columns)
    names.push_back(def->columns[static_cast<size_t>(c)].name);
  SQL_CHECK(resolve_force(names, &*def));
  if (s->is_from) {
    plan.table = std::move(def);
    plan.insert_columns = std::move(columns);
    return plan;
  }
  // COPY t TO STDOUT is SELECT of its columns.
  auto select = std::make_shared<Plan>();
  select->kind = Plan::Kind::kSelect;
  for (int c : columns) {
    const ColumnDef& col = def->columns[static_cast<size_t>(c)];
    Expr e;
    e.kind = ExprKind::kColumn;
    e.type = col.type;
    e.index = c;
    e.name = col.name;
    select->outputs.push_back(std::move(e));
    select->columns.push_back({col.name, col.type});
  }
  select->table = std::move(def);
  plan.copy_query = std::move(select);
  return plan;
}

SqlResult<Expr> Binder::bind_sql_value_function(const PgQuery__SQLValueFunction* f) {
  switch (f->op) {
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_CATALOG:
      return make_const(Value::text(kDatabaseName), f->location);
    case PG_QUERY__SQLVALUE_FUNCTION_OP__SVFOP_CURRENT_SCHEMA:
      return make_const(Value::text(kSchemaName), f->location);
    default: {
      // current_user, current_role, user, session_user: the user the client connected as.
      auto user = input_.setting ? input_.setting("session_authorization") : std::nullopt;
      return make_const(Value::text(user.value_or(kDatabaseName)), f->location);
    }
  }
}

SqlResult<Plan> Binder::bind_special(const SpecialShow& special) {
  if (special.kind == SpecialShow::kViews) {
    PgQuery__VariableShowStmt show = PG_QUERY__VARIABLE_SHOW_STMT__INIT;
    char name[] = "materialized_views";
    show.name = name;
    return bind_show(&show);
  }
  Plan plan;
  plan.tag = "SHOW";
  plan.variable = special.name;
  if (special.kind == SpecialShow::kColumns) {
    SQL_CHECK(resolve_relation(special.schema, special.name, special.location));
    plan.kind = Plan::Kind::kShowColumns;
    plan.value = special.schema;
    for (size_t i = 0; i < std::size(kDescribeColumnNames); ++i)
      plan.columns.push_back({kDescribeColumnNames[i], kDescribeColumnTypes[i]});
    return plan;
  }
  const bool view = special.kind == SpecialShow::kCreateView;
  const bool public_schema = special.schema.empty() || special.schema == kSchemaName;
  const bool exists = public_schema && (view ? input_.catalog->view(special.name).has_value()
                                             : input_.catalog->table(special.name).has_value());
  if (!exists) {
    const std::string full =
        special.schema.empty() ? special.name : special.schema + "." + special.name;
    return sql_error(
        sqlstate::kUndefinedTable,
        std::string(view ? "materialized view" : "table") + " \"" + full + "\" does not exist",
        special.location);
  }
  plan.kind = Plan::Kind::kShowCreate;
  plan.value = view ? "materialized view" : "table";
  plan.columns = {{"name", Type::kText}, {"create_statement", Type::kText}};
  return plan;
}

SqlResult<Plan> Binder::bind_explain(const PgQuery__ExplainStmt* s) {
  for (size_t i = 0; i < s->n_options; ++i) {
    const auto* opt = s->options[i]->def_elem;
    const std::string name = opt->defname;
    SQL_ASSIGN(const std::string value, option_value(opt, "EXPLAIN"));
    const bool off = value == "false" || value == "off" || value == "0";
    // Eddy prints no costs, so COSTS in any setting asks for what it already does.
    if (name == "costs" || (name == "format" && lower(value) == "text") ||
        ((name == "analyze" || name == "verbose" || name == "buffers" || name == "wal" ||
          name == "timing" || name == "summary" || name == "settings") &&
         off))
      continue;
    std::string shown = name == "format" ? name + " " + value : name;
    for (char& c : shown)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return unsupported("EXPLAIN (" + shown + ")", opt->location);
  }
  const Node* query = s->query;
  Plan inner;
  if (query->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
    SQL_ASSIGN(inner, bind_select(query->select_stmt));
  } else if (query->node_case == PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT &&
             query->create_table_as_stmt->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW) {
    SQL_ASSIGN(inner, bind_create_view(query->create_table_as_stmt));
  } else {
    return sql_error(sqlstate::kFeatureNotSupported,
                     "EXPLAIN of " + node_name(query) +
                         " is not supported yet (only SELECT and CREATE MATERIALIZED VIEW)");
  }
  Plan plan;
  plan.kind = Plan::Kind::kExplain;
  plan.tag = "EXPLAIN";
  plan.columns = {{"QUERY PLAN", Type::kText}};
  plan.explained = std::make_shared<const Plan>(std::move(inner));
  return plan;
}

SqlResult<Plan> Binder::bind_declare_cursor(const PgQuery__DeclareCursorStmt* s) {
  // PostgreSQL's CURSOR_OPT_* bits.
  constexpr int32_t kBinary = 0x1, kNoScroll = 0x4, kHold = 0x20;
  if ((s->options & kBinary) != 0)
    return unsupported(
        "DECLARE BINARY CURSOR (cursors answer in text; a client asks a "
        "portal for binary columns with Bind)");
  if (s->query == nullptr || s->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
    return sql_error(sqlstate::kSyntaxError, "DECLARE CURSOR needs a SELECT");
  SQL_ASSIGN(Plan query, bind_select(s->query->select_stmt));
  Plan plan = tagged(Plan::Kind::kDeclareCursor, "DECLARE CURSOR");
  plan.variable = s->portalname;
  plan.cursor_options.scroll = (s->options & kNoScroll) == 0;
  plan.cursor_options.hold = (s->options & kHold) != 0;
  plan.cursor_query = std::make_shared<const Plan>(std::move(query));
  return plan;
}

SqlResult<Plan> Binder::bind_statement(const Node* stmt) {
  SqlResult<Plan> plan = [&]() -> SqlResult<Plan> {
    switch (stmt->node_case) {
      case PG_QUERY__NODE__NODE_SELECT_STMT:
        return bind_select(stmt->select_stmt);
      case PG_QUERY__NODE__NODE_INSERT_STMT:
        return bind_insert(stmt->insert_stmt);
      case PG_QUERY__NODE__NODE_CREATE_STMT:
        return bind_create(stmt->create_stmt);
      case PG_QUERY__NODE__NODE_DROP_STMT:
        return bind_drop(stmt->drop_stmt);
      case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
        return bind_create_view(stmt->create_table_as_stmt);
      case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
        return bind_set(stmt->variable_set_stmt);
      case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
        return bind_show(stmt->variable_show_stmt);
      case PG_QUERY__NODE__NODE_COPY_STMT:
        return bind_copy(stmt->copy_stmt);
      case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
        return bind_explain(stmt->explain_stmt);
      case PG_QUERY__NODE__NODE_DEALLOCATE_STMT: {
        // psycopg and JDBC free their prepared statements this way. NULL name: ALL.
        const char* name = stmt->deallocate_stmt->name;
        Plan plan = tagged(Plan::Kind::kDeallocate, name ? "DEALLOCATE" : "DEALLOCATE ALL");
        plan.variable = name ? name : "";
        return plan;
      }
      case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
        return bind_declare_cursor(stmt->declare_cursor_stmt);
      case PG_QUERY__NODE__NODE_FETCH_STMT: {
        const auto* f = stmt->fetch_stmt;
        Plan plan = tagged(Plan::Kind::kFetch, f->ismove ? "MOVE" : "FETCH");
        plan.variable = f->portalname;
        plan.fetch_count = f->how_many;
        switch (f->direction) {
          case PG_QUERY__FETCH_DIRECTION__FETCH_BACKWARD:
            plan.fetch_direction = FetchDirection::kBackward;
            break;
          case PG_QUERY__FETCH_DIRECTION__FETCH_ABSOLUTE:
            plan.fetch_direction = FetchDirection::kAbsolute;
            break;
          case PG_QUERY__FETCH_DIRECTION__FETCH_RELATIVE:
            plan.fetch_direction = FetchDirection::kRelative;
            break;
          default:
            plan.fetch_direction = FetchDirection::kForward;
            break;
        }
        // Its rows are the cursor's, known once it is found (Session::result_columns).
        return plan;
      }
      case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT: {
        const char* name = stmt->close_portal_stmt->portalname;
        const bool all = name == nullptr || *name == '\0';
        Plan plan = tagged(Plan::Kind::kCloseCursor, all ? "CLOSE CURSOR ALL" : "CLOSE CURSOR");
        plan.variable = all ? "" : name;
        return plan;
      }
      case PG_QUERY__NODE__NODE_TRANSACTION_STMT: {
        switch (stmt->transaction_stmt->kind) {
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
            return tagged(Plan::Kind::kBegin, "BEGIN");
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
            return tagged(Plan::Kind::kCommit, "COMMIT");
          case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
            return tagged(Plan::Kind::kRollback, "ROLLBACK");
          default:
            return unsupported("savepoints and two-phase commit");
        }
      }
      default:
        return unsupported("statement " + node_name(stmt));
    }
  }();
  if (!plan.ok()) return plan;
  if (fold_error_) return std::move(*fold_error_);
  for (Type& t : params_)
    if (t == Type::kUnknown) t = Type::kText;
  plan->param_types = params_;
  return plan;
}

}  // namespace

namespace {

// The tokens of `sql` as PostgreSQL's own lexer sees them (comments left out); nullopt when it
// cannot lex (the parser then reports the error).
std::optional<std::vector<PgQuery__ScanToken>> scan_tokens(const std::string& sql) {
  PgQueryScanResult scan = pg_query_scan(sql.c_str());
  if (scan.error != nullptr) {
    pg_query_free_scan_result(scan);
    return std::nullopt;
  }
  PgQuery__ScanResult* result = pg_query__scan_result__unpack(
      nullptr, scan.pbuf.len, reinterpret_cast<const uint8_t*>(scan.pbuf.data));
  pg_query_free_scan_result(scan);
  if (result == nullptr) return std::nullopt;
  std::vector<PgQuery__ScanToken> tokens;
  for (size_t i = 0; i < result->n_tokens; ++i) {
    const PgQuery__ScanToken* t = result->tokens[i];
    if (t->token == PG_QUERY__TOKEN__SQL_COMMENT || t->token == PG_QUERY__TOKEN__C_COMMENT)
      continue;
    tokens.push_back(*t);
  }
  pg_query__scan_result__free_unpacked(result, nullptr);
  return tokens;
}

// An identifier token's name: unquoted and folded to lower case, or the quoted text as is.
std::optional<std::string> identifier(const std::string& sql, const PgQuery__ScanToken& t) {
  const bool name_like = t.token == PG_QUERY__TOKEN__IDENT ||
                         (t.keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD &&
                          t.keyword_kind != PG_QUERY__KEYWORD_KIND__RESERVED_KEYWORD);
  if (!name_like) return std::nullopt;
  std::string text = sql.substr(static_cast<size_t>(t.start), static_cast<size_t>(t.end - t.start));
  if (!text.empty() && text.front() == '"') {
    if (text.size() < 2 || text.back() != '"') return std::nullopt;
    std::string out;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      out += text[i];
      if (text[i] == '"') ++i;  // "" is one quote
    }
    return out;
  }
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// SHOW MATERIALIZED VIEWS, SHOW COLUMNS FROM, SHOW CREATE TABLE / MATERIALIZED VIEW are not
// PostgreSQL grammar. ParsedQuery::parse finds them with PostgreSQL's lexer, remembers what
// they ask, and overwrites each with `SHOW eddy_special` padded with spaces (never longer than
// the original, so the positions of everything else stay right).
constexpr std::string_view kSpecialPlaceholder = "SHOW eddy_special";

std::vector<SpecialShow> find_special_shows(const std::string& sql, std::string& rewritten) {
  std::vector<SpecialShow> found;
  // Lexing costs little next to parsing, but most statements (INSERTs) need not pay it at all.
  bool has_show = false;
  for (size_t i = 0; i + 4 <= sql.size() && !has_show; ++i)
    has_show = (sql[i] | 0x20) == 's' && (sql[i + 1] | 0x20) == 'h' && (sql[i + 2] | 0x20) == 'o' &&
               (sql[i + 3] | 0x20) == 'w';
  if (!has_show) return found;
  auto tokens = scan_tokens(sql);
  if (!tokens) return found;
  size_t begin = 0;
  while (begin < tokens->size()) {
    size_t end = begin;
    while (end < tokens->size() && (*tokens)[end].token != PG_QUERY__TOKEN__ASCII_59)
      ++end;
    const auto* t = tokens->data() + begin;
    const size_t n = end - begin;
    auto is = [&](size_t i, PgQuery__Token token) { return i < n && t[i].token == token; };
    SpecialShow special;
    size_t name_at = 0;
    if (is(0, PG_QUERY__TOKEN__SHOW)) {
      if (is(1, PG_QUERY__TOKEN__MATERIALIZED) && n == 3 &&
          identifier(sql, t[2]).value_or("") == "views") {
        special.kind = SpecialShow::kViews;
      } else if (is(1, PG_QUERY__TOKEN__COLUMNS) && is(2, PG_QUERY__TOKEN__FROM)) {
        special.kind = SpecialShow::kColumns;
        name_at = 3;
      } else if (is(1, PG_QUERY__TOKEN__CREATE) && is(2, PG_QUERY__TOKEN__TABLE)) {
        special.kind = SpecialShow::kCreateTable;
        name_at = 3;
      } else if (is(1, PG_QUERY__TOKEN__CREATE) && is(2, PG_QUERY__TOKEN__MATERIALIZED) &&
                 is(3, PG_QUERY__TOKEN__VIEW)) {
        special.kind = SpecialShow::kCreateView;
        name_at = 4;
      }
    }
    bool matched = special.kind == SpecialShow::kViews;
    if (name_at > 0) {
      // name or schema.name, and nothing after it
      auto first = name_at < n ? identifier(sql, t[name_at]) : std::nullopt;
      if (first && n == name_at + 1) {
        special.name = *first;
        special.location = t[name_at].start;
        matched = true;
      } else if (first && n == name_at + 3 && is(name_at + 1, PG_QUERY__TOKEN__ASCII_46)) {
        if (auto second = identifier(sql, t[name_at + 2])) {
          special.schema = *first;
          special.name = *second;
          special.location = t[name_at].start;
          matched = true;
        }
      }
    }
    if (matched) {
      special.start = t[0].start;
      const auto span = static_cast<size_t>(t[n - 1].end - t[0].start);
      std::string placeholder(kSpecialPlaceholder);
      placeholder.resize(span, ' ');
      rewritten.replace(static_cast<size_t>(t[0].start), span, placeholder);
      found.push_back(std::move(special));
    }
    begin = end + 1;
  }
  return found;
}

}  // namespace

std::string quote_identifier(const std::string& name) {
  bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (plain) {
    // Unreserved keywords need no quotes, like in PostgreSQL's quote_ident.
    auto tokens = scan_tokens(name);
    plain = tokens && tokens->size() == 1 &&
            ((*tokens)[0].token == PG_QUERY__TOKEN__IDENT ||
             (*tokens)[0].keyword_kind == PG_QUERY__KEYWORD_KIND__UNRESERVED_KEYWORD);
  }
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string view_query_text(const std::string& create_sql) {
  auto tokens = scan_tokens(create_sql);
  if (!tokens) return create_sql;
  int depth = 0;
  for (const auto& t : *tokens) {
    if (t.token == PG_QUERY__TOKEN__ASCII_40) ++depth;
    if (t.token == PG_QUERY__TOKEN__ASCII_41) --depth;
    if (depth == 0 && t.token == PG_QUERY__TOKEN__AS) {
      size_t from = static_cast<size_t>(t.end);
      while (from < create_sql.size() &&
             std::isspace(static_cast<unsigned char>(create_sql[from])) != 0)
        ++from;
      size_t to = create_sql.size();
      while (to > from && (std::isspace(static_cast<unsigned char>(create_sql[to - 1])) != 0 ||
                           create_sql[to - 1] == ';'))
        --to;
      return create_sql.substr(from, to - from);
    }
  }
  return create_sql;
}

namespace {

// libpg_query's parse tree comes as protobuf, and unpacking it (and freeing it, and binding it)
// recurses once per nesting level with no limit of its own; 20,000 levels overflow an 8 MiB
// stack. Statements estimated to nest deeper than this are refused before parsing.
constexpr size_t kMaxNestingLevels = 10'000;

// An upper bound on how deep the parse tree of `sql` nests, from its tokens: every parenthesis
// or bracket opens a level, and within one level every operator or keyword may add one (a chain
// of 1+1+...+1 nests once per +). Commas, AND, OR, WHEN, THEN and ELSE separate siblings (the
// parser keeps AND and OR chains as flat lists), so wide statements (long IN lists, VALUES, many
// ANDed conditions) are not mistaken for deep ones.
size_t nesting_estimate(const std::vector<PgQuery__ScanToken>& tokens) {
  std::vector<size_t> ops_per_level{0};
  size_t depth = 1, deepest = 1;  // depth = sum over open levels of (1 + their operator count)
  for (const auto& t : tokens) {
    switch (t.token) {
      case PG_QUERY__TOKEN__ASCII_40:  // (
      case PG_QUERY__TOKEN__ASCII_91:  // [
        ops_per_level.push_back(0);
        ++depth;
        break;
      case PG_QUERY__TOKEN__ASCII_41:  // )
      case PG_QUERY__TOKEN__ASCII_93:  // ]
        if (ops_per_level.size() > 1) {
          depth -= 1 + ops_per_level.back();
          ops_per_level.pop_back();
        }
        break;
      case PG_QUERY__TOKEN__ASCII_59:  // ;
        ops_per_level.assign(1, 0);
        depth = 1;
        break;
      case PG_QUERY__TOKEN__ASCII_44:  // ,
      case PG_QUERY__TOKEN__AND:
      case PG_QUERY__TOKEN__OR:
      case PG_QUERY__TOKEN__WHEN:
      case PG_QUERY__TOKEN__THEN:
      case PG_QUERY__TOKEN__ELSE:
        // The list these separate is one level; mixing AND with OR is at most two.
        depth -= ops_per_level.back();
        ops_per_level.back() = 2;
        depth += 2;
        break;
      case PG_QUERY__TOKEN__IDENT:
      case PG_QUERY__TOKEN__UIDENT:
      case PG_QUERY__TOKEN__FCONST:
      case PG_QUERY__TOKEN__SCONST:
      case PG_QUERY__TOKEN__USCONST:
      case PG_QUERY__TOKEN__BCONST:
      case PG_QUERY__TOKEN__XCONST:
      case PG_QUERY__TOKEN__ICONST:
      case PG_QUERY__TOKEN__PARAM:
        break;
      default:
        ++ops_per_level.back();
        ++depth;
        break;
    }
    deepest = std::max(deepest, depth);
  }
  return deepest;
}

}  // namespace

SqlResult<ParsedQuery> ParsedQuery::parse(const std::string& original) {
  // Every nesting level takes at least one byte, so only long statements can nest too deep.
  if (original.size() > kMaxNestingLevels) {
    auto tokens = scan_tokens(original);
    if (tokens && nesting_estimate(*tokens) > kMaxNestingLevels) return statement_too_complex();
  }
  auto impl = std::make_shared<Impl>();
  std::string sql = original;
  impl->specials = find_special_shows(original, sql);
  impl->sql = original;
  PgQueryProtobufParseResult result = pg_query_parse_protobuf(sql.c_str());
  if (result.error != nullptr) {
    SqlError error = sql_error(sqlstate::kSyntaxError, result.error->message,
                               result.error->cursorpos > 0 ? result.error->cursorpos - 1 : -1);
    pg_query_free_protobuf_parse_result(result);
    return error;
  }
  impl->tree = pg_query__parse_result__unpack(
      nullptr, result.parse_tree.len, reinterpret_cast<const uint8_t*>(result.parse_tree.data));
  pg_query_free_protobuf_parse_result(result);
  if (impl->tree == nullptr)
    return sql_error(sqlstate::kInternalError, "cannot decode the parse tree");
  ParsedQuery parsed;
  parsed.impl_ = std::move(impl);
  return parsed;
}

size_t ParsedQuery::size() const {
  return impl_->tree->n_stmts;
}

SqlResult<Plan> ParsedQuery::bind(size_t index, const BindInput& input) const {
  const auto* raw = impl_->tree->stmts[index];
  const size_t begin = std::min(impl_->sql.size(), static_cast<size_t>(raw->stmt_location));
  std::string statement = raw->stmt_len > 0
                              ? impl_->sql.substr(begin, static_cast<size_t>(raw->stmt_len))
                              : impl_->sql.substr(begin);
  const size_t stop = raw->stmt_len > 0 ? begin + static_cast<size_t>(raw->stmt_len) : SIZE_MAX;
  const SpecialShow* special = nullptr;
  for (const auto& s : impl_->specials)
    if (static_cast<size_t>(s.start) >= begin && static_cast<size_t>(s.start) < stop) special = &s;
  Binder binder(input, std::move(statement));
  if (special != nullptr) return binder.bind_special(*special);
  return binder.bind_statement(impl_->tree->stmts[index]->stmt);
}

}  // namespace eddy::sql

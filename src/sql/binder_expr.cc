// Expressions: names, types, casts, operators, functions, aggregates, constant folding.
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
SqlStatus raise_deferred_fold_errors(const Expr& e, const std::vector<AggSpec>* aggs) {
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
  // Subqueries bound apart are different expressions (even when written alike).
  if (a.kind == ExprKind::kSubquery && a.subquery != b.subquery) return false;
  if (a.name != b.name && a.kind == ExprKind::kSubquery) return false;
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
      if (auto c = column_index(*scopes_[i].table, name)) {
        const auto& columns = scopes_[i].table->columns;
        for (size_t k = *c + 1; k < columns.size(); ++k)
          if (columns[k].name == name)
            return sql_error("42702", "column reference \"" + name + "\" is ambiguous",
                             ref->location);
        return place(i, *c);
      }
      return sql_error(sqlstate::kUndefinedColumn,
                       "column " + qualifier + "." + name + " does not exist", loc);
    }
    SQL_ASSIGN(std::optional<Expr> outer_ref, outer_column(qualifier, name, loc));
    if (outer_ref) return std::move(*outer_ref);
    if (auto outer = names_outer_scope(qualifier, name)) return correlated_subquery(*outer);
    return sql_error(sqlstate::kUndefinedTable,
                     "missing FROM-clause entry for table \"" + qualifier + "\"", loc);
  }
  SQL_ASSIGN(auto found, find_column(name, scopes_.size(), loc));
  if (found.first < 0) {
    SQL_ASSIGN(std::optional<Expr> outer_ref, outer_column("", name, loc));
    if (outer_ref) return std::move(*outer_ref);
    if (auto outer = names_outer_scope("", name)) return correlated_subquery(*outer);
    return sql_error(sqlstate::kUndefinedColumn, "column \"" + name + "\" does not exist", loc);
  }
  // A USING column of a RIGHT or FULL join: the merged value, not the left input's.
  if (auto it = merged_columns_.find({static_cast<size_t>(found.first), found.second});
      it != merged_columns_.end() &&
      std::find(using_names_.begin(), using_names_.end(), name) != using_names_.end()) {
    Expr merged = it->second;
    merged.location = loc;
    return merged;
  }
  return place(static_cast<size_t>(found.first), found.second);
}

SqlResult<std::optional<Expr>> Binder::outer_column(const std::string& qualifier,
                                                    const std::string& name, int loc) {
  // Only the query right around the subquery: a reference two levels out stays 0A000.
  if (outer_scopes_.empty()) return std::optional<Expr>();
  const auto& level = outer_scopes_.back();
  const bool merged =
      qualifier.empty() && std::find(level.using_names.begin(), level.using_names.end(), name) !=
                               level.using_names.end();
  std::optional<Expr> found;
  for (const auto& scope : level.scopes) {
    if (!qualifier.empty() && scope.alias != qualifier) continue;
    auto c = column_index(*scope.table, name);
    if (!c) continue;
    if (found && merged) break;  // a USING column: the left one
    if (found) return sql_error("42702", "column reference \"" + name + "\" is ambiguous", loc);
    Expr e;
    e.kind = ExprKind::kOuterRef;
    e.index = static_cast<int>(scope.base + *c);
    e.type = *c < scope.table->columns.size() ? scope.table->columns[*c].type
                                              : kMetadataTypes[*c - scope.table->columns.size()];
    e.name = name;
    e.location = loc;
    found = std::move(e);
  }
  if (found) correlated_found_ = true;
  return found;
}

std::optional<int> Binder::names_outer_scope(const std::string& qualifier,
                                             const std::string& name) const {
  for (const auto& level : outer_scopes_)
    for (const auto& scope : level.scopes)
      if (qualifier.empty() ? column_index(*scope.table, name).has_value()
                            : scope.alias == qualifier)
        return level.location;
  return std::nullopt;
}

SqlResult<std::pair<int, size_t>> Binder::find_column(const std::string& name, size_t limit,
                                                      int loc) {
  std::pair<int, size_t> found{-1, 0};
  const bool merged =
      std::find(using_names_.begin(), using_names_.end(), name) != using_names_.end();
  for (size_t i = 0; i < limit && i < scopes_.size(); ++i) {
    auto c = column_index(*scopes_[i].table, name);
    if (!c) continue;
    // A subquery may name two columns alike; naming either is ambiguous, as in PostgreSQL.
    const auto& columns = scopes_[i].table->columns;
    for (size_t k = *c + 1; k < columns.size(); ++k)
      if (columns[k].name == name)
        return sql_error("42702", "column reference \"" + name + "\" is ambiguous", loc);
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
    // IS [NOT] DISTINCT FROM is `=` to PostgreSQL, and its message names that.
    const bool distinct = op == kIsDistinctFrom || op == kIsNotDistinctFrom;
    msg += (distinct ? std::string("=") : op) + " " + type_name(right.type);
    SqlError e = sql_error(sqlstate::kUndefinedFunction, msg, location);
    e.hint =
        "No operator matches the given name and argument types. You might need to add explicit "
        "type casts.";
    return e;
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
      return bind_operator(kIsDistinctFrom, a->lexpr, a->rexpr, loc);
    case PG_QUERY__A__EXPR__KIND__AEXPR_NOT_DISTINCT:
      return bind_operator(kIsNotDistinctFrom, a->lexpr, a->rexpr, loc);
    case PG_QUERY__A__EXPR__KIND__AEXPR_SIMILAR:
      return unsupported("SIMILAR TO", loc);
    default:
      return unsupported("ANY/ALL and symmetric BETWEEN", loc);
  }
}

SqlResult<AggSpec> Binder::bind_aggregate_spec(const PgQuery__FuncCall* f, const std::string& name,
                                               AggKind kind, bool over_window) {
  const int loc = f->location;
  AggSpec spec{kind, static_cast<bool>(f->agg_distinct)};
  if (f->agg_star) {
    if (kind != AggKind::kCount)
      return sql_error(sqlstate::kSyntaxError, name + "(*) is not valid", loc);
    spec.kind = AggKind::kCountStar;
    spec.arg.location = loc;
    spec.result = Type::kInt8;
  } else {
    if (kind == AggKind::kStringAgg && f->n_args == 2) {
      // The delimiter must be a constant here (PostgreSQL allows any expression).
      SQL_ASSIGN(Expr d, bind_expr(f->args[1]));
      SQL_ASSIGN(d, coerce_to(std::move(d), Type::kText));
      if (d.kind != ExprKind::kConst)
        return unsupported("a string_agg delimiter that is not a constant", d.location);
      if (d.value.null) return unsupported("a NULL string_agg delimiter", d.location);
      spec.delimiter = d.value.s;
    } else if (kind == AggKind::kStringAgg) {
      return sql_error(
          sqlstate::kUndefinedFunction,
          "function string_agg with " + std::to_string(f->n_args) + " arguments does not exist",
          loc);
    } else if (f->n_args != 1)
      return sql_error(
          sqlstate::kUndefinedFunction,
          "function " + name + " with " + std::to_string(f->n_args) + " arguments does not exist",
          loc);
    // A window aggregate's argument may hold the query's own aggregates (sum(count(*)) OVER).
    const bool saved_in_aggregate = in_aggregate_;
    in_aggregate_ = !over_window;
    auto arg = bind_expr(f->args[0]);
    in_aggregate_ = saved_in_aggregate;
    if (!arg.ok()) return arg.error();
    Expr a = std::move(*arg);
    // PostgreSQL makes an aggregate of only the outer query's columns an aggregate of that
    // query; that is not done here.
    auto reads = [](const Expr& e, ExprKind kind, auto& self) -> bool {
      if (e.kind == kind) return true;
      return std::any_of(e.args.begin(), e.args.end(),
                         [&](const Expr& x) { return self(x, kind, self); });
    };
    if (reads(a, ExprKind::kOuterRef, reads) && !reads(a, ExprKind::kColumn, reads))
      return unsupported("an aggregate of the outer query's columns inside a subquery", loc);
    if (a.type == Type::kUnknown) {
      SQL_ASSIGN(a, coerce_to(std::move(a), kind == AggKind::kCount ? Type::kText
                                            : kind == AggKind::kBoolAnd || kind == AggKind::kBoolOr
                                                ? Type::kBool
                                                : Type::kText));
    }
    auto result = aggregate_result(kind, a.type);
    if (!result)
      return sql_error(sqlstate::kUndefinedFunction,
                       "function " + name + "(" + type_name(a.type) + ") does not exist", loc);
    spec.result = *result;
    spec.arg = std::move(a);
  }
  return spec;
}

SqlError no_such_function(const std::string& name, const std::vector<Type>& types, int location) {
  std::string list;
  for (Type t : types)
    list += (list.empty() ? "" : ", ") + std::string(type_name(t));
  SqlError e = sql_error(sqlstate::kUndefinedFunction,
                         "function " + name + "(" + list + ") does not exist", location);
  e.hint =
      "No function matches the given name and argument types. You might need to add explicit "
      "type casts.";
  return e;
}

SqlResult<Expr> Binder::bind_func(const PgQuery__FuncCall* f) {
  const int loc = f->location;
  const std::string name = last_name(f->n_funcname, f->funcname);
  if (f->over != nullptr) return bind_window_function(f, name);
  if (auto agg = aggregate_kind(name)) {
    if (!allow_aggregates_)
      return sql_error(sqlstate::kGroupingError,
                       "aggregate functions are not allowed in this position", loc);
    if (in_aggregate_)
      return sql_error(sqlstate::kGroupingError, "aggregate function calls cannot be nested", loc);
    if (f->agg_filter != nullptr || f->n_agg_order > 0)
      return unsupported("FILTER and ORDER BY inside aggregates", loc);
    SQL_ASSIGN(AggSpec spec, bind_aggregate_spec(f, name, *agg, /*over_window=*/false));
    Expr ref = make_ref(ExprKind::kAggRef, spec.result, static_cast<int>(aggs_->size()), name, loc);
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
  if (!sig) return no_such_function(name, types, loc);
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
          // (A cast that already rounds to a type modifier keeps it: this one goes on top.)
          if (e.kind != ExprKind::kCast || e.precision >= 0) {
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
      return bind_sublink(node->sub_link);
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
  if (e.kind == ExprKind::kColumn) {
    // Named as PostgreSQL names it: qualified by its input's alias.
    std::string qualified = e.name;
    for (const auto& sc : scopes_)
      if (static_cast<size_t>(e.index) >= sc.base &&
          static_cast<size_t>(e.index) < sc.base + input_width(*sc.table))
        qualified = sc.alias + "." + e.name;
    return sql_error(sqlstate::kGroupingError,
                     "column \"" + qualified +
                         "\" must appear in the GROUP BY clause or be used in an aggregate "
                         "function",
                     e.location);
  }
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

SqlResult<Expr> Binder::bind_sublink(const PgQuery__SubLink* link) {
  const int loc = link->location;
  const auto type = link->sub_link_type;
  const std::string op =
      link->n_oper_name == 0 ? "=" : last_name(link->n_oper_name, link->oper_name);
  const bool in = type == PG_QUERY__SUB_LINK_TYPE__ANY_SUBLINK && op == "=";
  const bool comparison =
      op == "=" || op == "<>" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
  // x op ANY / ALL (SELECT ...) with a comparison; = ANY is IN.
  const bool quantified = !in && comparison &&
                          (type == PG_QUERY__SUB_LINK_TYPE__ANY_SUBLINK ||
                           type == PG_QUERY__SUB_LINK_TYPE__ALL_SUBLINK);
  if (type != PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK &&
      type != PG_QUERY__SUB_LINK_TYPE__EXPR_SUBLINK && !in && !quantified)
    return unsupported("this kind of subquery (ARRAY, a row comparison, ANY/ALL with " + op + ")",
                       loc);
  if (select_depth_ == 0) return unsupported("a subquery outside SELECT", loc);
  if (link->subselect == nullptr || link->subselect->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
    return unsupported("this subquery", loc);
  std::optional<Expr> needle;
  if (in || quantified) {
    SQL_ASSIGN(Expr bound, bind_expr(link->testexpr));
    needle = std::move(bound);
  }
  const bool saved_aggregates = allow_aggregates_;
  const bool saved_in_aggregate = in_aggregate_;
  auto* saved_aggs = aggs_;
  const auto* saved_group_keys = group_keys_;
  // The subquery's expressions are outermost ones of their own query: the constant errors
  // folding defers are raised for them as for the statement's.
  const int saved_depth = expr_depth_;
  allow_aggregates_ = false;
  in_aggregate_ = false;
  aggs_ = nullptr;
  group_keys_ = nullptr;
  expr_depth_ = 0;
  outer_scopes_.push_back({scopes_, loc, using_names_});
  const bool saved_correlated = std::exchange(correlated_found_, false);
  auto bound = bind_in_own_scope(link->subselect->select_stmt, false);
  const bool correlated = std::exchange(correlated_found_, saved_correlated);
  outer_scopes_.pop_back();
  expr_depth_ = saved_depth;
  allow_aggregates_ = saved_aggregates;
  in_aggregate_ = saved_in_aggregate;
  aggs_ = saved_aggs;
  group_keys_ = saved_group_keys;
  if (!bound.ok()) return std::move(bound.error());
  Plan query = std::move(*bound);
  Expr e;
  e.kind = ExprKind::kSubquery;
  e.location = loc;
  if (type == PG_QUERY__SUB_LINK_TYPE__EXISTS_SUBLINK) {
    e.index = kExistsSubquery;
    e.type = Type::kBool;
  } else if (query.columns.size() != 1) {
    return sql_error(sqlstate::kSyntaxError,
                     in ? "subquery has too many columns" : "subquery must return only one column",
                     loc);
  } else if (!in && !quantified) {
    e.index = kScalarSubquery;
    e.type = query.columns[0].type == Type::kUnknown ? Type::kText : query.columns[0].type;
  } else {
    e.index = in                                             ? kInSubquery
              : type == PG_QUERY__SUB_LINK_TYPE__ALL_SUBLINK ? kAllSubquery
                                                             : kAnySubquery;
    e.type = Type::kBool;
    // The operator decides the types, as for x op y: the left side and the subquery's
    // values are cast to its operand types.
    const Type column_type = query.columns[0].type;
    auto sig = resolve_operator(op == "!=" ? "<>" : op, needle->type, column_type);
    if (!sig) {
      SqlError error =
          sql_error(sqlstate::kUndefinedFunction,
                    "operator does not exist: " + std::string(type_name(needle->type)) + " " + op +
                        " " + type_name(column_type),
                    loc);
      error.hint =
          "No operator matches the given name and argument types. You might need to add explicit "
          "type casts.";
      return error;
    }
    SQL_ASSIGN(Expr left, coerce_to(std::move(*needle), sig->params[0], CastContext::kExplicit));
    e.args.push_back(std::move(left));
    if (query.outputs.size() >= 1 && column_type != sig->params[1]) {
      SQL_ASSIGN(query.outputs[0],
                 coerce_to(std::move(query.outputs[0]), sig->params[1], CastContext::kExplicit));
      query.columns[0].type = sig->params[1];
    }
    e.fn = sig->fn;
    e.name = op;
  }
  e.subquery = std::make_shared<const Plan>(std::move(query));
  e.correlated = correlated;
  return e;
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

}  // namespace eddy::sql::binding

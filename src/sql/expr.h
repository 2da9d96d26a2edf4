// Bound scalar expressions, their evaluation, casts, and the operator/function/aggregate tables.
//
// The binder (binder.cc) turns parse-tree expressions into Expr trees whose types are fully
// resolved: every operator and function call gets arguments already cast to the signature it
// was resolved to, so evaluation never decides types, it only computes. Errors are values
// (SqlError) and point at the expression's location in the query text.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <memory>
#include <unordered_set>

#include "sql/value.h"

namespace eddy::sql {

enum class ExprKind {
  kConst,
  kColumn,    // index into the input row
  kParam,     // index into the parameters ($1 is 0)
  kGroupRef,  // index into the current group's key values
  kAggRef,    // index into the current group's aggregate results
  kCall,      // fn over evaluated args
  kAnd,
  kOr,
  kNot,
  kIsNull,    // negated: IS NOT NULL
  kBoolTest,  // IS [NOT] TRUE/FALSE: value = the tested truth, negated for NOT
  kCase,      // args: when, then, when, then, ..., [else]
  kCoalesce,
  kNullIf,
  kCast,
  kIn,        // args[0] IN (args[1..]), negated for NOT IN
  kLike,      // args[0] LIKE args[1], case_insensitive for ILIKE, negated for NOT
  kGreatest,  // negated: LEAST
  // A subquery in an expression (`subquery`), run once before the statement's rows (it may not
  // refer to them): `index` kScalarSubquery, kExistsSubquery or kInSubquery (args[0] IN it).
  // The executor replaces it by what it answered (a constant, or kInSet) before evaluating.
  kSubquery,
  kInSet,  // args[0] IN the values of `in_set`, negated for NOT IN
  // args[0] `fn` ANY (or, negated, ALL) of the values of `in_set` (`name`: the operator).
  kQuantified,
  // A window function's value for the current row: `index` into Plan::windows (and into
  // EvalContext::windows, where the executor puts the values once the window is computed).
  kWindowRef,
  // In a correlated subquery: column `index` of the row of the query around it. The executor
  // replaces it by that row's value before it runs the subquery for the row.
  kOuterRef,
};

inline constexpr int kScalarSubquery = 0;
inline constexpr int kExistsSubquery = 1;
inline constexpr int kInSubquery = 2;
inline constexpr int kAnySubquery = 3;  // x op ANY (SELECT ...): `fn` is op, `name` its name
inline constexpr int kAllSubquery = 4;  // x op ALL (SELECT ...)

struct Plan;
// The values a subquery answered for IN: their keys (key_codec.h), and whether one was NULL.
struct InSet {
  std::unordered_set<std::string> keys;
  bool has_null = false;
  std::vector<Value> values;  // for ANY/ALL: every value (NULLs included), in order
};

struct Expr;
using ScalarFn = SqlResult<Value> (*)(const Expr& call, std::vector<Value>& args);

struct Expr {
  ExprKind kind = ExprKind::kConst;
  Type type = Type::kUnknown;
  int location = -1;
  Value value{};     // kConst
  int index = 0;     // kColumn, kParam, kGroupRef, kAggRef
  std::string name;  // operator or function name, column name (for messages and output names)
  ScalarFn fn = nullptr;
  bool negated = false;
  bool case_insensitive = false;
  bool has_else = false;
  int scale = -1;      // kCast to numeric(p, s), when precision >= 0: the scale to round to
  int precision = -1;  // and the digits the rounded value may have in all
  std::vector<Expr> args;
  std::shared_ptr<const Plan> subquery;  // kSubquery
  std::shared_ptr<const InSet> in_set;   // kInSet
  bool correlated = false;  // kSubquery: it reads the row around it (kOuterRef), so runs per row
};

// Whether `e` holds a subquery (kSubquery) anywhere; with `uncorrelated_only`, one that can run
// once before the statement's rows.
bool has_subquery(const Expr& e, bool uncorrelated_only = false);

struct EvalContext;
// Runs a correlated subquery for the current row (the executor's; eval() calls it).
class CorrelatedSubqueries {
 public:
  virtual ~CorrelatedSubqueries() = default;
  virtual SqlResult<Value> eval(const Expr& subquery, const EvalContext& ctx) const = 0;
};

struct EvalContext {
  const Row* row = nullptr;
  // Columnar input instead of `row`: column i is (*columns)[i][position] (no copy of the row).
  const std::vector<std::vector<Value>>* columns = nullptr;
  size_t position = 0;
  const std::vector<Value>* params = nullptr;
  const Row* groups = nullptr;
  const Row* aggs = nullptr;
  const Row* windows = nullptr;  // the current row's window function values
  const CorrelatedSubqueries* correlated = nullptr;
};

SqlResult<Value> eval(const Expr& expr, const EvalContext& ctx);
// Three-valued WHERE/HAVING test: only a true (not null) result passes.
SqlResult<bool> eval_predicate(const Expr& expr, const EvalContext& ctx);

enum class CastContext { kImplicit, kAssignment, kExplicit };
bool can_cast(Type from, Type to, CastContext context);
SqlResult<Value> cast_value(const Value& value, Type target, int location = -1);
// Wraps `expr` in a cast to `target` (folding constants); no-op when the type already matches.
SqlResult<Expr> coerce(Expr expr, Type target, CastContext context);

// The type both sides of an operator, CASE branches or IN list are converted to.
std::optional<Type> common_type(Type a, Type b);

struct Signature {
  std::vector<Type> params;  // the types arguments are cast to
  Type result = Type::kUnknown;
  ScalarFn fn = nullptr;
  bool strict = true;     // any NULL argument gives NULL without calling fn
  bool variadic = false;  // params[0] applies to every argument
  // Reads a literal given for the last parameter when the statement is bound, as PostgreSQL
  // reads a literal of the parameter's type ('{a,b}' for a text[] path): a malformed one is a
  // parse-analysis error pointing at the literal, not a planner error raised while folding.
  SqlStatus (*check_literal)(const std::string& text, int location) = nullptr;
};

// The operator names IS [NOT] DISTINCT FROM resolve under (with `=`'s types).
inline constexpr const char* kIsDistinctFrom = "IS DISTINCT FROM";
inline constexpr const char* kIsNotDistinctFrom = "IS NOT DISTINCT FROM";
// Binary operators: + - * / % ^ || = <> != < <= > >=; unary: "-" and "+" with right only.
std::optional<Signature> resolve_operator(const std::string& op, std::optional<Type> left,
                                          Type right);
// nullopt with *known_name false when no function has that name, true when none fits the
// argument types.
std::optional<Signature> resolve_function(const std::string& name, const std::vector<Type>& args,
                                          bool* known_name);

enum class AggKind { kCountStar, kCount, kSum, kAvg, kMin, kMax, kBoolAnd, kBoolOr, kStringAgg };
std::optional<AggKind> aggregate_kind(const std::string& name);
// The result type of the aggregate over `input`, or nullopt when it does not accept it.
std::optional<Type> aggregate_result(AggKind kind, Type input);

struct AggSpec {
  AggKind kind;
  bool distinct = false;
  Expr arg{};  // unused for count(*)
  Type result = Type::kUnknown;
  std::string delimiter{};  // string_agg's (a constant)
};

// Accumulates one aggregate over one group.
class Accumulator {
 public:
  explicit Accumulator(const AggSpec& spec);
  SqlStatus add(const Value& value);
  SqlResult<Value> finish() const;
  // Combines a partial aggregate of the same spec (not DISTINCT) into this one.
  SqlStatus merge(const Accumulator& other);
  // The partial state as bytes (for the stream engine's state store), and back.
  void serialize(std::string& out) const;
  bool deserialize(std::string_view& in);
  // For the aggregates whose whole state is a count and an integer sum (count(*), count, sum
  // and avg of integers, without DISTINCT): whoever keeps those totals itself (the stream
  // engine, which subtracts retracted rows) sets them, then asks finish().
  static bool is_count_and_sum(const AggSpec& spec);
  void set_totals(int64_t count, __int128 int_sum);

 private:
  SqlError undo_count(bool was_first, SqlError error);
  void accumulate_squares(double x, double new_sum);
  void combine_squares(const Accumulator& other);
  const AggSpec* spec_;
  int64_t count_ = 0;
  bool any_ = false;
  __int128 int_sum_ = 0;
  double float_sum_ = 0;
  Numeric numeric_sum_{};
  Value extreme_{};
  std::set<std::string> distinct_seen_;
  bool float_overflow_ = false;  // finite float inputs summed past the range
};

// An integer expression compiled for batch evaluation without Values: leaves are integer
// columns and constants; inner nodes + - * / % (and unary -), integer casts and comparisons.
// It computes what eval() computes whenever no input is null and nothing fails; otherwise run()
// returns false and the caller asks eval() for the value or the error (so error messages and
// NULL semantics live in one place).
class IntKernel {
 public:
  // nullopt when `expr` is not such an expression.
  static std::optional<IntKernel> compile(const Expr& expr);
  // The value of row `position` (0 or 1 for a comparison), or false (see above).
  bool run(const std::vector<std::vector<Value>>& columns, size_t position, int64_t& out) const;
  Type type() const { return type_; }

 private:
  enum class Op : uint8_t {
    kColumn,
    kConst,
    kAdd,
    kSub,
    kMul,
    kDiv,
    kMod,
    kNeg,
    kCast,
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe
  };
  struct Step {
    Op op;
    Type type;        // the node's result type (range checks)
    int64_t operand;  // column index or constant
  };
  static constexpr size_t kMaxDepth = 16;
  bool add(const Expr& e, size_t depth);
  std::vector<Step> steps_;  // postfix
  Type type_ = Type::kUnknown;
};

// Exact numeric division with PostgreSQL's choice of result scale.
SqlResult<Numeric> numeric_divide(const Numeric& a, const Numeric& b, int location);
// Rounds `n` to numeric(precision, scale) (precision -1: unconstrained), or 22003 "numeric
// field overflow" when the rounded value has more than precision - scale integer digits.
SqlResult<Numeric> numeric_typmod(const Numeric& n, int precision, int scale, int location);

}  // namespace eddy::sql

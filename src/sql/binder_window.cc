// Window function calls: `fn(args) OVER (...)`, `OVER name` and the WINDOW clause, bound into
// Plan::windows with PostgreSQL's rules for which functions take a window, what a frame may
// say and how a named window is copied.
#include "sql/binder_internal.h"

namespace eddy::sql::binding {

namespace {

// PostgreSQL's FRAMEOPTION_* bits (parsenodes.h), as libpg_query passes them.
// (RANGE, 0x2, is the mode when neither ROWS nor GROUPS is set.)
constexpr int32_t kFrameRows = 0x4;
constexpr int32_t kFrameGroups = 0x8;
constexpr int32_t kStartUnboundedPreceding = 0x20;
constexpr int32_t kEndUnboundedFollowing = 0x100;
constexpr int32_t kStartCurrentRow = 0x200;
constexpr int32_t kEndCurrentRow = 0x400;
constexpr int32_t kStartOffsetPreceding = 0x800;
constexpr int32_t kEndOffsetPreceding = 0x1000;
constexpr int32_t kStartOffsetFollowing = 0x2000;
constexpr int32_t kEndOffsetFollowing = 0x4000;
constexpr int32_t kExcludeCurrentRow = 0x8000;
constexpr int32_t kExcludeGroup = 0x10000;
constexpr int32_t kExcludeTies = 0x20000;
constexpr int32_t kNonDefault = 0x1;

struct NamedFn {
  const char* name;
  WindowSpec::Fn fn;
  size_t min_args, max_args;
};

constexpr NamedFn kWindowFunctions[] = {
    {"row_number", WindowSpec::Fn::kRowNumber, 0, 0},
    {"rank", WindowSpec::Fn::kRank, 0, 0},
    {"dense_rank", WindowSpec::Fn::kDenseRank, 0, 0},
    {"percent_rank", WindowSpec::Fn::kPercentRank, 0, 0},
    {"cume_dist", WindowSpec::Fn::kCumeDist, 0, 0},
    {"ntile", WindowSpec::Fn::kNtile, 1, 1},
    {"lag", WindowSpec::Fn::kLag, 1, 3},
    {"lead", WindowSpec::Fn::kLead, 1, 3},
    {"first_value", WindowSpec::Fn::kFirstValue, 1, 1},
    {"last_value", WindowSpec::Fn::kLastValue, 1, 1},
    {"nth_value", WindowSpec::Fn::kNthValue, 2, 2},
};

// The first column reference in `e`, if any.
const Expr* find_column_ref(const Expr& e) {
  if (e.kind == ExprKind::kColumn) return &e;
  for (const auto& a : e.args)
    if (const Expr* found = find_column_ref(a)) return found;
  return nullptr;
}

// lag('a'), first_value(NULL): PostgreSQL cannot type an anyelement from an unknown literal.
SqlError polymorphic_unknown(int) {
  return sql_error(sqlstate::kDatatypeMismatch,
                   "could not determine polymorphic type because input has type unknown");
}

}  // namespace

SqlResult<const PgQuery__WindowDef*> Binder::named_window(const std::string& name,
                                                          int location) const {
  for (const auto& w : named_windows_)
    if (w.name != nullptr && name == w.name) return &w;
  return sql_error("42704", "window \"" + name + "\" does not exist", location);
}

SqlResult<PgQuery__WindowDef> Binder::derive_window(const PgQuery__WindowDef& spec,
                                                    const PgQuery__WindowDef& base,
                                                    bool in_over) const {
  // PostgreSQL's rules for a window that names another: it takes the other's PARTITION BY,
  // and its ORDER BY unless it has its own, and has its own frame; the other may have no frame.
  const std::string ref = spec.refname;
  if (spec.n_partition_clause > 0)
    return sql_error("42P20", "cannot override PARTITION BY clause of window \"" + ref + "\"",
                     spec.location);
  if (spec.n_order_clause > 0 && base.n_order_clause > 0)
    return sql_error("42P20", "cannot override ORDER BY clause of window \"" + ref + "\"",
                     spec.location);
  if ((base.frame_options & kNonDefault) != 0) {
    SqlError e = sql_error(
        "42P20", "cannot copy window \"" + ref + "\" because it has a frame clause", spec.location);
    if (in_over && spec.n_order_clause == 0 && (spec.frame_options & kNonDefault) == 0)
      e.hint = "Omit the parentheses in this OVER clause.";
    return e;
  }
  PgQuery__WindowDef out = spec;
  out.refname = nullptr;
  out.n_partition_clause = base.n_partition_clause;
  out.partition_clause = base.partition_clause;
  if (spec.n_order_clause == 0) {
    out.n_order_clause = base.n_order_clause;
    out.order_clause = base.order_clause;
  }
  return out;
}

SqlStatus Binder::resolve_window_clause(const PgQuery__SelectStmt* s) {
  named_windows_.clear();
  for (size_t i = 0; i < s->n_window_clause; ++i) {
    const auto* w = s->window_clause[i]->window_def;
    for (const auto& earlier : named_windows_)
      if (std::string(earlier.name) == w->name)
        return sql_error("42P20", "window \"" + std::string(w->name) + "\" is already defined",
                         w->location);
    PgQuery__WindowDef resolved = *w;
    if (w->refname != nullptr && *w->refname != '\0') {
      // Only the windows before it can be named.
      SQL_ASSIGN(const PgQuery__WindowDef* base, named_window(w->refname, w->location));
      SQL_ASSIGN(resolved, derive_window(*w, *base, /*in_over=*/false));
      resolved.name = w->name;
    }
    named_windows_.push_back(resolved);
  }
  return Unit{};
}

SqlResult<Expr> Binder::bind_window_function(const PgQuery__FuncCall* f, const std::string& name) {
  const int loc = f->location;
  if (in_aggregate_)
    return sql_error(sqlstate::kGroupingError,
                     "aggregate function calls cannot contain window function calls", loc);
  if (in_window_) return sql_error("42P20", "window function calls cannot be nested", loc);
  if (windows_ == nullptr || !allow_windows_)
    return sql_error("42P20", std::string("window functions are not allowed in ") + no_windows_in_,
                     loc);
  WindowSpec spec;
  spec.name = name;
  const NamedFn* known = nullptr;
  for (const auto& k : kWindowFunctions)
    if (name == k.name) known = &k;
  const auto agg = aggregate_kind(name);
  if (known == nullptr && !agg) {
    // A function that does not exist at all is 42883, as without OVER.
    std::vector<Type> types;
    for (size_t i = 0; i < f->n_args; ++i) {
      SQL_ASSIGN(Expr a, bind_expr(f->args[i]));
      types.push_back(a.type);
    }
    bool known_name = false;
    if (!resolve_function(name, types, &known_name) && !known_name)
      return no_such_function(name, types, loc);
    return sql_error(
        "42809",
        "OVER specified, but " + name + " is not a window function nor an aggregate function", loc);
  }
  if (f->agg_distinct)
    return sql_error(sqlstate::kFeatureNotSupported,
                     "DISTINCT is not implemented for window functions", loc);
  if (f->agg_filter != nullptr || f->n_agg_order > 0)
    return unsupported("FILTER and ORDER BY inside aggregates", loc);
  if (f->agg_within_group) return unsupported("WITHIN GROUP", loc);
  // The arguments, partition and order are expressions of the query's rows (or groups): no
  // window function inside them.
  struct InWindow {
    bool& flag;
    explicit InWindow(bool& f) : flag(f) { flag = true; }
    ~InWindow() { flag = false; }
  } in_window(in_window_);
  if (known != nullptr) {
    spec.fn = known->fn;
    if (f->agg_star || f->n_args < known->min_args || f->n_args > known->max_args)
      return sql_error(sqlstate::kUndefinedFunction,
                       "function " + name + "(" + (f->agg_star ? "*" : "...") + ") with " +
                           std::to_string(f->n_args) + " arguments does not exist",
                       loc);
    for (size_t i = 0; i < f->n_args; ++i) {
      SQL_ASSIGN(Expr a, bind_expr(f->args[i]));
      spec.args.push_back(std::move(a));
    }
    switch (spec.fn) {
      case WindowSpec::Fn::kRowNumber:
      case WindowSpec::Fn::kRank:
      case WindowSpec::Fn::kDenseRank:
        spec.result = Type::kInt8;
        break;
      case WindowSpec::Fn::kPercentRank:
      case WindowSpec::Fn::kCumeDist:
        spec.result = Type::kFloat8;
        break;
      case WindowSpec::Fn::kNtile: {
        SQL_ASSIGN(spec.args[0], coerce_to(std::move(spec.args[0]), Type::kInt4));
        spec.result = Type::kInt4;
        break;
      }
      case WindowSpec::Fn::kLag:
      case WindowSpec::Fn::kLead: {
        if (spec.args.size() >= 2) {
          SQL_ASSIGN(spec.args[1], coerce_to(std::move(spec.args[1]), Type::kInt4));
        }
        if (spec.args.size() == 3) {
          // lag(anycompatible, integer, anycompatible): the value and the default share a type.
          std::vector<Expr*> both = {&spec.args[0], &spec.args[2]};
          SQL_ASSIGN(Type common, unify(both, name.c_str(), loc));
          (void)common;
        }
        if (spec.args[0].type == Type::kUnknown) return polymorphic_unknown(loc);
        spec.result = spec.args[0].type;
        break;
      }
      case WindowSpec::Fn::kNthValue:
      case WindowSpec::Fn::kFirstValue:
      case WindowSpec::Fn::kLastValue: {
        if (spec.fn == WindowSpec::Fn::kNthValue) {
          SQL_ASSIGN(spec.args[1], coerce_to(std::move(spec.args[1]), Type::kInt4));
        }
        if (spec.args[0].type == Type::kUnknown) return polymorphic_unknown(loc);
        spec.result = spec.args[0].type;
        break;
      }
      case WindowSpec::Fn::kAggregate:
        break;
    }
  } else {
    // An aggregate over the frame, bound as the aggregate itself would be.
    spec.fn = WindowSpec::Fn::kAggregate;
    SQL_ASSIGN(spec.agg, bind_aggregate_spec(f, name, *agg, /*over_window=*/true));
    spec.result = spec.agg.result;
  }
  // The window: OVER name, or OVER ([name] [PARTITION BY] [ORDER BY] [frame]).
  const PgQuery__WindowDef* over = f->over;
  PgQuery__WindowDef window = *over;
  if (over->name != nullptr && *over->name != '\0') {
    SQL_ASSIGN(const PgQuery__WindowDef* named, named_window(over->name, over->location));
    window = *named;
  } else if (over->refname != nullptr && *over->refname != '\0') {
    SQL_ASSIGN(const PgQuery__WindowDef* base, named_window(over->refname, over->location));
    SQL_ASSIGN(window, derive_window(*over, *base, /*in_over=*/true));
  }
  const PgQuery__WindowDef* partition_from = &window;
  const PgQuery__WindowDef* order_from = &window;
  const PgQuery__WindowDef* frame_from = &window;
  // PARTITION BY and ORDER BY may not hold window calls either, with a message of their own.
  in_window_ = false;
  allow_windows_ = false;
  const char* saved_no_windows_in = no_windows_in_;
  no_windows_in_ = "window definitions";
  struct Restore {
    Binder& b;
    const char* no_windows_in;
    ~Restore() {
      b.allow_windows_ = true;
      b.no_windows_in_ = no_windows_in;
    }
  } restore{*this, saved_no_windows_in};
  for (size_t i = 0; i < partition_from->n_partition_clause; ++i) {
    SQL_ASSIGN(Expr p, bind_expr(partition_from->partition_clause[i]));
    if (p.type == Type::kUnknown) {
      SQL_ASSIGN(p, coerce_to(std::move(p), Type::kText));
    }
    spec.partition.push_back(std::move(p));
  }
  for (size_t i = 0; i < order_from->n_order_clause; ++i) {
    const auto* sb = order_from->order_clause[i]->sort_by;
    if (sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_USING)
      return unsupported("ORDER BY USING", sb->location);
    SortKey key;
    key.descending = sb->sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
    key.nulls_first = sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_DEFAULT ||
                              sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORT_BY_NULLS_UNDEFINED
                          ? key.descending
                          : sb->sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST;
    SQL_ASSIGN(Expr o, bind_expr(sb->node));
    if (o.type == Type::kUnknown) {
      SQL_ASSIGN(o, coerce_to(std::move(o), Type::kText));
    }
    spec.order.push_back(std::move(o));
    spec.order_keys.push_back(key);
  }
  const int32_t options = frame_from->frame_options;
  if ((options & kNonDefault) != 0) {
    spec.mode = (options & kFrameRows) != 0     ? WindowSpec::Mode::kRows
                : (options & kFrameGroups) != 0 ? WindowSpec::Mode::kGroups
                                                : WindowSpec::Mode::kRange;
    using Bound = WindowSpec::Bound;
    spec.start = (options & kStartUnboundedPreceding) != 0 ? Bound::kUnboundedPreceding
                 : (options & kStartCurrentRow) != 0       ? Bound::kCurrentRow
                 : (options & kStartOffsetPreceding) != 0  ? Bound::kPreceding
                 : (options & kStartOffsetFollowing) != 0  ? Bound::kFollowing
                                                           : Bound::kUnboundedFollowing;
    spec.end = (options & kEndUnboundedFollowing) != 0 ? Bound::kUnboundedFollowing
               : (options & kEndCurrentRow) != 0       ? Bound::kCurrentRow
               : (options & kEndOffsetPreceding) != 0  ? Bound::kPreceding
               : (options & kEndOffsetFollowing) != 0  ? Bound::kFollowing
                                                       : Bound::kUnboundedPreceding;
    // The grammar refuses the impossible bounds (frame starting from following row cannot
    // end with current row, ...) before binding; what remains is checked here.
    spec.exclude = (options & kExcludeCurrentRow) != 0 ? WindowSpec::Exclude::kCurrentRow
                   : (options & kExcludeGroup) != 0    ? WindowSpec::Exclude::kGroup
                   : (options & kExcludeTies) != 0     ? WindowSpec::Exclude::kTies
                                                       : WindowSpec::Exclude::kNoOthers;
    const bool offsets = spec.start == Bound::kPreceding || spec.start == Bound::kFollowing ||
                         spec.end == Bound::kPreceding || spec.end == Bound::kFollowing;
    if (spec.mode == WindowSpec::Mode::kRange && offsets && spec.order.size() != 1)
      return sql_error("42P20",
                       "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column",
                       over->location);
    if (spec.mode == WindowSpec::Mode::kGroups && spec.order.empty())
      return sql_error("42P20", "GROUPS mode requires an ORDER BY clause", over->location);
    // Offsets are row or group counts: constants or parameters, no columns.
    const char* mode_name = spec.mode == WindowSpec::Mode::kRows     ? "ROWS"
                            : spec.mode == WindowSpec::Mode::kGroups ? "GROUPS"
                                                                     : "RANGE";
    auto bind_offset = [&](const Node* node) -> SqlResult<std::optional<Expr>> {
      if (node == nullptr) return std::optional<Expr>();
      // Evaluated once, before any row: no aggregates, no columns.
      const bool saved_allow = allow_aggregates_;
      allow_aggregates_ = false;
      auto bound = bind_expr(node);
      allow_aggregates_ = saved_allow;
      if (!bound.ok()) {
        if (bound.error().sqlstate == sqlstate::kGroupingError &&
            bound.error().message.rfind("aggregate functions are not allowed", 0) == 0)
          bound.error().message =
              std::string("aggregate functions are not allowed in window ") + mode_name;
        return bound.error();
      }
      if (const Expr* column = find_column_ref(*bound))
        return sql_error("42P10",
                         std::string("argument of ") + mode_name + " must not contain variables",
                         column->location);
      Expr e = std::move(*bound);
      if (spec.mode != WindowSpec::Mode::kRange) {
        SQL_ASSIGN(e, coerce_to(std::move(e), Type::kInt8));
      }
      return std::optional<Expr>(std::move(e));
    };
    SQL_ASSIGN(spec.start_offset, bind_offset(frame_from->start_offset));
    SQL_ASSIGN(spec.end_offset, bind_offset(frame_from->end_offset));
    // RANGE: the offset is a distance in the ORDER BY value's terms (a number of its kind, an
    // interval for dates and times); the bounds are the value plus and minus it.
    auto range_bound =
        [&](std::optional<Expr>& offset) -> SqlResult<std::optional<WindowSpec::RangeBound>> {
      if (!offset || spec.mode != WindowSpec::Mode::kRange)
        return std::optional<WindowSpec::RangeBound>();
      const Type key_type = spec.order[0].type;
      const bool temporal = key_type == Type::kDate || key_type == Type::kTimestamp ||
                            key_type == Type::kTimestamptz || key_type == Type::kInterval;
      if (offset->type == Type::kUnknown) {
        SQL_ASSIGN(*offset, coerce_to(std::move(*offset), temporal ? Type::kInterval : key_type));
      }
      const bool numeric_key = key_type == Type::kInt2 || key_type == Type::kInt4 ||
                               key_type == Type::kInt8 || key_type == Type::kFloat4 ||
                               key_type == Type::kFloat8 || key_type == Type::kNumeric;
      // As PostgreSQL words it: the column type alone when no offset type would do.
      auto refused = [&]() {
        SqlError e = sql_error(
            sqlstate::kFeatureNotSupported,
            std::string("RANGE with offset PRECEDING/FOLLOWING is not supported for column type ") +
                type_name(key_type) +
                (temporal || numeric_key
                     ? std::string(" and offset type ") + type_name(offset->type)
                     : std::string()),
            offset->location);
        if (temporal || numeric_key) e.hint = "Cast the offset value to an appropriate type.";
        return e;
      };
      if (!(temporal ? offset->type == Type::kInterval
                     : numeric_key && offset->type != Type::kInterval))
        return refused();
      auto column = [](int index, Type type) {
        Expr c;
        c.kind = ExprKind::kColumn;
        c.index = index;
        c.type = type;
        return c;
      };
      WindowSpec::RangeBound b;
      auto plus = make_operator("+", column(0, key_type), column(1, offset->type), -1);
      auto minus = make_operator("-", column(0, key_type), column(1, offset->type), -1);
      if (!plus.ok() || !minus.ok() || plus->type != minus->type) return refused();
      b.plus = std::move(*plus);
      b.minus = std::move(*minus);
      SQL_ASSIGN(b.key, coerce_to(column(0, key_type), b.plus.type));
      return std::optional<WindowSpec::RangeBound>(std::move(b));
    };
    SQL_ASSIGN(spec.range_start, range_bound(spec.start_offset));
    SQL_ASSIGN(spec.range_end, range_bound(spec.end_offset));
  }
  Expr ref =
      make_ref(ExprKind::kWindowRef, spec.result, static_cast<int>(windows_->size()), name, loc);
  windows_->push_back(std::move(spec));
  return ref;
}

}  // namespace eddy::sql::binding

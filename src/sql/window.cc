#include "sql/window.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "sql/key_codec.h"
#include "sql/query_memory.h"

namespace eddy::sql {

namespace {

using Fn = WindowSpec::Fn;
using Bound = WindowSpec::Bound;
using Mode = WindowSpec::Mode;
using Exclude = WindowSpec::Exclude;

// A frame offset (ROWS/GROUPS n PRECEDING/FOLLOWING): evaluated once, as PostgreSQL does.
SqlResult<int64_t> frame_offset(const std::optional<Expr>& e, const std::vector<Value>& params,
                                const char* which) {
  if (!e) return int64_t{0};
  EvalContext ctx{.params = &params};
  SQL_ASSIGN(Value v, eval(*e, ctx));
  if (v.null) return sql_error("22004", std::string("frame ") + which + " offset must not be null");
  if (v.i < 0)
    return sql_error("22013", std::string("frame ") + which + " offset must not be negative");
  return v.i;
}

// A RANGE frame offset: a non-negative distance of the ORDER BY value's kind.
SqlResult<Value> range_offset(const Expr& e, const std::vector<Value>& params, const char* which) {
  EvalContext ctx{.params = &params};
  SQL_ASSIGN(Value v, eval(e, ctx));
  if (v.null) return sql_error("22004", std::string("frame ") + which + " offset must not be null");
  Value zero = v.type == Type::kInterval ? Value::interval(0, 0, 0) : Value{};
  if (v.type != Type::kInterval) {
    SQL_ASSIGN(zero, cast_value(Value::integer(Type::kInt4, 0), v.type));
  }
  if (compare_values(v, zero) < 0 || (v.type == Type::kFloat8 && std::isnan(v.f)) ||
      (v.type == Type::kFloat4 && std::isnan(v.f)))
    return sql_error("22013", "invalid preceding or following size in window function");
  return v;
}

// One partition's rows in window order: positions [begin, end) of `sorted`, split into peer
// groups (rows equal on ORDER BY; without ORDER BY the whole partition is one group).
struct Partition {
  size_t begin = 0, end = 0;
  std::vector<size_t> group_of;     // per position - begin: its peer group
  std::vector<size_t> group_start;  // per group: its first position
  std::vector<size_t> group_end;    // per group: one past its last position
  // Positions whose ORDER BY value is not null (the nulls sort before or after them).
  size_t values_begin = 0, values_end = 0;
};

class WindowRun {
 public:
  WindowRun(const WindowSpec& spec, size_t index, const std::vector<WindowInput>& inputs,
            const std::vector<Value>& params, const std::atomic<bool>& cancel, QueryMemory& memory,
            std::vector<Row>& values)
      : spec_(spec),
        index_(index),
        inputs_(inputs),
        params_(params),
        cancel_(cancel),
        memory_(memory),
        values_(values) {}

  size_t charged() const { return charged_; }

  SqlStatus run(std::vector<size_t>& sorted) {
    SQL_CHECK(sort(sorted));
    if (spec_.mode == Mode::kRange) {
      if (spec_.range_start) {
        SQL_ASSIGN(range_start_offset_, range_offset(*spec_.start_offset, params_, "starting"));
        SQL_CHECK(range_keys(*spec_.range_start, range_start_keys_));
      }
      if (spec_.range_end) {
        SQL_ASSIGN(range_end_offset_, range_offset(*spec_.end_offset, params_, "ending"));
        SQL_CHECK(range_keys(*spec_.range_end, range_end_keys_));
      }
    } else {
      SQL_ASSIGN(start_offset_, frame_offset(spec_.start_offset, params_, "starting"));
      SQL_ASSIGN(end_offset_, frame_offset(spec_.end_offset, params_, "ending"));
    }
    // The first argument, evaluated on a row when some row reads it (lag, lead, frame
    // values), as PostgreSQL does: a row nobody reads raises no error.
    first_arg_.resize(inputs_.size());
    size_t begin = 0;
    while (begin < sorted.size()) {
      size_t end = begin + 1;
      while (end < sorted.size() && partition_keys_[sorted[end]] == partition_keys_[sorted[begin]])
        ++end;
      Partition part;
      part.begin = begin;
      part.end = end;
      for (size_t p = begin; p < end; ++p) {
        if (p == begin || order_keys_[sorted[p]] != order_keys_[sorted[p - 1]]) {
          if (p != begin) part.group_end.push_back(p);
          part.group_start.push_back(p);
        }
        part.group_of.push_back(part.group_start.size() - 1);
      }
      part.group_end.push_back(end);
      part.values_begin = begin;
      part.values_end = end;
      if (!spec_.order.empty()) {
        while (part.values_begin < end && order_values_[sorted[part.values_begin]].null)
          ++part.values_begin;
        while (part.values_end > part.values_begin &&
               order_values_[sorted[part.values_end - 1]].null)
          --part.values_end;
      }
      SQL_CHECK(compute(part, sorted));
      begin = end;
    }
    return Unit{};
  }

 private:
  SqlStatus check_cancel(size_t i) const {
    if ((i & 4095) == 4095 && cancel_.load())
      return sql_error(sqlstate::kQueryCanceled, "canceling statement due to user request");
    return Unit{};
  }

  // Sorts the positions by PARTITION BY (ascending, nulls last) then ORDER BY; stable, so
  // rows equal on both keep their input order.
  SqlStatus sort(std::vector<size_t>& sorted) {
    const size_t n = inputs_.size();
    std::vector<Row> keys(n);
    partition_keys_.resize(n);
    order_keys_.resize(n);
    order_values_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      SQL_CHECK(check_cancel(i));
      const EvalContext ctx = inputs_[i].context(params_);
      Row partition, order;
      for (const auto& e : spec_.partition) {
        SQL_ASSIGN(Value v, eval(e, ctx));
        partition.push_back(std::move(v));
      }
      for (const auto& e : spec_.order) {
        SQL_ASSIGN(Value v, eval(e, ctx));
        order.push_back(std::move(v));
      }
      partition_keys_[i] = encode_key(partition);
      order_keys_[i] = encode_key(order);
      SQL_CHECK(charge(partition_keys_[i].size() + order_keys_[i].size() +
                       approximate_bytes(partition) + approximate_bytes(order)));
      if (!order.empty()) order_values_[i] = order[0];
      keys[i] = std::move(partition);
      keys[i].insert(keys[i].end(), std::make_move_iterator(order.begin()),
                     std::make_move_iterator(order.end()));
    }
    std::vector<SortKey> sort_keys;
    for (size_t c = 0; c < spec_.partition.size(); ++c)
      sort_keys.push_back({c, false, false});
    for (size_t c = 0; c < spec_.order.size(); ++c) {
      SortKey k = spec_.order_keys[c];
      k.column = spec_.partition.size() + c;
      sort_keys.push_back(k);
    }
    if (sort_keys.empty()) return Unit{};
    std::stable_sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) {
      for (const auto& key : sort_keys) {
        const Value& x = keys[a][key.column];
        const Value& y = keys[b][key.column];
        if (x.null || y.null) {
          if (x.null == y.null) continue;
          return x.null == key.nulls_first;
        }
        const int c = compare_values(x, y);
        if (c != 0) return key.descending ? c > 0 : c < 0;
      }
      return false;
    });
    return Unit{};
  }

  SqlStatus set(size_t input, Value v) {
    SQL_CHECK(charge(approximate_bytes(Row{v})));
    values_[input][index_] = std::move(v);
    return Unit{};
  }

  SqlStatus charge(size_t bytes) {
    SQL_CHECK(memory_.charge(bytes, "the window functions"));
    charged_ += bytes;
    return Unit{};
  }

  // The first argument (an aggregate's argument) on input `i`.
  SqlResult<Value> arg(size_t i) {
    if (!first_arg_[i]) {
      const Expr& e = spec_.fn == Fn::kAggregate ? spec_.agg.arg : spec_.args[0];
      SQL_ASSIGN(Value v, eval(e, inputs_[i].context(params_)));
      SQL_CHECK(charge(approximate_bytes(Row{v})));
      first_arg_[i] = std::move(v);
    }
    return *first_arg_[i];
  }

  // Every row's ORDER BY value as `bound`'s type (null where it is null).
  SqlStatus range_keys(const WindowSpec::RangeBound& bound, std::vector<Value>& out) const {
    out.resize(inputs_.size());
    Row row(1);
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (order_values_[i].null) {
        out[i] = Value::null_of(bound.key.type);
        continue;
      }
      row[0] = order_values_[i];
      SQL_ASSIGN(out[i], eval(bound.key, EvalContext{.row = &row}));
    }
    return Unit{};
  }

  // A RANGE offset bound of position p: the first position of the frame (is_start), or one past
  // its last. The bound is the current value minus the offset, or plus it (PRECEDING means
  // smaller values in ascending order, larger ones in descending order). A bound past what the
  // type holds is past every row. A null current value's frame is its null peers.
  SqlResult<size_t> range_position_or_error(const Partition& part,
                                            const std::vector<size_t>& sorted, size_t p,
                                            const WindowSpec::RangeBound& bound,
                                            const Value& offset, const std::vector<Value>& keys,
                                            bool preceding, bool is_start) const {
    const size_t input = sorted[p];
    if (order_values_[input].null) {
      // The nulls are before the values (nulls first) or after them.
      if (part.values_begin > part.begin) return is_start ? part.begin : part.values_begin;
      return is_start ? part.values_end : part.end;
    }
    const bool descending = spec_.order_keys[0].descending;
    const bool add = preceding == descending;
    Row row{order_values_[input], offset};
    auto computed = eval(add ? bound.plus : bound.minus, EvalContext{.row = &row});
    if (!computed.ok()) {
      const std::string& state = computed.error().sqlstate;
      if (state != "22003" && state != "22008") return computed.error();
      // Out of range: before every row for PRECEDING, after every row for FOLLOWING.
      return preceding ? part.values_begin : part.values_end;
    }
    const Value& limit = *computed;
    // Rows in [values_begin, values_end) are in order: the first one at the bound (a start)
    // or past it (an end), in the window's direction.
    auto before = [&](size_t q) {
      const int c = compare_values(keys[sorted[q]], limit);
      if (is_start) return descending ? c > 0 : c < 0;
      return descending ? c >= 0 : c <= 0;
    };
    size_t lo = part.values_begin, hi = part.values_end;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (before(mid)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // As range_position_or_error; an error is kept for compute() to return.
  size_t range_position(const Partition& part, const std::vector<size_t>& sorted, size_t p,
                        const WindowSpec::RangeBound& bound, const Value& offset,
                        const std::vector<Value>& keys, bool preceding, bool is_start) const {
    auto position =
        range_position_or_error(part, sorted, p, bound, offset, keys, preceding, is_start);
    if (!position.ok()) {
      if (!range_error_) range_error_ = position.error();
      return part.begin;
    }
    return *position;
  }

  // The frame of position p: positions [start, end) before exclusion.
  std::pair<size_t, size_t> frame(const Partition& part, const std::vector<size_t>& sorted,
                                  size_t p) const {
    const size_t g = part.group_of[p - part.begin];
    const size_t groups = part.group_start.size();
    const auto sat_sub = [](size_t a, int64_t k) {
      return static_cast<uint64_t>(k) > a ? 0 : a - static_cast<size_t>(k);
    };
    const auto sat_add = [](size_t a, int64_t k, size_t limit) {
      return static_cast<uint64_t>(k) >= limit - a ? limit : a + static_cast<size_t>(k);
    };
    size_t start = part.begin, end = part.end;
    switch (spec_.start) {
      case Bound::kUnboundedPreceding:
        start = part.begin;
        break;
      case Bound::kCurrentRow:
        start = spec_.mode == Mode::kRows ? p : part.group_start[g];
        break;
      case Bound::kPreceding:
      case Bound::kFollowing: {
        const bool preceding = spec_.start == Bound::kPreceding;
        if (spec_.mode == Mode::kRange) {
          start = range_position(part, sorted, p, *spec_.range_start, range_start_offset_,
                                 range_start_keys_, preceding, /*is_start=*/true);
        } else if (spec_.mode == Mode::kRows) {
          start = preceding ? std::max(part.begin, sat_sub(p, start_offset_))
                            : sat_add(p, start_offset_, part.end);
        } else if (preceding) {
          start = part.group_start[sat_sub(g, start_offset_)];
        } else {
          const size_t target = sat_add(g, start_offset_, groups);
          start = target >= groups ? part.end : part.group_start[target];
        }
        break;
      }
      case Bound::kUnboundedFollowing:
        start = part.end;
        break;
    }
    switch (spec_.end) {
      case Bound::kUnboundedFollowing:
        end = part.end;
        break;
      case Bound::kCurrentRow:
        end = spec_.mode == Mode::kRows ? p + 1 : part.group_end[g];
        break;
      case Bound::kPreceding:
      case Bound::kFollowing: {
        const bool preceding = spec_.end == Bound::kPreceding;
        if (spec_.mode == Mode::kRange) {
          end = range_position(part, sorted, p, *spec_.range_end, range_end_offset_,
                               range_end_keys_, preceding, /*is_start=*/false);
        } else if (spec_.mode == Mode::kRows) {
          end = preceding ? std::max(part.begin, sat_sub(p + 1, end_offset_))
                          : sat_add(p + 1, end_offset_, part.end);
        } else if (preceding) {
          end = static_cast<uint64_t>(end_offset_) > g
                    ? part.begin
                    : part.group_end[g - static_cast<size_t>(end_offset_)];
        } else {
          end = part.group_end[std::min(groups - 1, sat_add(g, end_offset_, groups))];
        }
        break;
      }
      case Bound::kUnboundedPreceding:
        end = part.begin;
        break;
    }
    return {start, std::max(start, end)};
  }

  bool excluded(const Partition& part, size_t p, size_t q) const {
    switch (spec_.exclude) {
      case Exclude::kNoOthers:
        return false;
      case Exclude::kCurrentRow:
        return q == p;
      case Exclude::kGroup:
        return part.group_of[q - part.begin] == part.group_of[p - part.begin];
      case Exclude::kTies:
        return q != p && part.group_of[q - part.begin] == part.group_of[p - part.begin];
    }
    return false;
  }

  // Whether the aggregate gives the same result whatever order its rows are added in (so a
  // frame ending at the partition's end can be accumulated from the end).
  bool order_free_aggregate() const {
    switch (spec_.agg.kind) {
      case AggKind::kCountStar:
      case AggKind::kCount:
      case AggKind::kBoolAnd:
      case AggKind::kBoolOr:
        return true;
      case AggKind::kMin:
      case AggKind::kMax: {
        // The later of equal values wins: only where equal values look alike.
        const Type t = spec_.agg.arg.type;
        return t != Type::kNumeric && t != Type::kFloat4 && t != Type::kFloat8 &&
               t != Type::kInterval && t != Type::kJsonb;
      }
      case AggKind::kSum:
      case AggKind::kAvg:
        // Exact arithmetic only: float sums depend on the order.
        return spec_.agg.arg.type != Type::kFloat4 && spec_.agg.arg.type != Type::kFloat8;
      case AggKind::kStringAgg:
        return false;
    }
    return false;
  }

  SqlStatus add_row(Accumulator& a, const std::vector<size_t>& sorted, size_t q) {
    if (spec_.agg.kind == AggKind::kCountStar) return a.add(Value{});
    SQL_ASSIGN(Value v, arg(sorted[q]));
    return a.add(v);
  }

  SqlStatus compute(const Partition& part, const std::vector<size_t>& sorted) {
    const size_t n = part.end - part.begin;
    if (spec_.fn == Fn::kAggregate && spec_.exclude == Exclude::kNoOthers) {
      // Running aggregates: a frame from the partition's start has an end that never moves
      // back, so each row is added once; a frame to the partition's end likewise from the end.
      if (spec_.start == Bound::kUnboundedPreceding) return running(part, sorted, false);
      if (spec_.end == Bound::kUnboundedFollowing && order_free_aggregate())
        return running(part, sorted, true);
    }
    // ntile's bucket count is read on the partition's first row (while it is NULL, on the next,
    // which then counts as the first).
    std::optional<Value> buckets;
    size_t buckets_from = part.begin;
    for (size_t p = part.begin; p < part.end; ++p) {
      SQL_CHECK(check_cancel(p));
      const size_t input = sorted[p];
      const size_t g = part.group_of[p - part.begin];
      switch (spec_.fn) {
        case Fn::kRowNumber:
          SQL_CHECK(
              set(input, Value::integer(Type::kInt8, static_cast<int64_t>(p - part.begin + 1))));
          break;
        case Fn::kRank:
          SQL_CHECK(set(
              input, Value::integer(Type::kInt8,
                                    static_cast<int64_t>(part.group_start[g] - part.begin + 1))));
          break;
        case Fn::kDenseRank:
          SQL_CHECK(set(input, Value::integer(Type::kInt8, static_cast<int64_t>(g + 1))));
          break;
        case Fn::kPercentRank:
          SQL_CHECK(set(input, Value::floating(
                                   Type::kFloat8,
                                   n <= 1 ? 0.0
                                          : static_cast<double>(part.group_start[g] - part.begin) /
                                                static_cast<double>(n - 1))));
          break;
        case Fn::kCumeDist:
          SQL_CHECK(set(input, Value::floating(Type::kFloat8,
                                               static_cast<double>(part.group_end[g] - part.begin) /
                                                   static_cast<double>(n))));
          break;
        case Fn::kNtile: {
          if (!buckets) {
            SQL_ASSIGN(Value b, eval(spec_.args[0], inputs_[input].context(params_)));
            if (b.null) {
              SQL_CHECK(set(input, Value::null_of(Type::kInt4)));
              break;
            }
            if (b.i <= 0) return sql_error("22014", "argument of ntile must be greater than zero");
            buckets = std::move(b);
            buckets_from = p;
          }
          // PostgreSQL's split: n / buckets rows each, the first n % buckets one more.
          const auto count = static_cast<uint64_t>(buckets->i);
          const uint64_t per = n / count, extra = n % count;
          const uint64_t r = p - buckets_from;
          const uint64_t big = extra * (per + 1);
          const uint64_t bucket = r < big ? r / (per + 1) : extra + (r - big) / per;
          SQL_CHECK(set(input, Value::integer(Type::kInt4, static_cast<int64_t>(bucket + 1))));
          break;
        }
        case Fn::kLag:
        case Fn::kLead: {
          const EvalContext ctx = inputs_[input].context(params_);
          int64_t offset = 1;
          if (spec_.args.size() >= 2) {
            SQL_ASSIGN(Value o, eval(spec_.args[1], ctx));
            if (o.null) {
              SQL_CHECK(set(input, Value::null_of(spec_.result)));
              break;
            }
            offset = o.i;
          }
          if (spec_.fn == Fn::kLag) offset = -offset;
          const auto target = static_cast<int64_t>(p) + offset;
          if (target >= static_cast<int64_t>(part.begin) &&
              target < static_cast<int64_t>(part.end)) {
            SQL_ASSIGN(Value v, arg(sorted[static_cast<size_t>(target)]));
            SQL_CHECK(set(input, std::move(v)));
          } else if (spec_.args.size() == 3) {
            SQL_ASSIGN(Value d, eval(spec_.args[2], ctx));
            SQL_CHECK(set(input, std::move(d)));
          } else {
            SQL_CHECK(set(input, Value::null_of(spec_.result)));
          }
          break;
        }
        case Fn::kFirstValue:
        case Fn::kLastValue:
        case Fn::kNthValue: {
          int64_t nth = 1;
          if (spec_.fn == Fn::kNthValue) {
            SQL_ASSIGN(Value v, eval(spec_.args[1], inputs_[input].context(params_)));
            if (v.null) {
              SQL_CHECK(set(input, Value::null_of(spec_.result)));
              break;
            }
            if (v.i <= 0)
              return sql_error("22016", "argument of nth_value must be greater than zero");
            nth = v.i;
          }
          const auto [start, end] = frame(part, sorted, p);
          if (range_error_) return *range_error_;
          std::optional<size_t> found;
          if (spec_.exclude == Exclude::kNoOthers) {
            if (spec_.fn == Fn::kLastValue) {
              if (end > start) found = end - 1;
            } else if (static_cast<uint64_t>(nth) <= end - start) {
              found = start + static_cast<size_t>(nth) - 1;
            }
          } else if (spec_.fn == Fn::kLastValue) {
            for (size_t q = end; q > start; --q)
              if (!excluded(part, p, q - 1)) {
                found = q - 1;
                break;
              }
          } else {
            int64_t seen = 0;
            for (size_t q = start; q < end; ++q) {
              SQL_CHECK(check_cancel(q));
              if (!excluded(part, p, q) && ++seen == nth) {
                found = q;
                break;
              }
            }
          }
          if (found) {
            SQL_ASSIGN(Value v, arg(sorted[*found]));
            SQL_CHECK(set(input, std::move(v)));
          } else {
            SQL_CHECK(set(input, Value::null_of(spec_.result)));
          }
          break;
        }
        case Fn::kAggregate: {
          // A frame that moves at both ends, or excludes rows: computed over the frame.
          const auto [start, end] = frame(part, sorted, p);
          if (range_error_) return *range_error_;
          Accumulator a(spec_.agg);
          for (size_t q = start; q < end; ++q) {
            SQL_CHECK(check_cancel(q));
            if (!excluded(part, p, q)) SQL_CHECK(add_row(a, sorted, q));
          }
          SQL_ASSIGN(Value v, a.finish());
          SQL_CHECK(set(input, std::move(v)));
          break;
        }
      }
    }
    return Unit{};
  }

  // An aggregate over frames that all start at the partition's start (or, `from_end`, all end
  // at its end): one accumulator, each row added once as the frames grow.
  SqlStatus running(const Partition& part, const std::vector<size_t>& sorted, bool from_end) {
    Accumulator acc(spec_.agg);
    if (!from_end) {
      size_t added = part.begin;
      for (size_t p = part.begin; p < part.end; ++p) {
        SQL_CHECK(check_cancel(p));
        const auto [start, end] = frame(part, sorted, p);
        if (range_error_) return *range_error_;
        (void)start;
        for (; added < end; ++added)
          SQL_CHECK(add_row(acc, sorted, added));
        SQL_ASSIGN(Value v, acc.finish());
        SQL_CHECK(set(sorted[p], std::move(v)));
      }
      return Unit{};
    }
    size_t added = part.end;  // rows [added, end) are in
    for (size_t p = part.end; p-- > part.begin;) {
      SQL_CHECK(check_cancel(p));
      const auto [start, end] = frame(part, sorted, p);
      if (range_error_) return *range_error_;
      (void)end;
      for (; added > start; --added)
        SQL_CHECK(add_row(acc, sorted, added - 1));
      SQL_ASSIGN(Value v, acc.finish());
      SQL_CHECK(set(sorted[p], std::move(v)));
    }
    return Unit{};
  }

  const WindowSpec& spec_;
  const size_t index_;
  const std::vector<WindowInput>& inputs_;
  const std::vector<Value>& params_;
  const std::atomic<bool>& cancel_;
  QueryMemory& memory_;
  size_t charged_ = 0;  // what this window charged to memory_ (released with the query's rows)
  std::vector<Row>& values_;
  std::vector<std::string> partition_keys_, order_keys_;
  std::vector<Value> order_values_;  // the first ORDER BY value of every input
  std::vector<std::optional<Value>> first_arg_;
  int64_t start_offset_ = 0, end_offset_ = 0;
  Value range_start_offset_, range_end_offset_;
  std::vector<Value> range_start_keys_, range_end_keys_;
  mutable std::optional<SqlError> range_error_;  // a bound that could not be computed
};

}  // namespace

SqlStatus compute_windows(const Plan& plan, const std::vector<WindowInput>& inputs,
                          const std::vector<Value>& params, const std::atomic<bool>& cancel,
                          QueryMemory& memory, std::vector<Row>& values, std::vector<size_t>& order,
                          size_t& charged) {
  const size_t base = inputs.size() * (sizeof(Row) + 2 * sizeof(size_t));
  SQL_CHECK(memory.charge(base, "the window functions"));
  charged += base;
  values.assign(inputs.size(), Row(plan.windows.size()));
  order.resize(inputs.size());
  for (size_t w = 0; w < plan.windows.size(); ++w) {
    std::iota(order.begin(), order.end(), size_t{0});
    WindowRun run(plan.windows[w], w, inputs, params, cancel, memory, values);
    SqlStatus done = run.run(order);
    charged += run.charged();
    SQL_CHECK(done);
  }
  return Unit{};
}

}  // namespace eddy::sql

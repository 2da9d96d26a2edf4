#include "sql/explain.h"

#include <cctype>

#include "sql/binder.h"
#include "sql/session.h"
#include "sql/views.h"
#include "storage/log_manager.h"

namespace eddy::sql {

namespace {

void render(const ExplainNode& node, size_t depth, std::vector<std::string>& out) {
  // PostgreSQL's layout: a child's title is "->  " at 6 * depth - 4 spaces, every node's
  // details 2 spaces deeper than where its title text starts.
  const size_t text_at = depth == 0 ? 0 : 6 * depth;
  out.push_back(depth == 0 ? node.title : std::string(text_at - 4, ' ') + "->  " + node.title);
  for (const auto& d : node.details)
    out.push_back(std::string(text_at + 2, ' ') + d);
  for (const auto& child : node.children)
    render(child, depth + 1, out);
}

std::string literal(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string join(const std::vector<Expr>& args, const Plan* plan, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < args.size(); ++i)
    out += (i == from ? "" : ", ") + expr_text(args[i], plan);
  return out;
}

const char* aggregate_name(AggKind kind) {
  switch (kind) {
    case AggKind::kCountStar:
    case AggKind::kCount:
      return "count";
    case AggKind::kSum:
      return "sum";
    case AggKind::kAvg:
      return "avg";
    case AggKind::kMin:
      return "min";
    case AggKind::kMax:
      return "max";
    case AggKind::kBoolAnd:
      return "bool_and";
    case AggKind::kBoolOr:
      return "bool_or";
    default:
      return "aggregate";
  }
}

std::string sort_key_text(const SortKey& key, const Plan& plan) {
  const Expr& e = plan.outputs[key.column];
  // An aggregate sort key is parenthesised, as PostgreSQL prints it.
  std::string out =
      e.kind == ExprKind::kAggRef ? "(" + expr_text(e, &plan) + ")" : expr_text(e, &plan);
  if (key.descending) out += " DESC";
  // Only the non-default null placement is shown, as PostgreSQL does.
  if (key.nulls_first != key.descending) out += key.nulls_first ? " NULLS FIRST" : " NULLS LAST";
  return out;
}

ExplainNode explain_select(const Plan& plan, Engine& engine);

ExplainNode scan_node(const TableDef* table, Engine& engine) {
  ExplainNode scan;
  if (table == nullptr) {
    scan.title = "Result";
  } else if (table->subquery) {
    scan.title = "Subquery Scan on " + quote_identifier(table->name);
    scan.children.push_back(explain_select(*table->subquery, engine));
  } else if (!table->system.empty()) {
    scan.title = "System Scan on " + table->system;
    scan.details.push_back("Source: the catalog as it is now");
  } else if (table->is_view) {
    scan.title = "View Scan on " + quote_identifier(table->name);
    scan.details.push_back("Source: the view's state as of its last checkpoint");
  } else {
    scan.title = "Topic Scan on " + quote_identifier(table->name);
    std::string partitions = "unknown (the topic does not exist)";
    if (engine.log() != nullptr)
      if (auto topic = engine.log()->topic(table->topic))
        partitions = std::to_string(topic->partitions) + " (" + partition_range(topic->partitions) +
                     "), each from its log start to its high watermark";
    scan.details.push_back("Topic: " + table->topic);
    scan.details.push_back("Partitions: " + partitions);
    scan.details.push_back("Format: " + table->format);
    if (table->has_primary_key())
      scan.details.push_back("Changelog: the latest row per primary key");
  }
  return scan;
}

ExplainNode explain_select(const Plan& plan, Engine& engine) {
  ExplainNode top;
  if (!plan.union_arms.empty() && plan.set_op != Plan::SetOp::kUnion) {
    // INTERSECT and EXCEPT count the first arm's rows in a hash table, then the second's.
    ExplainNode setop{std::string("HashSetOp ") +
                          (plan.set_op == Plan::SetOp::kIntersect ? "Intersect" : "Except") +
                          (plan.union_distinct ? "" : " All"),
                      {},
                      {}};
    for (const auto& arm : plan.union_arms)
      setop.children.push_back(explain_select(*arm, engine));
    top = std::move(setop);
  } else if (!plan.union_arms.empty()) {
    // UNION ALL appends the arms; UNION then keeps one of equal rows.
    ExplainNode append{"Append", {}, {}};
    for (const auto& arm : plan.union_arms)
      append.children.push_back(explain_select(*arm, engine));
    top = std::move(append);
    if (plan.union_distinct) {
      ExplainNode distinct{"HashAggregate", {}, {}};
      std::string keys;
      for (const auto& c : plan.columns)
        keys += (keys.empty() ? "" : ", ") + quote_identifier(c.name);
      distinct.details.push_back("Group Key: " + keys);
      distinct.children.push_back(std::move(top));
      top = std::move(distinct);
    }
  } else {
    top = scan_node(plan.table ? &*plan.table : nullptr, engine);
    // Each join reads its right side into a hash table (or, without an equality, a list for a
    // nested loop) and streams the rows so far through it.
    for (const auto& join : plan.joins) {
      const bool hashed = !join.right_keys.empty();
      ExplainNode node{std::string(hashed ? "Hash" : "Nested Loop") +
                           (join.left_outer && join.right_outer ? " Full Join"
                            : join.right_outer                  ? " Right Join"
                            : join.left_outer                   ? " Left Join"
                                                                : (hashed ? " Join" : "")),
                       {},
                       {}};
      if (hashed) {
        std::string cond;
        for (size_t i = 0; i < join.left_keys.size(); ++i)
          cond += (cond.empty() ? "" : " AND ") + std::string("(") +
                  expr_text(join.left_keys[i], &plan) + " = " +
                  expr_text(join.right_keys[i], &plan) + ")";
        node.details.push_back("Hash Cond: " + cond);
      }
      if (join.condition)
        node.details.push_back("Join Filter: " + expr_text(*join.condition, &plan));
      node.children.push_back(std::move(top));
      ExplainNode inner = scan_node(&join.table, engine);
      if (hashed) {
        ExplainNode hash{"Hash", {}, {}};
        hash.children.push_back(std::move(inner));
        inner = std::move(hash);
      }
      node.children.push_back(std::move(inner));
      top = std::move(node);
    }
  }
  if (plan.where) top.details.push_back("Filter: " + expr_text(*plan.where, &plan));
  if (plan.grouped) {
    ExplainNode agg;
    agg.title = plan.group_keys.empty() ? "Aggregate" : "HashAggregate";
    if (!plan.group_keys.empty())
      agg.details.push_back("Group Key: " + join(plan.group_keys, &plan));
    if (plan.having) agg.details.push_back("Filter: " + expr_text(*plan.having, &plan));
    agg.children.push_back(std::move(top));
    top = std::move(agg);
  }
  // One WindowAgg per window call, over a sort on its PARTITION BY and ORDER BY.
  for (const auto& w : plan.windows) {
    std::string keys;
    for (const auto& p : w.partition)
      keys += (keys.empty() ? "" : ", ") + expr_text(p, &plan);
    for (size_t i = 0; i < w.order.size(); ++i)
      keys += (keys.empty() ? "" : ", ") + expr_text(w.order[i], &plan) +
              (w.order_keys[i].descending ? " DESC" : "");
    if (!keys.empty()) {
      ExplainNode sort{"Sort", {"Sort Key: " + keys}, {}};
      sort.children.push_back(std::move(top));
      top = std::move(sort);
    }
    ExplainNode window{"WindowAgg", {}, {}};
    window.children.push_back(std::move(top));
    top = std::move(window);
  }
  if (!plan.order.empty()) {
    ExplainNode sort;
    sort.title = "Sort";
    std::string keys;
    for (const auto& k : plan.order)
      keys += (keys.empty() ? "" : ", ") + sort_key_text(k, plan);
    sort.details.push_back("Sort Key: " + keys);
    sort.children.push_back(std::move(top));
    top = std::move(sort);
  }
  if (plan.limit || plan.offset) {
    ExplainNode limit;
    limit.title = "Limit";
    limit.children.push_back(std::move(top));
    top = std::move(limit);
  }
  return top;
}

}  // namespace

std::vector<std::string> render_explain(const ExplainNode& root) {
  std::vector<std::string> out;
  render(root, 0, out);
  return out;
}

std::string partition_range(int32_t count) {
  if (count <= 0) return "none";
  if (count == 1) return "0";
  return "0-" + std::to_string(count - 1);
}

std::string aggregate_text(const AggSpec& agg, const Plan* plan) {
  if (agg.kind == AggKind::kCountStar) return "count(*)";
  return std::string(aggregate_name(agg.kind)) + "(" + (agg.distinct ? "DISTINCT " : "") +
         expr_text(agg.arg, plan) + ")";
}

std::string expr_text(const Expr& e, const Plan* plan) {
  switch (e.kind) {
    case ExprKind::kConst: {
      const Value& v = e.value;
      if (v.null) return "NULL";
      switch (v.type) {
        case Type::kBool:
          return v.b ? "true" : "false";
        case Type::kInt2:
        case Type::kInt4:
        case Type::kInt8:
        case Type::kNumeric:
        case Type::kFloat4:
        case Type::kFloat8: {
          const std::string t = to_text(v);
          // Negative and non-finite constants are quoted and cast, as PostgreSQL prints them.
          if (!t.empty() && (std::isdigit(static_cast<unsigned char>(t[0])) != 0)) return t;
          return literal(t) + "::" + type_name(v.type);
        }
        case Type::kUnknown:
        case Type::kText:
          return literal(v.s) + "::text";
        default:
          return literal(to_text(v)) + "::" + type_name(v.type);
      }
    }
    case ExprKind::kColumn:
      return e.name.empty() ? "column" + std::to_string(e.index + 1) : quote_identifier(e.name);
    case ExprKind::kParam:
      return "$" + std::to_string(e.index + 1);
    case ExprKind::kGroupRef:
      if (plan != nullptr && static_cast<size_t>(e.index) < plan->group_keys.size())
        return expr_text(plan->group_keys[static_cast<size_t>(e.index)], plan);
      return e.name;
    case ExprKind::kAggRef:
      if (plan != nullptr && static_cast<size_t>(e.index) < plan->aggs.size())
        return aggregate_text(plan->aggs[static_cast<size_t>(e.index)], plan);
      return e.name + "(...)";
    case ExprKind::kWindowRef:
      return e.name + "(...) OVER (...)";
    case ExprKind::kCall: {
      const bool function =
          !e.name.empty() && (std::isalpha(static_cast<unsigned char>(e.name[0])) != 0);
      if (function) return e.name + "(" + join(e.args, plan) + ")";
      if (e.args.size() == 1) return "(" + e.name + " " + expr_text(e.args[0], plan) + ")";
      if (e.args.size() == 2)
        return "(" + expr_text(e.args[0], plan) + " " + e.name + " " + expr_text(e.args[1], plan) +
               ")";
      return e.name + "(" + join(e.args, plan) + ")";
    }
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      std::string out = "(";
      for (size_t i = 0; i < e.args.size(); ++i)
        out += (i == 0                     ? ""
                : e.kind == ExprKind::kAnd ? " AND "
                                           : " OR ") +
               expr_text(e.args[i], plan);
      return out + ")";
    }
    case ExprKind::kNot:
      return "(NOT " + expr_text(e.args[0], plan) + ")";
    case ExprKind::kIsNull:
      return "(" + expr_text(e.args[0], plan) + (e.negated ? " IS NOT NULL)" : " IS NULL)");
    case ExprKind::kBoolTest:
      return "(" + expr_text(e.args[0], plan) + (e.negated ? " IS NOT " : " IS ") +
             (e.value.b ? "TRUE" : "FALSE") + ")";
    case ExprKind::kCase: {
      std::string out = "CASE";
      const size_t pairs = (e.args.size() - (e.has_else ? 1 : 0)) / 2;
      for (size_t i = 0; i < pairs; ++i)
        out += " WHEN " + expr_text(e.args[2 * i], plan) + " THEN " +
               expr_text(e.args[2 * i + 1], plan);
      if (e.has_else) out += " ELSE " + expr_text(e.args.back(), plan);
      return out + " END";
    }
    case ExprKind::kCoalesce:
      return "COALESCE(" + join(e.args, plan) + ")";
    case ExprKind::kNullIf:
      return "NULLIF(" + join(e.args, plan) + ")";
    case ExprKind::kCast:
      return "(" + expr_text(e.args[0], plan) + ")::" + type_name(e.type);
    case ExprKind::kIn:
      return "(" + expr_text(e.args[0], plan) + (e.negated ? " NOT IN (" : " IN (") +
             join(e.args, plan, 1) + "))";
    case ExprKind::kLike:
      return "(" + expr_text(e.args[0], plan) + (e.negated ? " NOT" : "") +
             (e.case_insensitive ? " ILIKE " : " LIKE ") + expr_text(e.args[1], plan) + ")";
    case ExprKind::kGreatest:
      return std::string(e.negated ? "LEAST(" : "GREATEST(") + join(e.args, plan) + ")";
    default:
      return e.name.empty() ? "?" : e.name;
  }
}

SqlResult<std::vector<std::string>> explain(const Plan& plan, Engine& engine) {
  const Plan& target = *plan.explained;
  if (target.kind == Plan::Kind::kCreateView) {
    ViewHost* host = engine.view_host();
    if (host == nullptr)
      return sql_error(sqlstate::kFeatureNotSupported,
                       "materialized views are not available (no stream engine)");
    SQL_CHECK(host->validate(*target.view_select));
    SQL_ASSIGN(ExplainNode root, host->explain(target.view, *target.view_select));
    return render_explain(root);
  }
  return render_explain(explain_select(target, engine));
}

}  // namespace eddy::sql

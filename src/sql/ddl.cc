// CREATE and DROP of tables, views and materialized views: the catalog changes, the topics a
// table owns, the stream engine's views, and the dependencies between them (a relation a view
// reads is not dropped under it; CASCADE drops the views first).
#include <algorithm>
#include <set>

#include "sql/executor.h"
#include "sql/views.h"
#include "storage/log_manager.h"

namespace eddy::sql {

namespace {
SqlError catalog_error(const Error& e);
}  // namespace

SqlResult<StatementResult> run_create_table(const Plan& plan, Engine& engine) {
  StatementResult result;
  result.tag = "CREATE TABLE";
  const TableDef& def = plan.create;
  if (engine.catalog().table(def.name) || engine.catalog().view(def.name)) {
    if (plan.if_not_exists) {
      result.notices.push_back("relation \"" + def.name + "\" already exists, skipping");
      return result;
    }
    return sql_error(sqlstate::kDuplicateTable, "relation \"" + def.name + "\" already exists");
  }
  storage::LogManager* log = engine.log();
  if (log == nullptr) return sql_error(sqlstate::kFeatureNotSupported, "tables need storage");
  bool created_topic = false;
  if (!log->topic(def.topic)) {
    const int32_t partitions =
        plan.partitions > 0 ? plan.partitions : engine.options().default_partitions;
    auto created = log->create_topic(def.topic, partitions);
    if (!created.ok() && created.error().code() != ErrorCode::kAlreadyExists)
      return sql_error(sqlstate::kIoError,
                       "cannot create topic \"" + def.topic + "\": " + created.error().message());
    created_topic = created.ok();
  } else if (!plan.topic_given) {
    return sql_error(
        sqlstate::kDuplicateTable,
        "topic \"" + def.topic + "\" already exists; name it with WITH (topic = '...') to read it");
  }
  Status saved = engine.catalog().create(def);
  if (!saved.ok()) {
    // The name was taken meanwhile, or the catalog could not be written: a topic made for
    // the table goes again, so it cannot block the next CREATE TABLE of that name.
    if (created_topic && def.owns_topic) (void)log->delete_topic(def.topic);
    return catalog_error(saved.error());
  }
  return result;
}

namespace {

// A catalog change that failed: the name is taken, what it reads is gone, or storage failed.
SqlError catalog_error(const Error& e) {
  if (e.code() == ErrorCode::kAlreadyExists)
    return sql_error(sqlstate::kDuplicateTable, e.message());
  if (e.code() == ErrorCode::kNotFound) return sql_error(sqlstate::kUndefinedTable, e.message());
  return io_error(e);
}

const char* view_kind(const ViewDef& view) {
  return view.materialized ? "materialized view" : "view";
}

// What a drop removes: the named relations, then (with CASCADE) every view that reads one of
// them, directly or through other views, dependents before what they read.
struct DropSet {
  std::vector<ViewDef> views;                 // to drop first, dependents first
  std::vector<std::string> dependency_lines;  // "view v2 depends on view v1", in walk order
};

// The views that read `name` (of kind `kind`), transitively, depth first, skipping `named`
// (the statement's own relations) and those already in `out`.
void collect_dependents(Engine& engine, const std::string& name, const std::string& kind,
                        const std::vector<std::string>& named, DropSet& out) {
  for (const auto& view : engine.catalog().views()) {
    if (view.table != name &&
        std::find(view.inputs.begin(), view.inputs.end(), name) == view.inputs.end())
      continue;
    if (std::find(named.begin(), named.end(), view.name) != named.end()) continue;
    out.dependency_lines.push_back(std::string(view_kind(view)) + " " + view.name + " depends on " +
                                   kind + " " + name);
    if (std::any_of(out.views.begin(), out.views.end(),
                    [&](const ViewDef& v) { return v.name == view.name; }))
      continue;
    collect_dependents(engine, view.name, view_kind(view), named, out);
    out.views.push_back(view);
  }
}

std::string joined_lines(const std::vector<std::string>& lines, const std::string& prefix) {
  std::string out;
  for (const auto& line : lines)
    out += (out.empty() ? "" : "\n") + prefix + line;
  return out;
}

// 2BP01 without CASCADE; with it, the dependents go first (a notice says which).
SqlStatus drop_dependents(Engine& engine, const Plan& plan, const std::string& kind,
                          StatementResult& result) {
  DropSet set;
  for (const auto& name : plan.drop_names) {
    DropSet one;
    collect_dependents(engine, name, kind, plan.drop_names, one);
    if (one.views.empty()) continue;
    if (!plan.cascade) {
      SqlError e = sql_error(
          "2BP01", "cannot drop " + kind + " " + name + " because other objects depend on it");
      e.detail = joined_lines(one.dependency_lines, "");
      e.hint = "Use DROP ... CASCADE to drop the dependent objects too.";
      return e;
    }
    for (auto& v : one.views)
      if (std::none_of(set.views.begin(), set.views.end(),
                       [&](const ViewDef& d) { return d.name == v.name; }))
        set.views.push_back(std::move(v));
  }
  if (set.views.empty()) return Unit{};
  std::vector<std::string> lines;
  for (const auto& v : set.views)
    lines.push_back(std::string(view_kind(v)) + " " + v.name);
  result.notices.push_back(set.views.size() == 1
                               ? "drop cascades to " + lines[0]
                               : "drop cascades to " + std::to_string(set.views.size()) +
                                     " other objects");
  for (const auto& v : set.views) {
    // State first: a crash in between leaves a view that starts over, never a stale one.
    if (v.materialized && engine.view_host() != nullptr)
      SQL_CHECK(engine.view_host()->drop(v.name));
    auto dropped = engine.catalog().drop_view(v.name);
    if (!dropped.ok() && dropped.error().code() != ErrorCode::kNotFound)
      return io_error(dropped.error());
  }
  return Unit{};
}

// 42809 for DROP <kind> of a relation of another kind, with the statement that drops it.
SqlError wrong_kind(const std::string& name, const std::string& kind, const char* actual) {
  SqlError e = sql_error("42809", "\"" + name + "\" is not a " + kind);
  e.hint = std::string("Use DROP ") + (std::string(actual) == "table" ? "TABLE to remove a table."
                                       : std::string(actual) == "materialized view"
                                           ? "MATERIALIZED VIEW to remove a "
                                             "materialized view."
                                           : "VIEW to remove a view.");
  return e;
}

}  // namespace

SqlResult<StatementResult> run_drop_table(const Plan& plan, Engine& engine) {
  StatementResult result;
  result.tag = "DROP TABLE";
  for (const auto& name : plan.drop_names) {
    if (!engine.catalog().table(name)) {
      if (auto view = engine.catalog().view(name))
        return wrong_kind(name, "table", view_kind(*view));
      if (plan.missing_ok) {
        result.notices.push_back("table \"" + name + "\" does not exist, skipping");
        continue;
      }
      return sql_error(sqlstate::kUndefinedTable, "table \"" + name + "\" does not exist");
    }
  }
  SQL_CHECK(drop_dependents(engine, plan, "table", result));
  for (const auto& name : plan.drop_names) {
    auto dropped = engine.catalog().drop(name);
    if (!dropped.ok()) {
      if (dropped.error().code() == ErrorCode::kNotFound) continue;
      return io_error(dropped.error());
    }
    if (dropped->owns_topic && engine.log() != nullptr) {
      Status deleted = engine.log()->delete_topic(dropped->topic);
      if (!deleted.ok() && deleted.error().code() != ErrorCode::kNotFound)
        return io_error(deleted.error());
    }
  }
  return result;
}

SqlResult<StatementResult> run_create_view(const Plan& plan, Engine& engine) {
  StatementResult result;
  result.tag = plan.tag;
  const ViewDef& def = plan.view;
  if (!def.materialized) {
    auto existing = engine.catalog().view(def.name);
    if (plan.or_replace && existing && !existing->materialized) {
      // As in PostgreSQL, the new query may add columns after the old ones but must keep
      // those (their names and types), so whatever reads the view still reads the same.
      if (def.columns.size() < existing->columns.size())
        return sql_error("42P16", "cannot drop columns from view");
      for (size_t i = 0; i < existing->columns.size(); ++i) {
        const auto& was = existing->columns[i];
        const auto& now = def.columns[i];
        if (was.name != now.name)
          return sql_error("42P16", "cannot change name of view column \"" + was.name + "\" to \"" +
                                        now.name + "\"");
        if (was.type != now.type) {
          SqlError e = sql_error("42P16", "cannot change data type of view column \"" + was.name +
                                              "\" from " + type_name(was.type) + " to " +
                                              type_name(now.type));
          return e;
        }
      }
      // A view may not come to read itself, directly or through others.
      std::vector<std::string> pending = def.inputs;
      std::set<std::string> seen;
      while (!pending.empty()) {
        const std::string name = pending.back();
        pending.pop_back();
        if (name == def.name)
          return sql_error(
              "42P17", "infinite recursion detected in rules for relation \"" + def.name + "\"");
        if (!seen.insert(name).second) continue;
        if (auto v = engine.catalog().view(name))
          pending.insert(pending.end(), v->inputs.begin(), v->inputs.end());
      }
      Status saved = engine.catalog().replace_view(def);
      if (!saved.ok()) return catalog_error(saved.error());
      return result;
    }
    if (existing || engine.catalog().table(def.name)) {
      if (plan.or_replace) return sql_error("42809", "\"" + def.name + "\" is not a view");
      return sql_error(sqlstate::kDuplicateTable, "relation \"" + def.name + "\" already exists");
    }
    Status saved = engine.catalog().create_view(def);
    if (!saved.ok()) return catalog_error(saved.error());
    return result;
  }
  if (engine.catalog().table(def.name) || engine.catalog().view(def.name)) {
    if (plan.if_not_exists) {
      result.notices.push_back("relation \"" + def.name + "\" already exists, skipping");
      result.tag = "CREATE MATERIALIZED VIEW";
      return result;
    }
    return sql_error(sqlstate::kDuplicateTable, "relation \"" + def.name + "\" already exists");
  }
  ViewHost* host = engine.view_host();
  if (host == nullptr)
    return sql_error(sqlstate::kFeatureNotSupported,
                     "materialized views need the stream engine (not running in this process)");
  SQL_CHECK(host->validate(*plan.view_select));
  Status saved = engine.catalog().create_view(def);
  if (!saved.ok()) return catalog_error(saved.error());
  SqlStatus started = host->start(def, plan.view_select, /*fresh=*/true);
  if (!started.ok()) {
    (void)engine.catalog().drop_view(def.name);
    return started.error();
  }
  return result;
}

SqlResult<StatementResult> run_drop_view(const Plan& plan, Engine& engine) {
  StatementResult result;
  result.tag = plan.tag;
  const bool materialized = plan.value == "materialized view";
  for (const auto& name : plan.drop_names) {
    auto view = engine.catalog().view(name);
    if (view && view->materialized != materialized)
      return wrong_kind(name, plan.value, view_kind(*view));
    if (!view) {
      if (engine.catalog().table(name)) return wrong_kind(name, plan.value, "table");
      if (plan.missing_ok) {
        result.notices.push_back(plan.value + " \"" + name + "\" does not exist, skipping");
        continue;
      }
      return sql_error(sqlstate::kUndefinedTable, plan.value + " \"" + name + "\" does not exist");
    }
  }
  SQL_CHECK(drop_dependents(engine, plan, plan.value, result));
  for (const auto& name : plan.drop_names) {
    auto view = engine.catalog().view(name);
    if (!view) continue;
    // State first: a crash in between leaves a view that starts over, never a stale one.
    if (view->materialized && engine.view_host() != nullptr)
      SQL_CHECK(engine.view_host()->drop(name));
    auto dropped = engine.catalog().drop_view(name);
    if (!dropped.ok() && dropped.error().code() != ErrorCode::kNotFound)
      return io_error(dropped.error());
  }
  return result;
}

}  // namespace eddy::sql

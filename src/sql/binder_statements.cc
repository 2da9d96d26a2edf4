// The statements other than SELECT: INSERT, CREATE/DROP TABLE and MATERIALIZED VIEW, SET,
// SHOW, COPY, EXPLAIN, DECLARE.
#include "sql/binder_internal.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string_view>

#include "common/stack_guard.h"
#include "sql/formats.h"
#include "sql/system_tables.h"

namespace eddy::sql::binding {

SqlResult<Plan> Binder::bind_insert(const PgQuery__InsertStmt* s) {
  if (s->n_returning_list > 0) return unsupported("INSERT ... RETURNING");
  if (s->on_conflict_clause != nullptr) return unsupported("INSERT ... ON CONFLICT");
  const auto* rv = s->relation;
  const std::string schema = rv->schemaname;
  if (!schema.empty() && schema != kSchemaName) {
    SQL_ASSIGN(TableDef target, resolve_relation(schema, rv->relname, rv->location));
    // The system relations are views in PostgreSQL, and these are not updatable.
    return sql_error("55000", "cannot insert into view \"" + target.name + "\"", rv->location);
  }
  auto def = input_.catalog->table(rv->relname);
  if (!def) {
    if (auto view = input_.catalog->view(rv->relname)) {
      if (!view->materialized) return unsupported("INSERT into a view", rv->location);
      return sql_error("42809",
                       "cannot change materialized view \"" + std::string(rv->relname) + "\"",
                       rv->location);
    }
    return sql_error(sqlstate::kUndefinedTable,
                     "relation \"" + std::string(rv->relname) + "\" does not exist", rv->location);
  }
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
    for (size_t k = 0; k < i; ++k)
      if (plan.insert_columns[k] == found)
        return sql_error("42701", "column \"" + name + "\" specified more than once", rt->location);
    plan.insert_columns.push_back(found);
  }
  const Node* source = s->select_stmt;
  if (source == nullptr) return unsupported("INSERT ... DEFAULT VALUES");
  if (source->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
    return unsupported("this INSERT source");
  // One item per target column (as many as the source gives), cast as assignment casts.
  // `items` source columns, the first extra one at `extra_location`.
  auto check_width = [&](size_t items, int extra_location) -> SqlStatus {
    if (items > plan.insert_columns.size())
      return sql_error(sqlstate::kSyntaxError, "INSERT has more expressions than target columns",
                       extra_location);
    if (items < plan.insert_columns.size() && s->n_cols > 0)
      return sql_error(sqlstate::kSyntaxError, "INSERT has more target columns than expressions",
                       s->cols[items]->res_target->location);
    return Unit{};
  };
  auto assign = [&](Expr e, size_t i) -> SqlResult<Expr> {
    const ColumnDef& column = def->columns[static_cast<size_t>(plan.insert_columns[i])];
    const int loc = e.location;
    const Type from = e.type;
    auto cast = coerce_to(std::move(e), column.type, CastContext::kAssignment);
    if (!cast.ok()) {
      if (cast.error().sqlstate == sqlstate::kDatatypeMismatch) {
        cast.error().message = "column \"" + column.name + "\" is of type " +
                               type_name(column.type) + " but expression is of type " +
                               type_name(from);
        cast.error().hint = "You will need to rewrite or cast the expression.";
      }
      cast.error().location = loc;
    }
    return cast;
  };
  const auto* select = source->select_stmt;
  const bool plain_values = select->n_values_lists > 0 && select->with_clause == nullptr &&
                            select->n_sort_clause == 0 && select->limit_count == nullptr &&
                            select->limit_offset == nullptr;
  if (!plain_values) {
    // INSERT ... SELECT (or a VALUES list with ORDER BY/LIMIT, or WITH): the query's rows,
    // each column cast to its target. Unknown-typed outputs ('2024-01-01') stay unknown so that
    // they take the target column's type, as PostgreSQL resolves them.
    const size_t outer = ctes_.size();
    auto query = [&]() -> SqlResult<Plan> {
      if (s->with_clause != nullptr) SQL_CHECK(bind_with(s->with_clause));
      return bind_in_own_scope(select, true);
    }();
    ctes_.resize(outer);
    SQL_ASSIGN(Plan bound, std::move(query));
    // Errors about a source column point at its expression (a UNION's columns have none).
    auto location = [&](size_t i) {
      return i < bound.outputs.size() && bound.union_arms.empty() ? bound.outputs[i].location : -1;
    };
    SQL_CHECK(check_width(bound.columns.size(), location(plan.insert_columns.size())));
    std::vector<Expr> row;
    for (size_t i = 0; i < bound.columns.size(); ++i) {
      Expr column;
      column.kind = ExprKind::kColumn;
      column.type = bound.columns[i].type;
      column.index = static_cast<int>(i);
      column.name = bound.columns[i].name;
      column.location = location(i);
      SQL_ASSIGN(Expr cast, assign(std::move(column), i));
      row.push_back(std::move(cast));
    }
    plan.insert_rows.push_back(std::move(row));
    plan.insert_query = std::make_shared<const Plan>(std::move(bound));
    return plan;
  }
  if (s->with_clause != nullptr) {
    // VALUES cannot read them (no subqueries there), but they are bound for their errors.
    const size_t outer = ctes_.size();
    SqlStatus with = bind_with(s->with_clause);
    ctes_.resize(outer);
    SQL_CHECK(with);
  }
  no_windows_in_ = "VALUES";
  for (size_t r = 0; r < select->n_values_lists; ++r) {
    const auto* list = select->values_lists[r]->list;
    std::vector<Expr> row;
    for (size_t i = 0; i < list->n_items; ++i) {
      Expr e;
      if (list->items[i]->node_case == PG_QUERY__NODE__NODE_SET_TO_DEFAULT) {
        e = make_const(Value::null_of(Type::kUnknown), -1);
      } else {
        SQL_ASSIGN(e, bind_expr(list->items[i]));
      }
      if (i == plan.insert_columns.size()) SQL_CHECK(check_width(list->n_items, e.location));
      row.push_back(std::move(e));
    }
    SQL_CHECK(check_width(list->n_items, -1));
    for (size_t i = 0; i < row.size(); ++i) {
      SQL_ASSIGN(row[i], assign(std::move(row[i]), i));
    }
    plan.insert_rows.push_back(std::move(row));
  }
  return plan;
}

// The text of a WITH (key = value) option: a string, an integer or a bare word.
SqlResult<std::string> option_value(const PgQuery__DefElem* opt, const char* what) {
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
  // `name#n` names the views a view's subqueries in FROM run as.
  if (std::string_view(into->rel->relname).find('#') != std::string_view::npos)
    return sql_error("42602",  // invalid_name
                     "a materialized view's name cannot contain \"#\" (\"" +
                         std::string(into->rel->relname) + "\")",
                     into->rel->location);
  std::string output_topic;
  int64_t state_ttl_ms = 0;
  for (size_t i = 0; i < into->n_options; ++i) {
    const auto* opt = into->options[i]->def_elem;
    const std::string key = opt->defname;
    SQL_ASSIGN(const std::string value, option_value(opt, "materialized view"));
    if (key == "state_ttl") {
      auto ttl = parse_interval(value);
      if (!ttl.ok() || ttl->months != 0 || ttl->days < 0 || ttl->i < 0 ||
          (ttl->days == 0 && ttl->i < 1000))
        return sql_error(sqlstate::kInvalidParameterValue,
                         "state_ttl must be a duration of at least one millisecond without "
                         "months or years (e.g. '1 hour'), not \"" +
                             value + "\"",
                         opt->location);
      state_ttl_ms = int64_t{ttl->days} * 86400000 + ttl->i / 1000;
    } else if (key == "topic") {
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
      return sql_error(sqlstate::kInvalidParameterValue,
                       "unrecognized materialized view option \"" + key +
                           "\" (supported: topic, format, state_ttl)",
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
  // Every SELECT of the view (its own, its UNION arms', its derived tables' and WITH queries',
  // which the stream engine maintains as views of their own), and the relations they read; the
  // first one read is the view's table. Window functions are left to the stream engine, which
  // takes them only as Top-N per group.
  std::vector<const TableDef*> read;
  std::function<SqlStatus(const Plan&)> walk = [&](const Plan& query) -> SqlStatus {
    if (!query.union_arms.empty()) {
      for (const auto& arm : query.union_arms)
        SQL_CHECK(walk(*arm));
      return Unit{};
    }
    if (!query.table)
      return unsupported("a materialized view without FROM (it needs a source table)");
    // `x IN (SELECT ...)` conjuncts of WHERE whose subquery does not read the row around it
    // run as joins (the stream engine's); other subqueries in expressions are 0A000.
    Plan rest = query;
    std::vector<const Plan*> semi_joins;  // walked after the FROM tables (the first is the view's)
    if (rest.where) {
      std::vector<const Expr*> parts;
      std::function<void(const Expr&)> split = [&](const Expr& e) {
        if (e.kind == ExprKind::kAnd) {
          for (const auto& a : e.args)
            split(a);
        } else {
          parts.push_back(&e);
        }
      };
      split(*query.where);
      rest.where.reset();
      for (const Expr* part : parts) {
        if (part->kind == ExprKind::kSubquery && part->index == kInSubquery && !part->negated &&
            !part->correlated && part->subquery && !has_subquery(part->args[0])) {
          semi_joins.push_back(part->subquery.get());
          continue;
        }
        if (has_subquery(*part))
          return unsupported(
              "a subquery in an expression of a materialized view (other than x IN (SELECT ...) "
              "in WHERE)");
      }
    }
    if (plan_has_subqueries(rest))
      return unsupported("a subquery in an expression of a materialized view");
    std::vector<const TableDef*> tables = {&*query.table};
    for (const auto& j : query.joins)
      tables.push_back(&j.table);
    for (const TableDef* t : tables) {
      if (!t->system.empty())
        return unsupported(
            "a materialized view over a system relation (it has no topic to follow)");
      if (t->named_view) return unsupported("a materialized view over a view");
      if (t->subquery) {
        if (t->subquery->kind != Plan::Kind::kSelect)
          return unsupported("this subquery in FROM in a materialized view");
        SQL_CHECK(walk(*t->subquery));
        continue;
      }
      read.push_back(t);
    }
    for (const Plan* semi_join : semi_joins)
      SQL_CHECK(walk(*semi_join));
    return Unit{};
  };
  SQL_CHECK(walk(select));
  const std::string first = read.front()->name;
  std::vector<std::string> inputs;
  for (const TableDef* t : read)
    if (t->name != first && std::find(inputs.begin(), inputs.end(), t->name) == inputs.end())
      inputs.push_back(t->name);
  Plan plan;
  plan.kind = Plan::Kind::kCreateView;
  plan.tag = "CREATE MATERIALIZED VIEW";
  plan.if_not_exists = s->if_not_exists;
  plan.view.name = into->rel->relname;
  plan.view.sql = statement_;
  plan.view.table = first;
  for (const TableDef* t : read)
    if (!t->is_view && output_topic == t->topic)
      return sql_error(sqlstate::kInvalidParameterValue,
                       "a materialized view cannot write to the topic it reads");
  plan.view.inputs = std::move(inputs);
  plan.view.topic = output_topic;
  plan.view.state_ttl_ms = state_ttl_ms;
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

SqlResult<Plan> Binder::bind_create_plain_view(const PgQuery__ViewStmt* s) {
  const auto* rv = s->view;
  if (rv->relpersistence[0] == 't') return unsupported("temporary views", rv->location);
  if (rv->schemaname != nullptr && *rv->schemaname != '\0' &&
      std::string(rv->schemaname) != kSchemaName)
    return sql_error("3F000", "schema \"" + std::string(rv->schemaname) + "\" does not exist",
                     rv->location);
  if (s->n_options > 0 ||
      (s->with_check_option != PG_QUERY__VIEW_CHECK_OPTION__NO_CHECK_OPTION &&
       s->with_check_option != PG_QUERY__VIEW_CHECK_OPTION__VIEW_CHECK_OPTION_UNDEFINED))
    return unsupported("view options (views are read-only)");
  if (s->query == nullptr || s->query->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
    return unsupported("this view query");
  // The query binds as a subquery in FROM would (nothing of this statement around it).
  SQL_ASSIGN(TableDef bound,
             bind_subquery_table(s->query->select_stmt, rv->relname, nullptr, 0, -1));
  // Constant errors (SELECT 1/0) are the planner's in PostgreSQL: raised when the view is
  // read, not when it is created.
  fold_error_.reset();
  if (!params_.empty())
    return sql_error("42P02", "there is no parameter $1 (views cannot have parameters)");
  if (s->n_aliases > bound.columns.size())
    return sql_error(sqlstate::kSyntaxError,
                     "CREATE VIEW specifies more column names than columns");
  for (size_t i = 0; i < s->n_aliases; ++i)
    bound.columns[i].name = str(s->aliases[i]);
  Plan plan;
  plan.kind = Plan::Kind::kCreateView;
  plan.tag = "CREATE VIEW";
  plan.or_replace = s->replace;
  plan.view.name = rv->relname;
  plan.view.materialized = false;
  plan.view.sql = statement_;
  for (const auto& c : bound.columns) {
    for (const auto& other : plan.view.columns)
      if (other.name == c.name)
        return sql_error("42701", "column \"" + c.name + "\" specified more than once");
    plan.view.columns.push_back(c);
  }
  plan.view.inputs = relations_read_;
  return plan;
}

SqlResult<Plan> Binder::bind_drop(const PgQuery__DropStmt* s) {
  const bool matview = s->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW;
  const bool view = matview || s->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_VIEW;
  if (s->remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE && !view)
    return unsupported("DROP of this object type");
  Plan plan;
  plan.kind = view ? Plan::Kind::kDropView : Plan::Kind::kDropTable;
  plan.tag = matview ? "DROP MATERIALIZED VIEW" : view ? "DROP VIEW" : "DROP TABLE";
  plan.value = matview ? "materialized view" : view ? "view" : "table";
  plan.missing_ok = s->missing_ok;
  plan.cascade = s->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE;
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
  if (auto view = public_schema ? input_.catalog->view(rv->relname) : std::nullopt) {
    SqlError e = sql_error("42809", std::string("cannot copy ") + (s->is_from ? "to" : "from") +
                                        (view->materialized ? " materialized view" : " view") +
                                        " \"" + rv->relname + "\"");
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

}  // namespace eddy::sql::binding

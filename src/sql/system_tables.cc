#include "sql/system_tables.h"

#include <algorithm>
#include <string_view>

#include "sql/binder.h"
#include "sql/session.h"

namespace eddy::sql {

namespace {

constexpr const char* kOwner = "eddy";

struct SystemColumn {
  const char* name;
  Type type;
};

struct SystemRelation {
  const char* schema;
  const char* name;
  std::vector<SystemColumn> columns;
};

// The columns clients actually read, named and ordered as in PostgreSQL 15 (a prefix or subset
// of PostgreSQL's own lists; sql_identifier, character_data and yes_or_no are text here).
const std::vector<SystemRelation>& relations() {
  static const std::vector<SystemRelation> kRelations = {
      {"information_schema",
       "tables",
       {{"table_catalog", Type::kText},
        {"table_schema", Type::kText},
        {"table_name", Type::kText},
        {"table_type", Type::kText},
        {"self_referencing_column_name", Type::kText},
        {"reference_generation", Type::kText},
        {"user_defined_type_catalog", Type::kText},
        {"user_defined_type_schema", Type::kText},
        {"user_defined_type_name", Type::kText},
        {"is_insertable_into", Type::kText},
        {"is_typed", Type::kText},
        {"commit_action", Type::kText}}},
      {"information_schema",
       "columns",
       {{"table_catalog", Type::kText},
        {"table_schema", Type::kText},
        {"table_name", Type::kText},
        {"column_name", Type::kText},
        {"ordinal_position", Type::kInt4},
        {"column_default", Type::kText},
        {"is_nullable", Type::kText},
        {"data_type", Type::kText},
        {"character_maximum_length", Type::kInt4},
        {"character_octet_length", Type::kInt4},
        {"numeric_precision", Type::kInt4},
        {"numeric_precision_radix", Type::kInt4},
        {"numeric_scale", Type::kInt4},
        {"datetime_precision", Type::kInt4},
        {"udt_catalog", Type::kText},
        {"udt_schema", Type::kText},
        {"udt_name", Type::kText},
        {"is_identity", Type::kText},
        {"is_generated", Type::kText},
        {"is_updatable", Type::kText}}},
      {"information_schema",
       "views",
       {{"table_catalog", Type::kText},
        {"table_schema", Type::kText},
        {"table_name", Type::kText},
        {"view_definition", Type::kText},
        {"check_option", Type::kText},
        {"is_updatable", Type::kText},
        {"is_insertable_into", Type::kText},
        {"is_trigger_updatable", Type::kText},
        {"is_trigger_deletable", Type::kText},
        {"is_trigger_insertable_into", Type::kText}}},
      {"pg_catalog",
       "pg_tables",
       {{"schemaname", Type::kText},
        {"tablename", Type::kText},
        {"tableowner", Type::kText},
        {"tablespace", Type::kText},
        {"hasindexes", Type::kBool},
        {"hasrules", Type::kBool},
        {"hastriggers", Type::kBool},
        {"rowsecurity", Type::kBool}}},
      {"pg_catalog",
       "pg_views",
       {{"schemaname", Type::kText},
        {"viewname", Type::kText},
        {"viewowner", Type::kText},
        {"definition", Type::kText}}},
      {"pg_catalog",
       "pg_matviews",
       {{"schemaname", Type::kText},
        {"matviewname", Type::kText},
        {"matviewowner", Type::kText},
        {"tablespace", Type::kText},
        {"hasindexes", Type::kBool},
        {"ispopulated", Type::kBool},
        {"definition", Type::kText}}},
  };
  return kRelations;
}

// pg_catalog relations and views clients commonly query. An unqualified one of these is a
// catalog relation in PostgreSQL (pg_catalog is searched first), so it gets the 0A000 answer
// rather than "does not exist".
constexpr std::string_view kCatalogNames[] = {
    "pg_aggregate",
    "pg_am",
    "pg_attrdef",
    "pg_attribute",
    "pg_auth_members",
    "pg_authid",
    "pg_available_extensions",
    "pg_cast",
    "pg_class",
    "pg_collation",
    "pg_constraint",
    "pg_conversion",
    "pg_database",
    "pg_default_acl",
    "pg_depend",
    "pg_description",
    "pg_enum",
    "pg_event_trigger",
    "pg_extension",
    "pg_foreign_data_wrapper",
    "pg_foreign_server",
    "pg_foreign_table",
    "pg_index",
    "pg_indexes",
    "pg_inherits",
    "pg_language",
    "pg_locks",
    "pg_namespace",
    "pg_opclass",
    "pg_operator",
    "pg_partitioned_table",
    "pg_policy",
    "pg_proc",
    "pg_publication",
    "pg_range",
    "pg_rewrite",
    "pg_roles",
    "pg_sequence",
    "pg_sequences",
    "pg_settings",
    "pg_shdescription",
    "pg_stat_activity",
    "pg_statistic_ext",
    "pg_stat_user_tables",
    "pg_subscription",
    "pg_tablespace",
    "pg_trigger",
    "pg_ts_config",
    "pg_type",
    "pg_user",
};

TableDef to_table_def(const SystemRelation& r) {
  TableDef def;
  def.name = r.name;
  def.system = std::string(r.schema) + "." + r.name;
  def.format = "";
  for (const auto& c : r.columns)
    def.columns.push_back({c.name, c.type});
  return def;
}

Value text(const std::string& s) {
  return Value::text(s);
}
Value null_text() {
  return Value::null_of(Type::kText);
}
Value int4(int64_t v) {
  return Value::integer(Type::kInt4, v);
}
Value null_int4() {
  return Value::null_of(Type::kInt4);
}

// pg_type.typname of a type (information_schema.columns.udt_name).
std::string udt_name(Type type) {
  switch (type) {
    case Type::kBool:
      return "bool";
    case Type::kInt2:
      return "int2";
    case Type::kInt4:
      return "int4";
    case Type::kInt8:
      return "int8";
    case Type::kFloat4:
      return "float4";
    case Type::kFloat8:
      return "float8";
    case Type::kNumeric:
      return "numeric";
    case Type::kText:
      return "text";
    case Type::kTimestamptz:
      return "timestamptz";
    case Type::kTimestamp:
      return "timestamp";
    default:
      return type_name(type);  // date, interval, jsonb, bytea: the same name
  }
}

// One information_schema.columns row, with PostgreSQL's precision columns for the type.
Row column_row(const std::string& table, const ColumnDef& c, size_t ordinal) {
  Value precision = null_int4(), radix = null_int4(), scale = null_int4(), datetime = null_int4(),
        octets = null_int4();
  switch (c.type) {
    case Type::kInt2:
    case Type::kInt4:
    case Type::kInt8:
      precision = int4(c.type == Type::kInt2 ? 16 : c.type == Type::kInt4 ? 32 : 64);
      radix = int4(2);
      scale = int4(0);
      break;
    case Type::kFloat4:
    case Type::kFloat8:
      precision = int4(c.type == Type::kFloat4 ? 24 : 53);
      radix = int4(2);
      break;
    case Type::kNumeric:
      radix = int4(10);  // unconstrained: no precision or scale
      break;
    case Type::kTimestamptz:
    case Type::kTimestamp:
    case Type::kInterval:
      datetime = int4(6);
      break;
    case Type::kDate:
      datetime = int4(0);
      break;
    case Type::kText:
      octets = int4(1073741824);
      break;
    default:
      break;
  }
  return {text(kDatabaseName), text(kSchemaName), text(table), text(c.name),
          int4(static_cast<int64_t>(ordinal)), null_text(), text("YES"), text(type_name(c.type)),
          null_int4(), octets, precision, radix, scale, datetime, text(kDatabaseName),
          text("pg_catalog"), text(udt_name(c.type)), text("NO"), text("NEVER"),
          // Tables take INSERT but not UPDATE.
          text("NO")};
}

}  // namespace

bool is_system_schema(const std::string& schema) {
  return schema == "pg_catalog" || schema == "information_schema";
}

std::optional<TableDef> system_table(const std::string& schema, const std::string& name) {
  for (const auto& r : relations()) {
    const bool schema_fits =
        schema == r.schema || (schema.empty() && std::string_view(r.schema) == "pg_catalog");
    if (schema_fits && name == r.name) return to_table_def(r);
  }
  return std::nullopt;
}

std::optional<SqlError> missing_system_relation(const std::string& schema, const std::string& name,
                                                int location) {
  const bool known_catalog_name =
      schema.empty() && std::find(std::begin(kCatalogNames), std::end(kCatalogNames), name) !=
                            std::end(kCatalogNames);
  if (!is_system_schema(schema) && !known_catalog_name) return std::nullopt;
  const std::string full = (schema.empty() ? std::string("pg_catalog") : schema) + "." + name;
  std::string provided;
  const auto& all = relations();
  for (size_t i = 0; i < all.size(); ++i)
    provided += (i == 0                ? ""
                 : i + 1 == all.size() ? " and "
                                       : ", ") +
                std::string(all[i].schema) + "." + all[i].name;
  SqlError error = sql_error(
      sqlstate::kFeatureNotSupported,
      "system relation \"" + full + "\" is not supported yet (Eddy provides only " + provided + ")",
      location);
  error.hint =
      "psql's \\d commands need the PostgreSQL catalogs; use SHOW TABLES, SHOW MATERIALIZED "
      "VIEWS, SHOW COLUMNS FROM name, SHOW CREATE TABLE name or SHOW CREATE MATERIALIZED VIEW "
      "name instead.";
  return error;
}

SqlResult<std::vector<Row>> system_rows(const TableDef& table, Engine& engine) {
  std::vector<Row> rows;
  const Catalog& catalog = engine.catalog();
  if (table.system == "information_schema.tables") {
    // Like PostgreSQL, information_schema leaves materialized views out.
    for (const auto& t : catalog.tables())
      rows.push_back({text(kDatabaseName), text(kSchemaName), text(t.name), text("BASE TABLE"),
                      null_text(), null_text(), null_text(), null_text(), null_text(), text("YES"),
                      text("NO"), null_text()});
    for (const auto& v : catalog.views())
      if (!v.materialized)
        rows.push_back({text(kDatabaseName), text(kSchemaName), text(v.name), text("VIEW"),
                        null_text(), null_text(), null_text(), null_text(), null_text(), text("NO"),
                        text("NO"), null_text()});
  } else if (table.system == "information_schema.columns") {
    for (const auto& t : catalog.tables())
      for (size_t i = 0; i < t.columns.size(); ++i)
        rows.push_back(column_row(t.name, t.columns[i], i + 1));
    for (const auto& v : catalog.views())
      if (!v.materialized)
        for (size_t i = 0; i < v.columns.size(); ++i)
          rows.push_back(column_row(v.name, v.columns[i], i + 1));
  } else if (table.system == "information_schema.views") {
    for (const auto& v : catalog.views())
      if (!v.materialized)
        rows.push_back({text(kDatabaseName), text(kSchemaName), text(v.name),
                        text(view_query_text(v.sql)), text("NONE"), text("NO"), text("NO"),
                        text("NO"), text("NO"), text("NO")});
  } else if (table.system == "pg_catalog.pg_views") {
    for (const auto& v : catalog.views())
      if (!v.materialized)
        rows.push_back(
            {text(kSchemaName), text(v.name), text(kOwner), text(view_query_text(v.sql))});
  } else if (table.system == "pg_catalog.pg_tables") {
    for (const auto& t : catalog.tables())
      rows.push_back({text(kSchemaName), text(t.name), text(kOwner), null_text(),
                      Value::boolean(false), Value::boolean(false), Value::boolean(false),
                      Value::boolean(false)});
  } else if (table.system == "pg_catalog.pg_matviews") {
    for (const auto& v : catalog.views())
      if (v.materialized)
        rows.push_back({text(kSchemaName), text(v.name), text(kOwner), null_text(),
                        Value::boolean(false), Value::boolean(true), text(view_query_text(v.sql))});
  } else {
    return sql_error(sqlstate::kInternalError, "unknown system relation " + table.system);
  }
  return rows;
}

std::vector<Row> describe_columns(const TableDef& table) {
  std::vector<Row> rows;
  for (const auto& c : table.columns)
    rows.push_back(
        {text(c.name), text(type_name(c.type)), Value::boolean(true), Value::boolean(false)});
  for (size_t i = 0; i < std::size(kMetadataColumns); ++i)
    rows.push_back({text(kMetadataColumns[i]), text(type_name(kMetadataTypes[i])),
                    Value::boolean(true), Value::boolean(true)});
  return rows;
}

std::string create_table_statement(const TableDef& table, int32_t partitions) {
  auto literal = [](const std::string& s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') out += '\'';
      out += c;
    }
    return out + "'";
  };
  std::string out = "CREATE TABLE " + quote_identifier(table.name) + " (";
  for (size_t i = 0; i < table.columns.size(); ++i)
    out += (i == 0 ? "" : ", ") + quote_identifier(table.columns[i].name) + " " +
           type_name(table.columns[i].type);
  out += ") WITH (";
  // A table that owns its topic gets it again by leaving `topic` out (and owns it again).
  if (table.owns_topic)
    out += "partitions = " + std::to_string(partitions);
  else
    out += "topic = " + literal(table.topic);
  out += ", format = " + literal(table.format);
  if (table.format == "csv" && table.csv_delimiter != ',')
    out += ", csv.delimiter = " + literal(std::string(1, table.csv_delimiter));
  if (table.format == "csv" && table.csv_quote != '"')
    out += ", csv.quote = " + literal(std::string(1, table.csv_quote));
  if (table.dead_letter != default_dead_letter(table.name))
    out += ", dead_letter = " + literal(table.dead_letter);
  return out + ")";
}

}  // namespace eddy::sql

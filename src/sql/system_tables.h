// Read-only system relations for client introspection (information_schema.tables/columns,
// pg_catalog.pg_tables/pg_matviews), the SHOW COLUMNS / SHOW CREATE answers, and the error for
// the PostgreSQL catalog relations Eddy does not provide.
//
// A system relation is a TableDef with `system` set; SELECT binds it like a table and the
// executor takes its rows from system_rows() (a snapshot of the catalog) instead of a topic, so
// WHERE, ORDER BY, LIMIT and aggregates work on it unchanged. Internal to the sql folder.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sql/catalog.h"
#include "sql/value.h"

namespace eddy::sql {

class Engine;

// The names Eddy answers as the current database and schema (current_database(), table_schema).
inline constexpr const char* kDatabaseName = "eddy";
inline constexpr const char* kSchemaName = "public";

// "pg_catalog" or "information_schema".
bool is_system_schema(const std::string& schema);
// The system relation `schema`.`name` when Eddy provides it. An empty schema finds pg_catalog's
// relations, which PostgreSQL searches before the search_path.
std::optional<TableDef> system_table(const std::string& schema, const std::string& name);
// 0A000 for a relation of PostgreSQL's catalogs that Eddy does not provide (any pg_catalog.* or
// information_schema.* relation, or an unqualified well-known catalog name like pg_class), with
// a hint naming what to use instead; nullopt for any other name.
std::optional<SqlError> missing_system_relation(const std::string& schema, const std::string& name,
                                                int location);
// The rows of a system relation (declared columns only), from the catalog as it is now.
SqlResult<std::vector<Row>> system_rows(const TableDef& table, Engine& engine);

// SHOW COLUMNS FROM: one row per column (name, type, nullable, metadata), metadata columns last.
std::vector<Row> describe_columns(const TableDef& table);
inline constexpr const char* kDescribeColumnNames[] = {"name", "type", "nullable", "metadata"};
inline constexpr Type kDescribeColumnTypes[] = {Type::kText, Type::kText, Type::kBool, Type::kBool};
// SHOW CREATE TABLE: a statement that declares the table again over the same topic.
// `partitions` is the topic's partition count (used when the table owns its topic).
std::string create_table_statement(const TableDef& table, int32_t partitions);

}  // namespace eddy::sql

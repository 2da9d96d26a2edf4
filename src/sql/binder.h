// Parsing (libpg_query, the PostgreSQL 15 grammar) and binding of statements into Plans.
//
// ParsedQuery owns the parse tree of a query string, which may hold several statements; each is
// bound on its own, right before it runs, so a statement sees the effects of the ones before it
// (CREATE TABLE then INSERT in one simple query). libpg_query types stay in the binder's
// files (binder_internal.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sql/catalog.h"
#include "sql/plan.h"

namespace eddy::sql {

struct BindInput {
  const Catalog* catalog = nullptr;
  // Types declared for $1.. (kUnknown: infer from context, text when nothing decides).
  std::vector<Type> param_types;
  // Reads a session setting (current_setting()); nullopt when unknown.
  std::function<std::optional<std::string>(const std::string&)> setting;
  int32_t backend_pid = 0;  // pg_backend_pid()
  // False for the simple query protocol, which has no parameters: $n answers 42P02.
  bool parameters_allowed = true;
  // Set when binding a materialized view the catalog stored: its columns as stored (the view
  // keeps those names).
  const std::vector<ColumnDef>* stored_view_columns = nullptr;
};

// An identifier as SQL must write it: unchanged when it is a lower-case name that is not a
// keyword, double-quoted otherwise (PostgreSQL's quote_ident).
std::string quote_identifier(const std::string& name);
// The query of a CREATE MATERIALIZED VIEW statement: its text after the top-level AS.
std::string view_query_text(const std::string& create_sql);

class ParsedQuery {
 public:
  // Syntax errors come back with SQLSTATE 42601 and the position the parser stopped at.
  static SqlResult<ParsedQuery> parse(const std::string& sql);
  size_t size() const;
  SqlResult<Plan> bind(size_t index, const BindInput& input) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace eddy::sql

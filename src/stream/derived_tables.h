// Subqueries in FROM and WITH queries of a materialized view: each derived table becomes a
// hidden materialized view of its own (named after the view, `view#1`, `view#2`, ...), which
// the view reads through its change feed like any view it names. So an aggregate over an
// aggregate, a join with a grouped subquery or a CTE read twice is a chain of views in one
// statement, with the same exactly-once feeds, restarts and retractions as views on views. The
// derived table of a Top-N per group (top_per_group.h) stays where it is.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sql/plan.h"
#include "sql/views.h"

namespace eddy::stream {

struct ViewPart {
  sql::ViewDef def;
  std::shared_ptr<const sql::Plan> select;
};

// The hidden views for `select`'s derived tables, those a derived table reads before it, and
// last the view itself with its derived tables replaced by reads of those views; 0A000 for a
// derived table with a window function that is not Top-N per group.
sql::SqlResult<std::vector<ViewPart>> split_derived_tables(const sql::ViewDef& def,
                                                           std::shared_ptr<const sql::Plan> select);

// Whether `name` names such a hidden view.
bool is_derived_view(const std::string& name);

}  // namespace eddy::stream

// Operator and function tables of one family each, consulted by resolve_operator and
// resolve_function (expr.cc) before the numeric/text ones. Internal to src/sql.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sql/expr.h"

namespace eddy::sql {

// Date, timestamp, timestamptz and interval arithmetic (time_fns.cc).
std::optional<Signature> resolve_time_operator(const std::string& op, std::optional<Type> left,
                                               Type right);
std::optional<Signature> resolve_time_function(const std::string& name,
                                               const std::vector<Type>& args);
// Functions whose value changes between statements (now(), current_date): never folded into
// constants at bind time.
bool is_volatile_function(ScalarFn fn);
// now(), CURRENT_DATE and LOCALTIMESTAMP for the binder's SQL value functions.
ScalarFn now_fn();
ScalarFn current_date_fn();
ScalarFn localtimestamp_fn();

}  // namespace eddy::sql

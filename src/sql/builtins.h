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
// interval + interval and interval / factor with PostgreSQL's checks and cascade: what
// sum(interval) and avg(interval) accumulate and finish with.
SqlResult<Value> add_intervals(const Value& a, const Value& b, int location);
SqlResult<Value> divide_interval(const Value& iv, double divisor, int location);
// jsonb operators and functions (json_fns.cc); json_* names are accepted as jsonb's.
std::optional<Signature> resolve_json_operator(const std::string& op, std::optional<Type> left,
                                               Type right);
std::optional<Signature> resolve_json_function(const std::string& name,
                                               const std::vector<Type>& args);
// jsonb to numeric, integer, float or boolean as PostgreSQL 15 allows (22023 otherwise).
SqlResult<Value> jsonb_cast(const Value& jsonb, Type target, int location);
// Functions that see NULL arguments (jsonb_build_object(...)) instead of returning NULL.
bool is_nonstrict_function(ScalarFn fn);

// bytea, string and math functions (string_fns.cc).
std::optional<Signature> resolve_string_operator(const std::string& op, std::optional<Type> left,
                                                 Type right);
std::optional<Signature> resolve_string_function(const std::string& name,
                                                 const std::vector<Type>& args);
bool is_nonstrict_string_function(ScalarFn fn);

// Functions whose value changes between statements (now(), current_date): never folded into
// constants at bind time.
bool is_volatile_function(ScalarFn fn);
// now(), CURRENT_DATE and LOCALTIMESTAMP for the binder's SQL value functions.
ScalarFn now_fn();
ScalarFn current_date_fn();
ScalarFn localtimestamp_fn();

}  // namespace eddy::sql

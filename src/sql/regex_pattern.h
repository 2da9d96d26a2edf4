// Rewrites of regular-expression patterns before RE2 compiles them.
//
// PostgreSQL in the C locale folds case only for ASCII letters in `~*` and the 'i' flag
// ('É' ~* 'é' is false), while RE2's case-insensitive mode folds with Unicode rules. Matching
// with RE2 case-sensitively against a pattern whose ASCII letters stand for both cases gives
// PostgreSQL's answer without touching the subject text (so matched substrings keep their case).
#pragma once

#include <string>
#include <string_view>

namespace eddy::sql {

// `pattern` with every ASCII letter outside escapes written as [xX], and every bracket
// expression extended by the other case of the ASCII letters it holds. Escapes (\d, \p{Lu},
// \x41, ...), group syntax ((?P<name>...), (?i)) and non-ASCII characters are kept as written.
std::string ascii_case_insensitive_pattern(std::string_view pattern);

}  // namespace eddy::sql

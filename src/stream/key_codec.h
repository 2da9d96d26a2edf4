// Order-preserving binary encoding of group keys (for the state store's sorted key space).
#pragma once

#include <string>

#include "sql/value.h"

namespace eddy::stream {

// Appends `value` so that for two values of the same type, bytewise order of their encodings is
// sql::compare_values order (text in byte order), and equal values (1.5 and 1.50, 0.0 and -0.0)
// encode equally. NULL sorts after every value. The encoding is self-delimiting, so a sequence
// of keys compares column by column. It is not decoded: the key values are stored beside.
void append_key(std::string& out, const sql::Value& value);
std::string encode_key(const sql::Row& keys);

}  // namespace eddy::stream

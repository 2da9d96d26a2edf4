// The one notion of key equality both engines share: an order-preserving binary encoding of
// values in which equal values (1.0 and 1.00, 0 and -0, '1 mon' and '30 days') encode equally.
// Bounded queries hash on it (GROUP BY, DISTINCT, UNION, join keys); the stream engine hashes
// and sorts its state on it (views' group keys in the state store's sorted key space).
#pragma once

#include <string>

#include "sql/value.h"

namespace eddy::sql {

// Appends `value` so that for two values of the same type, bytewise order of their encodings is
// compare_values order (text in byte order), and equal values (1.5 and 1.50, 0.0 and -0.0)
// encode equally. NULL sorts after every value. The encoding is self-delimiting, so a sequence
// of keys compares column by column. It is not decoded: the key values are stored beside.
//
// Views keep these keys in their state, so a change that makes equal values encode differently
// gets a new KeyFormat and views keep the format they were created with.
enum class KeyFormat : uint8_t {
  kJsonbAsText = 1,  // before jsonb numbers compared by value: '1.0' and '1' apart
  kCurrent = 2,      // jsonb numbers by value: '{"a": 1.0}' and '{"a": 1}' encode equally
};
void append_key(std::string& out, const Value& value, KeyFormat format = KeyFormat::kCurrent);
std::string encode_key(const Row& keys, KeyFormat format = KeyFormat::kCurrent);

}  // namespace eddy::sql

// Fixed-size values copied to and from byte strings in the host's layout, for state that one
// build of Eddy writes and reads back (view state, aggregate partials): not a wire format.
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace eddy {

template <typename T>
void append_raw(std::string& out, const T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Reads sizeof(T) bytes from the front of `in` into `v`; false (and `in` unchanged) if fewer.
template <typename T>
bool read_raw(std::string_view& in, T& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (in.size() < sizeof v) return false;
  std::memcpy(&v, in.data(), sizeof v);
  in.remove_prefix(sizeof v);
  return true;
}

}  // namespace eddy

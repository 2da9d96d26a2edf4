// How much of the current thread's stack is left, for recursion over untrusted input (SQL
// expression trees, nested JSON): a recursive step asks `stack_nearly_exhausted()` first and turns
// a `true` into an error ("statement too complex") instead of overflowing the stack and killing
// the process. Measuring the stack itself, rather than counting depth, holds for every frame size
// (sanitizer builds have frames several times larger) and for threads with smaller stacks.
#pragma once

#include <cstddef>

namespace eddy {

// Bytes kept free below the deepest checked frame: room for the unchecked leaf calls (evaluating
// one node, formatting an error, allocating) that run after the last check.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr size_t kStackReserveBytes = 1024 * 1024;
#else
inline constexpr size_t kStackReserveBytes = 256 * 1024;
#endif

// Stack size of threads that recurse over untrusted input (the SQL query pool): address space
// only, pages are taken as touched. Sanitizer builds have frames several times larger (redzones
// around every local), so the same statements need proportionally more.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr size_t kDeepRecursionStackBytes = size_t{512} * 1024 * 1024;
#else
inline constexpr size_t kDeepRecursionStackBytes = size_t{64} * 1024 * 1024;
#endif

// True when fewer than kStackReserveBytes of this thread's stack remain. The first call on a
// thread reads the thread's stack bounds (pthread_getattr_np); later calls are a compare.
bool stack_nearly_exhausted();

}  // namespace eddy

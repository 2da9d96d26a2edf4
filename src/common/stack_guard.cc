#include "common/stack_guard.h"

#include <pthread.h>

#include <cstdint>

namespace eddy {

namespace {

// The lowest usable address of this thread's stack (stacks grow down on every target we build
// for), or 0 when the bounds could not be read (then nothing is reported as exhausted).
uintptr_t read_stack_low() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* base = nullptr;
  size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &base, &size);
  size_t guard = 0;
  pthread_attr_getguardsize(&attr, &guard);
  pthread_attr_destroy(&attr);
  if (rc != 0 || base == nullptr) return 0;
  return reinterpret_cast<uintptr_t>(base) + guard;
}

}  // namespace

bool stack_nearly_exhausted() {
  thread_local const uintptr_t low = read_stack_low();
  if (low == 0) return false;
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return here < low + kStackReserveBytes;
}

}  // namespace eddy

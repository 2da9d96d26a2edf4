// The memory all connections together may hold for requests whose bytes are still arriving.
//
// A peer declares a message's length before sending it; holding the declared size up front lets
// a few connections that declare 60 MiB and send nothing take gigabytes. Readers instead grow
// their buffer as bytes arrive and reserve each growth here; when the budget is spent, a reader
// waits until others release (or its stall timeout closes it), so memory stays bounded whatever
// lengths are declared. One budget is shared by every listener of the process. Thread-safe;
// Asio stays out of this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace eddy::net {

// The budget `eddy serve` and a server started without one use (`--receive-buffer-max-bytes`).
inline constexpr size_t kDefaultReceiveBudgetBytes = size_t{256} << 20;

class ReceiveBudget {
 public:
  explicit ReceiveBudget(size_t limit_bytes) : limit_(limit_bytes) {}
  ReceiveBudget(const ReceiveBudget&) = delete;
  ReceiveBudget& operator=(const ReceiveBudget&) = delete;

  using Waker = std::function<void()>;
  using Ticket = uint64_t;

  // Takes `bytes` and returns true when they fit (a reservation made while nothing else is held
  // always fits, so one message larger than the budget still progresses). Otherwise registers
  // `wake`, to be called once when something is released, stores its ticket and returns false.
  bool reserve_or_wait(size_t bytes, Waker wake, Ticket* ticket);
  // Forgets a waker that has not been called (the reader gave up waiting).
  void cancel_wait(Ticket ticket);
  void release(size_t bytes);

  size_t held() const;
  size_t limit() const { return limit_; }
  // How often a reader had to wait, for logs and tests.
  uint64_t waits() const;

 private:
  const size_t limit_;
  mutable std::mutex mu_;
  size_t held_ = 0;
  uint64_t waits_ = 0;
  uint64_t next_ticket_ = 0;
  std::map<Ticket, Waker> waiters_;
};

}  // namespace eddy::net

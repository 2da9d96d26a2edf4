#include "net/receive_budget.h"

#include <algorithm>
#include <utility>

namespace eddy::net {

bool ReceiveBudget::reserve_or_wait(size_t bytes, Waker wake, Ticket* ticket) {
  std::lock_guard lock(mu_);
  if (held_ == 0 || held_ + bytes <= limit_) {
    held_ += bytes;
    return true;
  }
  ++waits_;
  *ticket = next_ticket_++;
  waiters_.emplace(*ticket, std::move(wake));
  return false;
}

void ReceiveBudget::cancel_wait(Ticket ticket) {
  std::lock_guard lock(mu_);
  waiters_.erase(ticket);  // gone already when release() woke it
}

void ReceiveBudget::release(size_t bytes) {
  std::map<Ticket, Waker> woken;
  {
    std::lock_guard lock(mu_);
    held_ -= std::min(bytes, held_);
    // Every waiter retries: which of them fits depends on what each asks for.
    woken.swap(waiters_);
  }
  for (auto& [ticket, wake] : woken)
    wake();
}

size_t ReceiveBudget::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

uint64_t ReceiveBudget::waits() const {
  std::lock_guard lock(mu_);
  return waits_;
}

}  // namespace eddy::net

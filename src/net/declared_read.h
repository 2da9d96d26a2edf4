// Reading a message whose length the peer declared before sending it (Kafka's size prefix,
// pgwire's message length) without trusting that length with memory: the buffer grows as the
// bytes arrive, each growth reserved in the process's ReceiveBudget, and a peer that stops
// sending mid-message is dropped after a stall timeout. Included only by server .cc files, which
// use Asio anyway.
#pragma once

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>

#include "net/receive_budget.h"

namespace eddy::net {

// The first piece of a message still arriving is held in this much memory (a message up to this
// size, most Kafka requests among them, is read in one piece as before); each later piece doubles
// the buffer, so a larger message never holds more than twice the bytes it has received.
inline constexpr size_t kFirstReceivePiece = 1 << 20;

enum class DeclaredRead {
  kComplete,
  kClosed,   // the peer closed or the socket failed
  kStalled,  // no progress, or no budget, for the stall timeout
};

namespace detail {

// Reserves `bytes` in `budget`, waiting for releases until `deadline`. False when it passed.
inline boost::asio::awaitable<bool> reserve_receive_memory(
    ReceiveBudget& budget, size_t bytes, std::chrono::steady_clock::time_point deadline) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  // Shared with the waker, which may run after this coroutine gave up and returned.
  auto timer = std::make_shared<asio::steady_timer>(executor);
  for (;;) {
    ReceiveBudget::Ticket ticket = 0;
    auto wake = [executor, timer] { asio::post(executor, [timer] { timer->cancel(); }); };
    if (budget.reserve_or_wait(bytes, wake, &ticket)) co_return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      budget.cancel_wait(ticket);
      co_return false;
    }
    timer->expires_at(deadline);
    boost::system::error_code ignored;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    budget.cancel_wait(ticket);  // no-op when release() woke us
  }
}

}  // namespace detail

// Reads exactly `size` bytes into `out` (a std::string or std::vector<std::byte>, resized to
// `size`). Bytes already received by the kernel are read at once; otherwise the buffer grows
// piece by piece as they arrive, and the memory of the growing buffer is held in `budget` (when
// given) until this returns, when the caller owns a complete message.
template <typename Buffer>
boost::asio::awaitable<DeclaredRead> read_declared(boost::asio::ip::tcp::socket& socket,
                                                   size_t size, Buffer& out, ReceiveBudget* budget,
                                                   std::chrono::milliseconds stall_timeout) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  if (const size_t available = socket.available(ec); !ec && available >= size) {
    out.resize(size);
    auto [read_error, n] = co_await asio::async_read(socket, asio::buffer(out.data(), size),
                                                     asio::as_tuple(asio::use_awaitable));
    co_return read_error ? DeclaredRead::kClosed : DeclaredRead::kComplete;
  }

  struct Held {
    ReceiveBudget* budget;
    size_t bytes = 0;
    ~Held() {
      if (budget != nullptr && bytes != 0) budget->release(bytes);
    }
  } held{budget};

  // One watchdog per message rather than a timer raced against every read (which cost more server
  // CPU than the read itself in kafka_bench): each stall_timeout it checks that bytes came since
  // its last look, and cancels the read when none did. Shared with its handler, which can run after
  // this coroutine returned.
  struct Watch {
    bool done = false;
    bool stalled = false;
    bool awaiting_budget = false;  // bounded by its own deadline; not the peer's stall
    size_t received = 0;
    size_t seen = 0;
  };
  auto watch = std::make_shared<Watch>();
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  struct Watchdog {
    std::shared_ptr<Watch> watch;
    std::shared_ptr<asio::steady_timer> timer;
    asio::ip::tcp::socket* socket;
    std::chrono::milliseconds period;
    void arm() {
      timer->expires_after(period);
      timer->async_wait([self = *this](const boost::system::error_code& ec) mutable {
        if (ec || self.watch->done) return;
        if (self.watch->received == self.watch->seen && !self.watch->awaiting_budget) {
          self.watch->stalled = true;
          boost::system::error_code ignored;
          self.socket->cancel(ignored);
          return;
        }
        self.watch->seen = self.watch->received;
        self.arm();
      });
    }
  };
  Watchdog{watch, timer, &socket, stall_timeout}.arm();
  struct Disarm {
    std::shared_ptr<Watch> watch;
    std::shared_ptr<asio::steady_timer> timer;
    ~Disarm() {
      watch->done = true;
      timer->cancel();
    }
  } disarm{watch, timer};

  out.clear();
  size_t received = 0;
  while (received < size) {
    const size_t target =
        std::min(size, received == 0 ? kFirstReceivePiece : std::max(out.size() * 2, size_t{1}));
    if (budget != nullptr) {
      const auto deadline = std::chrono::steady_clock::now() + stall_timeout;
      watch->awaiting_budget = true;
      const bool reserved =
          co_await detail::reserve_receive_memory(*budget, target - held.bytes, deadline);
      watch->awaiting_budget = false;
      if (!reserved) co_return DeclaredRead::kStalled;
      held.bytes = target;
    }
    out.resize(target);
    while (received < target) {
      auto [read_error, n] =
          co_await socket.async_read_some(asio::buffer(out.data() + received, target - received),
                                          asio::as_tuple(asio::use_awaitable));
      if (watch->stalled) co_return DeclaredRead::kStalled;
      if (read_error) co_return DeclaredRead::kClosed;
      received += n;
      watch->received = received;
    }
  }
  co_return DeclaredRead::kComplete;
}

}  // namespace eddy::net

#include "net/listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace eddy::net {

Status open_listener(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, int port,
                     const std::string& what) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return Error(ErrorCode::kInvalidArgument,
                 what + " listen address '" + host + "': " + ec.message());
  }
  asio::ip::tcp::endpoint endpoint(address, static_cast<uint16_t>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kIoError,
                 what + " listener on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  return ok_status();
}

boost::asio::awaitable<void> accept_connections(
    boost::asio::ip::tcp::acceptor& acceptor, boost::asio::io_context& io,
    const std::atomic<bool>& stopped, std::string what,
    std::function<void(boost::asio::ip::tcp::socket)> accepted) {
  namespace asio = boost::asio;
  using Clock = std::chrono::steady_clock;
  // At the descriptor limit accept fails at once, again and again, while the pending connection
  // stays queued: retrying at once spins a core and floods the log. Pause (growing to a second)
  // so existing connections are served and descriptors can free up, and log once per interval.
  constexpr auto kFirstPause = std::chrono::milliseconds(10);
  constexpr auto kLongestPause = std::chrono::milliseconds(1000);
  constexpr auto kLogInterval = std::chrono::seconds(10);
  asio::steady_timer pause_timer(io);
  auto pause = kFirstPause;
  Clock::time_point last_logged{};
  uint64_t unlogged_failures = 0;
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::make_strand(io), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopped) co_return;
      const auto now = Clock::now();
      if (now - last_logged >= kLogInterval) {
        if (unlogged_failures == 0) {
          spdlog::warn("{}: accept failed: {}", what, ec.message());
        } else {
          spdlog::warn("{}: accept failed: {} ({} more failures in the last {} s)", what,
                       ec.message(), unlogged_failures,
                       std::chrono::duration_cast<std::chrono::seconds>(now - last_logged).count());
        }
        last_logged = now;
        unlogged_failures = 0;
      } else {
        ++unlogged_failures;
      }
      if (ec == asio::error::connection_aborted) continue;  // that peer gave up; no shortage
      pause_timer.expires_after(pause);
      boost::system::error_code ignored;
      co_await pause_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      pause = std::min(pause * 2, kLongestPause);
      continue;
    }
    pause = kFirstPause;
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    accepted(std::move(socket));
  }
}

}  // namespace eddy::net

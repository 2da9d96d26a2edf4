#include "net/listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
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
  for (;;) {
    auto [ec, socket] =
        co_await acceptor.async_accept(asio::make_strand(io), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || stopped) co_return;
      spdlog::warn("{}: accept failed: {}", what, ec.message());
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    accepted(std::move(socket));
  }
}

}  // namespace eddy::net

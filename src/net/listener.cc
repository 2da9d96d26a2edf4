#include "net/listener.h"

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

}  // namespace eddy::net

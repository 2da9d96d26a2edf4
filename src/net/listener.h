// Listening the way every Eddy protocol server does (Kafka, pgwire, later HTTP): open the TCP
// listener (parse the host, bind with SO_REUSEADDR, listen with the system's backlog, errors
// naming the listener) and accept connections onto strands. Included only by server .cc files,
// which use Asio anyway.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

#include "common/result.h"

namespace eddy::net {

// Opens `acceptor` on host:port (port 0 = any free port); `what` names the listener in errors
// ("kafka", "pgwire").
Status open_listener(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, int port,
                     const std::string& what);

// Accepts connections until the acceptor is closed (or `stopped`), each socket on its own
// strand of `io` with TCP_NODELAY set, handed to `accepted`. A failed accept (the descriptor
// limit, say) pauses the loop, 10 ms growing to 1 s until one succeeds, and is logged at most
// once per 10 s with the count of failures not logged.
boost::asio::awaitable<void> accept_connections(
    boost::asio::ip::tcp::acceptor& acceptor, boost::asio::io_context& io,
    const std::atomic<bool>& stopped, std::string what,
    std::function<void(boost::asio::ip::tcp::socket)> accepted);

}  // namespace eddy::net

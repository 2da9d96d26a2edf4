// Opening a TCP listener the way every Eddy protocol server does (Kafka, pgwire, later HTTP):
// parse the host, bind with SO_REUSEADDR, listen with the system's backlog, and turn failures
// into errors that name the listener. Included only by server .cc files, which use Asio anyway.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "common/result.h"

namespace eddy::net {

// Opens `acceptor` on host:port (port 0 = any free port); `what` names the listener in errors
// ("kafka", "pgwire").
Status open_listener(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, int port,
                     const std::string& what);

}  // namespace eddy::net

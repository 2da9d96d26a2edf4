#include "wire_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kafka/wire.h"

namespace eddy::testing {

WireClient::WireClient(int port, std::string client_id) : client_id_(std::move(client_id)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

WireClient::~WireClient() {
  ::close(fd_);
}

std::optional<WireClient::Bytes> WireClient::call(int16_t key, int16_t version, bool flexible,
                                                  const Bytes& body) {
  kafka::WireWriter frame(false);
  const size_t size_at = frame.reserve_i32();
  frame.i16(key);
  frame.i16(version);
  frame.i32(++correlation_);
  frame.string(client_id_);
  if (flexible) frame.uvarint(0);
  frame.raw(body);
  frame.patch_i32(size_at, static_cast<int32_t>(frame.buffer().size() - 4));
  const Bytes out = frame.take();
  if (::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
    return std::nullopt;
  }
  Bytes size(4);
  if (!receive(size)) return std::nullopt;
  Bytes response(static_cast<size_t>(kafka::WireReader(size, false).i32()));
  if (!receive(response)) return std::nullopt;
  kafka::WireReader header(response, false);
  if (header.i32() != correlation_) return std::nullopt;
  header.set_flexible(flexible);
  header.tagged_fields();
  return Bytes(response.begin() + static_cast<long>(header.position()), response.end());
}

WireClient::Bytes WireClient::create_topic_v0(
    const std::string& topic, int32_t partitions,
    const std::vector<std::pair<std::string, std::string>>& configs) {
  kafka::WireWriter w(false);
  w.i32(1);
  w.string(topic);
  w.i32(partitions);
  w.i16(1);
  w.i32(0);  // no replica assignment
  w.i32(static_cast<int32_t>(configs.size()));
  for (const auto& [name, value] : configs) {
    w.string(name);
    w.nullable_string(value);
  }
  w.i32(30000);
  return w.take();
}

WireClient::Bytes WireClient::produce_all(const std::string& topic, int32_t partition,
                                          const Bytes& batches) {
  kafka::WireWriter w(false);
  w.nullable_string(std::nullopt);
  w.i16(-1);
  w.i32(30000);
  w.i32(1);
  w.string(topic);
  w.i32(1);
  w.i32(partition);
  w.bytes(batches);
  return w.take();
}

bool WireClient::receive(Bytes& out) {
  for (size_t got = 0; got < out.size();) {
    ssize_t n = ::recv(fd_, out.data() + got, out.size() - got, 0);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace eddy::testing

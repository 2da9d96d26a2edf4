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

WireClient::Bytes WireClient::frame_request(int16_t key, int16_t version, bool flexible,
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
  return frame.take();
}

bool WireClient::send_frame(const Bytes& frame) {
  for (size_t sent = 0; sent < frame.size();) {
    const ssize_t n = ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::pair<int32_t, WireClient::Bytes>> WireClient::receive_response() {
  Bytes size(4);
  if (!receive(size)) return std::nullopt;
  const int32_t length = kafka::WireReader(size, false).i32();
  if (length < 4) return std::nullopt;
  Bytes response(static_cast<size_t>(length));
  if (!receive(response)) return std::nullopt;
  const int32_t correlation = kafka::WireReader(response, false).i32();
  response.erase(response.begin(), response.begin() + 4);
  return std::pair{correlation, std::move(response)};
}

std::optional<WireClient::Bytes> WireClient::call(int16_t key, int16_t version, bool flexible,
                                                  const Bytes& body) {
  if (!send_frame(frame_request(key, version, flexible, body))) return std::nullopt;
  auto response = receive_response();
  if (!response || response->first != correlation_) return std::nullopt;
  kafka::WireReader header(response->second, flexible);
  header.tagged_fields();
  return Bytes(response->second.begin() + static_cast<long>(header.position()),
               response->second.end());
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

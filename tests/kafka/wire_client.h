// A blocking raw Kafka connection for wire-level tests against the real binary: one request,
// one response, each bounded by a receive timeout (no sleeps).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eddy::testing {

class WireClient {
 public:
  using Bytes = std::vector<std::byte>;

  explicit WireClient(int port, std::string client_id = "wire-test");
  ~WireClient();
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;

  bool connected() const { return connected_; }

  // Sends `body` as API `key` version `version` (request header v1, or v2 when `flexible`);
  // returns the response body after its header, or nullopt when the connection closed, timed
  // out or answered another correlation id.
  std::optional<Bytes> call(int16_t key, int16_t version, bool flexible, const Bytes& body);

  // Pipelining: `frame_request` builds the framed request (size prefix and header v1/v2) with
  // the next correlation id, which sits at kCorrelationAt; `send_frame` writes a frame as is;
  // `receive_response` reads the next response and returns its correlation id and the rest
  // (header tagged fields included when the caller's API is flexible).
  static constexpr size_t kCorrelationAt = 8;
  Bytes frame_request(int16_t key, int16_t version, bool flexible, const Bytes& body);
  bool send_frame(const Bytes& frame);
  std::optional<std::pair<int32_t, Bytes>> receive_response();

  // Request bodies the wire tests share.
  // CreateTopics v0: one topic, replication 1, with `configs` (name, value).
  static Bytes create_topic_v0(const std::string& topic, int32_t partitions,
                               const std::vector<std::pair<std::string, std::string>>& configs);
  // Produce v3–v8 (not flexible), acks=all, one batch for one partition.
  static Bytes produce_all(const std::string& topic, int32_t partition, const Bytes& batches);

 private:
  bool receive(Bytes& out);

  int fd_ = -1;
  bool connected_ = false;
  int32_t correlation_ = 0;
  std::string client_id_;
};

}  // namespace eddy::testing

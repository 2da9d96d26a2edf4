// Kafka protocol vocabulary shared by the server and the API handlers: API keys, error codes,
// request context and the handler registry from which ApiVersions is derived.
//
// Each API is one handler (handlers/*.cc) declaring its key, supported version range and first
// flexible version in one place; the registry lists them all, so the ranges advertised by
// ApiVersions can never disagree with what is implemented.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/file_io.h"
#include "kafka/errors.h"
#include "kafka/wire.h"

namespace eddy::storage {
class LogManager;
}
namespace eddy::groups {
class GroupCoordinator;
}

namespace eddy::kafka {

enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kLeaveGroup = 13,
  kSyncGroup = 14,
  kDescribeGroups = 15,
  kListGroups = 16,
  kSaslHandshake = 17,
  kApiVersions = 18,
  kCreateTopics = 19,
  kDeleteTopics = 20,
  kDeleteRecords = 21,
  kInitProducerId = 22,
  kDescribeConfigs = 32,
  kAlterConfigs = 33,
  kCreatePartitions = 37,
  kDeleteGroups = 42,
  kIncrementalAlterConfigs = 44,
  kOffsetDelete = 47,
  kDescribeCluster = 60,
};

struct BrokerIdentity {
  int32_t node_id = 0;
  std::string host = "127.0.0.1";
  int32_t port = 9092;
  std::string cluster_id;
};

// What a handler knows about the request it serves.
struct RequestContext {
  ApiKey api_key;
  int16_t api_version;
  int32_t correlation_id;
  std::optional<std::string> client_id;
  storage::LogManager& log;
  const BrokerIdentity& broker;
  // Null when the server runs without a group coordinator (some tests, the fuzzer's default).
  groups::GroupCoordinator* groups = nullptr;
  // The client's address as Kafka shows it in DescribeGroups ("/127.0.0.1").
  std::string client_host{};
  // Broker-wide settings handlers consult.
  bool auto_create_topics = true;
  int32_t default_partitions = 1;
};

// Bytes of a file sent as they are (sendfile): `keep` holds what keeps them valid (for fetched
// records, the segment, so retention leaves the file alone until they are sent).
struct FileRange {
  std::shared_ptr<const void> keep;
  std::shared_ptr<File> file;
  uint64_t position = 0;
  uint64_t length = 0;
};

// A response body (without the response header) in pieces sent back to back: Fetch hands the
// records over as pieces of their own (a buffer it read, or a range of a segment file), so they
// are never copied into the rest.
struct ResponsePieces {
  using Piece = std::variant<std::vector<std::byte>, FileRange>;
  ResponsePieces() = default;
  ResponsePieces(std::vector<std::byte> whole) { pieces.emplace_back(std::move(whole)); }  // NOLINT
  size_t size() const {
    size_t n = 0;
    for (const auto& piece : pieces) {
      n += std::holds_alternative<FileRange>(piece)
               ? std::get<FileRange>(piece).length
               : std::get<std::vector<std::byte>>(piece).size();
    }
    return n;
  }
  std::vector<Piece> pieces;
};
// nullopt when the protocol sends no response (Produce with acks=0).
using ResponseBody = std::optional<ResponsePieces>;
using Respond = std::function<void(ResponseBody)>;

// Services the server offers handlers that need to wait (long polls, timers, durability).
class AsyncServices {
 public:
  virtual ~AsyncServices() = default;
  // Runs `fn` on the connection's executor after `delay_ms` (0 = as soon as possible). The
  // returned function cancels it (callable from any thread; `fn` then never runs), so waits
  // that end early do not keep their timers.
  using Cancel = std::function<void()>;
  virtual Cancel after(int64_t delay_ms, std::function<void()> fn) = 0;
  // Runs `wake` on the connection's executor once, the next time the partition's high
  // watermark advances. Used by long-polling fetches. The registration is dropped without
  // running once `alive` has expired, so abandoned waits do not pile up.
  virtual void on_data(const std::string& topic, int32_t partition, std::weak_ptr<void> alive,
                       std::function<void()> wake) = 0;
  // Whether responses may carry FileRange pieces (a plain TCP socket; not through TLS).
  virtual bool sends_files() const { return false; }
};

struct Handler {
  ApiKey key;
  const char* name;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible_version;  // INT16_MAX when no version is flexible
  // Decodes `body` (positioned after the request header), acts, and calls `respond` once,
  // possibly later and from another thread. A malformed body returns false without responding;
  // the server then closes the connection.
  std::function<bool(RequestContext&, WireReader& body, AsyncServices&, Respond)> handle;

  bool flexible(int16_t version) const { return version >= first_flexible_version; }
};

// All handlers, ordered by key.
const std::vector<Handler>& handlers();
const Handler* find_handler(int16_t api_key);

// Writes an error-code-only style helper used by several handlers.
inline int16_t code(KafkaError e) {
  return static_cast<int16_t>(e);
}

}  // namespace eddy::kafka

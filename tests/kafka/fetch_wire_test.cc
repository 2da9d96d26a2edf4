// Fetch on the wire against the real binary, where the records go from the segment file to the
// socket (sendfile): a consumer that disappears in the middle of a large answer must cost only
// its own connection. sendfile has no MSG_NOSIGNAL, so without SIGPIPE ignored the server would
// die silently here.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "batch_builder.h"
#include "eddy_process.h"
#include "kafka/wire.h"
#include "storage/record_batch.h"
#include "wire_client.h"

namespace {

using Bytes = std::vector<std::byte>;
using eddy::kafka::WireReader;
using eddy::kafka::WireWriter;
using Client = eddy::testing::WireClient;

constexpr const char* kTopic = "big";
constexpr int kBatches = 16;  // of ~1 MiB each

// Fetch v4 of partition 0 from offset 0, up to `max_bytes`, answered at once.
Bytes fetch_body(int32_t max_bytes) {
  WireWriter w(false);
  w.i32(-1);  // replica
  w.i32(0);   // max wait
  w.i32(0);   // min bytes
  w.i32(max_bytes);
  w.i8(0);  // isolation
  w.i32(1);
  w.string(kTopic);
  w.i32(1);
  w.i32(0);  // partition
  w.i64(0);  // offset
  w.i32(max_bytes);
  return w.take();
}

TEST(FetchWireTest, ConsumerVanishingMidAnswerCostsOnlyItsConnection) {
  eddy::testing::EddyProcess server(EDDY_BINARY);
  ASSERT_TRUE(server.start()) << server.log();
  Client client(server.kafka_port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.call(19, 0, false, Client::create_topic_v0(kTopic, 1, {})));
  for (int i = 0; i < kBatches; ++i) {
    auto answer = client.call(
        0, 3, false,
        Client::produce_all(kTopic, 0,
                            eddy::testing::build_value_batch(1000, 1000, "b" + std::to_string(i))));
    ASSERT_TRUE(answer) << server.log();
  }

  const Bytes frame = client.frame_request(1, 4, false, fetch_body(64 << 20));
  for (int round = 0; round < 5; ++round) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server.kafka_port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
    // The answer (~16 MiB) has started; closing with unread bytes resets the connection while
    // the server is still sending from the file.
    char size[4];
    ASSERT_EQ(::recv(fd, size, sizeof(size), MSG_WAITALL), 4);
    ::close(fd);
  }

  // Still serving, and the whole topic reads back on a fresh connection.
  EXPECT_TRUE(server.running()) << server.log();
  Client reader(server.kafka_port());
  ASSERT_TRUE(reader.connected());
  auto response = reader.call(1, 4, false, fetch_body(64 << 20));
  ASSERT_TRUE(response) << server.log();
  WireReader r(*response, false);
  (void)r.i32();  // throttle
  ASSERT_EQ(r.i32(), 1);
  EXPECT_EQ(r.string(), kTopic);
  ASSERT_EQ(r.i32(), 1);
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.i16(), 0);
  EXPECT_EQ(r.i64(), kBatches * 1000);  // high watermark
  (void)r.i64();                        // last stable offset
  (void)r.array_length();
  auto records = r.nullable_bytes();
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(records);
  int batches = 0;
  for (size_t pos = 0; pos + eddy::storage::kBatchHeaderSize <= records->size(); ++batches)
    pos += eddy::storage::decode_batch_header(records->data() + pos).size_bytes();
  EXPECT_EQ(batches, kBatches);
}

}  // namespace

// Produce details no tested client exercises on purpose, on the wire against the real binary:
// a compacted topic refuses records without keys, naming them in v8+'s record_errors (and
// storing nothing of the batch), like Kafka.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "batch_builder.h"
#include "eddy_process.h"
#include "kafka/wire.h"
#include "wire_client.h"

namespace {

using Bytes = std::vector<std::byte>;
using eddy::kafka::WireReader;
using Client = eddy::testing::WireClient;

constexpr const char* kTopic = "compacted";
constexpr int16_t kInvalidRecord = 87;

struct PartitionAnswer {
  int16_t error = -1;
  int64_t base_offset = -2;
  std::vector<std::pair<int32_t, std::optional<std::string>>> record_errors;
  std::optional<std::string> message;
};

class ProduceWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start()) << server_.log();
    client_.emplace(server_.kafka_port());
    ASSERT_TRUE(client_->connected());
    auto response = client_->call(
        19, 0, false, Client::create_topic_v0(kTopic, 1, {{"cleanup.policy", "compact"}}));
    ASSERT_TRUE(response);
    WireReader r(*response, false);
    ASSERT_EQ(r.i32(), 1);
    EXPECT_EQ(r.string(), kTopic);
    ASSERT_EQ(r.i16(), 0);
  }

  // Produce (v3–v8, not flexible) of one batch to partition 0 with acks=all.
  PartitionAnswer produce(int16_t version, const Bytes& batch) {
    auto response = client_->call(0, version, false, Client::produce_all(kTopic, 0, batch));
    EXPECT_TRUE(response) << "no Produce response\n" << server_.log();
    PartitionAnswer out;
    if (!response) return out;
    WireReader r(*response, false);
    EXPECT_EQ(r.i32(), 1);
    EXPECT_EQ(r.string(), kTopic);
    EXPECT_EQ(r.i32(), 1);
    EXPECT_EQ(r.i32(), 0);
    out.error = r.i16();
    out.base_offset = r.i64();
    (void)r.i64();                    // log append time
    if (version >= 5) (void)r.i64();  // log start offset
    if (version >= 8) {
      const int32_t n = r.array_length(4);
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        const int32_t index = r.i32();
        out.record_errors.emplace_back(index, r.nullable_string());
      }
      out.message = r.nullable_string();
    }
    EXPECT_EQ(r.i32(), 0);  // throttle
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return out;
  }

  static Bytes batch(std::vector<std::optional<std::string>> keys) {
    eddy::testing::BatchSpec spec;
    for (auto& key : keys)
      spec.records.push_back({key, "value", 0});
    return eddy::testing::build_batch(spec);
  }

  eddy::testing::EddyProcess server_{EDDY_BINARY};
  std::optional<Client> client_;
};

TEST_F(ProduceWireTest, CompactedTopicRefusesKeylessRecordsAndNamesThem) {
  PartitionAnswer v8 = produce(8, batch({"a", std::nullopt, "c"}));
  EXPECT_EQ(v8.error, kInvalidRecord);
  EXPECT_EQ(v8.base_offset, -1);
  ASSERT_EQ(v8.record_errors.size(), 1u);
  EXPECT_EQ(v8.record_errors[0].first, 1);
  ASSERT_TRUE(v8.message.has_value());
  EXPECT_NE(v8.message->find("without key"), std::string::npos) << *v8.message;

  PartitionAnswer v7 = produce(7, batch({std::nullopt}));
  EXPECT_EQ(v7.error, kInvalidRecord);

  // Nothing of the refused batches was stored: the next good batch starts at offset 0.
  PartitionAnswer good = produce(8, batch({"a", "b"}));
  EXPECT_EQ(good.error, 0);
  EXPECT_EQ(good.base_offset, 0);
  EXPECT_TRUE(good.record_errors.empty());
  EXPECT_FALSE(good.message.has_value());
}

}  // namespace

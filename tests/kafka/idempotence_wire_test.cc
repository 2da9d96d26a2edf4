// The idempotent producer on the wire, against the real eddy binary: InitProducerId (new ids,
// KIP-360 epoch bumps, refused transactional ids) and forged Produce requests whose batches
// carry producer ids: a duplicate is acknowledged with the original offset and stored once, a
// sequence gap gets OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH, and the
// deduplication survives a restart of the server.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "batch_builder.h"
#include "eddy_process.h"
#include "kafka/protocol.h"
#include "kafka/wire.h"
#include "storage/record_batch.h"
#include "wire_client.h"

namespace {

using Bytes = std::vector<std::byte>;
using eddy::kafka::KafkaError;
using eddy::kafka::WireReader;
using eddy::kafka::WireWriter;

constexpr const char* kTopic = "wire-idem";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using Client = eddy::testing::WireClient;

struct ProducerIdentity {
  int16_t error = -1;
  int64_t id = -1;
  int16_t epoch = -1;
};

struct ProduceAnswer {
  int16_t error = -1;
  int64_t base_offset = -2;
};

class IdempotenceWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start()) << server_.log();
    connect();
    auto response = client_->call(19, 0, false, Client::create_topic_v0(kTopic, 1, {}));
    ASSERT_TRUE(response);
    WireReader r(*response, false);
    ASSERT_EQ(r.i32(), 1);
    EXPECT_EQ(r.string(), kTopic);
    ASSERT_EQ(r.i16(), 0);
  }

  void connect() {
    client_.emplace(server_.kafka_port());
    ASSERT_TRUE(client_->connected());
  }

  ProducerIdentity init_producer_id(int16_t version, std::optional<std::string> transactional_id,
                                    int64_t producer_id = -1, int16_t epoch = -1) {
    const bool flexible = version >= 2;
    WireWriter w(flexible);
    w.nullable_string(transactional_id);
    w.i32(60000);
    if (version >= 3) {
      w.i64(producer_id);
      w.i16(epoch);
    }
    w.tagged_fields();
    auto response = client_->call(22, version, flexible, w.take());
    EXPECT_TRUE(response) << "no InitProducerId v" << version << " response\n" << server_.log();
    if (!response) return {};
    WireReader r(*response, flexible);
    EXPECT_EQ(r.i32(), 0);  // throttle
    ProducerIdentity out{r.i16(), r.i64(), r.i16()};
    r.tagged_fields();
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return out;
  }

  // Produce v3 with acks=all of one batch to partition 0.
  ProduceAnswer produce(const Bytes& batch) {
    auto response = client_->call(0, 3, false, Client::produce_all(kTopic, 0, batch));
    EXPECT_TRUE(response) << "no Produce response\n" << server_.log();
    if (!response) return {};
    WireReader r(*response, false);
    EXPECT_EQ(r.i32(), 1);
    EXPECT_EQ(r.string(), kTopic);
    EXPECT_EQ(r.i32(), 1);
    EXPECT_EQ(r.i32(), 0);
    ProduceAnswer out{r.i16(), r.i64()};
    (void)r.i64();  // log append time
    EXPECT_EQ(r.i32(), 0);
    EXPECT_TRUE(r.ok() && r.remaining() == 0) << r.error();
    return out;
  }

  ProduceAnswer produce(int64_t pid, int16_t epoch, int32_t seq, int count,
                        const std::string& tag) {
    return produce(eddy::testing::build_idempotent_batch(pid, epoch, seq, count, tag, now_ms()));
  }

  // Every batch header in the partition, read with Fetch v4 from offset 0.
  std::vector<eddy::storage::BatchHeader> fetch_all() {
    WireWriter w(false);
    w.i32(-1);
    w.i32(0);  // max wait: answer at once
    w.i32(0);
    w.i32(1 << 20);
    w.i8(0);
    w.i32(1);
    w.string(kTopic);
    w.i32(1);
    w.i32(0);
    w.i64(0);
    w.i32(1 << 20);
    auto response = client_->call(1, 4, false, w.take());
    EXPECT_TRUE(response);
    std::vector<eddy::storage::BatchHeader> out;
    if (!response) return out;
    WireReader r(*response, false);
    (void)r.i32();
    EXPECT_EQ(r.i32(), 1);
    (void)r.string();
    EXPECT_EQ(r.i32(), 1);
    (void)r.i32();
    EXPECT_EQ(r.i16(), 0);
    (void)r.i64();
    (void)r.i64();
    (void)r.array_length();
    auto records = r.nullable_bytes();
    EXPECT_TRUE(r.ok()) << r.error();
    if (!records) return out;
    for (size_t pos = 0; pos + eddy::storage::kBatchHeaderSize <= records->size();) {
      out.push_back(eddy::storage::decode_batch_header(records->data() + pos));
      pos += out.back().size_bytes();
    }
    return out;
  }

  eddy::testing::EddyProcess server_{EDDY_BINARY};
  std::optional<Client> client_;
};

TEST_F(IdempotenceWireTest, InitProducerIdIssuesFreshIdsBumpsEpochsAndRefusesTransactions) {
  const auto first = init_producer_id(0, std::nullopt);
  EXPECT_EQ(first.error, 0);
  EXPECT_GE(first.id, 0);
  EXPECT_EQ(first.epoch, 0);
  const auto second = init_producer_id(2, std::nullopt);
  EXPECT_EQ(second.error, 0);
  EXPECT_GT(second.id, first.id);
  EXPECT_EQ(second.epoch, 0);
  // KIP-360: a producer that knows its id and epoch gets the next epoch of the same id.
  const auto bumped = init_producer_id(4, std::nullopt, second.id, 0);
  EXPECT_EQ(bumped.error, 0);
  EXPECT_EQ(bumped.id, second.id);
  EXPECT_EQ(bumped.epoch, 1);
  // An exhausted epoch, or an id this broker never issued, gets a fresh id.
  const auto exhausted = init_producer_id(3, std::nullopt, second.id, INT16_MAX - 1);
  EXPECT_EQ(exhausted.error, 0);
  EXPECT_GT(exhausted.id, second.id);
  EXPECT_EQ(exhausted.epoch, 0);
  const auto foreign = init_producer_id(3, std::nullopt, 1'000'000'000, 7);
  EXPECT_EQ(foreign.error, 0);
  EXPECT_NE(foreign.id, 1'000'000'000);
  EXPECT_EQ(foreign.epoch, 0);
  EXPECT_EQ(init_producer_id(3, std::nullopt, second.id, -1).error,
            static_cast<int16_t>(KafkaError::kInvalidRequest));
  const auto txn = init_producer_id(4, "orders-txn");
  EXPECT_EQ(txn.error, static_cast<int16_t>(KafkaError::kTransactionalIdAuthorizationFailed));
  EXPECT_EQ(txn.id, -1);

  // Ids are never reused after a restart, clean or not.
  ASSERT_EQ(server_.stop(SIGKILL), -1);
  // The refusal is explained in the log (the response has no message field).
  EXPECT_NE(server_.log().find("transactions are not supported yet"), std::string::npos);
  ASSERT_TRUE(server_.start()) << server_.log();
  connect();
  const auto after_crash = init_producer_id(1, std::nullopt);
  EXPECT_EQ(after_crash.error, 0);
  EXPECT_GT(after_crash.id, foreign.id);
}

TEST_F(IdempotenceWireTest, ForgedDuplicateIsAcknowledgedWithTheOriginalOffsetAndStoredOnce) {
  const auto producer = init_producer_id(4, std::nullopt);
  ASSERT_EQ(producer.error, 0);
  const int64_t pid = producer.id;
  ASSERT_EQ(produce(eddy::testing::build_value_batch(2, 10)).base_offset, 0);  // a plain producer
  const Bytes batch = eddy::testing::build_idempotent_batch(pid, 0, 0, 3, "first", now_ms());
  const auto original = produce(batch);
  EXPECT_EQ(original.error, 0);
  EXPECT_EQ(original.base_offset, 2);
  const auto retry = produce(batch);
  EXPECT_EQ(retry.error, 0);
  EXPECT_EQ(retry.base_offset, 2);
  auto batches = fetch_all();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1].producer_id, pid);
  EXPECT_EQ(batches[1].base_offset, 2);
  EXPECT_EQ(batches[1].record_count, 3);

  // A gap: sequence 5 when 3 is next.
  EXPECT_EQ(produce(pid, 0, 5, 1, "gap").error,
            static_cast<int16_t>(KafkaError::kOutOfOrderSequenceNumber));
  EXPECT_EQ(produce(pid, 0, 3, 2, "second").base_offset, 5);

  // After an epoch bump the old epoch is fenced, even for a retry of one of its batches.
  const auto bumped = init_producer_id(4, std::nullopt, pid, 0);
  ASSERT_EQ(bumped.epoch, 1);
  EXPECT_EQ(produce(pid, 1, 1, 1, "new-epoch").error,
            static_cast<int16_t>(KafkaError::kOutOfOrderSequenceNumber));
  EXPECT_EQ(produce(pid, 1, 0, 1, "new-epoch").base_offset, 7);
  EXPECT_EQ(produce(pid, 0, 5, 1, "zombie").error,
            static_cast<int16_t>(KafkaError::kInvalidProducerEpoch));
  EXPECT_EQ(produce(batch).error, static_cast<int16_t>(KafkaError::kInvalidProducerEpoch));

  // Transactional batches are refused with what Kafka answers for them.
  eddy::testing::BatchSpec txn{.base_timestamp = now_ms(),
                               .records = {{std::nullopt, "t", 0}},
                               .producer_id = pid,
                               .producer_epoch = 1,
                               .base_sequence = 1,
                               .transactional = true};
  EXPECT_EQ(produce(eddy::testing::build_batch(txn)).error,
            static_cast<int16_t>(KafkaError::kTransactionalIdAuthorizationFailed));
  EXPECT_EQ(fetch_all().size(), 4u);

  // The deduplication state survives a crash of the server.
  ASSERT_EQ(server_.stop(SIGKILL), -1);
  ASSERT_TRUE(server_.start()) << server_.log();
  connect();
  EXPECT_EQ(produce(pid, 1, 0, 1, "new-epoch").base_offset, 7);
  EXPECT_EQ(produce(pid, 1, 2, 1, "gap").error,
            static_cast<int16_t>(KafkaError::kOutOfOrderSequenceNumber));
  EXPECT_EQ(produce(pid, 1, 1, 1, "next").base_offset, 8);
  EXPECT_EQ(fetch_all().size(), 5u);
  EXPECT_EQ(server_.stop(SIGTERM), 0) << server_.log();
}

}  // namespace

// librdkafka's C API (Debian 2.0.2) against the real eddy binary: produce with each acks
// setting, key partitioning across partitions, large batches, size limits, assign()-based
// consumption, and a clear failure for the idempotent producer (not supported until consumer
// groups and producer ids arrive).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "eddy_process.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Kafka = std::unique_ptr<rd_kafka_t, Deleter>;

struct Delivered {
  int ok = 0;
  int failed = 0;
  rd_kafka_resp_err_t last_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::map<std::string, std::set<int32_t>> partitions_by_key;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Delivered*>(opaque);
  if (m->err) {
    ++d->failed;
    d->last_error = m->err;
    return;
  }
  ++d->ok;
  if (m->key) {
    d->partitions_by_key[std::string(static_cast<const char*>(m->key), m->key_len)].insert(
        m->partition);
  }
}

Kafka make_client(rd_kafka_type_t type, const std::string& bootstrap,
                  const std::vector<std::pair<std::string, std::string>>& settings,
                  Delivered* delivered = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& k, const std::string& v) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)), RD_KAFKA_CONF_OK)
        << k << ": " << err;
  };
  set("bootstrap.servers", bootstrap);
  for (const auto& [k, v] : settings)
    set(k, v);
  if (delivered) {
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, delivered);
  }
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  EXPECT_NE(rk, nullptr) << err;
  return Kafka(rk);
}

void create_topic(rd_kafka_t* rk, const std::string& name, int partitions) {
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, nullptr, 0);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  ASSERT_NE(event, nullptr);
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
  ASSERT_NE(result, nullptr);
  size_t n;
  const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &n);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(rd_kafka_topic_result_error(topics[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
      << rd_kafka_topic_result_error_string(topics[0]);
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
}

// Reads every partition from the beginning with assign() until `expected` messages arrived.
std::vector<std::pair<std::string, std::string>> consume_all(const std::string& bootstrap,
                                                             const std::string& topic,
                                                             int partitions, size_t expected) {
  Kafka consumer = make_client(RD_KAFKA_CONSUMER, bootstrap,
                               {{"group.id", "unused-assign-only"},
                                {"enable.auto.commit", "false"},
                                {"enable.partition.eof", "false"}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  EXPECT_EQ(rd_kafka_assign(consumer.get(), list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<std::pair<std::string, std::string>> out;
  std::map<int32_t, int64_t> next_offset;
  const auto deadline = Clock::now() + 60s;
  while (out.size() < expected && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 200);
    if (!m) continue;
    if (!m->err) {
      EXPECT_EQ(m->offset, next_offset[m->partition]) << "gap or reorder in " << m->partition;
      next_offset[m->partition] = m->offset + 1;
      out.emplace_back(m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : "",
                       std::string(static_cast<const char*>(m->payload), m->len));
    } else {
      ADD_FAILURE() << "consume error: " << rd_kafka_message_errstr(m);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer.get());
  return out;
}

class RdKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << server_.log(); }
  void TearDown() override { EXPECT_EQ(server_.stop(SIGTERM), 0) << server_.log(); }
  eddy::testing::EddyProcess server_{EDDY_BINARY};
};

class AcksTest : public RdKafkaTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(AcksTest, KeyedRecordsLandOnOnePartitionPerKeyAndReadBackWhole) {
  const std::string topic = std::string("acks") + (GetParam()[0] == '-' ? "all" : GetParam());
  Delivered delivered;
  Kafka producer = make_client(
      RD_KAFKA_PRODUCER, server_.bootstrap(),
      {{"acks", GetParam()}, {"enable.idempotence", "false"}, {"linger.ms", "5"}}, &delivered);
  create_topic(producer.get(), topic, 4);
  constexpr int kRecords = 5000;
  std::multiset<std::pair<std::string, std::string>> sent;
  for (int i = 0; i < kRecords; ++i) {
    std::string key = "key-" + std::to_string(i % 37);
    std::string value = "value-" + std::to_string(i);
    sent.emplace(key, value);
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(value.data(), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer.get(), 10);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer.get(), 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(delivered.ok, kRecords);
  EXPECT_EQ(delivered.failed, 0) << rd_kafka_err2str(delivered.last_error);
  std::set<int32_t> used;
  for (const auto& [key, parts] : delivered.partitions_by_key) {
    EXPECT_EQ(parts.size(), 1u) << key;
    used.insert(parts.begin(), parts.end());
  }
  EXPECT_EQ(used.size(), 4u);  // 37 keys spread over all 4 partitions

  auto received = consume_all(server_.bootstrap(), topic, 4, kRecords);
  std::multiset<std::pair<std::string, std::string>> got(received.begin(), received.end());
  EXPECT_EQ(got, sent);
}

INSTANTIATE_TEST_SUITE_P(Acks, AcksTest, ::testing::Values("0", "1", "-1"), [](const auto& info) {
  return std::string(info.param) == "-1" ? "all" : info.param;
});

TEST_F(RdKafkaTest, LargeBatchesAndTheMessageSizeLimit) {
  Delivered delivered;
  Kafka producer = make_client(RD_KAFKA_PRODUCER, server_.bootstrap(),
                               {{"acks", "all"},
                                {"enable.idempotence", "false"},
                                {"linger.ms", "100"},
                                {"batch.size", "1000000"},
                                {"message.max.bytes", "3000000"},
                                {"compression.type", "none"}},
                               &delivered);
  create_topic(producer.get(), "large", 1);
  const std::string value(2000, 'v');
  for (int i = 0; i < 2000; ++i) {  // ~4 MB in batches of up to ~1 MB
    ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("large"),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer.get(), 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(delivered.ok, 2000);
  EXPECT_EQ(delivered.failed, 0);

  // One record bigger than the topic's max.message.bytes (default 1048588): the broker refuses.
  const std::string huge(2'000'000, 'h');
  ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("large"),
                              RD_KAFKA_V_VALUE(const_cast<char*>(huge.data()), huge.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_flush(producer.get(), 60000);
  EXPECT_EQ(delivered.failed, 1);
  EXPECT_EQ(delivered.last_error, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_EQ(consume_all(server_.bootstrap(), "large", 1, 2000).size(), 2000u);
}

TEST_F(RdKafkaTest, IdempotentProducerFailsClearlyInsteadOfHanging) {
  Delivered delivered;
  Kafka producer =
      make_client(RD_KAFKA_PRODUCER, server_.bootstrap(),
                  {{"enable.idempotence", "true"}, {"message.timeout.ms", "20000"}}, &delivered);
  const std::string value = "x";
  rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("idem"),
                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  const auto started = Clock::now();
  char reason[512] = "";
  rd_kafka_resp_err_t fatal = RD_KAFKA_RESP_ERR_NO_ERROR;
  while (Clock::now() - started < 30s && delivered.ok + delivered.failed == 0 &&
         fatal == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_poll(producer.get(), 100);
    fatal = rd_kafka_fatal_error(producer.get(), reason, sizeof(reason));
  }
  EXPECT_EQ(delivered.ok, 0);
  EXPECT_TRUE(fatal != RD_KAFKA_RESP_ERR_NO_ERROR || delivered.failed == 1)
      << "no error within 30 s";
  EXPECT_LT(Clock::now() - started, 25s) << "the producer waited for its own timeout";
  if (fatal) std::printf("idempotent producer error: %s\n", reason);
}

}  // namespace

// librdkafka's C API (Debian 2.0.2) against the real eddy binary: produce with each acks
// setting, key partitioning across partitions, large batches, size limits, assign()-based
// consumption, the idempotent producer, also across server restarts (SIGTERM and SIGKILL), and
// DeleteRecords.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <filesystem>
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

// Queues one keyed record (copied), serving delivery reports while the queue is full.
rd_kafka_resp_err_t produce_copy(rd_kafka_t* producer, const std::string& topic, std::string key,
                                 std::string value) {
  rd_kafka_resp_err_t err;
  do {
    err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                            RD_KAFKA_V_KEY(key.data(), key.size()),
                            RD_KAFKA_V_VALUE(value.data(), value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer, 10);
  } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
  return err;
}

// Reads every partition from the beginning with assign() until `expected` messages arrived;
// `partition_of` (when given) receives each message's partition.
std::vector<std::pair<std::string, std::string>> consume_all(
    const std::string& bootstrap, const std::string& topic, int partitions, size_t expected,
    std::vector<int32_t>* partition_of = nullptr) {
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
      if (partition_of) partition_of->push_back(m->partition);
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
    ASSERT_EQ(produce_copy(producer.get(), topic, key, value), RD_KAFKA_RESP_ERR_NO_ERROR);
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

// Produces records "0".."count-1" (after `first`) under 16 keys, waiting out a full queue.
void produce_numbered(rd_kafka_t* producer, const std::string& topic, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    ASSERT_EQ(produce_copy(producer, topic, "key-" + std::to_string(i % 16), std::to_string(i)),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
}

// Serves delivery reports until `ok` records are acknowledged; false on a fatal producer error
// or after `timeout`.
bool await_deliveries(rd_kafka_t* producer, const Delivered& delivered, int ok,
                      std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char reason[512];
  while (delivered.ok < ok && Clock::now() < deadline) {
    rd_kafka_poll(producer, 50);
    if (rd_kafka_fatal_error(producer, reason, sizeof(reason))) {
      ADD_FAILURE() << "fatal producer error: " << reason;
      return false;
    }
  }
  return delivered.ok >= ok;
}

// Every number 0..count-1 exactly once, and increasing within each partition (the order the
// single producer sent them in).
void expect_exactly_once_in_order(const std::vector<std::pair<std::string, std::string>>& got,
                                  const std::vector<int32_t>& partitions, int count) {
  ASSERT_EQ(got.size(), partitions.size());
  std::map<int32_t, int> last_in_partition;
  std::vector<int> seen(static_cast<size_t>(count), 0);
  for (size_t i = 0; i < got.size(); ++i) {
    const int n = std::stoi(got[i].second);
    ASSERT_GE(n, 0);
    ASSERT_LT(n, count);
    EXPECT_EQ(got[i].first, "key-" + std::to_string(n % 16));
    ++seen[static_cast<size_t>(n)];
    auto [it, first] = last_in_partition.emplace(partitions[i], n);
    if (!first) {
      EXPECT_GT(n, it->second) << "partition " << partitions[i] << " out of order";
      it->second = n;
    }
  }
  for (int n = 0; n < count; ++n)
    EXPECT_EQ(seen[static_cast<size_t>(n)], 1) << "record " << n;
}

TEST_F(RdKafkaTest, IdempotentProducerDeliversEveryRecordOnce) {
  Delivered delivered;
  Kafka producer = make_client(RD_KAFKA_PRODUCER, server_.bootstrap(),
                               {{"enable.idempotence", "true"}, {"linger.ms", "5"}}, &delivered);
  create_topic(producer.get(), "idem", 3);
  constexpr int kRecords = 5000;
  produce_numbered(producer.get(), "idem", 0, kRecords);
  ASSERT_EQ(rd_kafka_flush(producer.get(), 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  char reason[512];
  EXPECT_EQ(rd_kafka_fatal_error(producer.get(), reason, sizeof(reason)),
            RD_KAFKA_RESP_ERR_NO_ERROR)
      << reason;
  EXPECT_EQ(delivered.ok, kRecords);
  EXPECT_EQ(delivered.failed, 0) << rd_kafka_err2str(delivered.last_error);
  std::vector<int32_t> partitions;
  auto got = consume_all(server_.bootstrap(), "idem", 3, kRecords, &partitions);
  expect_exactly_once_in_order(got, partitions, kRecords);
}

// The producer streams while the server is stopped twice on the same port and data directory,
// once cleanly (SIGTERM) and once by SIGKILL. Requests in flight at each stop are retried; the
// broker's restored producer state must keep every record exactly once and in order.
TEST(RdKafkaRestartTest, IdempotentProducerAcrossServerRestartsWritesEachRecordOnce) {
  eddy::testing::EddyProcess server(EDDY_BINARY);
  ASSERT_TRUE(server.start()) << server.log();
  Delivered delivered;
  Kafka producer = make_client(RD_KAFKA_PRODUCER, server.bootstrap(),
                               {{"enable.idempotence", "true"},
                                {"linger.ms", "2"},
                                {"batch.num.messages", "200"},
                                {"message.timeout.ms", "120000"},
                                {"retry.backoff.ms", "20"},
                                {"reconnect.backoff.ms", "20"},
                                {"reconnect.backoff.max.ms", "200"}},
                               &delivered);
  create_topic(producer.get(), "idem-restart", 4);
  constexpr int kPerPhase = 20000;
  constexpr int kPhases = 3;
  const int stop_signals[] = {SIGTERM, SIGKILL};
  for (int phase = 0; phase < kPhases; ++phase) {
    produce_numbered(producer.get(), "idem-restart", phase * kPerPhase, kPerPhase);
    if (phase + 1 == kPhases) break;
    // Stop while most of this phase is still queued or in flight.
    ASSERT_TRUE(
        await_deliveries(producer.get(), delivered, phase * kPerPhase + kPerPhase / 10, 60s));
    const int sig = stop_signals[phase];
    const int code = server.stop(sig);
    if (sig == SIGTERM) {
      EXPECT_EQ(code, 0) << server.log();
    }
    ASSERT_TRUE(server.start()) << server.log();
  }
  ASSERT_TRUE(await_deliveries(producer.get(), delivered, kPhases * kPerPhase, 120s))
      << delivered.ok << " delivered, " << delivered.failed << " failed";
  EXPECT_EQ(delivered.failed, 0) << rd_kafka_err2str(delivered.last_error);
  std::vector<int32_t> partitions;
  auto got = consume_all(server.bootstrap(), "idem-restart", 4, kPhases * kPerPhase, &partitions);
  expect_exactly_once_in_order(got, partitions, kPhases * kPerPhase);
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

// DeleteRecords result for one partition: the error and the low watermark.
std::pair<rd_kafka_resp_err_t, int64_t> delete_records(rd_kafka_t* rk, const std::string& topic,
                                                       int32_t partition, int64_t offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  rd_kafka_DeleteRecords_t* request = rd_kafka_DeleteRecords_new(list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_DeleteRecords(rk, &request, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  std::pair<rd_kafka_resp_err_t, int64_t> out{RD_KAFKA_RESP_ERR__TIMED_OUT, -1};
  if (event != nullptr) {
    const rd_kafka_DeleteRecords_result_t* result = rd_kafka_event_DeleteRecords_result(event);
    if (rd_kafka_event_error(event)) {
      out = {rd_kafka_event_error(event), -1};
    } else if (result != nullptr) {
      const rd_kafka_topic_partition_list_t* offsets =
          rd_kafka_DeleteRecords_result_offsets(result);
      if (offsets->cnt == 1) out = {offsets->elems[0].err, offsets->elems[0].offset};
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_DeleteRecords_destroy(request);
  return out;
}

size_t segment_files(const std::string& data_dir, const std::string& topic) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir)) {
    const std::string path = entry.path().string();
    if (path.find("/" + topic + "-") != std::string::npos && entry.path().extension() == ".log") {
      ++count;
    }
  }
  return count;
}

// DeleteRecords moves the log start offset: earlier records are gone for consumers, whole
// segments below it are deleted, and the new start survives a kill -9.
TEST(RdKafkaRestartTest, DeleteRecordsMovesTheLogStartDurably) {
  eddy::testing::EddyProcess server(EDDY_BINARY, {"--segment-bytes", "16384"});
  ASSERT_TRUE(server.start()) << server.log();
  Delivered delivered;
  // Batches well under the 16 KiB segments, so the log has many of them.
  Kafka producer = make_client(RD_KAFKA_PRODUCER, server.bootstrap(),
                               {{"linger.ms", "1"}, {"batch.size", "2048"}}, &delivered);
  const std::string topic = "delrec";
  create_topic(producer.get(), topic, 1);
  constexpr int kRecords = 2000;
  produce_numbered(producer.get(), topic, 0, kRecords);
  ASSERT_TRUE(await_deliveries(producer.get(), delivered, kRecords, 60s));
  const size_t segments_before = segment_files(server.data_dir(), topic);
  ASSERT_GE(segments_before, 3u);

  auto [error, low] = delete_records(producer.get(), topic, 0, 1500);
  EXPECT_EQ(error, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(error);
  EXPECT_EQ(low, 1500);
  EXPECT_LT(segment_files(server.data_dir(), topic), segments_before);
  int64_t lo = -1, hi = -1;
  ASSERT_EQ(rd_kafka_query_watermark_offsets(producer.get(), topic.c_str(), 0, &lo, &hi, 10000),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(lo, 1500);
  EXPECT_EQ(hi, kRecords);
  // An earlier offset changes nothing; one past the high watermark is out of range.
  EXPECT_EQ(delete_records(producer.get(), topic, 0, 10).second, 1500);
  EXPECT_EQ(delete_records(producer.get(), topic, 0, kRecords + 1).first,
            RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE);
  EXPECT_NE(delete_records(producer.get(), topic, 7, 1).first, RD_KAFKA_RESP_ERR_NO_ERROR);
  // Committed offsets live in an internal topic, which keeps its records, as in Kafka.
  EXPECT_EQ(delete_records(producer.get(), "__consumer_offsets", 0, 0).first,
            RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION);

  server.stop(SIGKILL);
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_EQ(rd_kafka_query_watermark_offsets(producer.get(), topic.c_str(), 0, &lo, &hi, 10000),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(lo, 1500) << "the log start offset survives a kill -9";
  // A consumer starting at the beginning starts at the log start, inside a batch or not.
  Kafka consumer = make_client(RD_KAFKA_CONSUMER, server.bootstrap(),
                               {{"group.id", "delrec"}, {"enable.auto.commit", "false"}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  ASSERT_EQ(rd_kafka_assign(consumer.get(), list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  int64_t first = -1;
  int count = 0;
  const auto deadline = Clock::now() + 30s;
  while (count < kRecords - 1500 && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 200);
    if (!m) continue;
    if (!m->err) {
      if (first < 0) first = m->offset;
      ++count;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(consumer.get());
  EXPECT_EQ(first, 1500);
  EXPECT_EQ(count, kRecords - 1500);
  // -1 means the high watermark: everything goes.
  EXPECT_EQ(delete_records(producer.get(), topic, 0, RD_KAFKA_OFFSET_END).second, kRecords);
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

}  // namespace

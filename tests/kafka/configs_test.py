#!/usr/bin/python3
"""Topic and broker configs as Kafka clients and tools set them, durably.

usage: configs_test.py EDDY_BINARY

Manages its own server (tests/support/eddy_server.py: loopback, port 0, temporary data dir) so
it can restart it. Through confluent_kafka's AdminClient (librdkafka):
  1. every Kafka 3.3 topic config is accepted at CreateTopics, stored normalized and described
     with source TOPIC_CONFIG; bad values of each kind are INVALID_CONFIG;
  2. dynamic broker configs (AlterConfigs on BROKER "0" and on the cluster default "") change
     the defaults of topics without an override, with the source DYNAMIC_BROKER_CONFIG or
     DYNAMIC_DEFAULT_BROKER_CONFIG, and act: a lower message.max.bytes refuses a larger record;
     static ones are INVALID_REQUEST; sensitive ones are described without their value;
  3. topic overrides and dynamic broker configs survive a clean stop and a kill -9;
  4. message.timestamp.difference.max.ms refuses CreateTime records out of range
     (INVALID_TIMESTAMP) and lets LogAppendTime topics take any.
Prints "N passed, 0 failed" on success.
"""
import os
import signal
import sys

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType, KafkaAdminClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, fail, finish  # noqa: E402
from eddy_server import Server  # noqa: E402

INVALID_CONFIG = 40
INVALID_REQUEST = 42
MSG_SIZE_TOO_LARGE = 10

# Kafka 3.3's topic configs (LogConfig).
KAFKA_TOPIC_CONFIGS = {
    "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms",
    "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
    "index.interval.bytes", "leader.replication.throttled.replicas", "max.compaction.lag.ms",
    "max.message.bytes", "message.downconversion.enable", "message.format.version",
    "message.timestamp.difference.max.ms", "message.timestamp.type", "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms", "min.insync.replicas", "preallocate", "retention.bytes",
    "retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms",
    "unclean.leader.election.enable",
}

# What tools set, as they set it, and how it is stored.
SET_AT_CREATE = {
    "min.insync.replicas": ("2", "2"),
    "message.format.version": ("0.10.0.0", "0.10.0.0"),
    "segment.jitter.ms": (" 100 ", "100"),
    "preallocate": ("True", "true"),
    "min.cleanable.dirty.ratio": ("0.25", "0.25"),
    "follower.replication.throttled.replicas": ("0:0, 1:0", "0:0,1:0"),
    "leader.replication.throttled.replicas": ("*", "*"),
    "unclean.leader.election.enable": ("false", "false"),
    "message.downconversion.enable": ("false", "false"),
    "max.compaction.lag.ms": ("3600000", "3600000"),
    "segment.index.bytes": ("4096", "4096"),
    "file.delete.delay.ms": ("0", "0"),
    "message.timestamp.difference.max.ms": ("86400000", "86400000"),
    "cleanup.policy": ("delete, compact", "compact,delete"),
}

BAD_VALUES = [
    ("min.insync.replicas", "0"),
    ("min.insync.replicas", "1.5"),
    ("preallocate", "maybe"),
    ("min.cleanable.dirty.ratio", "1.5"),
    ("message.format.version", "banana"),
    ("message.format.version", "4.1"),
    ("leader.replication.throttled.replicas", "0-1"),
    ("segment.index.bytes", "3"),
    ("segment.jitter.ms", "-1"),
    ("no.such.config", "1"),
]


def code_of(future):
    try:
        future.result()
        return 0
    except KafkaException as e:
        return e.args[0].code()


def describe(admin, restype, name):
    resource = ConfigResource(restype, name)
    return admin.describe_configs([resource], request_timeout=15)[resource].result()


def alter(admin, restype, name, configs):
    resource = ConfigResource(restype, name, set_config=configs)
    return code_of(admin.alter_configs([resource], request_timeout=15)[resource])


def topic_checks(admin, topic):
    fs = admin.create_topics(
        [NewTopic(topic, 1, 1, config={k: v for k, (v, _) in SET_AT_CREATE.items()})],
        request_timeout=15)
    eq(code_of(fs[topic]), 0, "create with every kind of Kafka topic config")
    entries = describe(admin, ConfigResource.Type.TOPIC, topic)
    eq(set(entries), KAFKA_TOPIC_CONFIGS, "described topic configs are Kafka's set")
    for key, (_, stored) in SET_AT_CREATE.items():
        eq((entries[key].value, entries[key].source),
           (stored, ConfigSource.DYNAMIC_TOPIC_CONFIG.value), f"described {key}")
    eq(entries["min.insync.replicas"].value, "2", "min.insync.replicas is kept")
    for key, value in BAD_VALUES:
        bad = topic + "-bad"
        fs = admin.create_topics([NewTopic(bad, 1, 1, config={key: value})], request_timeout=15)
        eq(code_of(fs[bad]), INVALID_CONFIG, f"create with {key}={value!r}")
        eq(alter(admin, ConfigResource.Type.TOPIC, topic, {key: value}), INVALID_CONFIG,
           f"alter with {key}={value!r}")
    check(bad not in admin.list_topics(timeout=15).topics, "refused creates create nothing")
    # A record over a lowered max.message.bytes shows the passive keys do not block real ones.
    eq(alter(admin, ConfigResource.Type.TOPIC, topic,
             {"min.insync.replicas": "3", "max.message.bytes": "100000"}), 0,
       "alter passive and active keys together")


def produce_code(bootstrap, topic, size):
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 10_000_000,
                         "message.timeout.ms": 10_000, "retries": 0})
    result = []
    producer.produce(topic, value=b"x" * size,
                     on_delivery=lambda err, msg: result.append(err.code() if err else 0))
    producer.flush(15)
    eq(len(result), 1, "delivery report arrived")
    return result[0]


def timestamp_checks(admin, bootstrap):
    """message.timestamp.difference.max.ms refuses CreateTime records too far from the broker's
    clock with INVALID_TIMESTAMP, both ways; LogAppendTime topics take any."""
    import time
    topics = {"ts-strict": {"message.timestamp.difference.max.ms": "60000"},
              "ts-append": {"message.timestamp.difference.max.ms": "60000",
                            "message.timestamp.type": "LogAppendTime"}}
    for name, configs in topics.items():
        admin.create_topics([NewTopic(name, 1, 1, config=configs)])[name].result(30)
    now_ms = int(time.time() * 1000)
    cases = [("ts-strict", now_ms, 0), ("ts-strict", now_ms - 3_600_000, 32),
             ("ts-strict", now_ms + 3_600_000, 32), ("ts-append", now_ms - 3_600_000, 0)]
    for topic, ts, want in cases:
        producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10_000,
                             "retries": 0})
        result = []
        producer.produce(topic, value=b"v", timestamp=ts,
                         on_delivery=lambda err, msg: result.append(err.code() if err else 0))
        producer.flush(15)
        eq(result, [want], f"a record {ts - now_ms:+d} ms from now into {topic}")


def broker_checks(admin, bootstrap, plain):
    fs = admin.create_topics([NewTopic(plain, 1, 1)], request_timeout=15)
    eq(code_of(fs[plain]), 0, "create a topic without overrides")
    # Per-broker values, the way librdkafka's own suite sets one (test 0081).
    eq(alter(admin, ConfigResource.Type.BROKER, "0",
             {"log.retention.ms": "3600000", "message.max.bytes": "50000",
              "sasl.kerberos.min.time.before.relogin": "58000",
              "sasl.jaas.config": "org.example.Login required user=\"u\";"}), 0,
       "alter broker 0 configs")
    entries = describe(admin, ConfigResource.Type.TOPIC, plain)
    eq((entries["retention.ms"].value, entries["retention.ms"].source),
       ("3600000", ConfigSource.DYNAMIC_BROKER_CONFIG.value), "topic default from broker 0")
    broker = describe(admin, ConfigResource.Type.BROKER, "0")
    eq((broker["log.retention.ms"].value, broker["log.retention.ms"].source),
       ("3600000", ConfigSource.DYNAMIC_BROKER_CONFIG.value), "described log.retention.ms")
    eq(broker["sasl.kerberos.min.time.before.relogin"].value, "58000", "an inert dynamic config")
    check(broker["sasl.jaas.config"].is_sensitive and broker["sasl.jaas.config"].value is None,
          "a password config is described without its value")
    eq(produce_code(bootstrap, plain, 60_000), MSG_SIZE_TOO_LARGE,
       "a dynamic message.max.bytes applies to topics without an override")
    eq(produce_code(bootstrap, plain, 40_000), 0, "a record under the dynamic limit is stored")

    # The cluster-wide default (resource name "", which librdkafka's Python binding refuses to
    # send) sits under the per-broker value.
    kp = KafkaAdminClient(bootstrap_servers=bootstrap)
    response = kp.alter_configs([KpConfigResource(
        ConfigResourceType.BROKER, "",
        configs={"log.segment.bytes": "2097152", "log.retention.ms": "60000"})])
    eq([r[0] for r in response.resources], [0], "alter the cluster default")
    kp.close()
    entries = describe(admin, ConfigResource.Type.TOPIC, plain)
    eq((entries["segment.bytes"].value, entries["segment.bytes"].source),
       ("2097152", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value),
       "topic default from the cluster default")
    eq(entries["retention.ms"].value, "3600000", "the broker's own value wins over the default")

    eq(alter(admin, ConfigResource.Type.BROKER, "0", {"broker.id": "5"}), INVALID_REQUEST,
       "a static broker config")
    eq(alter(admin, ConfigResource.Type.BROKER, "0", {"log.retention.ms": "soon"}),
       INVALID_CONFIG, "a bad dynamic value")
    broker = describe(admin, ConfigResource.Type.BROKER, "0")
    eq(broker["log.retention.ms"].value, "3600000", "a refused alter changes nothing")


def persisted_checks(admin, topic, plain, when):
    entries = describe(admin, ConfigResource.Type.TOPIC, topic)
    eq(entries["min.insync.replicas"].value, "3", f"topic override {when}")
    eq(entries["follower.replication.throttled.replicas"].value, "", f"emptied list {when}")
    entries = describe(admin, ConfigResource.Type.TOPIC, plain)
    eq((entries["retention.ms"].value, entries["segment.bytes"].value), ("3600000", "2097152"),
       f"dynamic broker configs {when}")
    broker = describe(admin, ConfigResource.Type.BROKER, "0")
    eq(broker["sasl.kerberos.min.time.before.relogin"].value, "58000", f"inert config {when}")


def main():
    binary = sys.argv[1]
    server = Server(binary, fail=fail)
    try:
        server.start()
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        topic, plain = "configs-all", "configs-plain"
        topic_checks(admin, topic)
        timestamp_checks(admin, server.bootstrap)
        broker_checks(admin, server.bootstrap, plain)
        # Legacy AlterConfigs replaces the whole override set, so this empties the list and
        # drops the other overrides but min.insync.replicas.
        eq(alter(admin, ConfigResource.Type.TOPIC, topic,
                 {"min.insync.replicas": "3", "follower.replication.throttled.replicas": ""}), 0,
           "set an empty list")
        persisted_checks(admin, topic, plain, "before a restart")
        eq(server.stop(signal.SIGTERM), 0, "clean stop")
        server.start()
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        persisted_checks(admin, topic, plain, "after a clean stop")
        server.stop(signal.SIGKILL)
        server.start()
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        persisted_checks(admin, topic, plain, "after kill -9")
        eq(server.stop(signal.SIGTERM), 0, "clean stop at the end")
    finally:
        server.close()
    finish()


if __name__ == "__main__":
    main()

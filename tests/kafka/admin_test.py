#!/usr/bin/python3
"""Admin API checks against a running Eddy broker.

Usage: admin_test.py --bootstrap HOST:PORT

Drives CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
IncrementalAlterConfigs and DescribeCluster through two independent client implementations
(confluent_kafka / librdkafka and kafka-python), plus hand-encoded requests for the versions and
APIs neither client speaks (flexible versions, topic ids, incremental alters, DescribeCluster).
Stops at the first failed check with a message naming it; prints "N passed, 0 failed" on success.
Topic names carry the process id, so reruns against the same data directory do not collide.
"""
import argparse
import os
import socket
import struct
import sys
import threading

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions
from confluent_kafka.admin import NewTopic as CfNewTopic

import kafka.errors as kerr
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType, KafkaAdminClient
from kafka.admin import NewTopic as KpNewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, fail, finish  # noqa: E402


# Kafka error codes.
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40
INVALID_REQUEST = 42
UNKNOWN_TOPIC_ID = 100

TOPIC, BROKER = 2, 4


# ---------------------------------------------------------------------------------------------
# Minimal Kafka wire encoding for the hand-built requests.


class W:
    def __init__(self, flexible):
        self.flexible = flexible
        self.buf = bytearray()

    def i8(self, v):
        self.buf += struct.pack(">b", v)
        return self

    def i16(self, v):
        self.buf += struct.pack(">h", v)
        return self

    def i32(self, v):
        self.buf += struct.pack(">i", v)
        return self

    def boolean(self, v):
        return self.i8(1 if v else 0)

    def uvarint(self, v):
        while v >= 0x80:
            self.buf.append((v & 0x7F) | 0x80)
            v >>= 7
        self.buf.append(v)
        return self

    def string(self, s):
        if s is None:
            return self.uvarint(0) if self.flexible else self.i16(-1)
        b = s.encode()
        if self.flexible:
            self.uvarint(len(b) + 1)
        else:
            self.i16(len(b))
        self.buf += b
        return self

    def array(self, n):
        if self.flexible:
            return self.uvarint(n + 1)
        return self.i32(n)

    def uuid(self, b):
        self.buf += b
        return self

    def tags(self):
        return self.uvarint(0) if self.flexible else self


class R:
    def __init__(self, data, flexible):
        self.data = data
        self.pos = 0
        self.flexible = flexible

    def take(self, n):
        if self.pos + n > len(self.data):
            fail(f"response truncated: need {n} bytes at {self.pos} of {len(self.data)}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self):
        return struct.unpack(">b", self.take(1))[0]

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def boolean(self):
        return self.i8() != 0

    def uvarint(self):
        v, shift = 0, 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7

    def string(self):
        n = self.uvarint() - 1 if self.flexible else self.i16()
        return None if n < 0 else self.take(n).decode()

    def array(self):
        return self.uvarint() - 1 if self.flexible else self.i32()

    def uuid(self):
        return bytes(self.take(16))

    def tags(self):
        if self.flexible:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.take(self.uvarint())

    def done(self, what):
        eq(len(self.data) - self.pos, 0, f"{what}: bytes left after decoding the response")


class Raw:
    """One connection speaking hand-encoded requests."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=15)
        self.correlation = 0

    def recv_exact(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                fail("connection closed by the broker")
            out += chunk
        return bytes(out)

    def call(self, api_key, version, body, flexible):
        self.correlation += 1
        header = W(False).i16(api_key).i16(version).i32(self.correlation).string("admin-test")
        if flexible:
            header.uvarint(0)  # request header v2 tagged fields
        message = bytes(header.buf) + bytes(body.buf)
        self.sock.sendall(struct.pack(">i", len(message)) + message)
        size = struct.unpack(">i", self.recv_exact(4))[0]
        r = R(self.recv_exact(size), flexible)
        eq(r.i32(), self.correlation, f"api {api_key} v{version}: correlation id")
        r.tags()  # response header v1 tagged fields
        return r


# ---------------------------------------------------------------------------------------------
# confluent_kafka (librdkafka)


def cf_code(future):
    try:
        future.result()
        return 0
    except KafkaException as e:
        return e.args[0].code()


def cf_topics(admin):
    return {name: len(t.partitions) for name, t in admin.list_topics(timeout=15).topics.items()}


def cf_describe(admin, restype, name):
    resource = ConfigResource(restype, name)
    return admin.describe_configs([resource], request_timeout=15)[resource]


def confluent_checks(bootstrap, prefix):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    a, v = prefix + "cf-a", prefix + "cf-validate"
    # The broker's defaults depend on how it was started; read them first.
    broker = cf_describe(admin, ConfigResource.Type.BROKER, "0").result()
    # Broker configs carry Kafka's broker names; the log.* ones give the topic defaults.
    defaults = {"segment.bytes": broker["log.segment.bytes"].value}
    check(not broker["log.retention.ms"].is_read_only, "topic defaults are dynamic broker configs")
    check(broker["broker.id"].is_read_only and broker["broker.id"].value == "0",
          "broker.id is a read-only broker config")
    eq(broker["log.cleanup.policy"].value, "delete", "broker default cleanup.policy is delete")

    # Create with overrides.
    fs = admin.create_topics(
        [CfNewTopic(a, 3, 1, config={"retention.ms": "3600000", "cleanup.policy": "compact"})],
        request_timeout=15)
    eq(cf_code(fs[a]), 0, "create topic with configs")
    eq(cf_topics(admin).get(a), 3, "partition count of the created topic")

    # validate_only creates nothing.
    fs = admin.create_topics([CfNewTopic(v, 2, 1)], validate_only=True, request_timeout=15)
    eq(cf_code(fs[v]), 0, "validate-only create")
    check(v not in cf_topics(admin), "validate-only create must not create the topic")
    fs = admin.create_topics([CfNewTopic(v, 2, 1, config={"retention.ms": "soon"})],
                             validate_only=True, request_timeout=15)
    eq(cf_code(fs[v]), INVALID_CONFIG, "validate-only create with a bad config value")

    # Error cases.
    fs = admin.create_topics([CfNewTopic(a, 1, 1)], request_timeout=15)
    eq(cf_code(fs[a]), TOPIC_ALREADY_EXISTS, "create an existing topic")
    bad = "bad name!"
    fs = admin.create_topics([CfNewTopic(bad, 1, 1)], request_timeout=15)
    eq(cf_code(fs[bad]), INVALID_TOPIC_EXCEPTION, "create a topic with an invalid name")
    t = prefix + "cf-badcfg"
    fs = admin.create_topics([CfNewTopic(t, 1, 1, config={"retention.ms": "abc"})],
                             request_timeout=15)
    eq(cf_code(fs[t]), INVALID_CONFIG, "create with a non-numeric retention.ms")
    fs = admin.create_topics([CfNewTopic(t, 1, 1, config={"no.such.config": "1"})],
                             request_timeout=15)
    eq(cf_code(fs[t]), INVALID_CONFIG, "create with an unknown config key")
    fs = admin.create_topics([CfNewTopic(t, 1, 3)], request_timeout=15)
    eq(cf_code(fs[t]), INVALID_REPLICATION_FACTOR, "create with replication factor 3")
    check(t not in cf_topics(admin), "failed creates must not create the topic")

    # DescribeConfigs: overrides are TOPIC_CONFIG, the rest defaults.
    entries = cf_describe(admin, ConfigResource.Type.TOPIC, a).result()
    eq(entries["retention.ms"].value, "3600000", "described retention.ms")
    eq(entries["retention.ms"].source, ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
       "source of an overridden key")
    check(not entries["retention.ms"].is_default, "an overridden key is not default")
    eq(entries["cleanup.policy"].value, "compact", "described cleanup.policy")
    eq(entries["segment.bytes"].value, defaults["segment.bytes"], "default segment.bytes")
    eq(entries["segment.bytes"].source, ConfigSource.DEFAULT_CONFIG.value,
       "source of a default key")
    check(entries["segment.bytes"].is_default, "a key not overridden is default")
    check(not entries["segment.bytes"].is_read_only, "topic configs are writable")
    for key in ("max.message.bytes", "compression.type", "message.timestamp.type", "flush.messages"):
        check(key in entries, f"describe lists {key}")

    try:
        cf_describe(admin, ConfigResource.Type.TOPIC, prefix + "missing").result()
        fail("describing a missing topic must fail")
    except KafkaException as e:
        eq(e.args[0].code(), UNKNOWN_TOPIC_OR_PARTITION, "describe a missing topic")

    # AlterConfigs replaces the whole override set.
    res = ConfigResource(ConfigResource.Type.TOPIC, a, set_config={"retention.ms": "7200000"})
    eq(cf_code(admin.alter_configs([res], request_timeout=15)[res]), 0, "alter configs")
    entries = cf_describe(admin, ConfigResource.Type.TOPIC, a).result()
    eq(entries["retention.ms"].value, "7200000", "retention.ms after alter")
    eq(entries["cleanup.policy"].value, "delete", "a key left out of alter returns to default")
    eq(entries["cleanup.policy"].source, ConfigSource.DEFAULT_CONFIG.value,
       "source of a key left out of alter")

    res = ConfigResource(ConfigResource.Type.TOPIC, a, set_config={"retention.ms": "1"})
    eq(cf_code(admin.alter_configs([res], validate_only=True, request_timeout=15)[res]), 0,
       "validate-only alter")
    res = ConfigResource(ConfigResource.Type.TOPIC, a, set_config={"retention.ms": "-5"})
    eq(cf_code(admin.alter_configs([res], request_timeout=15)[res]), INVALID_CONFIG,
       "alter with an out-of-range value")
    res = ConfigResource(ConfigResource.Type.TOPIC, prefix + "missing",
                         set_config={"retention.ms": "1"})
    eq(cf_code(admin.alter_configs([res], request_timeout=15)[res]), UNKNOWN_TOPIC_OR_PARTITION,
       "alter a missing topic")
    entries = cf_describe(admin, ConfigResource.Type.TOPIC, a).result()
    eq(entries["retention.ms"].value, "7200000", "failed and validate-only alters change nothing")

    # CreatePartitions.
    fs = admin.create_partitions([NewPartitions(a, 5)], request_timeout=15)
    eq(cf_code(fs[a]), 0, "grow to 5 partitions")
    eq(cf_topics(admin).get(a), 5, "partition count after growing")
    fs = admin.create_partitions([NewPartitions(a, 2)], request_timeout=15)
    eq(cf_code(fs[a]), INVALID_PARTITIONS, "shrinking is refused")
    fs = admin.create_partitions([NewPartitions(a, 8)], validate_only=True, request_timeout=15)
    eq(cf_code(fs[a]), 0, "validate-only grow")
    eq(cf_topics(admin).get(a), 5, "validate-only grow changes nothing")
    missing = prefix + "missing"
    fs = admin.create_partitions([NewPartitions(missing, 2)], request_timeout=15)
    eq(cf_code(fs[missing]), UNKNOWN_TOPIC_OR_PARTITION, "grow a missing topic")

    # DeleteTopics.
    eq(cf_code(admin.delete_topics([a], request_timeout=15)[a]), 0, "delete topic")
    check(a not in cf_topics(admin), "deleted topic is not listed")
    eq(cf_code(admin.delete_topics([a], request_timeout=15)[a]), UNKNOWN_TOPIC_OR_PARTITION,
       "delete a missing topic")


# ---------------------------------------------------------------------------------------------
# kafka-python


def kafka_python_checks(bootstrap, prefix):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="admin-test",
                             request_timeout_ms=15000)
    try:
        t = prefix + "kp"
        response = admin.create_topics(
            [KpNewTopic(t, 2, 1, topic_configs={"retention.ms": "60000"})])
        eq([(name, code) for name, code, *_ in response.topic_errors], [(t, 0)],
           "kafka-python create")
        check(t in admin.list_topics(), "kafka-python lists the created topic")
        described = [d for d in admin.describe_topics([t]) if d["topic"] == t]
        eq(len(described[0]["partitions"]) if described else None, 2,
           "kafka-python partition count")

        try:
            admin.create_topics([KpNewTopic(t, 1, 1)])
            fail("kafka-python: creating an existing topic must fail")
        except kerr.TopicAlreadyExistsError:
            check(True, "kafka-python create existing")
        try:
            admin.create_topics([KpNewTopic(prefix + "kp-zero", 0, 1)])
            fail("kafka-python: zero partitions must fail")
        except kerr.InvalidPartitionsError:
            check(True, "kafka-python zero partitions")

        responses = admin.describe_configs([KpConfigResource(ConfigResourceType.TOPIC, t)])
        eq(len(responses), 1, "kafka-python describe response count")
        (error, _msg, rtype, rname, entries) = responses[0].resources[0][:5]
        eq((error, rtype, rname), (0, TOPIC, t), "kafka-python describe resource")
        values = {e[0]: e[1] for e in entries}
        eq(values.get("retention.ms"), "60000", "kafka-python described retention.ms")
        eq(values.get("cleanup.policy"), "delete", "kafka-python described cleanup.policy")

        response = admin.delete_topics([t])
        eq([(name, code) for name, code, *_ in response.topic_error_codes], [(t, 0)],
           "kafka-python delete")
        check(t not in admin.list_topics(), "kafka-python: deleted topic is not listed")
    finally:
        admin.close()


# ---------------------------------------------------------------------------------------------
# Hand-encoded requests: flexible versions, topic ids, IncrementalAlterConfigs, DescribeCluster.


def raw_create_topics_v7(raw, name, partitions, configs):
    w = W(True).array(1).string(name).i32(partitions).i16(-1).array(0).array(len(configs))
    for key, value in configs.items():
        w.string(key).string(value).tags()
    w.tags().i32(15000).boolean(False).tags()
    r = raw.call(19, 7, w, True)
    r.i32()
    eq(r.array(), 1, "CreateTopics v7 result count")
    out = {"name": r.string(), "id": r.uuid(), "error": r.i16(), "message": r.string(),
           "partitions": r.i32(), "rf": r.i16(), "configs": {}}
    n = r.array()
    for _ in range(max(n, 0)):
        key, value, read_only, source, sensitive = (r.string(), r.string(), r.boolean(), r.i8(),
                                                   r.boolean())
        r.tags()
        out["configs"][key] = (value, read_only, source, sensitive)
    r.tags()
    r.tags()
    r.done("CreateTopics v7")
    return out


def raw_delete_topics_v6(raw, name, topic_id):
    w = W(True).array(1).string(name).uuid(topic_id).tags().i32(15000).tags()
    r = raw.call(20, 6, w, True)
    r.i32()
    eq(r.array(), 1, "DeleteTopics v6 result count")
    out = {"name": r.string(), "id": r.uuid(), "error": r.i16(), "message": r.string()}
    r.tags()
    r.tags()
    r.done("DeleteTopics v6")
    return out


def raw_describe_configs_v4(raw, restype, name, keys):
    w = W(True).array(1).i8(restype).string(name)
    if keys is None:
        w.array(-1)
    else:
        w.array(len(keys))
        for k in keys:
            w.string(k)
    w.tags().boolean(True).boolean(True).tags()
    r = raw.call(32, 4, w, True)
    r.i32()
    eq(r.array(), 1, "DescribeConfigs v4 result count")
    out = {"error": r.i16(), "message": r.string(), "type": r.i8(), "name": r.string(),
           "configs": {}}
    for _ in range(max(r.array(), 0)):
        key, value, read_only, source = r.string(), r.string(), r.boolean(), r.i8()
        r.boolean()  # is_sensitive
        synonyms = []
        for _ in range(max(r.array(), 0)):
            synonyms.append((r.string(), r.string(), r.i8()))
            r.tags()
        config_type = r.i8()
        r.string()  # documentation
        r.tags()
        out["configs"][key] = {"value": value, "read_only": read_only, "source": source,
                               "synonyms": synonyms, "type": config_type}
    r.tags()
    r.tags()
    r.done("DescribeConfigs v4")
    return out


def raw_incremental_alter(raw, version, restype, name, ops, validate_only=False):
    flexible = version >= 1
    w = W(flexible).array(1).i8(restype).string(name).array(len(ops))
    for key, op, value in ops:
        w.string(key).i8(op).string(value).tags()
    w.tags().boolean(validate_only).tags()
    r = raw.call(44, version, w, flexible)
    r.i32()
    eq(r.array(), 1, f"IncrementalAlterConfigs v{version} result count")
    error, message, rtype, rname = r.i16(), r.string(), r.i8(), r.string()
    r.tags()
    r.tags()
    r.done(f"IncrementalAlterConfigs v{version}")
    eq((rtype, rname), (restype, name), "IncrementalAlterConfigs echoes the resource")
    return error, message


def raw_checks(host, port, prefix):
    raw = Raw(host, port)
    b = raw_describe_configs_v4(raw, BROKER, "0", None)
    eq(b["error"], 0, "DescribeConfigs v4 broker error")
    eq(b["configs"]["log.retention.ms"]["read_only"], False, "log.retention.ms is dynamic")
    eq(b["configs"]["num.partitions"]["read_only"], True, "num.partitions is static")
    eq(b["configs"]["log.retention.ms"]["synonyms"][-1][0], "log.retention.ms",
       "broker config synonyms use broker names")
    defaults = {"segment.bytes": b["configs"]["log.segment.bytes"]["value"],
                "retention.ms": b["configs"]["log.retention.ms"]["value"]}

    # CreateTopics v7: topic id, partition count, replication factor, effective configs.
    t = prefix + "raw"
    created = raw_create_topics_v7(raw, t, 2, {"retention.ms": "120000"})
    eq(created["error"], 0, "CreateTopics v7 error")
    eq(created["message"], None, "CreateTopics v7 message on success")
    check(created["id"] != bytes(16), "CreateTopics v7 returns a topic id")
    eq((created["partitions"], created["rf"]), (2, 1), "CreateTopics v7 partitions/rf")
    eq(created["configs"].get("retention.ms"), ("120000", False, 1, False),
       "CreateTopics v7 overridden config entry")
    eq(created["configs"].get("segment.bytes"), (defaults["segment.bytes"], False, 5, False),
       "CreateTopics v7 default config entry")
    again = raw_create_topics_v7(raw, t, 2, {})
    eq(again["error"], TOPIC_ALREADY_EXISTS, "CreateTopics v7 existing topic")
    check(again["message"], "CreateTopics v7 error has a message")
    eq((again["partitions"], again["rf"], again["id"]), (-1, -1, bytes(16)),
       "CreateTopics v7 error result defaults")
    dflt = raw_create_topics_v7(raw, prefix + "raw-default", -1, {})
    eq(dflt["error"], 0, "CreateTopics with -1 partitions")
    check(dflt["partitions"] >= 1, "CreateTopics with -1 partitions uses the broker default")

    # DescribeConfigs v4: types, synonyms, filtered keys.
    d = raw_describe_configs_v4(raw, TOPIC, t, ["retention.ms", "segment.bytes",
                                                 "cleanup.policy", "no.such.key"])
    eq(d["error"], 0, "DescribeConfigs v4 error")
    eq(sorted(d["configs"]), ["cleanup.policy", "retention.ms", "segment.bytes"],
       "DescribeConfigs v4 returns only the requested known keys")
    eq(d["configs"]["retention.ms"]["type"], 5, "retention.ms is LONG")
    eq(d["configs"]["segment.bytes"]["type"], 3, "segment.bytes is INT")
    eq(d["configs"]["cleanup.policy"]["type"], 7, "cleanup.policy is LIST")
    eq(d["configs"]["retention.ms"]["synonyms"],
       [("retention.ms", "120000", 1), ("log.retention.ms", defaults["retention.ms"], 5)],
       "retention.ms synonyms")
    u = raw_describe_configs_v4(raw, TOPIC, prefix + "missing", None)
    eq((u["error"], u["configs"]), (UNKNOWN_TOPIC_OR_PARTITION, {}), "describe missing topic v4")

    # IncrementalAlterConfigs v0 (classic) and v1 (flexible).
    SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3

    def value(key):
        return raw_describe_configs_v4(raw, TOPIC, t, [key])["configs"][key]

    eq(raw_incremental_alter(raw, 0, TOPIC, t, [("segment.ms", SET, "60000")])[0], 0,
       "incremental SET v0")
    eq(value("segment.ms")["value"], "60000", "segment.ms after SET")
    eq(value("retention.ms")["value"], "120000", "incremental SET keeps other overrides")
    eq(raw_incremental_alter(raw, 1, TOPIC, t, [("cleanup.policy", APPEND, "compact")])[0], 0,
       "incremental APPEND v1")
    # The broker may list the policies in either order.
    eq(sorted(value("cleanup.policy")["value"].split(",")), ["compact", "delete"],
       "cleanup.policy after APPEND")
    eq(raw_incremental_alter(raw, 1, TOPIC, t, [("cleanup.policy", SUBTRACT, "delete")])[0], 0,
       "incremental SUBTRACT")
    eq(value("cleanup.policy")["value"], "compact", "cleanup.policy after SUBTRACT")
    eq(raw_incremental_alter(raw, 1, TOPIC, t, [("retention.ms", DELETE, None)])[0], 0,
       "incremental DELETE")
    eq((value("retention.ms")["value"], value("retention.ms")["source"]),
       (defaults["retention.ms"], 5),
       "retention.ms after DELETE is the default")
    eq(raw_incremental_alter(raw, 1, TOPIC, t, [("segment.ms", SET, "1")], True)[0], 0,
       "incremental validate-only")
    eq(value("segment.ms")["value"], "60000", "validate-only incremental changes nothing")
    err = raw_incremental_alter(raw, 1, TOPIC, t, [("retention.ms", APPEND, "5")])
    eq(err[0], INVALID_CONFIG, "APPEND on a non-list config")
    check(err[1], "APPEND on a non-list config has a message")
    eq(raw_incremental_alter(raw, 1, TOPIC, t, [("segment.ms", SET, "x")])[0], INVALID_CONFIG,
       "incremental SET with a bad value")
    eq(raw_incremental_alter(raw, 1, TOPIC, t, [("bogus.key", SET, "1")])[0], INVALID_CONFIG,
       "incremental SET of an unknown key")
    eq(raw_incremental_alter(raw, 1, TOPIC, t, [("segment.ms", SET, "5"),
                                                ("retention.ms", SET, "x")])[0], INVALID_CONFIG,
       "a bad op fails the whole resource")
    eq(value("segment.ms")["value"], "60000", "a failed resource changes nothing")
    eq(raw_incremental_alter(raw, 1, BROKER, "0", [("broker.id", SET, "1")])[0],
       INVALID_REQUEST, "static broker configs cannot change at run time")
    eq(raw_incremental_alter(raw, 1, BROKER, "7", [("log.retention.ms", SET, "1")])[0],
       INVALID_REQUEST, "another broker's configs")

    # Concurrent APPENDs to one list config from several connections (the server reads, changes
    # and stores each under one lock): none of them is lost.
    key, per_client, clients = "leader.replication.throttled.replicas", 10, 6
    failures = []

    def appender(c):
        own = Raw(host, port)
        for i in range(per_client):
            err = raw_incremental_alter(own, 1, TOPIC, t, [(key, APPEND, f"{c * per_client + i}:0")])
            if err[0] != 0:
                failures.append(err)

    threads = [threading.Thread(target=appender, args=(c,)) for c in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    eq(failures, [], "concurrent APPENDs succeed")
    items = set(value(key)["value"].split(","))
    eq(items, {f"{n}:0" for n in range(per_client * clients)},
       "no concurrent APPEND is lost")
    eq(raw_incremental_alter(raw, 1, TOPIC, prefix + "missing",
                             [("retention.ms", SET, "1")])[0], UNKNOWN_TOPIC_OR_PARTITION,
       "incremental alter of a missing topic")

    # DeleteTopics v6 by topic id.
    gone = raw_delete_topics_v6(raw, None, created["id"])
    eq((gone["error"], gone["name"], gone["id"]), (0, t, created["id"]), "delete by topic id")
    gone = raw_delete_topics_v6(raw, None, created["id"])
    eq(gone["error"], UNKNOWN_TOPIC_ID, "delete an unknown topic id")
    gone = raw_delete_topics_v6(raw, prefix + "raw-default", bytes(16))
    eq(gone["error"], 0, "delete by name in v6")

    # DescribeCluster v0 and v1.
    for version in (0, 1):
        w = W(True).boolean(False)
        if version >= 1:
            w.i8(1)
        w.tags()
        r = raw.call(60, version, w, True)
        r.i32()
        error, message = r.i16(), r.string()
        endpoint = r.i8() if version >= 1 else 1
        r.string()  # cluster id
        controller = r.i32()
        brokers = []
        for _ in range(r.array()):
            brokers.append((r.i32(), r.string(), r.i32(), r.string()))
            r.tags()
        operations = r.i32()
        r.tags()
        r.done(f"DescribeCluster v{version}")
        eq((error, message, endpoint), (0, None, 1), f"DescribeCluster v{version} error")
        eq(controller, 0, f"DescribeCluster v{version} controller")
        eq(len(brokers), 1, f"DescribeCluster v{version} broker count")
        eq((brokers[0][0], brokers[0][2], brokers[0][3]), (0, port, None),
           f"DescribeCluster v{version} broker id/port/rack")
        eq(operations, -2147483648, f"DescribeCluster v{version} authorized operations")


def raw_version_checks(host, port, prefix):
    """The oldest version and the flexible versions the two clients above do not use."""
    raw = Raw(host, port)
    t = prefix + "ver"

    # CreateTopics v0: no message, no throttle time.
    w = W(False).array(1).string(t).i32(1).i16(1).array(0).array(1).string("segment.ms")
    w.string("90000").i32(15000)
    r = raw.call(19, 0, w, False)
    eq(r.array(), 1, "CreateTopics v0 result count")
    eq((r.string(), r.i16()), (t, 0), "CreateTopics v0 result")
    r.done("CreateTopics v0")

    # DescribeConfigs v0: is_default instead of config_source.
    w = W(False).array(1).i8(TOPIC).string(t).array(2).string("segment.ms").string("segment.bytes")
    r = raw.call(32, 0, w, False)
    r.i32()
    eq(r.array(), 1, "DescribeConfigs v0 result count")
    eq((r.i16(), r.string(), r.i8(), r.string()), (0, None, TOPIC, t), "DescribeConfigs v0 resource")
    entries = {}
    for _ in range(r.array()):
        name, value, read_only, is_default, sensitive = (r.string(), r.string(), r.boolean(),
                                                         r.boolean(), r.boolean())
        entries[name] = (value, read_only, is_default, sensitive)
    r.done("DescribeConfigs v0")
    eq(entries.get("segment.ms"), ("90000", False, False, False), "DescribeConfigs v0 override")
    eq(entries.get("segment.bytes", (None,))[2:], (True, False), "DescribeConfigs v0 default")

    # CreatePartitions v3 (flexible), null assignments.
    def grow(count, validate_only):
        w = W(True).array(1).string(t).i32(count).array(-1).tags().i32(15000)
        w.boolean(validate_only).tags()
        r = raw.call(37, 3, w, True)
        r.i32()
        eq(r.array(), 1, "CreatePartitions v3 result count")
        out = (r.string(), r.i16(), r.string())
        r.tags()
        r.tags()
        r.done("CreatePartitions v3")
        return out

    eq(grow(3, False), (t, 0, None), "CreatePartitions v3 grow")
    name, error, message = grow(3, False)
    eq(error, INVALID_PARTITIONS, "CreatePartitions v3 same count")
    check(message, "CreatePartitions v3 error has a message")
    eq(grow(4, True)[1], 0, "CreatePartitions v3 validate-only")
    d = raw_describe_configs_v4(raw, TOPIC, t, ["segment.ms"])
    eq(d["configs"]["segment.ms"]["value"], "90000", "override survives partition growth")

    # AlterConfigs v2 (flexible).
    def alter(configs, validate_only=False, restype=TOPIC, name=t):
        w = W(True).array(1).i8(restype).string(name).array(len(configs))
        for key, value in configs:
            w.string(key).string(value).tags()
        w.tags().boolean(validate_only).tags()
        r = raw.call(33, 2, w, True)
        r.i32()
        eq(r.array(), 1, "AlterConfigs v2 result count")
        out = (r.i16(), r.string(), r.i8(), r.string())
        r.tags()
        r.tags()
        r.done("AlterConfigs v2")
        eq(out[2:], (restype, name), "AlterConfigs v2 echoes the resource")
        return out[:2]

    eq(alter([("retention.bytes", "1048576")]), (0, None), "AlterConfigs v2")
    d = raw_describe_configs_v4(raw, TOPIC, t, ["segment.ms", "retention.bytes"])
    eq((d["configs"]["retention.bytes"]["value"], d["configs"]["retention.bytes"]["source"]),
       ("1048576", 1), "retention.bytes after AlterConfigs v2")
    eq(d["configs"]["segment.ms"]["source"], 5, "AlterConfigs v2 dropped the old override")
    error, message = alter([("max.message.bytes", "many")])
    eq(error, INVALID_CONFIG, "AlterConfigs v2 bad value")
    check(message and "max.message.bytes" in message, "AlterConfigs v2 message names the key")
    eq(alter([("retention.ms", "1")], restype=BROKER, name="0")[0], INVALID_REQUEST,
       "AlterConfigs v2 on the broker with a topic name")
    eq(alter([("retention.ms", "1"), ("retention.ms", "2")])[0], 0,
       "AlterConfigs v2 with a key twice")
    d = raw_describe_configs_v4(raw, TOPIC, t, ["retention.ms"])
    eq(d["configs"]["retention.ms"]["value"], "2", "the last value of a key given twice wins")

    # DeleteTopics v5 (flexible, by name, with messages).
    def delete(name):
        w = W(True).array(1).string(name).i32(15000).tags()
        r = raw.call(20, 5, w, True)
        r.i32()
        eq(r.array(), 1, "DeleteTopics v5 result count")
        out = (r.string(), r.i16(), r.string())
        r.tags()
        r.tags()
        r.done("DeleteTopics v5")
        return out

    eq(delete(t), (t, 0, None), "DeleteTopics v5")
    name, error, message = delete(t)
    eq(error, UNKNOWN_TOPIC_OR_PARTITION, "DeleteTopics v5 missing topic")
    check(message, "DeleteTopics v5 error has a message")

    # Two entries for one topic in a CreateTopics request are both refused.
    w = W(True).array(2)
    for _ in range(2):
        w.string(t).i32(1).i16(1).array(0).array(0).tags()
    w.i32(15000).boolean(False).tags()
    r = raw.call(19, 5, w, True)
    r.i32()
    eq(r.array(), 2, "CreateTopics v5 result count")
    for _ in range(2):
        name, error, message = r.string(), r.i16(), r.string()
        eq((name, error), (t, INVALID_REQUEST), "CreateTopics v5 duplicate name")
        eq((r.i32(), r.i16(), r.array()), (-1, -1, -1), "CreateTopics v5 error defaults")
        r.tags()
    r.tags()
    r.done("CreateTopics v5")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="HOST:PORT of the broker")
    args = parser.parse_args()
    host, _, port = args.bootstrap.rpartition(":")
    prefix = f"admintest{os.getpid()}-"
    confluent_checks(args.bootstrap, prefix)
    kafka_python_checks(args.bootstrap, prefix)
    raw_checks(host, int(port), prefix)
    raw_version_checks(host, int(port), prefix)
    finish()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Produce and consume through two independent Python clients against Eddy.

usage: python_clients_test.py --bootstrap HOST:PORT

confluent_kafka (librdkafka): a 3-partition topic created with AdminClient; producers with
acks=all, acks=1 and acks=0 (idempotence off) send keyed records with headers to explicit
partitions; a Consumer positioned with assign() (no group subscription, no commits) reads every
partition back and the keys, values, headers, partitions and offsets must match exactly.

kafka-python: KafkaProducer(acks='all') with headers and KafkaConsumer with assign() +
seek_to_beginning read the same way; the test also checks that kafka-python settled on a broker
version that makes it produce and fetch record batch v2 (Produce >= 3, Fetch >= 4), since it
infers the version from the ApiVersions answer.

Stops at the first failed check; prints "N passed, 0 failed" on success. Topic names carry the
process id, so reruns against the same data directory do not collide.
"""
import argparse
import os
import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, TIMESTAMP_CREATE_TIME, Consumer,
                             KafkaError, Producer, TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

import kafka

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, fail, finish  # noqa: E402

PARTITIONS = 3
PER_PARTITION = 400
DEADLINE_S = 60
# Records carry explicit create times, 10 ms apart, an hour in the past, one range per producer.
TIME_BASE = int(time.time() * 1000) - 3_600_000
TAG_TIME = {"all": 0, "one": 100_000, "zero": 200_000, "kp": 300_000}


def record_time(tag, i):
    return TIME_BASE + TAG_TIME[tag] + 10 * i


def expected_records(tag, partition, count):
    """The records a producer sends to one partition, in order: (key, value, headers, time)."""
    records = []
    for i in range(count):
        key = f"{tag}-k{partition}-{i % 17}".encode()
        value = f"{tag}-p{partition}-v{i}-{'x' * (i % 31)}".encode()
        headers = [("seq", str(i).encode()), ("tag", tag.encode()), ("empty", b"")]
        records.append((key, value, headers, record_time(tag, i)))
    return records


# ---------------------------------------------------------------------------------------------
# confluent_kafka


def create_topic(bootstrap, topic, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions,
                                            replication_factor=1)], operation_timeout=10)
    try:
        futures[topic].result(timeout=30)
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        fail(f"create topic {topic}: {e}")
    metadata = admin.list_topics(topic, timeout=10)
    eq(sorted(metadata.topics[topic].partitions), list(range(partitions)),
       f"{topic}: metadata lists the partitions")


def cf_produce(bootstrap, topic, tag, acks):
    """Sends PER_PARTITION records to each partition; returns {partition: [offset, ...]} from the
    delivery reports (offsets are -1 for acks=0, which gets no answer)."""
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": acks,
        "enable.idempotence": False,
        "linger.ms": 5,
        "batch.num.messages": 100,
        "message.timeout.ms": 30000,
    })
    reports = {p: [] for p in range(PARTITIONS)}
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            reports[msg.partition()].append((msg.offset(), msg.value()))

    for p in range(PARTITIONS):
        for key, value, headers, ts in expected_records(tag, p, PER_PARTITION):
            while True:
                try:
                    producer.produce(topic, value=value, key=key, headers=headers, partition=p,
                                     timestamp=ts, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(DEADLINE_S)
    eq(remaining, 0, f"acks={acks}: producer flushed everything")
    eq(errors, [], f"acks={acks}: no delivery errors")
    for p in range(PARTITIONS):
        eq(len(reports[p]), PER_PARTITION, f"acks={acks}: delivery reports for partition {p}")
    return reports


def cf_consume(bootstrap, topic, expected_counts, extra_config=None):
    """Reads every partition from offset 0 until expected_counts[p] records each arrived."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"python-clients-{os.getpid()}",  # required by the client; never joined
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
        **(extra_config or {}),
    })
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + DEADLINE_S
    while any(len(got[p]) < expected_counts[p] for p in got) and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=500, timeout=0.5):
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    fail(f"consume {topic}: {msg.error()}")
                continue
            got[msg.partition()].append(msg)
    # Anything beyond the expected count would be a duplicate: give it one more short chance.
    for msg in consumer.consume(num_messages=500, timeout=0.3):
        if not msg.error():
            got[msg.partition()].append(msg)
    consumer.close()
    return got


def verify_partition(what, messages, expected, first_offset, header_tuples):
    eq(len(messages), len(expected), f"{what}: record count")
    for i, (msg, (key, value, headers, ts)) in enumerate(zip(messages, expected)):
        offset = first_offset + i
        if header_tuples:  # confluent_kafka Message
            got = (msg.offset(), msg.key(), msg.value(), [tuple(h) for h in msg.headers() or []],
                   msg.timestamp())
            want = (offset, key, value, headers, (TIMESTAMP_CREATE_TIME, ts))
        else:  # kafka-python ConsumerRecord, whose timestamp type 0 is CreateTime
            got = (msg.offset, msg.key, msg.value, [tuple(h) for h in msg.headers or []],
                   (msg.timestamp_type, msg.timestamp))
            want = (offset, key, value, headers, (0, ts))
        if got != want:
            fail(f"{what}: record {i} is {got!r}, expected {want!r}")
    check(True, f"{what}: {len(expected)} records with exact keys, values, headers, offsets, "
                "timestamps")


def confluent_tests(bootstrap):
    topic = f"py-confluent-{os.getpid()}"
    create_topic(bootstrap, topic, PARTITIONS)

    # acks=all first: its delivery reports must carry the dense offsets 0..N-1 per partition.
    reports = cf_produce(bootstrap, topic, "all", "all")
    for p in range(PARTITIONS):
        eq([o for o, _ in reports[p]], list(range(PER_PARTITION)),
           f"acks=all: partition {p} delivery offsets")
    reports = cf_produce(bootstrap, topic, "one", "1")
    for p in range(PARTITIONS):
        eq([o for o, _ in reports[p]], list(range(PER_PARTITION, 2 * PER_PARTITION)),
           f"acks=1: partition {p} delivery offsets")
    cf_produce(bootstrap, topic, "zero", "0")

    got = cf_consume(bootstrap, topic, {p: 3 * PER_PARTITION for p in range(PARTITIONS)})
    for p in range(PARTITIONS):
        for i, msg in enumerate(got[p]):
            if msg.partition() != p or msg.topic() != topic:
                fail(f"record {i} of partition {p} reports {msg.topic()}/{msg.partition()}")
        for n, tag in enumerate(["all", "one", "zero"]):
            chunk = got[p][n * PER_PARTITION:(n + 1) * PER_PARTITION]
            verify_partition(f"confluent acks={tag} partition {p}", chunk,
                             expected_records(tag, p, PER_PARTITION), n * PER_PARTITION, True)
        eq(len(got[p]), 3 * PER_PARTITION, f"partition {p}: no extra records")

    # Positioning at an explicit offset in the middle of a partition.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"py-{os.getpid()}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    consumer.assign([TopicPartition(topic, 1, 2 * PER_PARTITION - 5)])
    first = None
    deadline = time.monotonic() + DEADLINE_S
    while first is None and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            first = msg
    consumer.close()
    check(first is not None, "consume from an explicit offset returns a record")
    eq((first.offset(), first.value()),
       (2 * PER_PARTITION - 5, expected_records("one", 1, PER_PARTITION)[PER_PARTITION - 5][1]),
       "first record consumed from an explicit offset")

    # Watermarks as the consumer sees them (ListOffsets earliest/latest).
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"py-{os.getpid()}",
                         "enable.auto.commit": False})
    for p in range(PARTITIONS):
        eq(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10),
           (0, 3 * PER_PARTITION), f"partition {p} watermarks")
    # Offsets by time (ListOffsets): the first record at or after the time, even mid-batch.
    lookups = [
        (record_time("all", 0) - 1000, 0),
        (record_time("all", 123), 123),
        (record_time("all", 123) + 5, 124),
        (record_time("one", 7), PER_PARTITION + 7),
        (record_time("zero", PER_PARTITION - 1), 3 * PER_PARTITION - 1),
        (record_time("zero", PER_PARTITION - 1) + 1, OFFSET_END),
    ]
    for ts, offset in lookups:
        found = consumer.offsets_for_times([TopicPartition(topic, p, ts)
                                            for p in range(PARTITIONS)], timeout=10)
        eq([(tp.partition, tp.offset, tp.error) for tp in found],
           [(p, offset, None) for p in range(PARTITIONS)], f"offsets_for_times({ts})")
    consumer.close()


# ---------------------------------------------------------------------------------------------
# kafka-python


def kafka_python_tests(bootstrap):
    topic = f"py-kafka-python-{os.getpid()}"
    create_topic(bootstrap, topic, PARTITIONS)

    producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                   retries=0, request_timeout_ms=30000)
    version = producer.config["api_version"]
    check(version >= (0, 11), f"kafka-python inferred broker version {version} speaks v2 batches")
    # From (0, 11) on kafka-python writes record batch v2 (magic 2, headers) with Produce v3+ and
    # fetches with Fetch v4; older guesses would silently drop headers.
    eq(producer._max_usable_produce_magic(), 2, "kafka-python produces magic 2 batches")
    futures = {p: [] for p in range(PARTITIONS)}
    for p in range(PARTITIONS):
        for key, value, headers, ts in expected_records("kp", p, PER_PARTITION):
            futures[p].append(producer.send(topic, key=key, value=value, headers=headers,
                                            partition=p, timestamp_ms=ts))
    producer.flush(timeout=DEADLINE_S)
    for p in range(PARTITIONS):
        offsets = [f.get(timeout=DEADLINE_S).offset for f in futures[p]]
        eq(offsets, list(range(PER_PARTITION)), f"kafka-python partition {p} send offsets")
        eq({f.get().partition for f in futures[p]}, {p}, f"kafka-python partition {p} metadata")
    producer.close(timeout=10)

    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                   enable_auto_commit=False, fetch_max_wait_ms=100,
                                   consumer_timeout_ms=1000)
    partitions = [kafka.TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    for tp in partitions:
        eq(consumer.position(tp), 0, f"kafka-python position after seek_to_beginning {tp}")
    eq(consumer.end_offsets(partitions), {tp: PER_PARTITION for tp in partitions},
       "kafka-python end_offsets")
    eq(consumer.beginning_offsets(partitions), {tp: 0 for tp in partitions},
       "kafka-python beginning_offsets")
    # kafka-python asks ListOffsets v1, whose answer carries the found record's timestamp.
    found = consumer.offsets_for_times({tp: record_time("kp", 200) + 3 for tp in partitions})
    eq({tp: (o.offset, o.timestamp) for tp, o in found.items()},
       {tp: (201, record_time("kp", 201)) for tp in partitions},
       "kafka-python offsets_for_times between two records")
    found = consumer.offsets_for_times({partitions[0]: record_time("kp", PER_PARTITION)})
    eq(found, {partitions[0]: None}, "kafka-python offsets_for_times after the last record")
    got = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + DEADLINE_S
    while any(len(v) < PER_PARTITION for v in got.values()) and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500, max_records=1000).items():
            for r in records:
                if r.topic != topic or r.partition != tp.partition:
                    fail(f"record {r.offset} reports {r.topic}/{r.partition} in {tp}")
                got[tp.partition].append(r)
    for tp, records in consumer.poll(timeout_ms=300).items():
        got[tp.partition].extend(records)
    for p in range(PARTITIONS):
        verify_partition(f"kafka-python partition {p}", got[p],
                         expected_records("kp", p, PER_PARTITION), 0, False)

    # Seek into the middle and read to the end.
    tp = partitions[2]
    consumer.seek(tp, PER_PARTITION - 3)
    tail = []
    deadline = time.monotonic() + DEADLINE_S
    while len(tail) < 3 and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            tail.extend(records)
    eq([r.offset for r in tail], [PER_PARTITION - 3, PER_PARTITION - 2, PER_PARTITION - 1],
       "kafka-python seek to an offset reads the tail")
    consumer.close()

    # Fetch answers stop at the partition byte limit even inside a batch, as Kafka's do (the
    # records go from the segment file to the socket unread). kafka-python fills 16 KiB batches
    # here, so a 20 000-byte limit ends most answers with a partial batch, which both clients
    # must drop and fetch again from its first offset.
    small = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=100,
                                max_partition_fetch_bytes=20000)
    small.assign(partitions)
    small.seek_to_beginning()
    got = {p: [] for p in range(PARTITIONS)}
    deadline = time.monotonic() + DEADLINE_S
    while any(len(v) < PER_PARTITION for v in got.values()) and time.monotonic() < deadline:
        for tp, records in small.poll(timeout_ms=500).items():
            got[tp.partition].extend(records)
    for tp, records in small.poll(timeout_ms=300).items():
        got[tp.partition].extend(records)
    small.close()
    for p in range(PARTITIONS):
        verify_partition(f"kafka-python partition {p}, answers cut inside batches", got[p],
                         expected_records("kp", p, PER_PARTITION), 0, False)
    cut = cf_consume(bootstrap, topic, {p: PER_PARTITION for p in range(PARTITIONS)},
                     {"max.partition.fetch.bytes": 20000})
    for p in range(PARTITIONS):
        verify_partition(f"confluent partition {p}, answers cut inside batches", cut[p],
                         expected_records("kp", p, PER_PARTITION), 0, True)

    # The records kafka-python wrote are readable by librdkafka too (and the other way around
    # is covered above by the same verification of confluent-produced data).
    cross = cf_consume(bootstrap, topic, {p: PER_PARTITION for p in range(PARTITIONS)})
    for p in range(PARTITIONS):
        verify_partition(f"kafka-python data read by confluent partition {p}", cross[p],
                         expected_records("kp", p, PER_PARTITION), 0, True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    bootstrap = parser.parse_args().bootstrap
    confluent_tests(bootstrap)
    kafka_python_tests(bootstrap)
    finish()


if __name__ == "__main__":
    main()

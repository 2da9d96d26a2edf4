#!/usr/bin/python3
"""Consumer groups through kafka-python and python3-confluent-kafka, and the group APIs' errors.

usage: groups_clients_test.py --bootstrap HOST:PORT

1. A kafka-python KafkaConsumer(group_id=...) consumes a 3-partition topic and commits; a
   confluent_kafka Consumer joining the same group afterwards gets exactly the records produced
   since, commits, and a kafka-python consumer after it again resumes exactly there.
2. kafka-python's admin client lists, describes (members, client ids, assignments while a member
   is active), reads the committed offsets of and deletes the group.
3. Bad input through kafka-python's protocol layer: commits, heartbeats, syncs and leaves from
   unknown members, stale generations and unknown topics get Kafka's error codes, and nothing of
   a refused commit is stored.

Stops at the first failed check; prints "N passed, 0 failed" on success.
"""
import argparse
import os
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

import kafka
from kafka.client_async import KafkaClient
from kafka.protocol.commit import OffsetCommitRequest, OffsetFetchRequest
from kafka.protocol.group import HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, fail, finish  # noqa: E402

PARTITIONS = 3
DEADLINE_S = 60
NONE, UNKNOWN_TOPIC, ILLEGAL_GENERATION, UNKNOWN_MEMBER, INVALID_SESSION_TIMEOUT = 0, 3, 22, 25, 26
REBALANCE_IN_PROGRESS, NON_EMPTY_GROUP = 27, 68


def produce(bootstrap, topic, first, count):
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False})
    for i in range(first, first + count):
        producer.produce(topic, str(i).encode(), key=str(i).encode(), partition=i % PARTITIONS)
    eq(producer.flush(30), 0, f"records {first}..{first + count - 1} acknowledged")


def kp_consume(bootstrap, topic, group, want):
    """kafka-python group member: reads `want` records, commits synchronously, leaves."""
    consumer = kafka.KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                   auto_offset_reset="earliest", enable_auto_commit=False,
                                   client_id="kp-member")
    values = []
    deadline = time.monotonic() + DEADLINE_S
    while len(values) < want and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            values.extend(int(r.value) for r in records)
    consumer.commit()
    consumer.close()
    return values


def ck_consume(bootstrap, topic, group, want):
    """confluent_kafka group member: the same with librdkafka."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "client.id": "ck-member"})
    consumer.subscribe([topic])
    values = []
    deadline = time.monotonic() + DEADLINE_S
    while len(values) < want and time.monotonic() < deadline:
        for r in consumer.consume(num_messages=500, timeout=0.2):
            if r.error():
                fail(f"consumer error {r.error()}")
            values.append(int(r.value()))
    consumer.commit(asynchronous=False)
    consumer.close()
    return values


def resume_across_clients(bootstrap, topic, group):
    produce(bootstrap, topic, 0, 300)
    first = kp_consume(bootstrap, topic, group, 300)
    eq(sorted(first), list(range(300)), "kafka-python group member read every record")
    produce(bootstrap, topic, 300, 100)
    second = ck_consume(bootstrap, topic, group, 100)
    eq(sorted(second), list(range(300, 400)),
       "confluent_kafka member resumed from kafka-python's commits")
    produce(bootstrap, topic, 400, 50)
    third = kp_consume(bootstrap, topic, group, 50)
    eq(sorted(third), list(range(400, 450)), "kafka-python member resumed from librdkafka's commits")


def admin_views(bootstrap, topic, group):
    admin = kafka.KafkaAdminClient(bootstrap_servers=bootstrap)
    listed = dict(admin.list_consumer_groups())
    eq(listed.get(group), "consumer", "ListGroups shows the group with its protocol type")
    offsets = admin.list_consumer_group_offsets(group)
    eq({tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic},
       {p: 150 for p in range(PARTITIONS)}, "committed offsets are the partition ends")

    # A live member, seen by DescribeGroups.
    member = kafka.KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                 client_id="described-member")
    deadline = time.monotonic() + DEADLINE_S
    while not member.assignment() and time.monotonic() < deadline:
        member.poll(timeout_ms=100)
    check(len(member.assignment()) == PARTITIONS, "the live member owns every partition")
    described = admin.describe_consumer_groups([group])[0]
    eq(described.state, "Stable", "DescribeGroups: state")
    eq(described.protocol_type, "consumer", "DescribeGroups: protocol type")
    eq(len(described.members), 1, "DescribeGroups: one member")
    m = described.members[0]
    eq(m.client_id, "described-member", "DescribeGroups: client id")
    eq(m.client_host, "/127.0.0.1", "DescribeGroups: client host")
    eq(sorted(p for _, ps in m.member_assignment.assignment for p in ps), list(range(PARTITIONS)),
       "DescribeGroups: the member's assignment")
    result = dict(admin.delete_consumer_groups([group]))
    eq(getattr(result[group], "errno", None), NON_EMPTY_GROUP, "a group with members is not deleted")
    member.close()

    result = dict(admin.delete_consumer_groups([group]))
    eq(getattr(result[group], "errno", 0), 0, "the empty group is deleted")
    eq(admin.list_consumer_group_offsets(group), {}, "its committed offsets are gone")
    admin.close()


def call(client, request):
    deadline = time.monotonic() + DEADLINE_S
    node = client.least_loaded_node()
    while not client.ready(node):
        if time.monotonic() > deadline:
            fail("kafka-python client did not connect")
        client.poll(timeout_ms=100)
    future = client.send(node, request)
    client.poll(future=future, timeout_ms=DEADLINE_S * 1000)
    check(future.succeeded(), f"{type(request).__name__} answered")
    return future.value


def bad_input(bootstrap, topic):
    group = f"strict-{os.getpid()}"
    member = kafka.KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                 enable_auto_commit=False)
    deadline = time.monotonic() + DEADLINE_S
    while not member.assignment() and time.monotonic() < deadline:
        member.poll(timeout_ms=100)
    generation = member._coordinator._generation
    gen, member_id = generation.generation_id, generation.member_id
    check(gen >= 1 and member_id, f"joined as {member_id} in generation {gen}")

    client = KafkaClient(bootstrap_servers=bootstrap, client_id="raw")

    def commit(generation_id, who, commit_topic, partition=0, offset=7):
        response = call(client, OffsetCommitRequest[2](group, generation_id, who, -1,
                                                       [(commit_topic, [(partition, offset, "")])]))
        return response.topics[0][1][0][1]

    eq(commit(gen, "ghost", topic), UNKNOWN_MEMBER, "commit from an unknown member")
    eq(commit(gen - 1, member_id, topic), ILLEGAL_GENERATION, "commit from a stale generation")
    eq(commit(gen, member_id, "no-such-topic"), UNKNOWN_TOPIC, "commit to an unknown topic")
    eq(commit(gen, member_id, topic, partition=PARTITIONS), UNKNOWN_TOPIC,
       "commit to a partition that does not exist")
    fetched = call(client, OffsetFetchRequest[1](group, [(topic, [0])]))
    eq(fetched.topics[0][1][0][1], -1, "none of the refused commits was stored")
    eq(commit(gen, member_id, topic, offset=5), NONE, "the member's own commit succeeds")
    fetched = call(client, OffsetFetchRequest[1](group, [(topic, [0])]))
    eq(fetched.topics[0][1][0][1], 5, "and is stored")

    eq(call(client, HeartbeatRequest[1](group, gen, "ghost")).error_code, UNKNOWN_MEMBER,
       "heartbeat from an unknown member")
    eq(call(client, HeartbeatRequest[1](group, gen + 1, member_id)).error_code, ILLEGAL_GENERATION,
       "heartbeat from a future generation")
    eq(call(client, SyncGroupRequest[1](group, gen, "ghost", [])).error_code, UNKNOWN_MEMBER,
       "sync from an unknown member")
    eq(call(client, LeaveGroupRequest[1](group, "ghost")).error_code, UNKNOWN_MEMBER,
       "leave from an unknown member")
    eq(call(client, JoinGroupRequest[1](group, 10, 10, "", "consumer",
                                        [("range", b"")])).error_code,
       INVALID_SESSION_TIMEOUT, "a session timeout below the minimum")
    client.close()
    member.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    bootstrap = parser.parse_args().bootstrap
    topic = f"groups-{os.getpid()}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(timeout=30)
    group = f"handover-{os.getpid()}"
    resume_across_clients(bootstrap, topic, group)
    admin_views(bootstrap, topic, group)
    bad_input(bootstrap, topic)
    finish()


if __name__ == "__main__":
    main()

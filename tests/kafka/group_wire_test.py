#!/usr/bin/python3
"""Group API features no tested client sends, checked on the wire: FindCoordinator v4 with
several keys at once and OffsetFetch v8 with several groups in one request (flexible versions).

usage: group_wire_test.py --bootstrap HOST:PORT

Offsets are committed for two groups with confluent_kafka (assign + commit, no membership);
then raw requests ask for both groups (and one that never committed) in one OffsetFetch v8, and
for three coordinator keys in one FindCoordinator v4. Prints "N passed, 0 failed" on success.
"""
import sys
import argparse
import os
import socket
import struct

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, finish  # noqa: E402


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        value = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7

    def compact_string(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def compact_string(s):
    data = s.encode()
    return uvarint(len(data) + 1) + data


def call(bootstrap, api_key, version, body, correlation_id):
    """One flexible request (header v2) and its response body (after header v1)."""
    client_id = b"wire-test"
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    frame = header + b"\x00" + body
    host, port = bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", recv_exactly(s, 4))[0]
        response = Reader(recv_exactly(s, size))
    eq(response.take(">i"), correlation_id, f"API {api_key} v{version}: correlation id")
    response.tags()
    return response


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        check(chunk, "server kept the connection open")
        data += chunk
    return data


def commit(bootstrap, group, topic, offsets):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()],
                    asynchronous=False)
    consumer.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    bootstrap = parser.parse_args().bootstrap
    topic = f"wire-{os.getpid()}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=30)
    commit(bootstrap, "wire-a", topic, {0: 11, 1: 12})
    commit(bootstrap, "wire-b", topic, {1: 22})

    # OffsetFetch v8: groups [group_id, topics [name, partition_indexes]], require_stable.
    body = uvarint(4)
    for group in ("wire-a", "wire-b", "wire-none"):
        body += compact_string(group) + uvarint(2) + compact_string(topic)
        body += uvarint(3) + struct.pack(">ii", 0, 1) + b"\x00" + b"\x00"
    body += b"\x00" + b"\x00"
    r = call(bootstrap, 9, 8, body, 81)
    r.take(">i")  # throttle
    fetched = {}
    for _ in range(r.uvarint() - 1):
        group = r.compact_string()
        for _ in range(r.uvarint() - 1):
            name = r.compact_string()
            for _ in range(r.uvarint() - 1):
                partition, offset = r.take(">i"), r.take(">q")
                r.take(">i")  # leader epoch
                r.compact_string()
                eq(r.take(">h"), 0, f"OffsetFetch v8 {group} {name}[{partition}] error")
                r.tags()
                fetched[(group, partition)] = offset
            r.tags()
        eq(r.take(">h"), 0, f"OffsetFetch v8 group {group} error")
        r.tags()
    eq(fetched, {("wire-a", 0): 11, ("wire-a", 1): 12, ("wire-b", 0): -1, ("wire-b", 1): 22,
                 ("wire-none", 0): -1, ("wire-none", 1): -1},
       "OffsetFetch v8 answers three groups in one request")

    # FindCoordinator v4: key_type, coordinator_keys.
    body = b"\x00" + uvarint(4) + compact_string("wire-a") + compact_string("wire-b")
    body += compact_string("") + b"\x00"
    r = call(bootstrap, 10, 4, body, 82)
    r.take(">i")
    answers = {}
    for _ in range(r.uvarint() - 1):
        key, node, host, port = r.compact_string(), r.take(">i"), r.compact_string(), r.take(">i")
        error = r.take(">h")
        r.compact_string()
        r.tags()
        answers[key] = (node, host, port, error)
    _, port = bootstrap.split(":")
    eq(answers["wire-a"], (0, "127.0.0.1", int(port), 0), "FindCoordinator v4: first key")
    eq(answers["wire-b"], (0, "127.0.0.1", int(port), 0), "FindCoordinator v4: second key")
    eq(answers[""][3], 42, "FindCoordinator v4: an empty group id is INVALID_REQUEST")
    finish()


if __name__ == "__main__":
    main()

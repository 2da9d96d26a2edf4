#!/usr/bin/python3
"""Writes the request_fuzzer seed corpus: small well-formed request frames (no size prefix) for
every API and version Eddy serves, so fuzzing starts past the header and array framing.

usage: fuzz/make_corpus.py [OUT_DIR]   (default: fuzz/corpus/request next to this script)

Deterministic: rerunning rewrites the same files. Versions and first flexible versions follow
the handler registry (src/kafka/handlers/*.cc); update both together.
"""
import os
import struct
import sys
import zlib

# key: (name, min, max, first flexible)
APIS = {
    0: ("produce", 3, 9, 9),
    1: ("fetch", 4, 12, 12),
    2: ("list_offsets", 0, 7, 6),
    3: ("metadata", 0, 12, 9),
    18: ("api_versions", 0, 3, 3),
    19: ("create_topics", 0, 7, 5),
    20: ("delete_topics", 0, 6, 4),
    32: ("describe_configs", 0, 4, 4),
    33: ("alter_configs", 0, 2, 2),
    37: ("create_partitions", 0, 3, 2),
    44: ("incremental_alter_configs", 0, 1, 1),
    60: ("describe_cluster", 0, 1, 0),
    8: ("offset_commit", 0, 8, 8),
    9: ("offset_fetch", 0, 8, 6),
    10: ("find_coordinator", 0, 4, 3),
    11: ("join_group", 0, 9, 6),
    12: ("heartbeat", 0, 4, 4),
    13: ("leave_group", 0, 5, 4),
    14: ("sync_group", 0, 5, 4),
    15: ("describe_groups", 0, 5, 5),
    16: ("list_groups", 0, 4, 3),
    42: ("delete_groups", 0, 2, 2),
    47: ("offset_delete", 0, 0, 99),
}


class W:
    def __init__(self, flexible):
        self.flex = flexible
        self.b = bytearray()

    def i8(self, v): self.b += struct.pack(">b", v); return self
    def i16(self, v): self.b += struct.pack(">h", v); return self
    def i32(self, v): self.b += struct.pack(">i", v); return self
    def i64(self, v): self.b += struct.pack(">q", v); return self
    def raw(self, b): self.b += b; return self

    def uvarint(self, v):
        while v >= 0x80:
            self.b.append((v & 0x7F) | 0x80)
            v >>= 7
        self.b.append(v)
        return self

    def string(self, s):
        if s is None:
            return self.uvarint(0) if self.flex else self.i16(-1)
        data = s.encode()
        (self.uvarint(len(data) + 1) if self.flex else self.i16(len(data)))
        return self.raw(data)

    def bytes_(self, data):
        if data is None:
            return self.uvarint(0) if self.flex else self.i32(-1)
        (self.uvarint(len(data) + 1) if self.flex else self.i32(len(data)))
        return self.raw(data)

    def array(self, n):
        return self.uvarint(n + 1) if self.flex else self.i32(n)

    def tags(self):
        return self.uvarint(0) if self.flex else self


def varint(v):
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record_batch(values):
    """A v2 record batch (magic 2, uncompressed) holding `values`."""
    records = bytearray()
    for i, value in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(value)) + value + varint(0)
        records += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, 1700000000000, 1700000000000,
                            -1, -1, -1, len(values)) + records
    header = struct.pack(">qiib", 0, 4 + 1 + 4 + len(after_crc), -1, 2)
    return header + struct.pack(">I", crc32c(after_crc)) + after_crc


def header(key, version, flexible, corr):
    w = W(False).i16(key).i16(version).i32(corr).string("fuzz-seed")
    if flexible:
        w.uvarint(0)
    return w


def produce(w, v, variant):
    w.string(None).i16([1, -1, 0][variant % 3]).i32(1000)
    w.array(1).string("seed").array(1).i32(0)
    w.bytes_(record_batch([b"hello", b"world"][: 1 + variant % 2])).tags()
    w.tags().tags()


def fetch(w, v, variant):
    w.i32(-1).i32(0).i32(1).i32(1 << 20).i8(0)
    if v >= 7:
        w.i32(0).i32(-1)
    w.array(1).string("seed").array(1).i32(0)
    if v >= 9:
        w.i32(-1)
    w.i64(variant)
    if v >= 12:
        w.i32(-1)
    if v >= 5:
        w.i64(-1)
    w.i32(1 << 20).tags().tags()
    if v >= 7:
        w.array(0)
    if v >= 11:
        w.string("")
    w.tags()


def list_offsets(w, v, variant):
    w.i32(-1)
    if v >= 2:
        w.i8(0)
    w.array(1).string("seed").array(1).i32(0)
    if v >= 4:
        w.i32(-1)
    w.i64([-1, -2, 0][variant % 3])
    if v == 0:
        w.i32(1)
    w.tags().tags().tags()


def metadata(w, v, variant):
    if variant == 0:
        w.array(-1 if v >= 1 else 0)
    else:
        w.array(1)
        if v >= 10:
            w.raw(bytes(16))
            w.string("seed")
        else:
            w.string("seed")
        w.tags()
    if v >= 4:
        w.i8(1)
    if 8 <= v <= 10:
        w.i8(0)
    if v >= 8:
        w.i8(0)
    w.tags()


def api_versions(w, v, variant):
    if v >= 3:
        w.string("eddy-fuzz").string("1.0").tags()


def create_topics(w, v, variant):
    w.array(1).string("seed%d" % variant).i32(-1 if variant == 0 else 2).i16(-1 if variant else 1)
    w.array(0)
    w.array(1).string("retention.ms").string("60000").tags()
    w.tags().i32(1000)
    if v >= 1:
        w.i8(variant % 2)
    w.tags()


def delete_topics(w, v, variant):
    w.array(1)
    if v >= 6:
        w.string("seed").raw(bytes(16)).tags()
    else:
        w.string("seed")
    w.i32(1000).tags()


def describe_configs(w, v, variant):
    w.array(1).i8(2 if variant == 0 else 4).string("seed" if variant == 0 else "0")
    if variant == 2:
        w.array(1).string("retention.ms")
    else:
        w.array(-1)
    w.tags()
    if v >= 1:
        w.i8(1)
    if v >= 3:
        w.i8(0)
    w.tags()


def alter_configs(w, v, variant):
    w.array(1).i8(2).string("seed").array(1).string("retention.ms").string("120000").tags().tags()
    w.i8(variant % 2).tags()


def create_partitions(w, v, variant):
    w.array(1).string("seed").i32(2 + variant).array(-1).tags().i32(1000).i8(variant % 2).tags()


def incremental_alter_configs(w, v, variant):
    w.array(1).i8(2).string("seed").array(1).string("cleanup.policy").i8(variant % 4)
    w.string("compact").tags().tags().i8(0).tags()


def describe_cluster(w, v, variant):
    w.i8(variant % 2)
    if v >= 1:
        w.i8(1)
    w.tags()


# Consumer protocol subscription v0 to the topic "seed".
SUBSCRIPTION = struct.pack(">hih", 0, 1, 4) + b"seed" + struct.pack(">i", -1)


def find_coordinator(w, v, variant):
    if v <= 3:
        w.string("seed-group")
    if v >= 1:
        w.i8(variant % 2)
    if v >= 4:
        w.array(1).string("seed-group")
    w.tags()


def join_group(w, v, variant):
    w.string("seed-group").i32(10000)
    if v >= 1:
        w.i32(20000)
    w.string("")
    if v >= 5:
        w.string("seed-instance" if variant == 1 else None)
    w.string("consumer").array(1).string("range").bytes_(SUBSCRIPTION).tags()
    if v >= 8:
        w.string(None)
    w.tags()


def sync_group(w, v, variant):
    w.string("seed-group").i32(1).string("seed-member")
    if v >= 3:
        w.string(None)
    if v >= 5:
        w.string("consumer").string("range")
    w.array(1).string("seed-member").bytes_(b"\0\0").tags().tags()


def heartbeat(w, v, variant):
    w.string("seed-group").i32(1).string("seed-member")
    if v >= 3:
        w.string(None)
    w.tags()


def leave_group(w, v, variant):
    w.string("seed-group")
    if v <= 2:
        w.string("seed-member")
    else:
        w.array(1).string("seed-member").string("seed-instance" if variant == 1 else None)
        if v >= 5:
            w.string(None)
        w.tags()
    w.tags()


def offset_commit(w, v, variant):
    w.string("seed-group")
    if v >= 1:
        w.i32(-1).string("")
    if v >= 7:
        w.string(None)
    if 2 <= v <= 4:
        w.i64(-1)
    w.array(1).string("seed").array(1).i32(0).i64(5)
    if v >= 6:
        w.i32(-1)
    if v == 1:
        w.i64(-1)
    w.string("meta").tags().tags().tags()


def offset_fetch(w, v, variant):
    def topics():
        if variant == 1 and v >= 2:
            w.array(-1)
        else:
            w.array(1).string("seed").array(1).i32(0).tags()
    if v <= 7:
        w.string("seed-group")
        topics()
    else:
        w.array(1).string("seed-group")
        topics()
        w.tags()
    if v >= 7:
        w.i8(0)
    w.tags()


def offset_delete(w, v, variant):
    w.string("seed-group").array(1).string("seed").array(1).i32(0)


def list_groups(w, v, variant):
    if v >= 4:
        w.array(1).string("Empty")
    w.tags()


def describe_groups(w, v, variant):
    w.array(1).string("seed-group")
    if v >= 3:
        w.i8(variant % 2)
    w.tags()


def delete_groups(w, v, variant):
    w.array(1).string("seed-group").tags()


BUILDERS = {8: offset_commit, 9: offset_fetch, 10: find_coordinator, 11: join_group,
            12: heartbeat, 13: leave_group, 14: sync_group, 15: describe_groups,
            16: list_groups, 42: delete_groups, 47: offset_delete,
            0: produce, 1: fetch, 2: list_offsets, 3: metadata, 18: api_versions,
            19: create_topics, 20: delete_topics, 32: describe_configs, 33: alter_configs,
            37: create_partitions, 44: incremental_alter_configs, 60: describe_cluster}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "request")
    os.makedirs(out, exist_ok=True)
    count = 0
    for key, (name, lo, hi, first_flexible) in APIS.items():
        for v in range(lo, hi + 1):
            flexible = v >= first_flexible
            for variant in range(3 if v in (lo, hi) else 1):
                w = header(key, v, flexible, corr=count)
                w.flex = flexible
                BUILDERS[key](w, v, variant)
                with open(os.path.join(out, "%s-v%d-%d" % (name, v, variant)), "wb") as f:
                    f.write(bytes(w.b))
                count += 1
    # The one unsupported request the broker answers.
    with open(os.path.join(out, "api_versions-unsupported"), "wb") as f:
        f.write(bytes(header(18, 99, False, corr=count).b))
    print("wrote %d seeds to %s" % (count + 1, out))


if __name__ == "__main__":
    main()

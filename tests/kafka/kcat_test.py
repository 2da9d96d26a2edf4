#!/usr/bin/python3
"""kcat (librdkafka 2.0.2) against Eddy: metadata, and 100k keyed records with headers per
codec produced and consumed byte-identical, then consumption from an offset and a timestamp.

usage: kcat_test.py --bootstrap HOST:PORT
"""
import argparse
import json
import os
import subprocess
import sys
import time

RECORDS = 100_000
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, finish  # noqa: E402


def kcat(bootstrap, *args, data=None, timeout=120):
    result = subprocess.run(["kcat", "-b", bootstrap, *args], input=data, capture_output=True,
                            timeout=timeout)
    if result.returncode != 0:
        print(result.stderr.decode(errors="replace"), file=sys.stderr)
    return result


def stored_codecs(topic):
    """Compression codecs of the batches in partition 0's first segment, read from disk."""
    import glob
    import os
    import struct
    paths = glob.glob(os.path.join(os.environ["EDDY_DATA_DIR"], "topics", f"{topic}-*", "0",
                                   "00000000000000000000.log"))
    if len(paths) != 1:
        return set()
    data = open(paths[0], "rb").read()
    codecs, pos = set(), 0
    while pos + 61 <= len(data):
        length = struct.unpack_from(">i", data, pos + 8)[0]
        attributes = struct.unpack_from(">h", data, pos + 21)[0]
        codecs.add(attributes & 7)
        pos += 12 + length
    return codecs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    bootstrap = parser.parse_args().bootstrap

    for codec in CODECS:
        topic = f"kcat-{codec}"
        lines = [f"key-{i % 997}\tvalue-{i}-{'x' * (i % 50)}" for i in range(RECORDS)]
        payload = ("\n".join(lines) + "\n").encode()
        started_ms = int(time.time() * 1000)
        produced = kcat(bootstrap, "-P", "-t", topic, "-K", "\t", "-z", codec, "-H", "h1=v1",
                        "-H", "trace=abc", "-X", "linger.ms=5", "-X", "batch.num.messages=2000",
                        data=payload)
        check(produced.returncode == 0, f"{codec}: kcat produce exits 0")
        consumed = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f",
                        "%k\t%s\t%h\t%o\n")
        check(consumed.returncode == 0, f"{codec}: kcat consume exits 0")
        rows = consumed.stdout.decode().splitlines()
        check(len(rows) == RECORDS, f"{codec}: consumed {len(rows)} of {RECORDS} records")
        for i, row in enumerate(rows):
            key, value, headers, offset = row.split("\t")
            if f"{key}\t{value}" != lines[i] or headers != "h1=v1,trace=abc" or int(offset) != i:
                check(False, f"{codec}: record {i} differs: {row!r} vs {lines[i]!r}")
        check(True, f"{codec}: all records byte-identical, in order, offsets 0..{RECORDS - 1}")

        from_offset = kcat(bootstrap, "-C", "-t", topic, "-o", str(RECORDS - 10), "-e", "-q",
                           "-f", "%o %s\n")
        got = from_offset.stdout.decode().splitlines()
        check(len(got) == 10 and got[0].startswith(f"{RECORDS - 10} value-{RECORDS - 10}-"),
              f"{codec}: consume from offset {RECORDS - 10}: {got[:1]}")

        by_time = kcat(bootstrap, "-C", "-t", topic, "-o", f"s@{started_ms - 60_000}", "-e",
                       "-q", "-f", "%o\n")
        offsets = by_time.stdout.decode().split()
        check(len(offsets) == RECORDS and offsets[0] == "0",
              f"{codec}: consume from a timestamp before the data starts at offset 0")
        future = kcat(bootstrap, "-C", "-t", topic, "-o", f"s@{int(time.time() * 1000) + 3_600_000}",
                      "-e", "-q", "-f", "%o\n")
        check(future.returncode == 0 and future.stdout.decode().split() == [],
              f"{codec}: consume from a future timestamp returns nothing")

    # A topic whose compression.type names a codec stores batches re-encoded with it,
    # whatever the producer sent; consumers see the same records.
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic("kcat-recompress", 1, 1,
                                            config={"compression.type": "zstd"})])
    futures["kcat-recompress"].result(timeout=30)
    lines = [f"k{i}\tv{i}" for i in range(1000)]
    produced = kcat(bootstrap, "-P", "-t", "kcat-recompress", "-K", "\t", "-z", "gzip",
                    data=("\n".join(lines) + "\n").encode())
    check(produced.returncode == 0, "recompress: produce gzip")
    consumed = kcat(bootstrap, "-C", "-t", "kcat-recompress", "-e", "-q", "-f", "%k\t%s\n")
    check(consumed.stdout.decode().splitlines() == lines, "recompress: records read back")
    codecs = stored_codecs("kcat-recompress")
    check(codecs and codecs == {4}, f"recompress: stored batches use zstd (codecs {codecs})")

    metadata = kcat(bootstrap, "-L", "-J")
    check(metadata.returncode == 0, "kcat -L -J exits 0")
    info = json.loads(metadata.stdout)
    check(len(info["brokers"]) == 1, "one broker")
    names = {t["topic"]: t for t in info["topics"]}
    for codec in CODECS:
        check(f"kcat-{codec}" in names, f"metadata lists kcat-{codec}")
        partitions = names[f"kcat-{codec}"]["partitions"]
        check(len(partitions) == 1 and partitions[0]["leader"] == 0, "partition 0 led by node 0")
    finish()


if __name__ == "__main__":
    main()

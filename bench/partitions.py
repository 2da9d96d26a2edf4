#!/usr/bin/python3
"""10,000 partitions on one server: memory, open files, and how long stops and starts take.

usage: bench/partitions.py EDDY_BINARY [--topics 100] [--partitions 100] [--rounds 3]

Creates TOPICS x PARTITIONS partitions through the Kafka admin API (each partition gets one
record, so every partition has a segment with data), then reports the server's RSS and open
file descriptors, the time a SIGTERM takes to a clean exit, the start-up time after that clean
stop, and the start-up time after a kill -9 (the recovery scan of every active segment). Each
stop/start figure is the median of ROUNDS alternating rounds. The comparison point is the same
server with a single partition, measured in the same run.
"""
import argparse
import os
import signal
import statistics
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
from eddy_server import Server  # noqa: E402


def fail(message):
    raise SystemExit(message)


def rss_and_fds(pid):
    with open(f"/proc/{pid}/status") as f:
        rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    return rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def fill(server, topics, partitions):
    admin = AdminClient({"bootstrap.servers": server.bootstrap})
    futures = admin.create_topics([NewTopic(f"t{i}", partitions, 1) for i in range(topics)],
                                  request_timeout=300)
    for f in futures.values():
        f.result(300)
    producer = Producer({"bootstrap.servers": server.bootstrap, "linger.ms": 20})
    for t in range(topics):
        for p in range(partitions):
            producer.produce(f"t{t}", value=b"x" * 100, partition=p)
        producer.poll(0)
    if producer.flush(300) != 0:
        fail("records were not acknowledged")


def timed_stop(server, sig):
    start = time.monotonic()
    code = server.stop(sig)
    elapsed = time.monotonic() - start
    if sig == signal.SIGTERM and code != 0:
        fail(f"eddy exited with {code}")
    return elapsed


def timed_start(server):
    start = time.monotonic()
    server.start()
    return time.monotonic() - start


def measure(binary, topics, partitions, rounds):
    server = Server(binary, fail=fail)
    try:
        server.start()
        fill(server, topics, partitions)
        rss, fds = rss_and_fds(server.process.pid)
        clean_stop, clean_start, unclean_start = [], [], []
        for _ in range(rounds):
            clean_stop.append(timed_stop(server, signal.SIGTERM))
            clean_start.append(timed_start(server))
            timed_stop(server, signal.SIGKILL)
            unclean_start.append(timed_start(server))
        timed_stop(server, signal.SIGTERM)
        return {"rss_mib": rss, "fds": fds, "clean_stop_s": statistics.median(clean_stop),
                "start_after_clean_s": statistics.median(clean_start),
                "start_after_kill_s": statistics.median(unclean_start)}
    finally:
        server.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--topics", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    many = measure(args.binary, args.topics, args.partitions, args.rounds)
    one = measure(args.binary, 1, 1, args.rounds)
    total = args.topics * args.partitions
    print(f"{'measurement':<28}{total:>10} partitions{1:>14} partition")
    for key, label in (("rss_mib", "RSS (MiB)"), ("fds", "open files"),
                       ("clean_stop_s", "SIGTERM to exit (s)"),
                       ("start_after_clean_s", "start after clean stop (s)"),
                       ("start_after_kill_s", "start after kill -9 (s)")):
        print(f"{label:<28}{many[key]:>21.2f}{one[key]:>24.2f}")


if __name__ == "__main__":
    main()

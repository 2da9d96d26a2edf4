"""Produce -> view-updated latency of a materialized view at a steady event rate.

Events (seq, JSON) are produced one by one at --rate events/s (acks=all, linger.ms=0) into a
one-partition table's topic for --seconds; a view keeps `max(seq)`. A second thread runs
`SELECT seq FROM latest` over the Postgres protocol in a loop and notes when each new value is
first seen. An event's latency is from its produce acknowledgement (the delivery report) to the
first query that shows it (a query showing a higher seq shows it too): what "a query sees a
result at most that long after its input was acknowledged" means. The produce round trip
itself (send -> acknowledgement) is printed next to it as the machine's own comparison point.

The first second of events is a warm-up and not counted. Several binaries (e.g. before and
after a change) are run alternately, --repeat times each, and
the medians of their percentiles are compared in the same run.

usage: view_latency.py BINARY [BINARY ...] [--rate N] [--seconds S] [--repeat R]
"""
import argparse
import os
import statistics
import sys
import threading
import time

import psycopg
from confluent_kafka import Producer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
import eddy_server  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def run_once(binary, rate, seconds):
    with eddy_server.Server(binary) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE ev (seq bigint) WITH (partitions = 1)")
            conn.execute("CREATE MATERIALIZED VIEW latest AS SELECT max(seq) AS seq FROM ev")
        acked = {}  # seq -> monotonic time of its acknowledgement
        sent = {}
        seen = []  # (monotonic time, seq) when a query first showed seq
        done = threading.Event()

        def watch():
            with psycopg.connect(server.dsn(), autocommit=True) as watcher:
                last = None
                while not done.is_set():
                    row = watcher.execute("SELECT seq FROM latest").fetchone()
                    now = time.monotonic()
                    if row and row[0] is not None and row[0] != last:
                        last = row[0]
                        seen.append((now, last))

        thread = threading.Thread(target=watch)
        thread.start()
        producer = Producer({"bootstrap.servers": server.bootstrap, "acks": "all",
                             "linger.ms": 0, "enable.idempotence": False})

        def delivered(err, msg, seq):
            if err is None:
                acked[seq] = time.monotonic()

        total = int(rate * seconds)
        start = time.monotonic()
        for seq in range(1, total + 1):
            due = start + seq / rate
            while time.monotonic() < due:
                producer.poll(0)
            sent[seq] = time.monotonic()
            producer.produce("ev", value=f'{{"seq": {seq}}}'.encode(),
                             on_delivery=lambda err, msg, s=seq: delivered(err, msg, s))
            producer.poll(0)
        producer.flush(30)
        deadline = time.monotonic() + 30
        while (not seen or seen[-1][1] < total) and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for the watcher to see the last event (bounded)
        done.set()
        thread.join()
        server.stop()
    # For each acknowledged event, the first sighting of a seq at or above it.
    # The first second warms up (connections, metadata, the view's first steps): not counted.
    warm = int(rate)
    latencies = []
    i = 0
    for seq in sorted(s for s in acked if s > warm):
        while i < len(seen) and seen[i][1] < seq:
            i += 1
        if i == len(seen):
            break
        latencies.append(max(0.0, seen[i][0] - acked[seq]) * 1000)
    round_trips = [(acked[s] - sent[s]) * 1000 for s in acked if s > warm]
    return {
        "events": total,
        "measured": len(latencies),
        "view p50": percentile(latencies, 50),
        "view p99": percentile(latencies, 99),
        "view max": max(latencies) if latencies else float("nan"),
        "ack p50": percentile(round_trips, 50),
        "ack p99": percentile(round_trips, 99),
        "queries": len(seen),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--rate", type=float, default=10000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {b: [] for b in args.binaries}
    for r in range(args.repeat):
        for binary in args.binaries:
            result = run_once(binary, args.rate, args.seconds)
            results[binary].append(result)
            print(f"run {r + 1} {binary}: " +
                  ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in result.items()), flush=True)
    print(f"\nmedians of {args.repeat} runs at {args.rate:.0f} events/s for {args.seconds:.0f} s "
          "(ms; view = acknowledgement -> first query showing the event):")
    print("| binary | view p50 | view p99 | produce ack p50 | produce ack p99 |")
    print("|---|---|---|---|---|")
    for binary, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("view p50", "view p99", "ack p50", "ack p99")}
        print(f"| {binary} | {med['view p50']:.2f} | {med['view p99']:.2f} | "
              f"{med['ack p50']:.2f} | {med['ack p99']:.2f} |")


if __name__ == "__main__":
    main()

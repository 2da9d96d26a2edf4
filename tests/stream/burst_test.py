#!/usr/bin/python3
"""A burst into a table's topic while a materialized view runs over it.

usage: burst_test.py EDDY_BINARY [SECONDS]   (default 30 s of producing)

Producers (confluent_kafka, acks=all, batching) write as fast as they can for SECONDS into a
4-partition table topic; a view counts and sums per key, another keeps a global count. During
the burst the server's memory is sampled; afterwards the test waits (bounded, polling the views)
until the views have caught up, then checks that no acknowledged record is missing or counted
twice: per-key counts and sums equal what the delivery reports acknowledged. The server's RSS
must stay bounded while records pour in faster than the views may fold them. Prints
"N passed, 0 failed" on success.
"""
import os
import sys
import threading
import time

import psycopg
from confluent_kafka import Producer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, finish  # noqa: E402
from eddy_server import Server  # noqa: E402
from proc_stats import peak_rss_bytes, reset_peak_rss, rss_bytes, sanitized  # noqa: E402

MIB = 1 << 20
KEYS = 1000
CATCH_UP_S = 180


def main():
    binary = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    with Server(binary, extra_args=["--num-partitions", "4"]) as server:
        server.start()
        conn = psycopg.connect(server.dsn(), autocommit=True)
        conn.execute("CREATE TABLE ev (k int, v int)")
        conn.execute("CREATE MATERIALIZED VIEW per_key AS "
                     "SELECT k, count(*) AS n, sum(v) AS total FROM ev GROUP BY k")
        conn.execute("CREATE MATERIALIZED VIEW everything AS SELECT count(*) AS n FROM ev")
        before = rss_bytes(server.process.pid)

        acked = [0] * KEYS          # acknowledged records per key
        acked_sum = [0] * KEYS      # and the sum of their v
        errors = []
        lock = threading.Lock()

        def delivered(err, msg):
            if err is not None:
                errors.append(err)
                return
            k, v = (int(x) for x in msg.key().decode().split(":"))
            with lock:
                acked[k] += 1
                acked_sum[k] += v

        def burst(worker):
            producer = Producer({"bootstrap.servers": f"127.0.0.1:{server.kafka_port}",
                                 "acks": "all", "linger.ms": 5, "batch.num.messages": 10000,
                                 "queue.buffering.max.messages": 200000, "log_level": 2})
            end = time.monotonic() + seconds
            i = worker
            while time.monotonic() < end:
                for _ in range(1000):
                    k, v = i % KEYS, i % 97
                    while True:
                        try:
                            producer.produce("ev", key=f"{k}:{v}".encode(),
                                             value=f'{{"k": {k}, "v": {v}}}'.encode(),
                                             on_delivery=delivered)
                            break
                        except BufferError:  # the local queue is full: let deliveries drain
                            producer.poll(0.05)
                    i += 2
                producer.poll(0)
            check(producer.flush(60) == 0, f"producer {worker} delivered everything")

        reset_peak_rss(server.process.pid)
        started = time.monotonic()
        producers = [threading.Thread(target=burst, args=(w,)) for w in range(2)]
        for t in producers:
            t.start()
        for t in producers:
            t.join()
        burst_s = time.monotonic() - started
        total = sum(acked)
        check(not errors, f"no delivery failed ({errors[:3]})")
        print(f"burst: {total} records in {burst_s:.1f} s ({total / burst_s:.0f}/s)")

        # The views catch up (each on its own): poll until both have counted what was
        # acknowledged.
        deadline = time.monotonic() + CATCH_UP_S
        while True:
            row = conn.execute("SELECT n FROM everything").fetchone()
            seen = row[0] if row else 0
            per_key_seen = conn.execute("SELECT sum(n) FROM per_key").fetchone()[0] or 0
            if seen >= total and per_key_seen >= total:
                break
            check(time.monotonic() < deadline,
                  f"the views caught up within {CATCH_UP_S} s ({seen} and {per_key_seen} of "
                  f"{total})")
            time.sleep(0.2)  # polling a condition, bounded by the deadline
        caught_up_s = time.monotonic() - started - burst_s
        eq(seen, total, "the global count equals the acknowledged records")
        rows = dict((k, (n, s)) for k, n, s in conn.execute("SELECT k, n, total FROM per_key"))
        missing = [k for k in range(KEYS) if rows.get(k, (0, 0)) != (acked[k], acked_sum[k])]
        check(not missing, f"per-key counts and sums exact ({len(missing)} keys differ, e.g. "
                           f"{[(k, rows.get(k), acked[k], acked_sum[k]) for k in missing[:3]]})")
        growth = peak_rss_bytes(server.process.pid) - before
        print(f"views caught up {caught_up_s:.1f} s after the burst; server RSS peak "
              f"+{growth / MIB:.0f} MiB")
        if not sanitized(binary):  # (a sanitizer's allocator keeps freed memory)
            check(growth < 768 * MIB,
                  f"memory bounded during the burst (+{growth / MIB:.0f} MiB)")
        conn.close()
        eq(server.stop(), 0, "clean stop")
    finish()


if __name__ == "__main__":
    main()

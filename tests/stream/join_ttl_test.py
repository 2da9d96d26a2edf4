#!/usr/bin/python3
"""WITH (state_ttl = ...) on a materialized view with a join of two streams, driven over Kafka
with explicit record timestamps: a stored row stops matching once the newest record timestamp
the join has seen is more than the TTL past its own, the same view without the option keeps
matching it, and that holds across a restart (the expired rows are deleted from the state, not
only skipped). Bad TTL values are 22023 and create nothing. Each phase waits until the views
have consumed every record (lag 0), so the order in which the join sees the records is the
order they were produced in.

usage: join_ttl_test.py EDDY_BINARY
"""
import json
import os
import sys
import time

import psycopg
from confluent_kafka import Producer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sql"))
import eddy_pg  # noqa: E402

BASE_MS = 1_800_000_000_000  # record timestamps, far from the wall clock on purpose
TTL_S = 10


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def produce(server, records):
    producer = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True})
    errors = []
    for topic, value, at_s in records:
        producer.produce(topic, value=json.dumps(value), timestamp=BASE_MS + at_s * 1000,
                         on_delivery=lambda err, _msg: err and errors.append(err))
    producer.flush(30)
    if errors or len(producer) != 0:
        fail(f"produce: {errors}")


def caught_up(server):
    deadline = time.monotonic() + 60
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            views = conn.execute("SHOW MATERIALIZED VIEWS").fetchall()
            if any(v[2] != "running" for v in views):
                fail(f"a view failed: {views}")
            if views and all(v[5] == 0 for v in views):
                return
            time.sleep(0.02)  # a polling interval, not a synchronization
    fail(f"views did not catch up: {views}")


def rows(server, view):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        return sorted(conn.execute(f"SELECT * FROM {view}").fetchall())


def expect(server, view, wanted, what):
    got = rows(server, view)
    if got != sorted(wanted):
        fail(f"{what}: {view} has {got}, expected {sorted(wanted)}")


def main():
    binary = sys.argv[1]
    with eddy_pg.Server(binary) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE l (k int, v text) WITH (topic = 'l', format = 'json')")
            conn.execute("CREATE TABLE r (k int, w text) WITH (topic = 'r', format = 'json')")
            select = "SELECT l.k, l.v, r.w FROM l JOIN r ON l.k = r.k"
            conn.execute(f"CREATE MATERIALIZED VIEW ttl WITH (state_ttl = '{TTL_S} seconds') "
                         f"AS {select}")
            conn.execute(f"CREATE MATERIALIZED VIEW keep AS {select}")
            for bad in ("'1 month'", "'-5 seconds'", "'soon'", "'0 seconds'"):
                try:
                    conn.execute(f"CREATE MATERIALIZED VIEW bad WITH (state_ttl = {bad}) AS "
                                 f"{select}")
                    fail(f"state_ttl = {bad} was accepted")
                except psycopg.Error as e:
                    if e.sqlstate != "22023":
                        fail(f"state_ttl = {bad}: {e.sqlstate} {e}")
            names = sorted(v[0] for v in conn.execute("SHOW MATERIALIZED VIEWS").fetchall())
            if names != ["keep", "ttl"]:
                fail(f"a refused view was created: {names}")

        # t=0: a and b on the left; a right row for `a` within the TTL matches it.
        produce(server, [("l", {"k": 1, "v": "a"}, 0), ("l", {"k": 2, "v": "b"}, 0)])
        caught_up(server)
        produce(server, [("r", {"k": 1, "w": "a@5"}, 5)])
        caught_up(server)
        expect(server, "ttl", [(1, "a", "a@5")], "within the TTL")
        # t=30: the left rows are 30 s old; a right row for `b` no longer matches b.
        produce(server, [("r", {"k": 2, "w": "b@30"}, 30)])
        caught_up(server)
        expect(server, "ttl", [(1, "a", "a@5")], "past the TTL")
        expect(server, "keep", [(1, "a", "a@5"), (2, "b", "b@30")], "without a TTL")
        # A fresh left row for 2 matches the fresh right row, not the expired r a@5 (25 s old).
        produce(server, [("l", {"k": 2, "v": "c"}, 31), ("l", {"k": 1, "v": "d"}, 32)])
        caught_up(server)
        expect(server, "ttl", [(1, "a", "a@5"), (2, "c", "b@30")], "fresh rows")
        expect(server, "keep", [(1, "a", "a@5"), (1, "d", "a@5"), (2, "b", "b@30"),
                                (2, "c", "b@30")], "fresh rows without a TTL")

        # After a restart the expired rows are still gone (the horizon is found again from
        # the new records; the rows were deleted, or are swept at the first checkpoint).
        server.stop()
        server.start()
        produce(server, [("r", {"k": 1, "w": "a@60"}, 60), ("l", {"k": 9, "v": "z"}, 60)])
        caught_up(server)
        expect(server, "ttl", [(1, "a", "a@5"), (2, "c", "b@30")], "after a restart")
        expect(server, "keep", [(1, "a", "a@5"), (1, "a", "a@60"), (1, "d", "a@5"),
                                (1, "d", "a@60"), (2, "b", "b@30"), (2, "c", "b@30")],
               "after a restart without a TTL")
        produce(server, [("l", {"k": 1, "v": "e"}, 61)])
        caught_up(server)
        expect(server, "ttl", [(1, "a", "a@5"), (1, "e", "a@60"), (2, "c", "b@30")],
               "a fresh pair after the restart")
        server.stop()
    print("ok")


if __name__ == "__main__":
    main()

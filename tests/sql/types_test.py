#!/usr/bin/python3
"""Date/time types through psycopg 3 against the real binary: date, timestamp, timestamptz and
interval values round-trip as Python objects (text and binary parameters and results), through
a table over a topic (INSERT and JSON lines from kcat), and a materialized view grouping by
date_trunc('minute', ts) that must equal a computation in Python. Waits poll with a deadline.

usage: types_test.py EDDY_BINARY
"""
import datetime as dt
import os
import subprocess
import sys
import time

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eddy_pg import Server  # noqa: E402

CATCH_UP_S = 90
UTC = dt.timezone.utc


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def round_trips(conn):
    values = (dt.date(2024, 2, 29), dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
              dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),
              dt.timedelta(days=-3, hours=4, microseconds=7), dt.date(1, 1, 1),
              dt.datetime(9999, 12, 31, 23, 59, 59, 999999))
    for binary in (False, True):
        cur = conn.cursor(binary=binary)
        row = cur.execute("SELECT %s, %s, %s, %s, %s, %s", values).fetchone()
        check(row == values, f"round trip (binary={binary}): {row}")
        row = cur.execute(
            "SELECT %s + 1, %s + interval '1 day', %s - %s, %s * 2",
            (values[0], values[1], values[2], values[1].replace(tzinfo=UTC), values[3])).fetchone()
        check(row == (dt.date(2024, 3, 1), dt.datetime(2024, 1, 3, 3, 4, 5, 678901),
                      dt.timedelta(microseconds=-178901), values[3] * 2),
              f"arithmetic (binary={binary}): {row}")
        row = cur.execute("SELECT date '2024-01-01', timestamp '2024-01-01 10:00', "
                          "timestamptz '2024-01-01 10:00+02', interval '1 mon 2 days 03:00'"
                          ).fetchone()
        check(row == (dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 10),
                      dt.datetime(2024, 1, 1, 8, tzinfo=UTC),
                      dt.timedelta(days=32, hours=3)), f"literals (binary={binary}): {row}")
    now = conn.execute("SELECT now(), current_date").fetchone()
    wall = dt.datetime.now(UTC)
    check(abs((wall - now[0]).total_seconds()) < 60 and now[1] == now[0].date(), f"now: {now}")


def json_round_trips(conn):
    doc = {"b": [1, 2.5, None], "a": {"nested": "x\ny"}, "é": True}
    for binary in (False, True):
        cur = conn.cursor(binary=binary)
        row = cur.execute("SELECT %s, %s -> 'b' -> 1, %s ->> 'é', %s::text", (Jsonb(doc),) * 4
                          ).fetchone()
        check(row == (doc, 2.5, "true", '{"a": {"nested": "x\\ny"}, "b": [1, 2.5, null], "é": true}'),
              f"jsonb (binary={binary}): {row}")


def json_view(conn, server):
    conn.execute("CREATE TABLE events (id bigint, payload jsonb) "
                 "WITH (topic = 'events', format = 'json')")
    kinds = ["click", "view", "buy"]
    events = [(i, {"kind": kinds[i % 3], "n": i, "tags": ["t"] * (i % 2)}) for i in range(30)]
    lines = "".join(f'{{"id": {i}, "payload": {{"n": {p["n"]}, "kind": "{p["kind"]}", '
                    f'"tags": {p["tags"]}}}}}\n'.replace("'", '"') for i, p in events[:20])
    subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", "events", "-P",
                    "-X", "acks=all"], input=lines.encode(), check=True, timeout=60)
    conn.execute("CREATE MATERIALIZED VIEW per_kind AS SELECT payload ->> 'kind' AS kind, "
                 "count(*) AS n, sum((payload -> 'n')::int) AS total, "
                 "jsonb_build_object('kind', payload ->> 'kind') AS k FROM events "
                 "GROUP BY payload ->> 'kind'")
    for i, p in events[20:]:
        conn.execute("INSERT INTO events VALUES (%s, %s)", (i, Jsonb(p)))
    rows = conn.execute("SELECT id, payload FROM events ORDER BY id").fetchall()
    check(rows == events, f"jsonb rows: {rows[:3]}")
    expected = sorted((k, sum(1 for _, p in events if p["kind"] == k),
                       sum(p["n"] for _, p in events if p["kind"] == k), {"kind": k})
                      for k in kinds)
    deadline = time.monotonic() + CATCH_UP_S
    got = None
    while time.monotonic() < deadline:
        got = conn.execute("SELECT kind, n, total, k FROM per_kind ORDER BY kind").fetchall()
        if got == expected:
            break
    check(got == expected, f"jsonb view: {got} != {expected}")


def bytea_headers_string_agg(conn, server):
    for binary in (False, True):
        cur = conn.cursor(binary=binary)
        row = cur.execute("SELECT %s, %s || '\\x00'::bytea, length(%s)",
                          (b"\x00\xffab", b"", b"xyz")).fetchone()
        check(row == (b"\x00\xffab", b"\x00", 3), f"bytea (binary={binary}): {row}")
    conn.execute("CREATE TABLE blobs (name text, data bytea) WITH (topic = 'blobs', format = 'json')")
    lines = '{"name": "a", "data": "\\\\x0102"}\n{"name": "b", "data": "plain"}\n'
    subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", "blobs", "-P",
                    "-H", "trace=t1", "-H", "empty=", "-X", "acks=all"],
                   input=lines.encode(), check=True, timeout=60)
    conn.execute("INSERT INTO blobs VALUES (%s, %s)", ("c", b"\xfe"))
    rows = conn.execute("SELECT name, data, _headers FROM blobs ORDER BY name").fetchall()
    headers = [{"key": "trace", "value": "t1"}, {"key": "empty", "value": ""}]
    check(rows == [("a", b"\x01\x02", headers), ("b", b"plain", headers), ("c", b"\xfe", [])],
          f"bytea table: {rows}")
    row = conn.execute("SELECT string_agg(name, '+'), string_agg(_headers ->> 0, '|') "
                       "FROM blobs WHERE name < 'c'").fetchone()
    check(row in (("a+b", '{"key": "trace", "value": "t1"}|{"key": "trace", "value": "t1"}'),),
          f"string_agg: {row}")
    conn.execute("CREATE MATERIALIZED VIEW names AS SELECT length(data) AS len, "
                 "string_agg(name, ',') AS names, count(*) AS n FROM blobs GROUP BY length(data)")
    conn.execute("INSERT INTO blobs VALUES (%s, %s)", ("d", b"\x00\x00"))
    deadline = time.monotonic() + CATCH_UP_S
    got = None
    while time.monotonic() < deadline:
        got = conn.execute("SELECT len, names, n FROM names ORDER BY len").fetchall()
        if len(got) == 3 and sum(r[2] for r in got) == 4:
            break
    got = [(length, ",".join(sorted(names.split(","))), n) for length, names, n in got]
    check(got == [(1, "c", 1), (2, "a,d", 2), (5, "b", 1)], f"string_agg view: {got}")


def expected_minutes(events):
    groups = {}
    for ts, ms in events:
        minute = ts.replace(second=0, microsecond=0)
        n, total = groups.get(minute, (0, 0))
        groups[minute] = (n + 1, total + ms)
    return sorted((m, n, total) for m, (n, total) in groups.items())


def main():
    with Server(sys.argv[1]) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            round_trips(conn)
            json_round_trips(conn)
            json_view(conn, server)
            bytea_headers_string_agg(conn, server)
            conn.execute("CREATE TABLE visits (ts timestamp, day date, took interval, ms bigint) "
                         "WITH (topic = 'visits', format = 'json')")
            base = dt.datetime(2024, 5, 17, 10, 0, 0)
            events = [(base + dt.timedelta(seconds=7 * i, microseconds=i), i) for i in range(40)]
            lines = "".join(
                f'{{"ts": "{ts.isoformat()}", "day": "{ts.date()}", "took": "{ms} seconds", '
                f'"ms": {ms}}}\n' for ts, ms in events[:30])
            subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", "visits", "-P",
                            "-X", "acks=all"], input=lines.encode(), check=True, timeout=60)
            for ts, ms in events[30:]:
                conn.execute("INSERT INTO visits VALUES (%s, %s, %s, %s)",
                             (ts, ts.date(), dt.timedelta(seconds=ms), ms))
            rows = conn.execute("SELECT ts, day, took FROM visits ORDER BY ts").fetchall()
            check(rows == [(ts, ts.date(), dt.timedelta(seconds=ms)) for ts, ms in events],
                  f"table rows: {rows[:3]}")
            conn.execute("CREATE MATERIALIZED VIEW per_minute AS SELECT date_trunc('minute', ts) "
                         "AS minute, count(*) AS n, sum(ms) AS total FROM visits "
                         "GROUP BY date_trunc('minute', ts)")
            more = [(base + dt.timedelta(minutes=3, seconds=i), 100 + i) for i in range(5)]
            for ts, ms in more:
                conn.execute("INSERT INTO visits VALUES (%s, %s, %s, %s)",
                             (ts, ts.date(), dt.timedelta(milliseconds=ms), ms))
            expected = expected_minutes(events + more)
            deadline = time.monotonic() + CATCH_UP_S
            rows = None
            while time.monotonic() < deadline:
                rows = conn.execute("SELECT minute, n, total FROM per_minute ORDER BY minute"
                                    ).fetchall()
                if rows == expected:
                    break
            check(rows == expected, f"view: {rows} != {expected}")
        server.stop()
        print("types: ok")
        return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The PostgreSQL listener under hostile or heavy input, against the real binary: statements
nested deeper than any stack (operator chains, parentheses) answer 54001 and the server stays up;
deep but reasonable ones (2,000 terms) run; a short statement does not wait behind long scans in
other sessions, and those scans can be canceled while they run.

usage: hostile_test.py EDDY_BINARY
"""
import os
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sql"))
from eddy_pg import Server  # noqa: E402
from pg_script import Connection, parse_fields  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, passed  # noqa: E402



def sqlstate_of(conn, sql):
    try:
        conn.execute(sql)
        return None
    except psycopg.Error as e:
        return e.sqlstate


def deep_statements(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for terms in (2_000, 5_000):
            got = conn.execute("SELECT " + "+".join(["1"] * terms)).fetchone()[0]
            check(got == terms, f"{terms} terms of 1+1+...: {got}")
            got = conn.execute("SELECT " + "||".join(["'a'"] * terms)).fetchone()[0]
            check(got == "a" * terms, f"{terms} terms of 'a'||'a'||...")
        for sql, what in (("SELECT " + "+".join(["1"] * 100_000), "100,000 terms"),
                          ("SELECT " + "||".join(["'a'"] * 100_000), "100,000 concatenations"),
                          ("SELECT " + "(" * 100_000 + "1" + ")" * 100_000, "100,000 parentheses"),
                          ("SELECT " + "- " * 50_000 + "1", "50,000 unary minus"),
                          ("SELECT 1 WHERE " + "NOT " * 40_000 + "true",
                           "40,000 NOTs")):
            state = sqlstate_of(conn, sql)
            check(state == "54001", f"{what}: 54001 statement too complex (got {state})")
        check(conn.execute("SELECT 1").fetchone()[0] == 1, "the session still works")
        # Wide but flat statements are not mistaken for deep ones.
        wide = "SELECT 1 WHERE " + " OR ".join(f"{i} = {i + 1}" for i in range(20_000)) + " OR true"
        check(conn.execute(wide).fetchone()[0] == 1, "20,000 ORed conditions run")
        many = "SELECT 7 IN (" + ", ".join(str(i) for i in range(50_000)) + ")"
        check(conn.execute(many).fetchone()[0] is True, "an IN list of 50,000 runs")


def short_beside_long(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE n (i int)")
        with conn.cursor().copy("COPY n FROM STDIN") as copy:
            for i in range(300):
                copy.write(f"{i}\n")
    long_sql = "SELECT count(*) FROM n a, n b, n c"  # 27 M combinations: seconds of work
    sessions = [psycopg.connect(server.dsn(), autocommit=True) for _ in range(3)]
    outcomes = [None] * len(sessions)

    def scan(i):
        try:
            sessions[i].execute(long_sql)
            outcomes[i] = "finished"
        except psycopg.errors.QueryCanceled:
            outcomes[i] = "canceled"
        except psycopg.Error as e:
            outcomes[i] = f"error {e.sqlstate}"

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as probe:
            # Probe for 1.5 s after the scans were sent: every probe overlaps them (each scan
            # runs for seconds, which the outcomes still being None afterwards confirms).
            slowest = 0.0
            probes = 0
            window_end = time.monotonic() + 1.5
            while time.monotonic() < window_end:
                started = time.monotonic()
                check(probe.execute("SELECT 1").fetchone()[0] == 1, "SELECT 1 beside three scans")
                slowest = max(slowest, time.monotonic() - started)
                probes += 1
            still_running = sum(o is None for o in outcomes)
            check(slowest < 1.0, f"SELECT 1 answered within {slowest:.3f} s ({probes} probes)")
            check(still_running == 3, f"the three scans were still running ({outcomes})")
    finally:
        for s in sessions:
            s.cancel()
        for t in threads:
            t.join(timeout=60)
        for s in sessions:
            s.close()
    check(outcomes == ["canceled"] * 3, f"running scans are canceled: {outcomes}")


def invalid_utf8(server):
    """Statement text that is not UTF-8 (the client encoding) is refused with 22021, as
    PostgreSQL refuses it, before anything reads it (the fuzzer found a crash behind it)."""
    conn = Connection("127.0.0.1", server.pg_port)
    for sql in (b"SELECT rpad('i', 5, '\xbd\xa9')", b"SELECT 'caf\xe9'", b"SELECT '\xc3'"):
        conn.send(b"Q", sql + b"\0")
        lines = []
        while True:
            kind, payload = conn.read_message()
            if kind == b"E":
                lines.append(parse_fields(payload).get("C"))
            if kind == b"Z":
                break
        check(lines == ["22021"], f"{sql!r}: 22021 ({lines})")
    check(conn.run("SELECT 'ok'")[-2:] == ["ok", "-- SELECT 1"], "the session still works")
    conn.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with Server(sys.argv[1]) as server:
        server.start()
        deep_statements(server)
        short_beside_long(server)
        invalid_utf8(server)
        check(server.process.poll() is None, "the server is still up")
        server.stop()
    print(f"{passed()} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

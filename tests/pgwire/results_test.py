#!/usr/bin/python3
"""Large results over the real listener: rows stream to the client as they are made (the server's
memory does not grow with the result, in the simple and the extended protocol, however slowly
the client reads), a cancel after rows began to flow stops the statement, a client that leaves
in the middle of a result frees its statement, and so does one that stops reading for
--pg-stall-timeout-ms (its connection closes), work_mem bounds what a query holds (53200, a
clear message, no crash), ORDER BY ... LIMIT keeps only the top rows, and memory a query held
goes back to the system when it ends.

usage: results_test.py EDDY_BINARY
"""
import socket
import struct
import sys
import time

import psycopg

from result_fixtures import (MiB, Connection, Server, check, load_big, parse_fields, passed,
                             peak_rss_bytes, reset_peak_rss, rss_bytes, sanitized)

ROWS = 400_000
# Resident-memory bounds are checked only without a sanitizer (set in main()).
MEMORY_BOUNDS = True


class Memory:
    """The server's resident memory: now, and its peak since reset_peak()."""

    def __init__(self, pid):
        self.pid = pid

    def rss(self):
        return rss_bytes(self.pid)

    def reset_peak(self):
        reset_peak_rss(self.pid)

    def peak(self):
        return peak_rss_bytes(self.pid)


def load(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        check(load_big(conn, ROWS) == ROWS, "rows loaded")


def read_until(conn, kinds):
    """Reads messages until one of `kinds`; returns (kind, payload, data rows seen before)."""
    rows = 0
    while True:
        kind, payload = conn.read_message()
        if kind == b"D":
            rows += 1
        if kind in kinds:
            return kind, payload, rows


def slow_simple_read(server, memory):
    """The simple protocol, read slowly: the server holds a few chunks, not the result."""
    conn = Connection("127.0.0.1", server.pg_port)
    before = memory.rss()
    memory.reset_peak()
    conn.send(b"Q", b"SELECT id, pad FROM big\0")
    kind, _, _ = read_until(conn, (b"T",))
    rows, received, started = 0, 0, time.monotonic()
    ids_ok = True
    while True:
        kind, payload = conn.read_message()
        if kind == b"D":
            rows += 1
            received += len(payload)
            if rows % 2_000 == 0 and time.monotonic() - started < 3:
                time.sleep(0.02)  # a slow reader for the first seconds (pacing, not waiting)
            if rows <= 3:
                ids_ok = ids_ok and payload[6:6 + len(str(rows - 1))] == str(rows - 1).encode()
        elif kind == b"C":
            check(payload.rstrip(b"\0") == f"SELECT {ROWS}".encode(), f"tag {payload!r}")
        elif kind == b"Z":
            break
        elif kind == b"E":
            raise AssertionError(f"error while streaming: {parse_fields(payload)}")
    conn.close()
    growth = memory.peak() - before
    check(rows == ROWS, f"every row arrived ({rows})")
    check(ids_ok, "rows come in table order")
    check(received > 80 * MiB, f"the result is large ({received / MiB:.0f} MiB)")
    check(not MEMORY_BOUNDS or growth < 40 * MiB,
          f"server memory grew by {growth / MiB:.1f} MiB for a {received / MiB:.0f} MiB result")
    print(f"simple protocol: {received / MiB:.0f} MiB result, server peak +{growth / MiB:.1f} MiB")


def extended_read(server, memory):
    """The extended protocol (psycopg) streams too."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        before = memory.rss()
        memory.reset_peak()
        count, total = 0, 0
        with conn.cursor() as cur:
            cur.execute("SELECT id, pad FROM big WHERE id >= %s", (0,))
            while True:
                batch = cur.fetchmany(50_000)
                if not batch:
                    break
                count += len(batch)
                total += sum(r[0] for r in batch)
        growth = memory.peak() - before
        check(count == ROWS and total == ROWS * (ROWS - 1) // 2, f"extended: {count} rows")
        # psycopg keeps the whole result client-side, so only the server's growth is measured.
        check(not MEMORY_BOUNDS or growth < 40 * MiB,
              f"extended protocol: server memory grew by {growth / MiB:.1f} MiB")
        print(f"extended protocol: server peak +{growth / MiB:.1f} MiB")
        # A portal run to completion answers no more rows.
        got = conn.execute("SELECT id FROM big WHERE id % 100000 = 0").fetchall()
        check(sorted(r[0] for r in got) == [0, 100000, 200000, 300000], f"filter: {got}")


def cancel_after_rows_flow(server):
    conn = Connection("127.0.0.1", server.pg_port)
    check(conn.backend_key is not None, "BackendKeyData arrived")
    conn.send(b"Q", b"SELECT id, pad FROM big\0")
    read_until(conn, (b"D",))
    # The client reads nothing more: the statement fills what it may hand over and waits.
    pid, secret = conn.backend_key
    with socket.create_connection(("127.0.0.1", server.pg_port)) as canceler:
        canceler.sendall(struct.pack("!iiii", 16, 80877102, pid, secret))
        canceler.recv(1)  # the server closes a cancel connection without answering
    kind, payload, rows = read_until(conn, (b"E", b"C"))
    check(kind == b"E", "the statement ended with an error, not CommandComplete")
    fields = parse_fields(payload)
    check(fields.get("C") == "57014", f"57014 query_canceled: {fields}")
    check(rows + 1 < ROWS, f"the cancel stopped the result ({rows + 1} of {ROWS} rows sent)")
    read_until(conn, (b"Z",))
    lines = conn.run("SELECT count(*) FROM big")
    check(lines[-2:] == [str(ROWS), "-- SELECT 1"], f"the session still works: {lines}")
    conn.close()
    print(f"cancel: stopped after {rows + 1} rows")


def client_leaves_mid_result(server):
    for _ in range(3):
        conn = Connection("127.0.0.1", server.pg_port)
        conn.send(b"Q", b"SELECT id, pad FROM big\0")
        read_until(conn, (b"D",))
        conn.sock.close()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        check(conn.execute("SELECT 1").fetchone()[0] == 1, "the server serves after leavers")


def reader_that_stops(server):
    """A client that reads none of its results for --pg-stall-timeout-ms loses its connection,
    and its statement ends (its query thread is free again)."""
    conn = Connection("127.0.0.1", server.pg_port)
    conn.send(b"Q", b"SELECT id, pad FROM big\0")
    read_until(conn, (b"D",))
    deadline = time.monotonic() + 60
    while "read none of its results" not in server.log_since_start():
        check(time.monotonic() < deadline, "the server noticed the stalled reader")
        time.sleep(0.05)  # polling the log for the condition, bounded by the deadline
    kinds = set()
    try:
        while True:
            kind, _ = conn.read_message()
            kinds.add(kind)
    except Exception:  # noqa: BLE001 (the server closed the connection: what is checked)
        pass
    check(b"C" not in kinds and b"Z" not in kinds, "the stalled result was cut off")
    conn.sock.close()
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        check(c.execute("SELECT count(*) FROM big").fetchone()[0] == ROWS, "others are served")


def error_after_rows(server):
    """An error in the middle of a streamed result reaches the client after the rows before it,
    as PostgreSQL sends it."""
    conn = Connection("127.0.0.1", server.pg_port)
    lines = conn.run("SELECT 10 / (1000 - id) FROM big")
    check(lines[0].startswith("columns:"), f"RowDescription first: {lines[:2]}")
    check(any(line.startswith("ERROR:  22012") for line in lines), "22012 after the rows")
    # (The error has no position: it arose while the statement ran, as in PostgreSQL.)
    check(len(lines) == 1 + 1000 + 1, f"1000 rows, then the error ({len(lines)} lines)")
    check(not any(line.startswith("POSITION") for line in lines), "no position for a run error")
    conn.close()


def work_mem(server, memory):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        check(conn.execute("SHOW work_mem").fetchone()[0] == "1GB", "default work_mem")
        conn.execute("SET work_mem = '1024kB'")
        check(conn.execute("SHOW work_mem").fetchone()[0] == "1MB", "work_mem is normalized")
        for sql, part in (("SELECT pad FROM big ORDER BY pad DESC", "the sort"),
                          ("SELECT id, count(*) FROM big GROUP BY id", "GROUP BY"),
                          ("SELECT DISTINCT pad FROM big", "DISTINCT"),
                          ("SELECT a.id FROM big a JOIN big b ON a.id = b.id", "the hash join"),
                          ("COPY (SELECT pad FROM big ORDER BY id DESC) TO STDOUT", "the sort")):
            try:
                if sql.startswith("COPY"):
                    with conn.cursor().copy(sql) as copy:
                        for _ in copy:
                            pass
                else:
                    conn.execute(sql).fetchall()
                raise AssertionError(f"{sql}: ran within work_mem 1MB")
            except psycopg.errors.OutOfMemory as e:
                message = e.diag.message_primary or ""
                check(part in message and "work_mem (1MB)" in message, f"{sql}: {message}")
                check("work_mem" in (e.diag.message_hint or ""), f"{sql}: a hint")
        # Top-N keeps only what LIMIT can send: it fits in 1MB and answers like a full sort.
        got = [r[0] for r in conn.execute(
            "SELECT id FROM big ORDER BY pad DESC LIMIT 5 OFFSET 2").fetchall()]
        check(got == [ROWS - 3 - i for i in range(5)], f"ORDER BY ... LIMIT under 1MB: {got}")
        # Only distinct values are held, not every duplicate seen.
        got = sorted(r[0] for r in conn.execute("SELECT DISTINCT id % 3 FROM big").fetchall())
        check(got == [0, 1, 2], f"DISTINCT over 400k rows of 3 values under 1MB: {got}")
        # Streaming needs no work_mem at all.
        check(conn.execute("SELECT count(*) FROM big WHERE pad <> ''").fetchone()[0] == ROWS,
              "a scan under 1MB")
        check(len(conn.execute("SELECT * FROM big").fetchall()) == ROWS, "a full read under 1MB")
        for bad in ("'abc'", "'10 parsecs'", "'1kB'", "'99999999999GB'"):
            state = None
            try:
                conn.execute(f"SET work_mem = {bad}")
            except psycopg.Error as e:
                state = e.sqlstate
            check(state == "22023", f"SET work_mem = {bad}: 22023 (got {state})")
        check(conn.execute("SHOW work_mem").fetchone()[0] == "1MB", "a refused SET changes nothing")
        conn.execute("RESET work_mem")
        check(conn.execute("SHOW work_mem").fetchone()[0] == "1GB", "RESET work_mem")

        # With the default, the GROUP BY runs; what it held goes back to the system.
        before = memory.rss()
        memory.reset_peak()
        groups = conn.execute("SELECT id % 7, count(*), sum(id) FROM big GROUP BY id").fetchall()
        check(len(groups) == ROWS, f"{len(groups)} groups")
        peak, after = memory.peak() - before, memory.rss() - before
        if MEMORY_BOUNDS:
            check(peak > 60 * MiB, f"the GROUP BY held memory ({peak / MiB:.0f} MiB)")
            check(after < peak / 4,
                  f"memory returned: +{after / MiB:.0f} MiB of +{peak / MiB:.0f}")
        print(f"GROUP BY of {ROWS} groups: peak +{peak / MiB:.0f} MiB, "
              f"afterwards {after / MiB:+.0f} MiB")


def main():
    global MEMORY_BOUNDS
    MEMORY_BOUNDS = not sanitized(sys.argv[1])
    with Server(sys.argv[1], extra_args=["--pg-stall-timeout-ms", "3000"]) as server:
        server.start()
        memory = Memory(server.process.pid)
        load(server)
        slow_simple_read(server, memory)
        extended_read(server, memory)
        cancel_after_rows_flow(server)
        client_leaves_mid_result(server)
        reader_that_stops(server)
        error_after_rows(server)
        work_mem(server, memory)
        check(server.stop() == 0, "clean stop (no statement left waiting on a client)")
    print(f"results_test: {passed()} checks passed")


if __name__ == "__main__":
    main()

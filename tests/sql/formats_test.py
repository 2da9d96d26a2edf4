#!/usr/bin/python3
"""Table formats and COPY against the real binary:

- psycopg 3 `cursor.copy()` into json, csv and text tables (row by row and raw CSV, more than
  one 1 MiB chunk), checked with bounded SELECTs against what the test sent;
- COPY that fails (CopyFail from an exception in the `with` block, a bad line near the end,
  more than the 64 MiB limit) leaves the topic's end offset where it was;
- COPY ... TO STDOUT read back through psycopg;
- COPY in and out through the extended query protocol, spoken by hand as libpq does;
- kcat producing CSV lines (some bad) into a csv table that a materialized view aggregates,
  compared with a brute-force computation; the bad lines land in the dead-letter topic;
- a text table over lines that are not valid UTF-8;
- JSON records a table must refuse rather than change (1.5 into bigint, \u0000 into text,
  invalid UTF-8 inside a JSON string), each skipped with its reason in the dead-letter topic;
- a 5 MB bad record, larger than the dead-letter topic takes: its dead letter is cut to fit and
  says so, and the view carries on.

usage: formats_test.py EDDY_BINARY
"""
import decimal
import json
import os
import socket
import struct
import subprocess
import sys
import time

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eddy_pg import Server  # noqa: E402

CATCH_UP_S = 90


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def end_offset(conn, table):
    """Records stored in the table's topic (one partition here): the next offset."""
    row = conn.execute(f"SELECT count(*), max(_offset) FROM {table}").fetchone()
    return -1 if row[1] is None else row[1] + 1


def expect_error(fn, sqlstate, what):
    try:
        fn()
    except psycopg.Error as e:
        check(e.sqlstate == sqlstate, f"{what}: SQLSTATE {e.sqlstate} ({e}), wanted {sqlstate}")
        return e
    raise AssertionError(f"{what}: no error")


def copy_rows(conn, server):
    conn.execute("CREATE TABLE items (id bigint, name text, price numeric, seen timestamptz) "
                 "WITH (format = 'csv')")
    rows = [(i, f"item {i}, \"q\"\t\\" if i % 5 == 0 else f"n{i}",
             decimal.Decimal(i) / 100 if i % 7 else None, None) for i in range(40000)]
    with conn.cursor() as cur:
        with cur.copy("COPY items (id, name, price, seen) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        check(cur.rowcount == len(rows), f"COPY tag rowcount {cur.rowcount}")
    got = conn.execute("SELECT id, name, price FROM items ORDER BY id").fetchall()
    check(got == [(i, n, p) for i, n, p, _ in rows], "items differ from what COPY sent")
    total = conn.execute("SELECT count(*), sum(price), count(price) FROM items").fetchone()
    want_sum = sum(p for _, _, p, _ in rows if p is not None)
    check(total == (len(rows), want_sum, sum(1 for r in rows if r[2] is not None)),
          f"aggregate {total}")

    # Raw CSV written in pieces that split lines (and a quoted line break) anywhere.
    data = "".join(f'{i},"multi\nline {i}",{i}.5,2024-01-0{1 + i % 9} 00:00:00+00\n'
                   for i in range(100000, 100500))
    with conn.cursor() as cur:
        with cur.copy("COPY items FROM STDIN (FORMAT csv)") as copy:
            for at in range(0, len(data), 777):
                copy.write(data[at:at + 777])
    got = conn.execute("SELECT count(*), min(name), max(seen) FROM items "
                       "WHERE id >= 100000").fetchone()
    check(got[0] == 500 and got[1] == "multi\nline 100000", f"raw CSV copy: {got}")
    check(str(got[2]).startswith("2024-01-09"), f"timestamps: {got}")

    # COPY TO STDOUT comes back as PostgreSQL's CSV.
    with conn.cursor() as cur:
        out = b""
        with cur.copy("COPY (SELECT id, name FROM items WHERE id IN (0, 5, 100000) ORDER BY id) "
                      "TO STDOUT (FORMAT csv, HEADER)") as copy:
            for chunk in copy:
                out += bytes(chunk)
    want = 'id,name\n0,"item 0, ""q""\t\\"\n5,"item 5, ""q""\t\\"\n100000,"multi\nline 100000"\n'
    check(out.decode() == want, f"COPY TO STDOUT: {out!r}")


def failing_copies(conn):
    before = end_offset(conn, "items")
    check(before > 0, "items is empty")

    class Stop(Exception):
        pass

    # An exception inside the block makes psycopg send CopyFail.
    try:
        with conn.cursor() as cur:
            with cur.copy("COPY items (id, name) FROM STDIN") as copy:
                for i in range(5000):
                    copy.write_row((i, "never"))
                raise Stop()
    except Stop:
        pass
    except psycopg.errors.QueryCanceled as e:
        check("COPY from stdin failed" in str(e), f"CopyFail message: {e}")
    check(end_offset(conn, "items") == before, "CopyFail wrote records")

    # A bad value on line 30000: 22P02 naming the line, nothing written.
    def bad_line():
        with conn.cursor() as cur:
            with cur.copy("COPY items (id, name) FROM STDIN") as copy:
                for i in range(30000):
                    copy.write(f"{i if i != 29999 else 'x29999'}\tname\n")
    e = expect_error(bad_line, "22P02", "bad line")
    check("line 30000, column id" in (e.diag.context or ""), f"context: {e.diag.context}")
    check(end_offset(conn, "items") == before, "a failed COPY wrote records")

    # More than 64 MiB of records: 54000 with a hint, nothing written.
    def too_big():
        payload = "y" * 1000
        with conn.cursor() as cur:
            with cur.copy("COPY items (id, name) FROM STDIN") as copy:
                for i in range(70000):
                    copy.write(f"{i}\t{payload}\n")
    e = expect_error(too_big, "54000", "oversized COPY")
    check("Split" in (e.diag.message_hint or ""), f"hint: {e.diag.message_hint}")
    check(end_offset(conn, "items") == before, "an oversized COPY wrote records")
    # A cancel request in the middle: 57014, nothing written.
    def cancelled():
        with conn.cursor() as cur:
            with cur.copy("COPY items (id, name) FROM STDIN") as copy:
                for i in range(1000):
                    copy.write(f"{i}\tbefore cancel\n")
                conn.cancel()  # returns once the server has the request
                for i in range(1000):
                    copy.write(f"{i}\tafter cancel\n")
    expect_error(cancelled, "57014", "cancelled COPY")
    check(end_offset(conn, "items") == before, "a cancelled COPY wrote records")
    # The session is usable afterwards.
    check(conn.execute("SELECT 1").fetchone() == (1,), "session after failed COPY")


def copy_json_and_text(conn):
    conn.execute("CREATE TABLE docs (k text, n int, ok boolean) WITH (format = 'json')")
    conn.execute("CREATE TABLE docs_raw (line text) WITH (topic = 'docs', format = 'text')")
    with conn.cursor() as cur:
        with cur.copy("COPY docs (n, k) FROM STDIN (FORMAT csv)") as copy:
            copy.write('1,"a ""b"""\n2,\n')
    raw = [r[0] for r in conn.execute("SELECT line FROM docs_raw ORDER BY _offset")]
    check([json.loads(r) for r in raw] == [{"k": 'a "b"', "n": 1, "ok": None},
                                           {"k": None, "n": 2, "ok": None}], f"json: {raw}")
    conn.execute("CREATE TABLE notes (body text) WITH (format = 'text')")
    with conn.cursor() as cur:
        with cur.copy("COPY notes FROM STDIN") as copy:
            copy.write_row(("tab\there",))
            copy.write_row((None,))
            copy.write_row(("ünïcödé",))
    got = conn.execute("SELECT body FROM notes ORDER BY _offset").fetchall()
    check(got == [("tab\there",), (None,), ("ünïcödé",)], f"text: {got}")


class RawPg:
    """Just enough of the frontend protocol to drive COPY through the extended query protocol
    the way libpq does (Parse/Bind/Execute/Sync, then the data, CopyDone and another Sync)."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.pg_port), timeout=60)
        params = b"user\0tester\0database\0eddy\0\0"
        self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        self.until(b"Z")

    def send(self, kind, body=b""):
        self.sock.sendall(kind + struct.pack("!i", 4 + len(body)) + body)

    def read(self):
        head = self.recv_exact(5)
        return head[:1], self.recv_exact(struct.unpack("!i", head[1:])[0] - 4)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise AssertionError("server closed the connection")
            data += chunk
        return data

    def until(self, kind):
        seen = []
        while True:
            k, body = self.read()
            seen.append((k, body))
            if k == kind:
                return seen

    def close(self):
        self.send(b"X")
        self.sock.close()


def extended_copy(conn, server):
    conn.execute("CREATE TABLE ext (a int, b text) WITH (format = 'csv')")
    pg = RawPg(server)
    try:
        sql = b"COPY ext FROM STDIN (FORMAT csv)\0"
        pg.send(b"P", b"\0" + sql + b"\0\0")
        pg.send(b"B", b"\0\0" + struct.pack("!hhh", 0, 0, 0))
        pg.send(b"E", b"\0" + struct.pack("!i", 0))
        pg.send(b"S")  # libpq sends Sync at once; it means nothing during COPY FROM STDIN
        seen = pg.until(b"G")
        check([k for k, _ in seen] == [b"1", b"2", b"G"], f"before copy: {seen}")
        check(seen[-1][1] == b"\0" + struct.pack("!hhh", 2, 0, 0), f"CopyInResponse {seen[-1]}")
        pg.send(b"d", b"1,one\n2,")
        pg.send(b"d", b"two\n")
        pg.send(b"c")
        pg.send(b"S")
        seen = pg.until(b"Z")
        check([k for k, _ in seen] == [b"C", b"Z"], f"after copy: {seen}")
        check(seen[0][1] == b"COPY 2\0", f"tag {seen[0]}")
        # A bad line: ErrorResponse with the line, then messages are skipped until Sync.
        pg.send(b"P", b"\0" + sql + b"\0\0")
        pg.send(b"B", b"\0\0" + struct.pack("!hhh", 0, 0, 0))
        pg.send(b"E", b"\0" + struct.pack("!i", 0))
        pg.send(b"S")
        pg.until(b"G")
        pg.send(b"d", b"3,three\nfour,4\n")
        pg.send(b"c")
        pg.send(b"S")
        seen = pg.until(b"Z")
        errors = [body for k, body in seen if k == b"E"]
        check(len(errors) == 1 and b"C22P02\0" in errors[0] and
              b'WCOPY ext, line 2, column a: "four"\0' in errors[0], f"error: {seen}")
        # Simple query: the statement after the COPY runs once the data has ended.
        pg.send(b"Q", b"COPY ext FROM STDIN (FORMAT csv); SELECT count(*) FROM ext\0")
        pg.until(b"G")
        pg.send(b"d", b"3,three\n")
        pg.send(b"c")
        seen = pg.until(b"Z")
        check([k for k, _ in seen] == [b"C", b"T", b"D", b"C", b"Z"], f"resumed query: {seen}")
        check(seen[0][1] == b"COPY 1\0" and seen[2][1].endswith(b"3"), f"resumed: {seen}")
        # COPY TO STDOUT through Execute.
        pg.send(b"P", b"\0COPY ext TO STDOUT\0\0\0")
        pg.send(b"B", b"\0\0" + struct.pack("!hhh", 0, 0, 0))
        pg.send(b"E", b"\0" + struct.pack("!i", 0))
        pg.send(b"S")
        seen = pg.until(b"Z")
        data = b"".join(body for k, body in seen if k == b"d")
        check([k for k, _ in seen if k != b"d"] == [b"1", b"2", b"H", b"c", b"C", b"Z"],
              f"copy out: {seen}")
        check(sorted(data.splitlines()) == [b"1\tone", b"2\ttwo", b"3\tthree"],
              f"copy out data {data!r}")
    finally:
        pg.close()
    got = conn.execute("SELECT a, b FROM ext ORDER BY a").fetchall()
    check(got == [(1, "one"), (2, "two"), (3, "three")], f"ext: {got}")


def kcat(server, topic, data):
    subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", topic, "-P",
                    "-X", "acks=all"], input=data, check=True, timeout=120)


def kcat_count(server, topic):
    out = subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", topic, "-C",
                          "-e", "-q", "-f", "%s\n"], stdout=subprocess.PIPE, check=True,
                         timeout=120).stdout.decode()
    return [json.loads(line) for line in out.splitlines() if line]


def csv_view(conn, server):
    conn.execute("CREATE TABLE trades (sym text, qty int, px numeric) "
                 "WITH (topic = 'trades', format = 'csv', partitions = 3)")
    conn.execute("CREATE MATERIALIZED VIEW book AS SELECT sym, count(*) AS n, sum(qty) AS q, "
                 "sum(px) AS notional FROM trades GROUP BY sym")
    good, bad = [], []
    lines = []
    for i in range(6000):
        if i % 500 == 7:
            line = f"S{i % 4},{i},not-a-number"
            bad.append(line)
        elif i % 777 == 3:
            line = f"S{i % 4},{i}"
            bad.append(line)
        else:
            sym = f'"S {i % 4}, inc"' if i % 4 == 0 else f"S{i % 4}"
            line = f"{sym},{i % 100},{i % 37}.25"
            good.append(("S 0, inc" if i % 4 == 0 else f"S{i % 4}", i % 100,
                         decimal.Decimal(f"{i % 37}.25")))
        lines.append(line)
    kcat(server, "trades", ("\n".join(lines) + "\n").encode())
    want = {}
    for sym, qty, px in good:
        n, q, total = want.get(sym, (0, 0, decimal.Decimal(0)))
        want[sym] = (n + 1, q + qty, total + px)
    want_rows = sorted((s, n, q, t) for s, (n, q, t) in want.items())
    deadline = time.monotonic() + CATCH_UP_S
    got = None
    while time.monotonic() < deadline:
        got = conn.execute("SELECT sym, n, q, notional FROM book ORDER BY sym").fetchall()
        if got == want_rows:
            break
        conn.execute("SELECT 1")  # a round trip, then look again
    check(got == want_rows, f"view {got} != {want_rows}")
    # The bounded SELECT agrees, and says how many it skipped.
    with conn.cursor() as cur:
        notices = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        n = cur.execute("SELECT count(*) FROM trades").fetchone()[0]
        check(n == len(good), f"bounded count {n}")
        check(any(f"{len(bad)} record(s)" in m for m in notices), f"notices: {notices}")
    deadline = time.monotonic() + CATCH_UP_S
    letters = []
    while time.monotonic() < deadline:
        letters = kcat_count(server, "trades_dead_letter")
        if len(letters) >= len(bad):
            break
    check(sorted(d["value"] for d in letters) == sorted(bad), "dead letters differ")
    reasons = {d["reason"] for d in letters}
    check(any("expected 3 CSV fields, got 2" in r for r in reasons), f"reasons: {reasons}")
    check(any('field 3 ("px")' in r for r in reasons), f"reasons: {reasons}")


def text_table(conn, server):
    conn.execute("CREATE TABLE semi (a int, b text) "
                 "WITH (format = 'csv', csv.delimiter = ';', csv.quote = '''')")
    conn.execute("INSERT INTO semi VALUES (1, 'x;y'), (2, 'it''s')")
    conn.execute("CREATE TABLE logs (line text) WITH (topic = 'logs', format = 'text')")
    kcat(server, "logs", b"ok one\nbad \xff byte\nok two\n")
    got = conn.execute("SELECT line FROM logs ORDER BY _offset").fetchall()
    check(got == [("ok one",), ("ok two",)], f"text table: {got}")
    # The same records as bytes: every one, as it is.
    conn.execute("CREATE TABLE logs_bin (b bytea) WITH (topic = 'logs', format = 'bytes')")
    got = [bytes(r[0]) for r in conn.execute("SELECT b FROM logs_bin ORDER BY _offset")]
    check(got == [b"ok one", b"bad \xff byte", b"ok two"], f"bytes table: {got}")


def json_refusals(conn, server):
    conn.execute("CREATE TABLE readings (id bigint, label text) WITH (topic = 'readings')")
    conn.execute("CREATE MATERIALIZED VIEW reading_count AS SELECT count(*) AS n, "
                 "count(label) AS labelled FROM readings")
    records = [b'{"id": 1, "label": "ok"}', b'{"id": 1.5, "label": "half"}',
               b'{"id": 2.0, "label": "two"}', b'{"id": 3, "label": "nul\\u0000byte"}',
               b'{"id": 4, "label": "caf\xc3"}', b'[5]']
    kcat(server, "readings", b"\n".join(records) + b"\n")
    got = conn.execute("SELECT id, label FROM readings ORDER BY _offset").fetchall()
    check(got == [(1, "ok"), (2, "two")], f"json table: {got}")
    deadline = time.monotonic() + CATCH_UP_S
    letters = []
    while time.monotonic() < deadline and len(letters) < 4:
        try:
            letters = kcat_count(server, "readings_dead_letter")
        except subprocess.CalledProcessError:
            letters = []  # the view has not created its dead-letter topic yet
    reasons = sorted(d["reason"] for d in letters)
    want = ['field "id": 1.5 is not an integer (column type bigint)',
            'field "label" holds \\u0000, which text cannot hold',
            "malformed JSON: The input is not valid UTF-8",
            "not a JSON object"]
    for w in want:
        check(any(w in r for r in reasons), f"no dead letter saying {w!r}: {reasons}")
    check(len(letters) == 4, f"dead letters: {letters}")


def huge_dead_letter(conn, server):
    """A bad record larger than the dead-letter topic's max.message.bytes is cut, not fatal."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    bootstrap = f"127.0.0.1:{server.kafka_port}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("huge", 1, 1, config={"max.message.bytes": "8000000"})])[
        "huge"].result(30)
    conn.execute("CREATE TABLE huge (id bigint) WITH (topic = 'huge')")
    conn.execute("CREATE MATERIALIZED VIEW huge_count AS SELECT count(id) AS n FROM huge")
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 8_000_000})
    pad = "p" * (5 << 20)
    producer.produce("huge", value=('{"id": 1.5, "pad": "' + pad + '"}').encode())
    producer.produce("huge", value=b'{"id": 7}')
    check(producer.flush(30) == 0, "the huge records were produced")
    deadline = time.monotonic() + CATCH_UP_S
    got = None
    while time.monotonic() < deadline:
        got = conn.execute("SELECT n FROM huge_count").fetchall()
        if got == [(1,)]:
            break
        conn.execute("SELECT 1")  # a round trip, then look again
    check(got == [(1,)], f"the view goes past the huge bad record: {got}")
    state = {r[0]: r[2] for r in conn.execute("SHOW MATERIALIZED VIEWS").fetchall()}
    check(state["huge_count"] == "running", f"view state: {state['huge_count']}")
    letters = kcat_count(server, "huge_dead_letter")
    check(len(letters) == 1, f"one dead letter: {len(letters)}")
    letter = letters[0]
    check(letter["value_truncated"] is True and letter["value_bytes"] > 5 << 20,
          f"the dead letter says it was cut: {letter.get('value_bytes')}")
    check(len(letter["value"]) < 1 << 20 and letter["value"].startswith('{"id": 1.5'),
          "the dead letter keeps the start of the value")


def main():
    server = Server(sys.argv[1])
    try:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            copy_rows(conn, server)
            failing_copies(conn)
            copy_json_and_text(conn)
            extended_copy(conn, server)
            csv_view(conn, server)
            text_table(conn, server)
            json_refusals(conn, server)
            huge_dead_letter(conn, server)
        server.stop()
        # Formats and CSV options survive a restart (the catalog keeps them).
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            n = conn.execute("SELECT count(*) FROM items").fetchone()[0]
            check(n == 40500, f"items after restart: {n}")
            got = conn.execute("SELECT body FROM notes ORDER BY _offset").fetchall()
            check(got == [("tab\there",), (None,), ("ünïcödé",)], f"text after restart: {got}")
            conn.execute("CREATE TABLE semi_raw (line text) WITH (topic = 'semi', format = 'text')")
            got = conn.execute("SELECT line FROM semi_raw ORDER BY _offset").fetchall()
            check(got == [("1;'x;y'",), ("2;'it''s'",)], f"csv options lost: {got}")
            conn.execute("INSERT INTO semi VALUES (3, 'a;b')")
            got = conn.execute("SELECT a, b FROM semi ORDER BY a").fetchall()
            check(got == [(1, "x;y"), (2, "it's"), (3, "a;b")], f"semi after restart: {got}")
        server.stop()
    finally:
        server.close()
    print("formats: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Server-side cursors over the real listener, driven as clients drive them: psycopg's named
cursors (DECLARE, Describe of the cursor as a portal, FETCH FORWARD n, MOVE, CLOSE, WITH HOLD,
binary FETCH over the extended protocol), the extended protocol's Execute with a row limit as
JDBC's fetchSize sends it (PortalSuspended, the next Execute continues, text and binary
columns), FETCH's directions against PostgreSQL's answers, and the errors PostgreSQL gives. A
cursor over a large result spills to an unlinked file in <data-dir>/tmp: the server's memory
does not grow with the result.

usage: cursors_test.py EDDY_BINARY
"""
import os
import struct
import sys

import psycopg

from result_fixtures import (MiB, PAD, Connection, Server, check, load_big, pad_of, parse_fields,
                             parse_row, passed, peak_rss_bytes, reset_peak_rss, rss_bytes,
                             sanitized)

ROWS = 400_000
MEMORY_BOUNDS = True


def load(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        check(load_big(conn, ROWS) == ROWS, "rows loaded")
        conn.execute("CREATE TABLE five (g int)")
        conn.execute("INSERT INTO five VALUES (1), (2), (3), (4), (5)")


def sqlstate_of(conn, sql):
    try:
        conn.execute(sql)
    except psycopg.Error as e:
        return e.sqlstate, e.diag.message_hint
    return None, None


def psycopg_named_cursors(server):
    pid = server.process.pid
    with psycopg.connect(server.dsn()) as conn:
        before = rss_bytes(pid)
        reset_peak_rss(pid)
        count, total = 0, 0
        with conn.cursor("walk") as cur:
            cur.execute("SELECT id, pad FROM big WHERE id >= %s", (0,))
            check([d.name for d in cur.description] == ["id", "pad"], "described by name")
            # The spool is an unlinked file: nothing is visible in the temporary directory.
            tmp = os.path.join(server.data_dir, "tmp")
            check(os.path.isdir(tmp) and os.listdir(tmp) == [], f"tmp holds {os.listdir(tmp)}")
            while True:
                batch = cur.fetchmany(5_000)
                if not batch:
                    break
                check(batch[0][1] == pad_of(batch[0][0]), "row contents")
                count += len(batch)
                total += sum(r[0] for r in batch)
        growth = rss_bytes(pid) - before
        peak = peak_rss_bytes(pid) - before
        check(count == ROWS and total == ROWS * (ROWS - 1) // 2, f"{count} rows through FETCH")
        check(not MEMORY_BOUNDS or peak < 30 * MiB,
              f"a {ROWS * PAD // MiB} MiB cursor raised server memory by {peak / MiB:.1f} MiB")
        print(f"named cursor over {ROWS * PAD // MiB} MiB: server peak +{peak / MiB:.1f} MiB, "
              f"after {growth / MiB:+.1f} MiB")

        with conn.cursor("scroller", scrollable=True) as cur:
            cur.execute("SELECT g FROM five")
            check(cur.fetchone() == (1,), "first row")
            cur.scroll(3, mode="absolute")
            check(cur.fetchone() == (4,), "MOVE ABSOLUTE 3, then the next row")
            cur.scroll(-2)
            check(cur.fetchall() == [(3,), (4,), (5,)], "MOVE -2, then the rest")
        with conn.cursor("bin", binary=True) as cur:
            cur.execute("SELECT g, g * 10 AS tens FROM five WHERE g > %s", (2,))
            check(cur.fetchall() == [(3, 30), (4, 40), (5, 50)], "binary FETCH")
        conn.commit()

        # WITH HOLD outlives its transaction; a plain cursor closes with it.
        cur = conn.cursor("held", withhold=True)
        cur.execute("SELECT g FROM five")
        plain = conn.cursor("plain")
        plain.execute("SELECT g FROM five")
        conn.commit()
        check(cur.fetchmany(2) == [(1,), (2,)], "WITH HOLD cursor after COMMIT")
        state, _ = sqlstate_of(conn, "FETCH 1 FROM plain")
        check(state == "34000", f"a plain cursor is gone after COMMIT ({state})")
        conn.rollback()
        check(cur.fetchall() == [(3,), (4,), (5,)], "WITH HOLD survives a later ROLLBACK")
        cur.close()
        conn.commit()

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        state, _ = sqlstate_of(conn, "DECLARE c CURSOR FOR SELECT 1")
        check(state == "25P01", f"DECLARE outside a transaction block ({state})")
        state, _ = sqlstate_of(conn, "FETCH 1 FROM nowhere")
        check(state == "34000", f"FETCH from no cursor ({state})")
        state, _ = sqlstate_of(conn, "CLOSE nowhere")
        check(state == "34000", f"CLOSE of no cursor ({state})")
        conn.execute("BEGIN")
        conn.execute("DECLARE c NO SCROLL CURSOR FOR SELECT g FROM five")
        state, hint = sqlstate_of(conn, "FETCH BACKWARD 1 FROM c")
        check(state == "55000" and "SCROLL" in (hint or ""), f"NO SCROLL backward ({state})")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("DECLARE c CURSOR FOR SELECT g FROM five")
        state, _ = sqlstate_of(conn, "DECLARE c CURSOR FOR SELECT g FROM five")
        check(state == "42P03", f"a second cursor of one name ({state})")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")


def directions(server):
    """FETCH and MOVE in every direction, each answer as PostgreSQL 15 gives it."""
    expected = [
        ("FETCH 10 FROM c", "FETCH 5", [1, 2, 3, 4, 5]),
        ("FETCH PRIOR FROM c", "FETCH 1", [5]),
        ("MOVE BACKWARD ALL FROM c", "MOVE 4", None),
        ("FETCH RELATIVE 0 FROM c", "FETCH 0", []),
        ("FETCH ABSOLUTE -2 FROM c", "FETCH 1", [4]),
        ("FETCH RELATIVE 0 FROM c", "FETCH 1", [4]),
        ("MOVE ABSOLUTE 9 IN c", "MOVE 0", None),
        ("MOVE RELATIVE -1 IN c", "MOVE 1", None),
        ("FETCH BACKWARD 2 FROM c", "FETCH 2", [4, 3]),
        ("FETCH 0 FROM c", "FETCH 1", [3]),
        ("FETCH -1 FROM c", "FETCH 1", [2]),
        ("FETCH FIRST FROM c", "FETCH 1", [1]),
        ("FETCH LAST FROM c", "FETCH 1", [5]),
        ("MOVE FORWARD 10 FROM c", "MOVE 0", None),
        ("FETCH c", "FETCH 0", []),
        ("FETCH ABSOLUTE 0 FROM c", "FETCH 0", []),
        ("FETCH NEXT FROM c", "FETCH 1", [1]),
        ("FETCH ALL IN c", "FETCH 4", [2, 3, 4, 5]),
    ]
    conn = Connection("127.0.0.1", server.pg_port)
    conn.run("BEGIN")
    conn.run("DECLARE c SCROLL CURSOR FOR SELECT g FROM five")
    for sql, tag, rows in expected:
        lines = conn.run(sql)
        got_rows = [int(line) for line in lines if line.isdigit()]
        check(f"-- {tag}" in lines, f"{sql}: tag {lines}")
        if rows is not None:
            check(got_rows == rows, f"{sql}: rows {got_rows}, PostgreSQL {rows}")
    check(conn.run("CLOSE c") == ["-- CLOSE CURSOR"], "CLOSE")
    check(conn.run("CLOSE ALL") == ["-- CLOSE CURSOR ALL"], "CLOSE ALL")
    conn.run("ROLLBACK")
    conn.close()


def bind_portal(conn, portal, sql):
    """Parse (unnamed) and Bind of `portal` without parameters, then Sync."""
    conn.send(b"P", cstring("") + cstring(sql) + struct.pack("!h", 0))
    conn.send(b"B", cstring(portal) + cstring("") + struct.pack("!hhh", 0, 0, 0))
    conn.send(b"S")
    while conn.read_message()[0] != b"Z":
        pass


def namespaces_and_limits(server):
    """Cursors and the protocol's portals share names; FETCH through a row-limited Execute;
    DECLARE in a multi-statement query; NO SCROLL's count-0 moves; temp_file_limit."""
    conn = Connection("127.0.0.1", server.pg_port)
    # One Query of several statements is one implicit transaction block, as in PostgreSQL.
    lines = conn.run("DECLARE m CURSOR FOR SELECT g FROM five; FETCH 2 FROM m")
    check(lines[-3:] == ["1", "2", "-- FETCH 2"], f"DECLARE and FETCH in one query: {lines}")
    lines = conn.run("FETCH 1 FROM m")
    check(lines[0].startswith("ERROR:  34000"), f"its cursor closed with the query: {lines}")
    conn.run("DECLARE held CURSOR WITH HOLD FOR SELECT g FROM five; SELECT 1")
    check(conn.run("FETCH 1 FROM held")[-1] == "-- FETCH 1", "WITH HOLD outlives the query")
    # Close('P') reaches a DECLAREd cursor.
    conn.send(b"C", b"P" + cstring("held"))
    conn.send(b"S")
    kinds = []
    while not kinds or kinds[-1] != b"Z":
        kinds.append(conn.read_message()[0])
    check(kinds == [b"3", b"Z"], f"Close of a cursor's portal: {kinds}")
    check(conn.run("FETCH 1 FROM held")[0].startswith("ERROR:  34000"), "closed by Close('P')")

    conn.run("BEGIN")
    # A portal's name is taken for DECLARE, and CLOSE closes a portal.
    bind_portal(conn, "taken", "SELECT g FROM five")
    lines = conn.run("DECLARE taken CURSOR FOR SELECT 1")
    check(lines[0].startswith("ERROR:  42P03"), f"DECLARE of a portal's name: {lines}")
    conn.run("ROLLBACK")
    conn.run("BEGIN")
    bind_portal(conn, "p2", "SELECT g FROM five")
    check(conn.run("CLOSE p2") == ["-- CLOSE CURSOR"], "CLOSE of a protocol portal")
    _, last = execute_with_limit(conn, "p2", 1)
    check(last[0] == b"E" and parse_fields(last[1]).get("C") == "34000", f"p2 closed: {last}")
    conn.run("ROLLBACK")

    # FETCH through Execute with a row limit comes in batches too, tagged FETCH n per batch.
    conn.run("BEGIN")
    conn.run("DECLARE c CURSOR FOR SELECT g FROM five")
    conn.send(b"P", cstring("") + cstring("FETCH ALL FROM c") + struct.pack("!h", 0))
    conn.send(b"B", cstring("f") + cstring("") + struct.pack("!hhh", 0, 0, 0))
    conn.send(b"D", b"P" + cstring("f"))
    conn.send(b"S")
    described = []
    while True:
        kind, payload = conn.read_message()
        described.append(kind)
        if kind == b"Z":
            break
    check(b"T" in described, f"a FETCH is described with its cursor's columns: {described}")
    batches = []
    while True:
        got, last = execute_with_limit(conn, "f", 2)
        batches.append([int(parse_row(p)[0]) for p in got])
        if last[0] != b"s":
            break
    check(batches == [[1, 2], [3, 4], [5]] and last[1].rstrip(b"\0") == b"FETCH 1",
          f"FETCH ALL in batches of 2: {batches}, {last}")

    # NO SCROLL: count-0 moves that read nothing backward are allowed.
    conn.run("DECLARE ns NO SCROLL CURSOR FOR SELECT g FROM five")
    check(conn.run("FETCH 0 FROM ns") == ["columns: g int4", "-- FETCH 0"], "FETCH 0 first")
    check(conn.run("MOVE 0 IN ns") == ["-- MOVE 0"], "MOVE 0 before the first row")
    conn.run("FETCH 1 FROM ns")
    check(conn.run("MOVE 0 IN ns") == ["-- MOVE 1"], "MOVE 0 on a row")
    check(conn.run("FETCH 0 FROM ns")[0].startswith("ERROR:  55000"), "FETCH 0 on a row")
    conn.run("ROLLBACK")

    # temp_file_limit bounds what a cursor writes (PostgreSQL's setting and error).
    check(conn.run("SHOW temp_file_limit")[1] == "-1", "default temp_file_limit")
    conn.run("SET temp_file_limit = '1MB'")
    check(conn.run("SHOW temp_file_limit")[1] == "1MB", "temp_file_limit set")
    conn.run("BEGIN")
    lines = conn.run("DECLARE big_c CURSOR FOR SELECT pad FROM big")
    check(lines[0].startswith("ERROR:  53400") and "temp_file_limit (1024kB)" in lines[0],
          f"a cursor past temp_file_limit: {lines}")
    conn.run("ROLLBACK")
    check(conn.run("SET temp_file_limit = 'lots'")[0].startswith("ERROR:  22023"),
          "a bad temp_file_limit")
    conn.close()


def cstring(s):
    return s.encode() + b"\0"


def execute_with_limit(conn, portal, limit):
    """One Execute of `portal` with a row limit, then Sync: (data rows, final message, its
    payload)."""
    conn.send(b"E", cstring(portal) + struct.pack("!i", limit))
    conn.send(b"S")
    rows = []
    last = None
    while True:
        kind, payload = conn.read_message()
        if kind == b"D":
            rows.append(payload)
        elif kind in (b"s", b"C", b"E"):
            last = (kind, payload)
        elif kind == b"Z":
            return rows, last


def fetch_size(server):
    """What JDBC sends for setFetchSize(n) with autocommit off: BEGIN, Parse/Bind of a named
    portal, then Execute(portal, n) + Sync until the portal completes."""
    pid = server.process.pid
    conn = Connection("127.0.0.1", server.pg_port)
    conn.run("BEGIN")
    before = rss_bytes(pid)
    reset_peak_rss(pid)
    query = "SELECT id, pad FROM big WHERE id >= $1"
    conn.send(b"P", cstring("") + cstring(query) + struct.pack("!hi", 1, 23))
    # One text parameter; result columns: id binary, pad text.
    conn.send(b"B", cstring("jdbc") + cstring("") + struct.pack("!hh", 1, 0) +
              struct.pack("!h", 1) + struct.pack("!i", 1) + b"0" + struct.pack("!hhh", 2, 1, 0))
    limit = 1_000
    rows, suspended, ids_ok, last = 0, 0, True, None
    while True:
        got, last = execute_with_limit(conn, "jdbc", limit)
        for payload in got:
            values = parse_row(payload)
            ids_ok = ids_ok and len(values[0]) == 4 and \
                struct.unpack("!i", values[0])[0] == rows and values[1] == pad_of(rows).encode()
            rows += 1
        if last[0] != b"s":
            break
        check(len(got) == limit, f"a suspended Execute sent {len(got)} rows")
        suspended += 1
    peak = peak_rss_bytes(pid) - before
    check(last[0] == b"C" and last[1].rstrip(b"\0") == b"SELECT 0",
          f"the Execute after the last full batch completes with SELECT 0: {last}")
    check(rows == ROWS and ids_ok, f"{rows} rows in order, binary id and text pad")
    check(suspended == ROWS // limit, f"{suspended} PortalSuspended")
    check(not MEMORY_BOUNDS or peak < 30 * MiB,
          f"fetchSize over {ROWS * PAD // MiB} MiB: server memory +{peak / MiB:.1f} MiB")
    print(f"Execute with a row limit over {ROWS * PAD // MiB} MiB: server peak "
          f"+{peak / MiB:.1f} MiB")

    # A limit that does not divide the rows: the last Execute completes with the rest.
    conn.send(b"B", cstring("rest") + cstring("") + struct.pack("!h", 0) +
              struct.pack("!h", 1) + struct.pack("!i", 1) + b"0" + struct.pack("!h", 0))
    sizes = []
    while True:
        got, last = execute_with_limit(conn, "rest", 150_000)
        sizes.append(len(got))
        if last[0] != b"s":
            break
    check(sizes == [150_000, 150_000, 100_000] and last[1].rstrip(b"\0") == b"SELECT 100000",
          f"batches {sizes}, {last}")
    conn.run("COMMIT")
    # COMMIT closed the portals.
    got, last = execute_with_limit(conn, "jdbc", 10)
    check(last[0] == b"E" and parse_fields(last[1]).get("C") == "34000",
          f"a portal after COMMIT: {last}")
    # An error while the cursor's query runs is the Execute's error.
    conn.run("BEGIN")
    conn.send(b"P", cstring("") + cstring("SELECT 1 / (g - 3) FROM five") + struct.pack("!h", 0))
    conn.send(b"B", cstring("bad") + cstring("") + struct.pack("!hh", 0, 0) + struct.pack("!h", 0))
    got, last = execute_with_limit(conn, "bad", 2)
    check(last[0] == b"E" and parse_fields(last[1]).get("C") == "22012",
          f"division by zero in a limited Execute: {last}")
    check(conn.run("SELECT 1")[0].startswith("ERROR"), "the transaction is aborted after it")
    conn.run("ROLLBACK")
    conn.close()


def main():
    global MEMORY_BOUNDS
    MEMORY_BOUNDS = not sanitized(sys.argv[1])
    with Server(sys.argv[1]) as server:
        server.start()
        load(server)
        psycopg_named_cursors(server)
        directions(server)
        namespaces_and_limits(server)
        fetch_size(server)
        check(server.stop() == 0, "clean stop")
    print(f"cursors_test: {passed()} checks passed")


if __name__ == "__main__":
    main()

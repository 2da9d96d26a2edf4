#!/usr/bin/python3
"""psycopg 3 against a real server: connect, simple and extended (parameterised) queries, typed
results in text and binary, errors with SQLSTATE, psycopg's automatic prepared statements and
their DEALLOCATE once its cache is full, a table over a topic filled by kcat with JSON lines, and
the data still there after a restart.

usage: psycopg_test.py EDDY_BINARY
"""
import decimal
import os
import subprocess
import sys

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eddy_pg import Server  # noqa: E402


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def main():
    with Server(sys.argv[1]) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            check(conn.info.parameter_status("server_version") == "15.0 (Eddy)", "server_version")
            row = conn.execute("SELECT %s::int + 1, %s, %s, %s, %s",
                               (41, "text", 2.5, True, None)).fetchone()
            check(row == (42, "text", 2.5, True, None), f"text params: {row}")
            row = conn.execute("SELECT 1.50::numeric * 2, 7 / 2, 1e3::float8").fetchone()
            check(row == (decimal.Decimal("3.00"), 3, 1000.0), f"typed results: {row}")
            cur = conn.cursor(binary=True)
            row = cur.execute("SELECT %s + 1, %s, %s * 2, %s", (41, "bin", 1.25, False)).fetchone()
            check(row == (42, "bin", 2.5, False), f"binary: {row}")
            try:
                conn.execute("SELECT 1 / 0")
                check(False, "division by zero did not fail")
            except psycopg.errors.DivisionByZero as e:
                check(e.sqlstate == "22012", e.sqlstate)
            try:
                conn.execute("SELECT %s::int", ("nope",))
                check(False, "bad integer did not fail")
            except psycopg.Error as e:
                check(e.sqlstate == "22P02", e.sqlstate)
            try:
                conn.execute("SELECT nope FROM nowhere")
            except psycopg.Error as e:
                check(e.sqlstate == "42P01", e.sqlstate)
            # psycopg prepares a query run prepare_threshold times and, past prepared_max,
            # frees the oldest with DEALLOCATE; both must keep queries answering.
            conn.prepare_threshold, conn.prepared_max = 1, 2
            for round_ in range(3):
                for k in range(5):
                    row = conn.execute(f"SELECT %s::int + {k}", (round_,)).fetchone()
                    check(row == (round_ + k,), f"prepared query {k}: {row}")
            conn.prepare_threshold = None  # the statements below by the simple protocol
            conn.execute("DEALLOCATE ALL")
            try:
                conn.execute("DEALLOCATE no_such_statement")
                check(False, "DEALLOCATE of a missing statement did not fail")
            except psycopg.Error as e:
                check(e.sqlstate == "26000", e.sqlstate)
            conn.prepare_threshold = 5
            conn.execute("CREATE TABLE clicks (page text, ms bigint, ok boolean) "
                         "WITH (topic = 'clicks', format = 'json')")
            lines = "".join(f'{{"page": "/p{i % 3}", "ms": {i}, "ok": {str(i % 2 == 0).lower()}}}\n'
                            for i in range(30)) + "not json\n"
            subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", "clicks", "-P",
                            "-X", "acks=all"],
                           input=lines.encode(), check=True, timeout=60)
            conn.execute("INSERT INTO clicks VALUES (%s, %s, %s)", ("/sql", 1000, True))
            rows = conn.execute("SELECT page, count(*), sum(ms) FROM clicks GROUP BY page "
                                "ORDER BY page").fetchall()
            expected = [("/p0", 10, sum(range(0, 30, 3))), ("/p1", 10, sum(range(1, 30, 3))),
                        ("/p2", 10, sum(range(2, 30, 3))), ("/sql", 1, 1000)]
            check(rows == [(p, n, decimal.Decimal(s)) for p, n, s in expected], f"clicks: {rows}")
        server.stop()
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            n = conn.execute("SELECT count(*) FROM clicks WHERE ok").fetchone()[0]
            check(n == 16, f"after restart: {n}")
            try:
                psycopg.connect(server.dsn("other"))
                check(False, "other database accepted")
            except psycopg.OperationalError as e:
                check("does not exist" in str(e), str(e))
        server.stop()
        print("psycopg: ok")
        return 0


if __name__ == "__main__":
    sys.exit(main())

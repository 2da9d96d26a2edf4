#!/usr/bin/python3
"""Client introspection against a real server: psql's backslash commands (\\dt, \\dm, \\d name,
\\l, \\dn) end with Eddy's 0A000 error and its hint rather than garbage, and psycopg reads
information_schema.tables/columns and pg_catalog.pg_tables/pg_matviews with parameters and
gets the functions drivers call (pg_backend_pid() is the pid the server announced).

usage: introspect_test.py EDDY_BINARY
"""
import os
import subprocess
import sys

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eddy_pg import Server  # noqa: E402

HINT = ("HINT:  psql's \\d commands need the PostgreSQL catalogs; use SHOW TABLES, SHOW "
        "MATERIALIZED VIEWS, SHOW COLUMNS FROM name, SHOW CREATE TABLE name or SHOW CREATE "
        "MATERIALIZED VIEW name instead.")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def missing(relation):
    return (f"ERROR:  system relation \"{relation}\" is not supported yet (Eddy provides only "
            "information_schema.tables, information_schema.columns, information_schema.views, "
            "pg_catalog.pg_tables, pg_catalog.pg_views and pg_catalog.pg_matviews)")


def psql(server, command, tz="UTC"):
    result = subprocess.run(["psql", "-X", "-At", server.dsn(), "-c", command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                            env={"PATH": os.environ.get("PATH", "/usr/bin"), "PGTZ": tz})
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def main():
    server = Server(sys.argv[1])
    try:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id bigint, customer text, amount numeric)")
            conn.execute("CREATE TABLE events (at timestamptz, ok boolean) WITH (topic = 'ev')")
            conn.execute("CREATE MATERIALIZED VIEW per_customer AS "
                         "SELECT customer, count(*) AS n FROM orders GROUP BY customer")

            # psql's backslash commands: the first catalog relation each one's query names.
            for command, relation in (("\\dt", "pg_catalog.pg_class"),
                                      ("\\dm", "pg_catalog.pg_class"),
                                      ("\\d", "pg_catalog.pg_class"),
                                      ("\\d orders", "pg_catalog.pg_class"),
                                      ("\\l", "pg_catalog.pg_database"),
                                      ("\\dn", "pg_catalog.pg_namespace")):
                code, out, err = psql(server, command)
                lines = err.splitlines()
                check(code == 1, f"{command}: exit code {code}")
                check(out == "", f"{command}: printed {out!r}")
                check(lines[0] == missing(relation), f"{command}: {lines}")
                check(HINT in lines, f"{command}: no hint in {lines}")
            # What psql users are pointed to works.
            code, out, err = psql(server, "SHOW COLUMNS FROM orders")
            check(code == 0 and err == "", f"SHOW COLUMNS: {code} {err}")
            check("customer|text|t|f" in out.splitlines(), out)
            # libpq sends PGTZ as the startup TimeZone; only UTC exists, and the session says so.
            code, out, err = psql(server, "SHOW TimeZone", tz="Europe/Berlin")
            check((code, out, err) == (0, "UTC\n", ""), f"startup TimeZone: {code} {out} {err}")

            cur = conn.cursor()
            rows = cur.execute(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_schema = %s ORDER BY table_name", ("public",)).fetchall()
            check(rows == [("events", "BASE TABLE"), ("orders", "BASE TABLE")], f"tables: {rows}")
            rows = cur.execute(
                "SELECT column_name, data_type, ordinal_position, is_nullable "
                "FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position", ("orders",)).fetchall()
            check(rows == [("id", "bigint", 1, "YES"), ("customer", "text", 2, "YES"),
                           ("amount", "numeric", 3, "YES")], f"columns: {rows}")
            rows = cur.execute("SELECT udt_name, datetime_precision FROM information_schema.columns "
                               "WHERE table_name = 'events' ORDER BY 1").fetchall()
            check(rows == [("bool", None), ("timestamptz", 6)], f"udt: {rows}")
            # Binary results too (psycopg asks for them per cursor).
            rows = conn.cursor(binary=True).execute(
                "SELECT tablename, hasindexes FROM pg_catalog.pg_tables ORDER BY 1").fetchall()
            check(rows == [("events", False), ("orders", False)], f"pg_tables: {rows}")
            rows = cur.execute("SELECT matviewname, definition FROM pg_matviews").fetchall()
            check(rows == [("per_customer",
                            "SELECT customer, count(*) AS n FROM orders GROUP BY customer")],
                  f"pg_matviews: {rows}")
            # A relation that appears after the statement was prepared is seen when it runs.
            query = "SELECT count(*) FROM information_schema.tables WHERE table_name = %s"
            check(cur.execute(query, ("later",), prepare=True).fetchone() == (0,), "before")
            conn.execute("CREATE TABLE later (x integer)")
            check(cur.execute(query, ("later",), prepare=True).fetchone() == (1,), "after")

            # The extended protocol (prepared, described, executed) for the SHOW forms and
            # EXPLAIN, with a parameter in the explained query.
            rows = cur.execute("SHOW COLUMNS FROM orders", prepare=True).fetchall()
            check([d.name for d in cur.description] == ["name", "type", "nullable", "metadata"],
                  f"SHOW COLUMNS description: {cur.description}")
            check(rows[:3] == [("id", "bigint", True, False), ("customer", "text", True, False),
                               ("amount", "numeric", True, False)], f"SHOW COLUMNS: {rows}")
            rows = cur.execute("SHOW CREATE MATERIALIZED VIEW per_customer",
                               prepare=True).fetchall()
            check(rows == [("per_customer", "CREATE MATERIALIZED VIEW per_customer AS SELECT "
                            "customer, count(*) AS n FROM orders GROUP BY customer")],
                  f"SHOW CREATE: {rows}")
            rows = cur.execute("EXPLAIN SELECT id FROM orders WHERE id = %s", (7,),
                               prepare=True).fetchall()
            check([d.name for d in cur.description] == ["QUERY PLAN"], f"{cur.description}")
            check(rows[0] == ("Topic Scan on orders",) and ("  Filter: (id = ($1)::bigint)",) in rows,
                  f"EXPLAIN: {rows}")

            row = cur.execute("SELECT pg_backend_pid(), current_user, current_database(), "
                              "current_schema()").fetchone()
            check(row == (conn.info.backend_pid, "tester", "eddy", "public"), f"functions: {row}")
            try:
                cur.execute("SELECT * FROM pg_catalog.pg_attribute WHERE attrelid = %s", (1,))
                check(False, "pg_attribute did not fail")
            except psycopg.errors.FeatureNotSupported as e:
                check(e.sqlstate == "0A000", e.sqlstate)
                check(e.diag.message_hint.startswith("psql's \\d commands"), e.diag.message_hint)
        server.stop()
    finally:
        server.close()
    print("introspect test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Materialized views stored by an older server start under this one:

- a view keeps the column names it was created with, even where the binder now names an
  unaliased column differently (the catalog is edited to hold names an older binder gave);
- a view that no longer binds does not keep the server or the other views from starting: the
  server logs which view did not start, serves everything else, and the view can be dropped;
- a view whose statement now types a column differently from the stored column (an older
  server computed sqrt of numeric in float8) does not start, and the log says why;
- a view keeps the key format its state was written in: one grouping by jsonb stored without a
  key format (an older server's) goes on grouping by text ('1.0' and '1' apart), while a new
  one groups equal jsonb values together as PostgreSQL does.

usage: view_upgrade_test.py EDDY_BINARY
"""
import json
import os
import sys
import time

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eddy_pg import Server  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, finish  # noqa: E402


def wait_rows(conn, sql, expected, what):
    """Polls `sql` until it answers `expected` (views fold their input asynchronously)."""
    deadline = time.monotonic() + 60
    while True:
        got = sorted(conn.execute(sql).fetchall())
        if got == expected:
            return
        check(time.monotonic() < deadline, f"{what}: {got}, expected {expected}")
        time.sleep(0.05)  # polling a condition, bounded by the deadline


def main():
    with Server(sys.argv[1]) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (k int, v int)")
            conn.execute("INSERT INTO t VALUES (1, 10), (1, 5), (2, 7)")
            conn.execute("CREATE MATERIALIZED VIEW named AS SELECT k, count(*) FROM t GROUP BY k")
            conn.execute("CREATE MATERIALIZED VIEW broken AS SELECT k, v FROM t")
            conn.execute("CREATE MATERIALIZED VIEW roots AS SELECT k, sqrt(v::numeric) AS r FROM t")
            conn.execute("CREATE MATERIALIZED VIEW fine AS SELECT k, sum(v) AS total FROM t "
                         "GROUP BY k")
            wait_rows(conn, "SELECT k, total FROM fine", [(1, 15), (2, 7)], "fine before")
            conn.execute("CREATE TABLE tj (j jsonb)")
            # ('1': the same key in both formats, so the state this server writes before the
            # catalog edit is what an older server would have written.)
            conn.execute("INSERT INTO tj VALUES ('1')")
            for name in ("by_json_old", "by_json_new"):
                conn.execute(f"CREATE MATERIALIZED VIEW {name} AS "
                             "SELECT j, count(*) AS n FROM tj GROUP BY j")
                wait_rows(conn, f"SELECT j::text, n FROM {name}", [("1", 1)], f"{name} before")
        eq(server.stop(), 0, "clean stop")

        # What an older server could have stored: other column names, a view whose statement
        # this binder refuses.
        path = os.path.join(server.data_dir, "sql_catalog")
        with open(path) as f:
            catalog = json.load(f)
        views = {v["name"]: v for v in catalog["views"]}
        check(views["named"]["columns"][1]["name"] == "count", "stored column name")
        views["named"]["columns"][1]["name"] = "n_old"
        views["broken"]["sql"] = "CREATE MATERIALIZED VIEW broken AS SELECT k, nope FROM t"
        eq(views["roots"]["columns"][1]["type"], "numeric", "sqrt of numeric is numeric")
        views["roots"]["columns"][1]["type"] = "double precision"
        eq(views["by_json_new"].get("key_format"), 2, "a new view's key format is stored")
        del views["by_json_old"]["key_format"]
        with open(path, "w") as f:
            json.dump(catalog, f)

        server.start()
        log = server.log_since_start()
        check('materialized view "broken" did not start' in log, "the log names the view")
        check('materialized view "roots" did not start' in log and
              "drop the view and create it again" in log, "a retyped column stops its view")
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            cur = conn.execute("SELECT * FROM named ORDER BY k")
            eq([d.name for d in cur.description], ["k", "n_old"], "the stored names are kept")
            eq(cur.fetchall(), [(1, 2), (2, 1)], "the renamed view's rows")
            conn.execute("INSERT INTO t VALUES (2, 1)")
            wait_rows(conn, "SELECT k, total FROM fine", [(1, 15), (2, 8)], "fine after restart")
            wait_rows(conn, "SELECT k, n_old FROM named", [(1, 2), (2, 2)], "named after restart")
            conn.execute("INSERT INTO tj VALUES ('1.0'), ('1.00')")
            wait_rows(conn, "SELECT j::text, n FROM by_json_new", [("1", 3)],
                      "a new view groups equal jsonb numbers together")
            wait_rows(conn, "SELECT j::text, n FROM by_json_old", [("1", 1), ("1.0", 1), ("1.00", 1)],
                      "an older view keeps grouping jsonb by its text")
            eq(sorted(conn.execute("SELECT j::text, count(*) FROM tj GROUP BY j").fetchall()),
               [("1", 3)], "a bounded query groups equal jsonb numbers together")
            state = None
            try:
                conn.execute("SELECT * FROM broken")
            except psycopg.Error as e:
                state = e.sqlstate
            check(state is not None, "the view that did not start answers an error")
            conn.execute("DROP MATERIALIZED VIEW broken")
            conn.execute("CREATE MATERIALIZED VIEW broken AS SELECT k, v FROM t")
            wait_rows(conn, "SELECT k, v FROM broken", [(1, 5), (1, 10), (2, 1), (2, 7)],
                      "the view created again")
        eq(server.stop(), 0, "clean stop after the upgrade")
    finish()


if __name__ == "__main__":
    main()

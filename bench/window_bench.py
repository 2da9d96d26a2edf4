#!/usr/bin/python3
"""Bounded window-function queries: Eddy next to PostgreSQL 15 on the same rows, in the same run.

usage: bench/window_bench.py EDDY_BINARY [--rows 200000] [--rounds 5]

Loads ROWS rows (id, k in 1000 groups, v) into a table in each server through COPY, then runs
each query ROUNDS times, alternating Eddy and PostgreSQL, and prints the median wall time of
each and the ratio Eddy/PostgreSQL. The answers are checked to be equal before timing. Both
servers run on this machine (loopback, one connection each); PostgreSQL reads a heap table in
shared buffers, Eddy decodes its topic's JSON records on every query (so the comparison is
unfair to Eddy by the cost of a scan, which the "count(*)" row measures on its own).
"""
import argparse
import os
import statistics
import sys
import time

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "sql"))
from differential_test import PostgresCluster  # noqa: E402
from eddy_pg import Server  # noqa: E402

QUERIES = [
    ("scan: count(*)", "SELECT count(*) FROM w"),
    ("row_number per group (Top-3)",
     "SELECT count(*) FROM (SELECT id, row_number() OVER (PARTITION BY k ORDER BY v DESC, id) "
     "AS rn FROM w) s WHERE rn <= 3"),
    ("running sum over all rows",
     "SELECT max(s) FROM (SELECT sum(v) OVER (ORDER BY id) AS s FROM w) q"),
    ("moving avg, ROWS 10 PRECEDING, per group",
     "SELECT max(a) FROM (SELECT avg(v) OVER (PARTITION BY k ORDER BY id ROWS 10 PRECEDING) AS a "
     "FROM w) q"),
    ("lag and rank per group",
     "SELECT sum(d), max(r) FROM (SELECT v - lag(v, 1, 0) OVER (PARTITION BY k ORDER BY id) AS d, "
     "rank() OVER (PARTITION BY k ORDER BY v) AS r FROM w) q"),
]


def load(conn, rows):
    conn.execute("CREATE TABLE w (id bigint, k int, v bigint)")
    with conn.cursor().copy("COPY w (id, k, v) FROM STDIN") as copy:
        for i in range(rows):
            copy.write_row((i, i % 1000, (i * 7919) % 100003))


def timed(conn, sql):
    start = time.perf_counter()
    answer = conn.execute(sql).fetchall()
    return time.perf_counter() - start, answer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("eddy")
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with PostgresCluster() as pg, Server(args.eddy) as eddy:
        eddy.start()
        with psycopg.connect(pg.dsn(), autocommit=True) as pconn, \
                psycopg.connect(eddy.dsn(), autocommit=True) as econn:
            load(pconn, args.rows)
            pconn.execute("VACUUM ANALYZE w")
            load(econn, args.rows)
            print(f"{args.rows} rows, {args.rounds} alternating rounds, median seconds")
            print(f"{'query':45} {'eddy':>8} {'postgres':>9} {'eddy/pg':>8}")
            for name, sql in QUERIES:
                _, expected = timed(pconn, sql)
                _, got = timed(econn, sql)
                if [tuple(map(str, r)) for r in got] != [tuple(map(str, r)) for r in expected]:
                    raise SystemExit(f"{name}: answers differ: eddy {got} postgres {expected}")
                e_times, p_times = [], []
                for _ in range(args.rounds):
                    e_times.append(timed(econn, sql)[0])
                    p_times.append(timed(pconn, sql)[0])
                e, p = statistics.median(e_times), statistics.median(p_times)
                print(f"{name:45} {e:8.3f} {p:9.3f} {e / p:8.2f}")


if __name__ == "__main__":
    main()

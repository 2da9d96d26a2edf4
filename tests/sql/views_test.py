"""Continuous materialized views through psycopg against the real binary: a table filled by kcat
(JSON lines) and INSERT, a grouped view and a filter/projection view queried while events keep
arriving, then a clean restart and a SIGKILL right after a large produce (input not yet
checkpointed). After each, the views must equal a brute-force computation over everything
produced: no lost input and no double counting. Waits poll with deadlines; no sleeps."""
import decimal
import signal
import subprocess
import sys
import threading
import time

import psycopg

import eddy_pg

CATCH_UP_S = 90


def check(cond, message):
    if not cond:
        raise AssertionError(message)


class Input:
    def __init__(self):
        self.orders = []  # (id, customer, amount)

    def lines(self, count):
        out = []
        for _ in range(count):
            i = len(self.orders)
            order = (i, f"c{i % 7}", (i % 13) + 0.5)
            self.orders.append(order)
            out.append(f'{{"id": {i}, "customer": "{order[1]}", "amount": {order[2]}}}')
        return "\n".join(out) + "\n"

    def revenue(self):
        groups = {}
        for _, customer, amount in self.orders:
            n, total = groups.get(customer, (0, 0.0))
            groups[customer] = (n + 1, total + amount)
        return sorted((c, n, t) for c, (n, t) in groups.items())

    def big(self):
        return sorted((i, a * 2) for i, _, a in self.orders if a > 10)


def produce(server, data):
    subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", "orders", "-P",
                    "-X", "acks=all", "-X", "linger.ms=5"],
                   input=data.encode(), check=True, timeout=120)


def wait_for(server, expected, what):
    deadline = time.monotonic() + CATCH_UP_S
    last = None
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            revenue = conn.execute("SELECT customer, n, total FROM revenue ORDER BY customer").fetchall()
            big = conn.execute("SELECT id, dbl FROM big ORDER BY id").fetchall()
            last = (revenue, big)
            if revenue == expected[0] and big == expected[1]:
                return
            conn.execute("SELECT 1")  # a round trip between polls
    raise AssertionError(f"{what}: views did not converge; last revenue {last[0][:8]}, "
                         f"expected {expected[0][:8]}; big rows {len(last[1])} vs {len(expected[1])}")


def main():
    data = Input()
    with eddy_pg.Server(sys.argv[1]) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id bigint, customer text, amount double precision) "
                         "WITH (topic = 'orders', format = 'json', partitions = 2)")
            produce(server, data.lines(300) + "not json\n")
            conn.execute("INSERT INTO orders VALUES (%s, %s, %s)", (len(data.orders), "sql", 99.5))
            data.orders.append((len(data.orders), "sql", 99.5))
            conn.execute("CREATE MATERIALIZED VIEW revenue AS SELECT customer, count(*) AS n, "
                         "sum(amount) AS total FROM orders GROUP BY customer")
            conn.execute("CREATE MATERIALIZED VIEW big AS SELECT id, amount * 2 AS dbl "
                         "FROM orders WHERE amount > 10")
            # Keep producing while querying.
            chunks = [data.lines(500) for _ in range(6)]
            producer = threading.Thread(target=lambda: [produce(server, c) for c in chunks])
            producer.start()
            seen = 0
            while producer.is_alive():
                rows = conn.execute("SELECT sum(n) FROM revenue").fetchone()[0] or 0
                check(rows >= seen, f"the view went backwards: {rows} < {seen}")
                seen = rows
            producer.join()
            views = conn.execute("SHOW MATERIALIZED VIEWS").fetchall()
            check([v[0] for v in views] == ["big", "revenue"], f"views: {views}")
        wait_for(server, (data.revenue(), data.big()), "while producing")
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            status = {v[0]: v for v in conn.execute("SHOW MATERIALIZED VIEWS").fetchall()}
            check(status["revenue"][4] == 1, f"skipped: {status['revenue']}")
            # Plain views (named queries) over the materialized view and over the table.
            conn.execute("CREATE VIEW top_customers AS SELECT customer, total FROM revenue "
                         "WHERE n > 100")
            conn.execute("CREATE VIEW big_ids (order_id) AS SELECT id FROM orders "
                         "WHERE amount > 10")

        server.stop()
        server.start()
        wait_for(server, (data.revenue(), data.big()), "after a clean restart")
        # The plain views came back with the catalog and read what they name, as of now.
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            top = conn.execute("SELECT customer, total FROM top_customers ORDER BY 1").fetchall()
            check(top == [(c, t) for c, n, t in data.revenue() if n > 100], f"top_customers: {top}")
            ids = [r[0] for r in conn.execute("SELECT order_id FROM big_ids ORDER BY 1")]
            check(ids == [i for i, _ in data.big()], f"big_ids: {len(ids)} rows")
            try:
                conn.execute("DROP MATERIALIZED VIEW revenue")
                check(False, "dropped a materialized view a view reads")
            except psycopg.errors.DependentObjectsStillExist:
                pass
            conn.execute("DROP VIEW top_customers, big_ids")

        # SIGKILL right after a large produce: the views are mid-way through it.
        produce(server, data.lines(5000))
        server.stop(signal.SIGKILL)
        server.start()
        produce(server, data.lines(200))
        wait_for(server, (data.revenue(), data.big()), "after SIGKILL")
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("DROP MATERIALIZED VIEW big")
            try:
                conn.execute("SELECT * FROM big")
                check(False, "dropped view still readable")
            except psycopg.errors.UndefinedTable:
                pass
        server.stop()
        print(f"ok: {len(data.orders)} orders")


if __name__ == "__main__":
    main()

"""Stream-table joins in materialized views through psycopg and kcat against the real binary.

Orders stream in while customers (a table with a PRIMARY KEY over a changelog topic) change:
upserts from kcat and INSERT, deletes as kcat tombstones. The test is deterministic without
sleeps: it produces customer changes, waits (polling SHOW MATERIALIZED VIEWS) until every view
has consumed them, then produces orders, waits again, and so on. So the processing-time model is
exact: each order joins the customer as it was when the order was produced. The views (a LEFT
JOIN projection, an inner join with GROUP BY and count(DISTINCT), a UNION ALL, a SELECT DISTINCT)
must equal that model after every round, after a clean restart and after a SIGKILL right after a large produce.
A bounded join over the same tables, by contrast, joins with the customers as they are now. An
aggregate view's output topic, read back as a table with a primary key, holds its groups."""
import decimal
import signal
import subprocess
import sys
import time

import psycopg

import eddy_pg

CATCH_UP_S = 90
D = decimal.Decimal


def check(cond, message):
    if not cond:
        raise AssertionError(message)


class Model:
    def __init__(self):
        self.customers = {}  # id -> (name, tier), as of now
        self.orders = []  # (id, customer_id, amount, customer as of when it was produced)
        self.refunds = []  # ids

    def order_lines(self, count):
        out = []
        for _ in range(count):
            i = len(self.orders)
            customer = (i * 7) % 23  # some ids never exist, some get deleted
            amount = D(i % 17) + D("0.25")
            self.orders.append((i, customer, amount, self.customers.get(customer)))
            out.append(f'{{"id": {i}, "customer_id": {customer}, "amount": {amount}}}')
        return "\n".join(out) + "\n"

    def enriched(self):
        return sorted((i, a, c[0] if c else None, c[1] if c else None)
                      for i, _, a, c in self.orders)

    def by_tier(self):
        groups = {}
        for _, customer, amount, c in self.orders:
            if c is None:
                continue
            n, total, buyers = groups.get(c[1], (0, D(0), set()))
            buyers.add(customer)
            groups[c[1]] = (n + 1, total + amount, buyers)
        return sorted(((t, n, total, len(b)) for t, (n, total, b) in groups.items()),
                      key=lambda r: (r[0] is not None, r[0] or ""))

    def events(self):
        return sorted([(i, "order") for i, *_ in self.orders] +
                      [(i, "refund") for i in self.refunds])

    def spend(self):
        groups = {}
        for _, customer, amount, _ in self.orders:
            n, total = groups.get(customer, (0, D(0)))
            groups[customer] = (n + 1, total + amount)
        return sorted((c, total, n) for c, (n, total) in groups.items() if total > 20)

    def buyers(self):
        return sorted({(customer,) for _, customer, _, _ in self.orders})

    def bounded_join(self):
        # Joined with the customers as they are now, not as they were.
        return sorted((i, self.customers[c][0] if c in self.customers else None)
                      for i, c, _, _ in self.orders)


def kcat(server, topic, data, keyed=False, tombstones=False):
    args = ["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", topic, "-P",
            "-X", "acks=all", "-X", "linger.ms=5"]
    if keyed:
        args += ["-K", "|"]
    if tombstones:
        args += ["-Z"]  # an empty value is sent as null: a tombstone
    subprocess.run(args, input=data.encode(), check=True, timeout=120)


def change_customers(server, model, round_no):
    """Upserts (kcat and INSERT) and deletes (tombstones); each key changes once per round."""
    tiers = ["gold", "silver", None]
    upserts = []
    for cid in range(round_no % 3, 23, 3):
        tier = tiers[(cid + round_no) % 3]
        name = f"c{cid}-r{round_no}"
        model.customers[cid] = (name, tier)
        tier_json = "null" if tier is None else f'"{tier}"'
        upserts.append(f'{cid}|{{"id": {cid}, "name": "{name}", "tier": {tier_json}}}')
    kcat(server, "customers", "\n".join(upserts) + "\n", keyed=True)
    deleted = [cid for cid in range((round_no + 1) % 3, 23, 6) if cid in model.customers]
    if deleted:
        kcat(server, "customers", "".join(f"{cid}|\n" for cid in deleted), keyed=True,
             tombstones=True)
        for cid in deleted:
            del model.customers[cid]
    cid = 100 + round_no  # a new customer through SQL (never ordered by: ids stay < 23)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO customers VALUES (%s, %s, %s)", (cid, f"sql{round_no}", "gold"))
    model.customers[cid] = (f"sql{round_no}", "gold")


def wait_caught_up(server, what):
    """Until every view has checkpointed everything produced so far (lag 0)."""
    deadline = time.monotonic() + CATCH_UP_S
    last = None
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            last = conn.execute("SHOW MATERIALIZED VIEWS").fetchall()
            check(all(v[2] == "running" for v in last), f"{what}: a view failed: {last}")
            if len(last) == 6 and all(v[5] == 0 for v in last):
                return
    raise AssertionError(f"{what}: views did not catch up: {last}")


def verify(server, model, what):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        enriched = conn.execute("SELECT id, amount, name, tier FROM enriched ORDER BY id").fetchall()
        expected = model.enriched()
        if enriched != expected:
            first = next((a, b) for a, b in zip(enriched + [None], expected + [None]) if a != b)
            raise AssertionError(f"{what}: enriched differs: {len(enriched)} rows vs "
                                 f"{len(expected)}; first difference {first}")
        by_tier = conn.execute("SELECT tier, n, total, buyers FROM by_tier "
                               "ORDER BY tier NULLS FIRST").fetchall()
        check(by_tier == model.by_tier(), f"{what}: by_tier {by_tier} != {model.by_tier()}")
        events = conn.execute("SELECT id, kind FROM events ORDER BY id, kind").fetchall()
        check(events == model.events(), f"{what}: events differ ({len(events)} rows)")
        customers = conn.execute("SELECT id, name, tier FROM customers ORDER BY id").fetchall()
        check(customers == sorted((k, n, t) for k, (n, t) in model.customers.items()),
              f"{what}: bounded SELECT of customers {customers}")
        joined = conn.execute("SELECT o.id, c.name FROM orders o LEFT JOIN customers c "
                              "ON o.customer_id = c.id ORDER BY o.id").fetchall()
        check(joined == model.bounded_join(), f"{what}: bounded join differs")
        # An aggregate view's output topic read back as a table with a primary key: its latest
        # upsert per group, HAVING's tombstones deleting groups.
        spend = conn.execute("SELECT customer_id, total, n FROM spend_t ORDER BY 1").fetchall()
        check(spend == model.spend(), f"{what}: spend_t {spend[:5]} != {model.spend()[:5]}")
        buyers = conn.execute("SELECT customer_id FROM buyers ORDER BY 1").fetchall()
        check(buyers == model.buyers(), f"{what}: DISTINCT view buyers {buyers}")
        # IS DISTINCT FROM means the same in a view and in the bounded query of its SELECT.
        not_three = conn.execute("SELECT customer_id, n FROM not_three ORDER BY 1").fetchall()
        bounded = conn.execute("SELECT customer_id, count(*) FROM orders WHERE customer_id "
                               "IS DISTINCT FROM 3 GROUP BY customer_id ORDER BY 1").fetchall()
        check(not_three == bounded and len(bounded) > 0 and all(c != 3 for c, _ in bounded),
              f"{what}: not_three {not_three[:3]} vs bounded {bounded[:3]}")


def main():
    model = Model()
    with eddy_pg.Server(sys.argv[1]) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text, tier text) "
                         "WITH (topic = 'customers', partitions = 1)")
            conn.execute("CREATE TABLE orders (id bigint, customer_id integer, amount numeric) "
                         "WITH (topic = 'orders', partitions = 2)")
            conn.execute("CREATE TABLE refunds (id bigint) WITH (topic = 'refunds')")
        # Reference data and orders before the views exist: a new view reads the customers to
        # their end before it joins any order.
        change_customers(server, model, 0)
        kcat(server, "orders", model.order_lines(200))
        for i in range(200):
            model.orders[i] = model.orders[i][:3] + (model.customers.get(model.orders[i][1]),)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE MATERIALIZED VIEW enriched AS SELECT o.id, o.amount, c.name, "
                         "c.tier FROM orders o LEFT JOIN customers c ON o.customer_id = c.id")
            conn.execute("CREATE MATERIALIZED VIEW by_tier AS SELECT c.tier, count(*) AS n, "
                         "sum(o.amount) AS total, count(DISTINCT o.customer_id) AS buyers "
                         "FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.tier")
            conn.execute("CREATE MATERIALIZED VIEW events AS SELECT id, 'order' AS kind "
                         "FROM orders UNION ALL SELECT id, 'refund' FROM refunds")
            conn.execute("CREATE MATERIALIZED VIEW spend WITH (topic = 'spend') AS SELECT "
                         "customer_id, sum(amount) AS total, count(*) AS n FROM orders "
                         "GROUP BY customer_id HAVING sum(amount) > 20")
            conn.execute("CREATE MATERIALIZED VIEW buyers AS SELECT DISTINCT customer_id "
                         "FROM orders")
            conn.execute("CREATE MATERIALIZED VIEW not_three AS SELECT customer_id, count(*) AS n "
                         "FROM orders WHERE customer_id IS DISTINCT FROM 3 GROUP BY customer_id")
            conn.execute("CREATE TABLE spend_t (customer_id integer PRIMARY KEY, total numeric, "
                         "n bigint) WITH (topic = 'spend')")
        wait_caught_up(server, "initial")
        verify(server, model, "initial")

        for round_no in range(1, 5):
            change_customers(server, model, round_no)
            wait_caught_up(server, f"round {round_no} customers")
            kcat(server, "orders", model.order_lines(300))
            kcat(server, "refunds", "".join(f'{{"id": {i}}}\n' for i in range(round_no * 10,
                                                                                 round_no * 10 + 5)))
            model.refunds += list(range(round_no * 10, round_no * 10 + 5))
            wait_caught_up(server, f"round {round_no} orders")
            verify(server, model, f"round {round_no}")

        server.stop()
        server.start()
        wait_caught_up(server, "clean restart")
        verify(server, model, "after a clean restart")

        # Customers change and are consumed; then SIGKILL right after a large produce of orders.
        change_customers(server, model, 5)
        wait_caught_up(server, "before SIGKILL")
        kcat(server, "orders", model.order_lines(5000))
        server.stop(signal.SIGKILL)
        server.start()
        wait_caught_up(server, "after SIGKILL")
        change_customers(server, model, 6)
        wait_caught_up(server, "after SIGKILL, customers")
        kcat(server, "orders", model.order_lines(100))
        wait_caught_up(server, "after SIGKILL, orders")
        verify(server, model, "after SIGKILL")
        server.stop()
        print(f"ok: {len(model.orders)} orders, {len(model.customers)} customers")


if __name__ == "__main__":
    main()

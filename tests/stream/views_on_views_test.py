#!/usr/bin/python3
"""Materialized views that read other materialized views (views on views), checked at every
quiescent point against two independent bounded computations, under random changes, restarts,
SIGKILLs and DROP ... CASCADE.

usage: views_on_views_test.py EDDY_BINARY [SEED]   (the seed defaults to 7 and is printed)

Two base tables: `orders`, a plain stream (append-only; amounts may be negative or NULL), and
`accounts`, a table with a PRIMARY KEY over a changelog topic (upserts replace a key's row, a
Kafka record with a null value deletes it). On top of them chains of views up to four levels
deep: aggregates of aggregates (count/sum/avg/min/max/count(DISTINCT)/bool_and/bool_or over
per-group totals), WHERE and projections over aggregates, GROUP BY ... HAVING over an aggregate,
GROUP BY over an append-only filtered projection, SELECT DISTINCT over a view, a UNION ALL and a
UNION whose arms read views, and an aggregate over the UNION ALL view. Some views exist before
any data, some are created once data is there (they must start from a snapshot of their
upstream's rows) and some in the middle of the random stream of changes.

Changes arrive over Kafka (orders keyless; account upserts and tombstones keyed by the primary
key, every record of a key in the partition INSERT picks for it) and over SQL INSERT (orders;
account upserts). Each round also aims at the hard cases: a group's max or min deleted, a whole
region deleted, a customer's total pushed across a WHERE threshold both ways (and onto it), the
top total of a level-two aggregate pulled down so that max must fall back.

At every quiescent point (every view's lag 0 in SHOW MATERIALIZED VIEWS, stable over two polls)
each view's rows must equal, as a multiset compared value for value (type and exact Decimal
digits included), (1) its own SELECT run as a bounded query, which reads the upstream views'
current contents, and (2) the same SELECT with every upstream view replaced by its own defining
SELECT inlined as a subquery in FROM, recursively, so that it computes from the base tables
alone. The bounded reads of the base tables must equal the test's model of what was produced.
This holds after a clean restart, after a SIGKILL right after a burst of changes and after a
second SIGKILL while the views still recover (nothing lost or counted twice); DROP of a view that
others read is 2BP01 without CASCADE; DROP ... CASCADE drops exactly its transitive readers while
the rest keeps running and stays exact, and the dropped views created again catch up exactly.
A join whose left side is a view, a join with a view on the right and string_agg over a view are
0A000 and create nothing. The seed also picks stream workers, state cache and checkpoint interval.
"""
import collections
import decimal
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sql"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eddy_pg  # noqa: E402
from view_checks import (ViewGraph, apply_change, check, check_keyed_table,  # noqa: E402
                         connect, expect_error, insert_rows, partition_of, produce_all, query,
                         random_keyed_changes, restarts_and_kills, run_main, server_options,
                         show_views, upsert_rows, wait_caught_up)

D = decimal.Decimal
PARTITIONS = 2
CUSTOMERS = [f"cust{i:02d}" for i in range(12)]
REGIONS = ["north", "south", "east", "west", None]
KEYS = 30           # account ids 0..KEYS-1 come and go; ids KEYS..KEYS+9 are only ever deleted
BIG = D(40)         # big: WHERE total > 40
RICH = 100          # rich_regions: WHERE total > 100

# name -> (when it is created, SELECT). `{v}` names the upstream view v: the view's own SELECT
# reads it by name, the inlined SELECT replaces it by `(v's SELECT, inlined) AS v`.
#   early: over the empty tables; late: once the first data is there; round N: before round N.
VIEWS = {
    # (a) aggregate -> filter/projection -> aggregate of an aggregate, two ways.
    "per_customer": ("early",
                     "SELECT customer, sum(amount) AS total, count(*) AS n, max(amount) AS top, "
                     "min(amount) AS low FROM orders GROUP BY customer"),
    "big": ("early", "SELECT customer, total, n FROM {per_customer} WHERE total > 40"),
    "big_stats": ("late",
                  "SELECT count(*) AS c, sum(total) AS s, avg(total) AS av, max(total) AS mx, "
                  "min(total) AS mn, count(DISTINCT n) AS dn, avg(n) AS avg_n FROM {big}"),
    "big_by_size": (3, "SELECT n % 3 AS bucket, count(*) AS c, max(total) AS mx, "
                       "min(total) AS mn, sum(total) AS s, count(DISTINCT total) AS dt "
                       "FROM {big} GROUP BY n % 3"),
    # (b) per region -> WHERE over it -> global aggregate; and GROUP BY ... HAVING over it.
    "by_region": ("early",
                  "SELECT region, count(*) AS c, count(bal) AS cb, sum(bal) AS total, "
                  "max(bal) AS hi, min(bal) AS lo, bool_or(bal < 0) AS any_neg "
                  "FROM accounts GROUP BY region"),
    "rich_regions": ("late", "SELECT region, total, c, hi FROM {by_region} WHERE total > 100"),
    "rich_totals": ("late",
                    "SELECT count(*) AS regions, sum(total) AS s, avg(c) AS avg_c, "
                    "max(hi) AS hi, min(total) AS lo, count(DISTINCT c) AS dc "
                    "FROM {rich_regions}"),
    "region_classes": ("early",
                       "SELECT c > 5 AS crowded, count(*) AS regions, sum(total) AS total, "
                       "max(hi) AS hi, min(lo) AS lo, bool_and(any_neg) AS all_neg, "
                       "bool_or(region IS NULL) AS has_null, count(DISTINCT c) AS dc "
                       "FROM {by_region} GROUP BY c > 5 HAVING sum(c) > 8"),
    # (c) GROUP BY over an append-only view (a filtered projection of the stream).
    "large_orders": ("early",
                     "SELECT id, customer, amount * 2 AS doubled FROM orders WHERE amount > 20"),
    "large_by_customer": ("late",
                          "SELECT customer, count(*) AS c, sum(doubled) AS s, max(doubled) AS mx, "
                          "min(id) AS first_id FROM {large_orders} GROUP BY customer "
                          "HAVING count(*) > 1"),
    # (d) SELECT DISTINCT over views.
    "order_counts": ("late", "SELECT DISTINCT n FROM {per_customer}"),
    "region_shapes": ("early", "SELECT DISTINCT c, hi > 50 AS high FROM {by_region}"),
    # (e) UNION ALL / UNION of projections of views, and an aggregate over the UNION ALL view.
    "movers": ("late",
               "SELECT customer AS name, n AS cnt, 'order' AS kind FROM {big} UNION ALL "
               "SELECT region, c, 'acct' FROM {by_region} WHERE c > 1"),
    "mover_kinds": (5, "SELECT kind, count(*) AS k, sum(cnt) AS s, max(name) AS last_name, "
                       "min(cnt) AS least FROM {movers} GROUP BY kind"),
    "sizes": ("early", "SELECT n FROM {per_customer} UNION SELECT c FROM {by_region}"),
    # Joins with views: a view joined with a table with a primary key (on a column that is not
    # its key, so changes of either side retract joined rows), and two views joined.
    "customer_accounts": ("late",
                          "SELECT per_customer.customer, per_customer.total, accounts.region, "
                          "accounts.bal FROM {per_customer} JOIN accounts "
                          "ON accounts.bal = per_customer.n"),
    "region_vs_big": (4, "SELECT by_region.region, by_region.c, big.customer, big.total "
                         "FROM {by_region} FULL JOIN {big} ON big.n = by_region.c"),
    # Subqueries in FROM and WITH queries: each derived table runs as a hidden view of its own,
    # so these are chains of views in one statement.
    "one_statement": ("late",
                      "SELECT count(*) AS c, sum(total) AS s, max(total) AS mx, avg(n) AS an "
                      "FROM (SELECT customer, total, n FROM (SELECT customer, sum(amount) AS "
                      "total, count(*) AS n FROM orders GROUP BY customer) pc "
                      "WHERE total > 40) b"),
    "cte_join": (3, "WITH pc AS (SELECT customer, count(*) AS n FROM orders GROUP BY customer) "
                    "SELECT pc.customer, pc.n, accounts.region FROM pc JOIN accounts "
                    "ON accounts.bal = pc.n"),
    # x IN (SELECT ...) in WHERE: a join with the subquery's distinct values (here an aggregate
    # over the stream, and a view), so rows come and go as the subquery's answer changes.
    "busy_orders": ("late", "SELECT id, customer, amount FROM orders WHERE amount > 30 AND "
                            "customer IN (SELECT customer FROM orders GROUP BY customer "
                            "HAVING count(*) > 150)"),
    "rich_accounts": (2, "SELECT id, region, bal FROM accounts WHERE region IN "
                         "(SELECT region FROM {rich_regions})"),
    # Both arms read one view (one position in its feed, each change down both arms).
    "spread": ("late",
               "SELECT customer, total AS v FROM {per_customer} WHERE total > 40 UNION ALL "
               "SELECT customer, low FROM {per_customer} WHERE n > 2"),
}
ROUNDS = 7


# (v's SELECT, inlined) AS v replaces {v} in the inlined SELECT.
GRAPH = ViewGraph(VIEWS, inline="({select}) AS {name}")


# ---------------------------------------------------------------------------------------------
# The model of the base tables and the changes.

def numeric_text(value, rng):
    """A numeric as a producer may write it: `12`, `12.5` or `12.50` for the same value."""
    if value is None:
        return "null"
    forms = {str(value), f"{value:.2f}"}
    if value == value.to_integral_value():
        forms.add(str(int(value)))
    return rng.choice(sorted(forms))


class Model:
    """What the base tables hold: orders (as totals; they only grow) and accounts."""

    def __init__(self, rng):
        self.rng = rng
        self.next_order = 0
        self.order_count = 0
        self.order_sum = D(0)
        self.totals = collections.defaultdict(D)  # customer -> sum of non-NULL amounts
        self.accounts = {}  # id -> (id, region, bal)

    def add_order(self, customer, amount):
        self.next_order += 1
        self.order_count += 1
        if amount is not None:
            self.order_sum += amount
            self.totals[customer] += amount
        return (self.next_order, customer, amount)

    def random_amount(self):
        if self.rng.random() < 0.03:
            return None
        return D(self.rng.randint(-3000, 3000)) / 100

    def random_customer(self):
        return None if self.rng.random() < 0.02 else self.rng.choice(CUSTOMERS)

    def random_account(self, key_id):
        bal = None if self.rng.random() < 0.05 else self.rng.randint(-100, 100)
        return (key_id, self.rng.choice(REGIONS), bal)


def order_record(order, rng):
    oid, customer, amount = order
    value = (f'{{"id": {oid}, "customer": {json.dumps(customer)}, '
             f'"amount": {numeric_text(amount, rng)}}}')
    return ("orders", rng.randrange(PARTITIONS), None, value.encode())


def account_record(key_id, row, rng):
    """An upsert (row) or a tombstone (None), keyed by the primary key as `7` or `{"id": 7}`."""
    key = rng.choice([str(key_id), f'{{"id": {key_id}}}']).encode()
    value = None
    if row is not None:
        value = json.dumps({"id": row[0], "region": row[1], "bal": row[2]}).encode()
    return ("accounts", partition_of(key_id, PARTITIONS), key, value)


def random_orders(model, count):
    return [model.add_order(model.random_customer(), model.random_amount()) for _ in range(count)]


def threshold_orders(model):
    """Orders that move totals across big's WHERE both ways: the top customer drops below it
    (so max(total) over big falls back), one below climbs over it, one lands exactly on it."""
    rng, totals = model.rng, model.totals
    out = []
    above = sorted((t, c) for c, t in totals.items() if c is not None and t > BIG)
    if above:
        top_total, top = above[-1]
        out.append(model.add_order(top, BIG - top_total - D(rng.randint(0, 900)) / 100))
    below = [c for c in CUSTOMERS if totals[c] <= BIG and c not in [o[1] for o in out]]
    if below:
        c = rng.choice(below)
        out.append(model.add_order(c, BIG - totals[c] + D(rng.randint(1, 2000)) / 100))
    rest = [c for c in CUSTOMERS if c not in [o[1] for o in out]]
    c = rng.choice(rest)
    out.append(model.add_order(c, BIG - totals[c]))  # total == 40: not > 40
    return out


def random_account_changes(model, count):
    """Upserts (new keys, moves to another region, new balances, the same row again) and
    tombstones of live and of never-live keys; applied to the model."""
    return random_keyed_changes(model.rng, model.accounts, count, KEYS, model.random_account,
                                lambda key_id, row: account_record(key_id, row, model.rng))


def targeted_account_changes(model):
    """Deletes the row holding a region's max and the one holding another's min; in some rounds
    deletes every account of a region (the group goes, and comes back later)."""
    rng, records = model.rng, []
    by_region = collections.defaultdict(list)
    for row in model.accounts.values():
        if row[2] is not None:
            by_region[row[1]].append(row)
    regions = sorted(by_region, key=lambda r: (r is not None, r or ""))
    if regions:
        top = max(by_region[rng.choice(regions)], key=lambda r: r[2])
        low = min(by_region[rng.choice(regions)], key=lambda r: r[2])
        for key_id in sorted({top[0], low[0]}):
            apply_change(model.accounts, key_id, None)
            records.append(account_record(key_id, None, rng))
    if rng.random() < 0.5:
        region = rng.choice(REGIONS)
        for key_id in sorted(k for k, r in model.accounts.items() if r[1] == region):
            apply_change(model.accounts, key_id, None)
            records.append(account_record(key_id, None, rng))
    return records


# ---------------------------------------------------------------------------------------------
# Talking to the server.

def insert_accounts(server, model, count):
    """One INSERT (upserts) of `count` distinct keys."""
    rows = [model.random_account(k) for k in model.rng.sample(range(KEYS), count)]
    upsert_rows(server, "accounts", model.accounts, rows)


def change_round(server, model, size):
    """One round: Kafka orders, SQL orders, Kafka account changes, SQL upserts, targeted ones."""
    rng = model.rng
    produce_all(server, [order_record(o, rng) for o in random_orders(model, size)])
    insert_rows(server, "orders", random_orders(model, rng.randint(1, 5)))
    produce_all(server, random_account_changes(model, size // 2))
    insert_accounts(server, model, rng.randint(1, 4))
    targeted = threshold_orders(model)
    if rng.random() < 0.5:
        insert_rows(server, "orders", targeted)
    else:
        produce_all(server, [order_record(o, rng) for o in targeted])
    produce_all(server, targeted_account_changes(model))


def burst(server, model, size):
    """Many orders and account changes at once (each key's changes in the order made)."""
    rng = model.rng
    records = [order_record(o, rng) for o in random_orders(model, size)]
    produce_all(server, records + random_account_changes(model, size // 3))


def verify_bases(conn, model, what, seed):
    check_keyed_table(conn, what, "accounts", "id, region, bal", model.accounts, PARTITIONS,
                      seed=seed, listed=60)
    _, [(count, total)] = query(conn, "SELECT count(*), sum(amount) FROM orders")
    check((count, total or D(0)) == (model.order_count, model.order_sum),
          f"{what}: orders hold {count} rows summing to {total}; produced {model.order_count} "
          f"summing to {model.order_sum}")


def verify(server, model, what, live, seed):
    with connect(server) as conn:
        verify_bases(conn, model, what, seed)
        GRAPH.check_views(conn, what, live, seed, "the bounded SELECT over the upstream views",
                          listed=60)


def check_refused(server, live):
    """A join without an equality and string_agg over a view are 0A000 and create nothing."""
    with connect(server) as conn:
        expect_error(conn, "CREATE MATERIALIZED VIEW bad_join AS SELECT p.customer, a.region "
                     "FROM per_customer p JOIN accounts a ON a.id > p.n", "0A000",
                     "a join without an equality")
        expect_error(conn, "CREATE MATERIALIZED VIEW bad_agg AS SELECT region, "
                     "string_agg(CAST(c AS text), ',') AS cs FROM by_region GROUP BY region",
                     "0A000", "string_agg over a view")
        names = sorted(v[0] for v in show_views(conn))
        check(names == sorted(live), f"refused views were created: {names}")


def check_drops(server, model, live, seed):
    """DROP without CASCADE of views others read is 2BP01; DROP big CASCADE drops its readers
    (transitively) while the rest keeps running and exact; then they are created again."""
    with connect(server) as conn:
        for name in ("big", "per_customer", "by_region", "movers"):
            expect_error(conn, f"DROP MATERIALIZED VIEW {name}", "2BP01", f"DROP of {name}")
        names = sorted(v[0] for v in show_views(conn))
        check(names == sorted(live), f"a refused DROP dropped something: {names}")
        conn.execute("DROP MATERIALIZED VIEW big CASCADE")
        dropped = {"big"} | GRAPH.readers_closure("big")
        remaining = [v for v in live if v not in dropped]
        names = sorted(v[0] for v in show_views(conn))
        check(names == sorted(remaining), f"after DROP big CASCADE: {names}, expected "
              f"{sorted(remaining)}")
        for name in sorted(dropped):
            expect_error(conn, f"SELECT * FROM {name}", "42P01", f"reading dropped {name}")
    change_round(server, model, 150)
    wait_caught_up(server, "after DROP CASCADE", remaining)
    verify(server, model, "after DROP CASCADE", remaining, seed)
    GRAPH.create(server, dropped)
    wait_caught_up(server, "dropped views created again", live)
    verify(server, model, "dropped views created again", live, seed)
    return sorted(dropped)


def run(binary, seed):
    rng = random.Random(seed)
    model = Model(rng)
    options = server_options(rng)
    print(f"server options: {' '.join(options)}", flush=True)
    started = time.monotonic()
    live = []

    def quiescent(what):
        wait_caught_up(server, what, live)
        verify(server, model, what, live, seed)

    with eddy_pg.Server(binary, extra_args=options) as server:
        server.start()
        with connect(server) as conn:
            conn.execute("CREATE TABLE orders (id int, customer text, amount numeric(10,2)) "
                         f"WITH (partitions = {PARTITIONS})")
            conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, region text, bal int) "
                         f"WITH (partitions = {PARTITIONS})")
        GRAPH.create_in_rounds(server, live, quiescent, refused=check_refused,
                               change=lambda size: change_round(server, model, size),
                               first=200, rounds=ROUNDS, size=lambda: rng.randint(20, 200))
        restarts_and_kills(server, quiescent,
                           change=lambda size: change_round(server, model, size),
                           burst=lambda size: burst(server, model, size),
                           round_size=100, bursts=[4000, 2000, 1000])

        dropped = check_drops(server, model, live, seed)
        change_round(server, model, 150)
        quiescent("round after re-creating the dropped views")
        server.stop()
    print(f"ok: seed {seed}, {model.order_count} orders, {len(model.accounts)} live accounts, "
          f"{len(VIEWS)} views, dropped and re-created {dropped}, "
          f"{time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    run_main(run, default_seed=7)

#!/usr/bin/python3
"""Materialized views that join two changing inputs (symmetric hash joins), checked at every
quiescent point against bounded queries of their SELECTs, under random changes, a clean restart
and SIGKILLs.

usage: joins_test.py EDDY_BINARY [SEED]   (the seed defaults to 1 and is printed)

Base tables: three plain streams (append-only) `person` (2 partitions), `auction` (2 partitions)
and `bid` (1 partition), a table with a PRIMARY KEY `acct` (2 partitions) over a changelog topic
(upserts replace a key's row, updates move a key to another region, i.e. change the column other
tables join it on, a Kafka record with a null value deletes the key) and a small reference table
`category` (PRIMARY KEY) written once before any stream row and never changed. Join keys are
NULL now and then on every side (a NULL never matches), sellers and bid auctions often name
rows that come later or never, and stream rows repeat ids (a key matches several rows).

Views (see VIEWS): an inner stream-stream join with WHERE conjuncts on both sides (Nexmark q3);
LEFT, RIGHT and FULL stream-stream joins, with further equality and non-equality conditions in
ON (LEFT, FULL) and WHERE conjuncts on the preserved and on the padded side (RIGHT); aggregates
over joins (count, sum, min, max, avg, count(DISTINCT)) grouped by a column, over an outer join
(a padded row is retracted when its match arrives) and over a join with acct (acct's changes
retract; HAVING moves groups in and out); Nexmark q4 (max bid per auction, then the average
per category in a view over that view); joins of acct on a non-key column (region = state),
with acct first (`FROM acct JOIN auction`) and a RIGHT join by its key (all hash joins: acct's
changes retract joined rows); three-way joins (stream-stream-stream, and LEFT stream-stream
joins then a LEFT join with acct by its key, whose changes arrive from other partitions while
the first join's padded rows come and go); a lookup of `category` by its key followed by a
hash join (category never changes, so the lookup's processing-time semantics equal the bounded
query's); joins where one side is a materialized view (an aggregate view on the left, on the
right of a LEFT join, a FULL join of two views); self-joins of a stream, of acct and of a view
(one source read on both sides); SELECT DISTINCT over an outer join; views over join views; a
global aggregate over a FULL join. Some views are created over the empty tables, some once data
is there (they start from the tables' and upstream views' current contents), some between
rounds while data flows.

Changes arrive over Kafka (keyless stream records on a random partition; acct upserts and
tombstones keyed by the primary key as `7` or `{"id": 7}`, or keyless upserts, every record of a
key in the partition INSERT picks for it) and over SQL INSERT (stream rows; acct upserts). Each
round also deletes the accounts with the most auctions, moves some accounts to another region
and deletes missing keys.

At every quiescent point (every view's lag 0 in SHOW MATERIALIZED VIEWS, stable over two polls)
each view's rows must equal, as a multiset compared value for value (type and exact Decimal
digits included), its own SELECT run as a bounded query and, for a view over views, that SELECT
with every upstream view inlined as a subquery (computed from the base tables alone). The
bounded reads of the base tables must equal the test's model of what was produced. This holds
after a clean restart, after a SIGKILL right after a batch of changes and after a second SIGKILL
while the views still recover. A join without an equality between its sides (`ON a.x > b.y`,
`ON a.x <> b.y`, a comma join) is 0A000 and creates nothing. The seed also picks the stream
workers (4 for odd seeds, the default 1 among them), the state cache (small: join state is read
back from RocksDB) and the checkpoint interval.
"""
import collections
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

PARTITIONS = {"person": 2, "auction": 2, "bid": 1, "acct": 2}
PEOPLE = 120          # person ids 0..PEOPLE-1 (ids repeat: a stream has no key)
SELLERS = 140         # auction sellers 0..SELLERS-1: some never are a person
CATEGORIES = 5        # auction categories 0..CATEGORIES-1; category rows for 0..3 only
BIDDERS = 60
KEYS = 40             # acct ids 0..KEYS-1 come and go (they are sellers too); KEYS..KEYS+9 only
                      # ever deleted
STATES = ["OR", "ID", "CA", "WA", None]
NAMES = ["ann", "bob", "cid", "dee", "eve", "fay", "gus", "hal"]

# name -> (when it is created, SELECT). `{v}` names the upstream view v and is always followed by
# `AS alias`: the view's own SELECT reads v by name, the inlined SELECT reads (v's SELECT, inlined)
# as a subquery. when: "early" over the empty tables, "late" once the first data is there, N
# before round N.
VIEWS = {
    # Nexmark q3: an inner stream-stream join, WHERE conjuncts on either side (pushed down).
    "q3": ("early",
           "SELECT p.name, p.state, a.aid, a.price FROM auction a JOIN person p "
           "ON a.seller = p.id WHERE a.category = 1 AND (p.state = 'OR' OR p.state = 'ID' "
           "OR p.state = 'CA')"),
    # LEFT with a further non-equality condition in ON: an auction whose sellers all fail it
    # stays, padded; a person arriving later retracts the padded row.
    "auction_sellers": ("early",
                        "SELECT a.aid, a.seller, a.price, p.name, p.state FROM auction a "
                        "LEFT JOIN person p ON p.id = a.seller AND a.price > p.id"),
    # RIGHT: every bid with its auctions; WHERE on the preserved side and on the padded side.
    "bid_auctions": ("late",
                     "SELECT b.auction, b.bidder, b.price, a.seller, a.category FROM auction a "
                     "RIGHT JOIN bid b ON b.auction = a.aid WHERE b.price > 5 "
                     "AND (a.category IS NULL OR a.category <> 3)"),
    # FULL with two equalities and a non-equality.
    "people_auctions": (2,
                        "SELECT p.id AS pid, p.state, a.aid, a.category, a.price FROM person p "
                        "FULL JOIN auction a ON a.seller = p.id AND a.category = p.id % 4 "
                        "AND a.price > 10"),
    # Aggregates over an outer join, grouped: bids without an auction sit in the NULL group
    # until their auction arrives (the padded row retracted: min/max/DISTINCT fall back).
    "by_category": ("early",
                    "SELECT a.category, count(*) AS n, count(a.aid) AS matched, "
                    "sum(b.price) AS total, min(b.price) AS lo, max(b.price) AS hi, "
                    "avg(b.price) AS av, count(DISTINCT b.bidder) AS bidders FROM bid b "
                    "LEFT JOIN auction a ON a.aid = b.auction GROUP BY a.category"),
    # Nexmark q4: the final bid per auction (bids at or above the reserve), then per category.
    "final_bids": ("early",
                   "SELECT a.aid, a.category, max(b.price) AS final, count(*) AS bids "
                   "FROM auction a JOIN bid b ON b.auction = a.aid AND b.price >= a.price "
                   "GROUP BY a.aid, a.category"),
    "q4": ("late",
           "SELECT f.category, avg(f.final) AS av, count(*) AS n, max(f.final) AS top, "
           "min(f.bids) AS fewest FROM {final_bids} AS f GROUP BY f.category"),
    # acct first: a stream joined to acct's rows by a non-key column of the stream; acct's
    # upserts and deletes retract the joined rows.
    "acct_auctions": ("early",
                      "SELECT x.id, x.region, x.bal, a.aid, a.price FROM acct x "
                      "JOIN auction a ON a.seller = x.id WHERE x.bal > -50 AND a.price < 90"),
    "region_sales": ("late",
                     "SELECT s.region, count(*) AS n, sum(s.price) AS total, max(s.bal) AS hi, "
                     "min(s.price) AS lo, count(DISTINCT s.id) AS accts "
                     "FROM {acct_auctions} AS s GROUP BY s.region"),
    # acct joined on a non-key column (its region): an update that moves a key to another
    # region moves its joined rows.
    "state_accts": ("late",
                    "SELECT p.name, p.state, x.id, x.bal FROM person p JOIN acct x "
                    "ON x.region = p.state WHERE x.bal > 40"),
    "state_balance": ("early",
                      "SELECT p.state, count(*) AS n, sum(x.bal) AS s, count(DISTINCT p.id) AS "
                      "people, max(x.bal) AS hi, min(x.id) AS first_id, avg(x.bal) AS av "
                      "FROM person p JOIN acct x ON x.region = p.state GROUP BY p.state"),
    # RIGHT join of a stream with acct by acct's key: every account, with its auctions.
    "seller_accts": (3,
                     "SELECT a.aid, a.seller, a.price, x.id, x.region FROM auction a "
                     "RIGHT JOIN acct x ON x.id = a.seller"),
    # Aggregate over acct JOIN stream, grouped by acct's column.
    "acct_totals": (2,
                    "SELECT x.region, count(*) AS n, sum(a.price) AS s, min(x.bal) AS lo, "
                    "max(a.price) AS hi, avg(x.bal) AS av, count(DISTINCT a.category) AS cats "
                    "FROM acct x JOIN auction a ON a.seller = x.id GROUP BY x.region "
                    "HAVING count(*) > 1"),
    # Three-way joins.
    "bid_people": (3,
                   "SELECT p.name, a.aid, b.bidder, b.price FROM bid b "
                   "JOIN auction a ON a.aid = b.auction JOIN person p ON p.id = a.seller "
                   "WHERE b.price > 100 AND p.state IS NOT NULL"),
    # LEFT joins in a row where the first pads and the second joins acct (whose changes come
    # at the same time from other partitions): a padded row and its retraction must meet the
    # second join's state in either order.
    "auction_owner": ("late",
                      "SELECT a.aid, p.name, x.region, x.bal FROM auction a "
                      "LEFT JOIN person p ON p.id = a.seller LEFT JOIN acct x ON x.id = a.seller"),
    "bid_accts": ("late",
                  "SELECT b.auction, b.bidder, a.seller, x.region FROM bid b "
                  "LEFT JOIN auction a ON a.aid = b.auction LEFT JOIN acct x ON x.id = b.bidder"),
    "person_accts": (2,
                     "SELECT p.id, p.name, a.aid, x.bal FROM person p "
                     "LEFT JOIN auction a ON a.seller = p.id LEFT JOIN acct x ON x.id = p.id"),
    # A lookup of the never-changing category by its key, then a hash join with person.
    "cat_auctions": ("early",
                     "SELECT a.aid, c.cname, p.name, p.state FROM auction a "
                     "JOIN category c ON c.id = a.category LEFT JOIN person p ON p.id = a.seller"),
    # A materialized view as one side of a join.
    "seller_stats": ("early",
                     "SELECT seller, count(*) AS n, max(price) AS top, sum(price) AS total "
                     "FROM auction GROUP BY seller"),
    "person_counts": ("early",
                      "SELECT id, count(*) AS k, max(name) AS last_name FROM person GROUP BY id"),
    "seller_names": ("late",
                     "SELECT s.seller, s.n, s.top, p.name, p.state FROM {seller_stats} AS s "
                     "JOIN person p ON p.id = s.seller"),
    "people_stats": (4,
                     "SELECT p.id, p.name, s.n, s.total FROM person p "
                     "LEFT JOIN {seller_stats} AS s ON s.seller = p.id WHERE p.state IS NOT NULL"),
    "stats_pairs": (5,
                    "SELECT s.seller, s.n, c.id, c.k, c.last_name FROM {seller_stats} AS s "
                    "FULL JOIN {person_counts} AS c ON c.id = s.seller"),
    # Self-joins: one stream read on both sides, acct on both sides, a view on both sides.
    "outbid": ("early",
               "SELECT b1.auction, b1.bidder, b1.price, b2.bidder AS outbidder FROM bid b1 "
               "JOIN bid b2 ON b2.auction = b1.auction AND b2.price > b1.price + 50"),
    "acct_pairs": ("late",
                   "SELECT x.id, y.id AS other, x.region, y.bal FROM acct x JOIN acct y "
                   "ON y.region = x.region AND y.id < x.id WHERE x.bal > 0"),
    "same_top": (5,
                 "SELECT s1.seller, s2.seller AS other, s1.top FROM {seller_stats} AS s1 "
                 "JOIN {seller_stats} AS s2 ON s2.top = s1.top AND s2.n = s1.n "
                 "AND s2.seller <> s1.seller"),
    # SELECT DISTINCT over an outer join (a GROUP BY of its columns, with retractions).
    "state_categories": ("late",
                         "SELECT DISTINCT p.state, a.category FROM person p "
                         "RIGHT JOIN auction a ON a.seller = p.id"),
    # A global aggregate over a FULL join.
    "outer_totals": (4,
                     "SELECT count(*) AS c, count(p.id) AS people, count(a.aid) AS auctions, "
                     "sum(a.price) AS s, min(p.name) AS first_name, max(a.aid) AS last_aid, "
                     "avg(a.price) AS av, count(DISTINCT p.state) AS states FROM auction a "
                     "FULL JOIN person p ON p.id = a.seller"),
}
ROUNDS = 6


# (v's SELECT, inlined) replaces {v} in the inlined SELECT (`AS alias` follows it).
GRAPH = ViewGraph(VIEWS, inline="({select})")


# ---------------------------------------------------------------------------------------------
# The model of the base tables and the changes.

def maybe_null(rng, value, p=0.03):
    return None if rng.random() < p else value


class Model:
    """How many rows each stream has (and the auction ids so far) and what acct holds."""

    def __init__(self, rng):
        self.rng = rng
        self.counts = collections.Counter()
        self.next_aid = 0
        self.acct = {}  # id -> (id, region, bal)

    def person(self):
        rng = self.rng
        self.counts["person"] += 1
        pid = maybe_null(rng, rng.randrange(PEOPLE))
        return (pid, maybe_null(rng, f"{rng.choice(NAMES)}{rng.randrange(10)}", 0.02),
                rng.choice(STATES))

    def auction(self):
        rng = self.rng
        self.counts["auction"] += 1
        if self.next_aid and rng.random() < 0.05:
            aid = rng.randrange(self.next_aid)  # an id again
        else:
            aid = self.next_aid
            self.next_aid += 1
        seller = rng.randrange(KEYS) if rng.random() < 0.3 else rng.randrange(SELLERS)
        return (maybe_null(rng, aid, 0.02), maybe_null(rng, seller),
                maybe_null(rng, rng.randrange(CATEGORIES), 0.02),
                maybe_null(rng, rng.randint(1, 100)))

    def bid(self):
        rng = self.rng
        self.counts["bid"] += 1
        # Mostly recent auctions, some not there yet (they may come later).
        back = int(rng.expovariate(1 / 40))
        auction = max(0, self.next_aid - 1 - back) + rng.choice([0, 0, 0, 5])
        return (maybe_null(rng, auction), rng.randrange(BIDDERS),
                maybe_null(rng, rng.randint(1, 150)))

    def random_account(self, key_id):
        bal = maybe_null(self.rng, self.rng.randint(-100, 100), 0.05)
        return (key_id, self.rng.choice(STATES), bal)


COLUMNS = {"person": ("id", "name", "state"), "auction": ("aid", "seller", "category", "price"),
           "bid": ("auction", "bidder", "price")}


def stream_record(table, row, rng):
    fields = []
    for name, value in zip(COLUMNS[table], row):
        if value is None and rng.random() < 0.5:
            continue  # a missing field is NULL too
        fields.append(f'"{name}": {json.dumps(value)}')
    rng.shuffle(fields)
    value = "{" + ", ".join(fields) + "}"
    return (table, rng.randrange(PARTITIONS[table]), None, value.encode())


def acct_record(key_id, row, rng):
    """An upsert (row; keyed, or now and then keyless) or a tombstone (None), keyed by the
    primary key as `7` or `{"id": 7}`, in the partition INSERT picks for the key."""
    key = rng.choice([str(key_id), f'{{"id": {key_id}}}', f'{{"id":{key_id}}}']).encode()
    value = None
    if row is not None:
        value = json.dumps({"id": row[0], "region": row[1], "bal": row[2]}).encode()
        if rng.random() < 0.1:
            key = None
    return ("acct", partition_of(key_id, PARTITIONS["acct"]), key, value)


def random_acct_changes(model, count):
    """New keys, updates (another region: the join column; another balance), the same row
    again, tombstones of live and of never-live keys; applied to the model."""
    rng = model.rng

    def moved(old):  # to another region, the same balance
        return (old[0], rng.choice([s for s in STATES if s != old[1]]), old[2])

    return random_keyed_changes(rng, model.acct, count, KEYS, model.random_account,
                                lambda key_id, row: acct_record(key_id, row, rng), moved)


def targeted_acct_changes(model, seller_counts):
    """Deletes the live account with the most auctions (many joined rows retracted at once),
    moves another to another region, deletes a never-live key."""
    rng, records = model.rng, []
    live = sorted(model.acct)
    if live:
        top = max(live, key=lambda k: (seller_counts[k], k))
        apply_change(model.acct, top, None)
        records.append(acct_record(top, None, rng))
    live = sorted(model.acct)
    if live:
        key_id = rng.choice(live)
        old = model.acct[key_id]
        row = (key_id, rng.choice([s for s in STATES if s != old[1]]), rng.randint(41, 100))
        apply_change(model.acct, key_id, row)
        records.append(acct_record(key_id, row, rng))
    missing = KEYS + rng.randrange(10)
    records.append(acct_record(missing, None, rng))
    return records


# ---------------------------------------------------------------------------------------------
# Talking to the server.

def insert_accts(server, model, count):
    """One INSERT (upserts) of `count` distinct keys."""
    rows = [model.random_account(k) for k in model.rng.sample(range(KEYS), count)]
    upsert_rows(server, "acct", model.acct, rows)


class Producing:
    """Per round: stream rows over Kafka and over INSERT, acct changes over Kafka and INSERT."""

    def __init__(self, model):
        self.model = model
        self.seller_counts = collections.Counter()

    def rows(self, table, count):
        make = getattr(self.model, table)
        out = [make() for _ in range(count)]
        if table == "auction":
            self.seller_counts.update(r[1] for r in out if r[1] is not None)
        return out

    def stream_records(self, table, count):
        rng = self.model.rng
        return [stream_record(table, r, rng) for r in self.rows(table, count)]

    def round(self, server, size):
        model, rng = self.model, self.model.rng
        streams = []
        for table, share in (("person", 0.3), ("auction", 0.4), ("bid", 0.8)):
            streams += self.stream_records(table, max(1, int(size * share)))
        produce_all(server, interleave(rng, streams, random_acct_changes(model, max(1, size // 6))))
        for table in ("person", "auction", "bid"):
            insert_rows(server, table, self.rows(table, rng.randint(1, 6)))
        insert_accts(server, model, rng.randint(1, 4))
        produce_all(server, targeted_acct_changes(model, self.seller_counts))

    def burst(self, server, size):
        """Many stream rows and acct changes at once (each key's changes in the order made)."""
        streams = []
        for table, share in (("person", 0.25), ("auction", 0.35), ("bid", 0.6)):
            streams += self.stream_records(table, int(size * share))
        produce_all(server, interleave(self.model.rng, streams,
                                       random_acct_changes(self.model, size // 8)))


def interleave(rng, streams, accts):
    """The stream records in a random order, the acct records among them in the order they
    were made (the model applied them in that order; one key's records must stay in order)."""
    rng.shuffle(streams)
    tags = [0] * len(streams) + [1] * len(accts)
    rng.shuffle(tags)
    sources = (iter(streams), iter(accts))
    return [next(sources[t]) for t in tags]


def verify_bases(conn, model, what, seed):
    check_keyed_table(conn, what, "acct", "id, region, bal", model.acct, PARTITIONS["acct"],
                      seed=seed)
    for table in ("person", "auction", "bid"):
        _, [(count,)] = query(conn, f"SELECT count(*) FROM {table}")
        check(count == model.counts[table],
              f"{what}: {table} holds {count} rows; produced {model.counts[table]}")


def verify(server, model, what, live, seed):
    """Returns how many rows the live views hold."""
    with connect(server) as conn:
        verify_bases(conn, model, what, seed)
        return GRAPH.check_views(conn, what, live, seed, "the bounded SELECT")


def check_refused(server, live):
    """Joins without an equality between their sides are 0A000 and create nothing."""
    with connect(server) as conn:
        expect_error(conn, "CREATE MATERIALIZED VIEW bad_theta AS SELECT p.id, a.aid "
                     "FROM person p JOIN auction a ON a.price > p.id", "0A000",
                     "an inner join on a non-equality only")
        expect_error(conn, "CREATE MATERIALIZED VIEW bad_left AS SELECT a.aid, b.price "
                     "FROM auction a LEFT JOIN bid b ON b.auction <> a.aid", "0A000",
                     "a LEFT join on <> only")
        expect_error(conn, "CREATE MATERIALIZED VIEW bad_acct AS SELECT x.id, a.aid "
                     "FROM acct x JOIN auction a ON a.seller > x.id", "0A000",
                     "a join of acct on a non-equality only")
        expect_error(conn, "CREATE MATERIALIZED VIEW bad_comma AS SELECT p.id, b.price "
                     "FROM person p, bid b", "0A000", "a comma join")
        names = sorted(v[0] for v in show_views(conn))
        check(names == sorted(live), f"refused views were created: {names}")
        for name in ("bad_theta", "bad_left", "bad_acct", "bad_comma"):
            expect_error(conn, f"SELECT * FROM {name}", "42P01", f"reading refused {name}")


def workers(rng, seed):
    """Stream workers: 4 for odd seeds, the default among them (source partitions are pumped in
    parallel, so the changes of one key reach the joins from several threads at once)."""
    return 4 if seed % 2 else rng.choice([1, 2])


def run(binary, seed):
    rng = random.Random(seed)
    model = Model(rng)
    producing = Producing(model)
    options = server_options(rng, workers(rng, seed))
    print(f"server options: {' '.join(options)}", flush=True)
    started = time.monotonic()
    live = []
    rows = [0]

    def quiescent(what):
        wait_caught_up(server, what, live)
        rows[0] = verify(server, model, what, live, seed)

    with eddy_pg.Server(binary, extra_args=options) as server:
        server.start()
        with connect(server) as conn:
            for table, columns in (("person", "id int, name text, state text"),
                                   ("auction", "aid int, seller int, category int, price int"),
                                   ("bid", "auction int, bidder int, price int")):
                conn.execute(f"CREATE TABLE {table} ({columns}) "
                             f"WITH (partitions = {PARTITIONS[table]})")
            conn.execute("CREATE TABLE acct (id int PRIMARY KEY, region text, bal int) "
                         f"WITH (partitions = {PARTITIONS['acct']})")
            conn.execute("CREATE TABLE category (id int PRIMARY KEY, cname text)")
            # Before any stream row, never changed: cat_auctions' lookup sees all of it.
            conn.execute("INSERT INTO category VALUES (0, 'art'), (1, 'books'), (2, 'cars'), "
                         "(3, 'dolls')")
        GRAPH.create_in_rounds(server, live, quiescent, refused=check_refused,
                               change=lambda size: producing.round(server, size),
                               first=400, rounds=ROUNDS, size=lambda: rng.randint(30, 150))
        restarts_and_kills(server, quiescent,
                           change=lambda size: producing.round(server, size),
                           burst=lambda size: producing.burst(server, size),
                           round_size=80, bursts=[2500, 600, 300])
        producing.round(server, 80)
        quiescent("last round")
        server.stop()
    print(f"ok: seed {seed}, {model.counts['person']} persons, {model.counts['auction']} "
          f"auctions, {model.counts['bid']} bids, {len(model.acct)} live accounts, "
          f"{len(VIEWS)} views holding {rows[0]} rows, {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    run_main(run, default_seed=1)

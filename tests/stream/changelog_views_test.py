#!/usr/bin/python3
"""Materialized views over a table with a primary key (a changelog), checked against bounded
queries of the same SELECT, under random upserts, updates, deletes and restarts.

usage: changelog_views_test.py EDDY_BINARY [SEED]   (the seed defaults to 1 and is printed)

The table `acct` (PRIMARY KEY id, two partitions) changes at random over Kafka (new keys, updates
that move a key to another group or change its values, tombstones of live and of missing keys
with the Kafka key as `{"id": 7}` or `7`, identical upserts again) and over SQL INSERT (upserts);
a plain stream table `ev` only grows. Every record of a key goes to the partition INSERT picks for
it, so the latest record per key is well defined. Some views start over the empty tables, the
others over the first changes. After each round, once every view has caught up (lag 0 in SHOW
MATERIALIZED VIEWS), each view's contents must equal its own SELECT run as a bounded query, as
multisets of rows, value for value (numerics exactly). This proves that a change of a key
retracts its previous row: aggregates (count, count(x), sum, min, max, avg, count(DISTINCT),
bool_and/bool_or, HAVING, global aggregates, NULL groups and NULL values), a filtered projection,
SELECT DISTINCT and a UNION ALL with a stream arm stay exact, and groups whose rows all went are
gone. The views' output topics, read from the start to their end offsets and rebuilt as "latest
value per key, a null value deletes", must equal the views (a GROUP BY view's topic is keyed by
the group, a global aggregate's by `{}`; a view without GROUP BY is keyed by the row, so it
rebuilds the view's distinct rows). The same holds after a clean restart, after a SIGKILL right
after a large batch of changes, and after SIGKILLs while the views still recover from the last
one: no change lost or counted twice. The seed also picks the server's stream workers, state
cache and checkpoint interval. string_agg over the table is 0A000. The bounded SELECT of acct
itself must equal the test's model of the table.
"""
import decimal
import json
import os
import random
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sql"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eddy_pg  # noqa: E402
import view_checks  # noqa: E402
from view_checks import (apply_change, check, check_keyed_table, check_rows,  # noqa: E402
                         connect, exact_row, expect_error, partition_of, produce_all, query,
                         restarts_and_kills, run_main, server_options, upsert_rows)

D = decimal.Decimal
KEYS = 40        # live ids are 0..KEYS-1; ids up to KEYS+9 are only ever deleted
PARTITIONS = 2
REGIONS = ["north", "south", "east", None]

# name -> (WITH clause, SELECT). Each SELECT is also run, as written, as a bounded query.
VIEWS = {
    "by_region": (
        "WITH (topic = 'by_region_out')",
        "SELECT region, count(*) AS c, count(n) AS cn, sum(n) AS sn, sum(bal) AS sb, "
        "min(bal) AS lo, max(n) AS hi, avg(bal) AS av, count(DISTINCT n) AS dn, "
        "bool_and(flag) AS every_flag, bool_or(flag) AS any_flag FROM acct GROUP BY region"),
    "crowded": (
        "WITH (topic = 'crowded_out')",
        "SELECT region, flag, count(*) AS c, sum(bal) AS total, max(bal) AS top FROM acct "
        "GROUP BY region, flag HAVING count(*) > 2"),
    "buckets": (
        "",
        "SELECT n % 3 AS bucket, count(*) AS c, min(region) AS first_region, "
        "max(region) AS last_region, avg(n) AS mean_n FROM acct WHERE id % 5 <> 0 GROUP BY n % 3"),
    "totals": (
        "",
        "SELECT count(*) AS c, count(bal) AS cb, sum(bal) AS s, min(n) AS lo, max(bal) AS hi, "
        "avg(n) AS a, count(DISTINCT region) AS regions, bool_or(flag) AS any_flag FROM acct"),
    "rich": (
        "WITH (topic = 'rich_out')",
        "SELECT count(*) AS c, sum(bal) AS s, min(id) AS first_id FROM acct WHERE bal > 90"),
    "shapes": (
        "WITH (topic = 'shapes_out')",
        "SELECT region, n % 4 AS m, flag FROM acct WHERE bal > 0 OR bal IS NULL"),
    "flagged": (
        "",
        "SELECT id, upper(region) AS r, bal * 2 AS b2, n + 1 AS n1 FROM acct WHERE flag"),
    "pairs": (
        "",
        "SELECT DISTINCT region, flag FROM acct"),
    "events": (
        "",
        "SELECT id, region, bal AS amount, 'acct' AS src FROM acct WHERE n IS NOT NULL "
        "UNION ALL SELECT id, region, amt, 'ev' FROM ev WHERE amt IS DISTINCT FROM 0"),
    # Top-N per group over the changelog (a change moves rows in and out of the first two and
    # renumbers them) and deduplication over the stream.
    "top_bal": (
        "WITH (topic = 'top_bal_out')",
        "SELECT region, id, bal, rk FROM (SELECT region, id, bal, row_number() OVER "
        "(PARTITION BY region ORDER BY bal DESC, id) AS rk FROM acct WHERE n IS NOT NULL) t "
        "WHERE rk <= 2"),
    "first_ev": (
        "",
        "SELECT region, amt, id FROM (SELECT id, region, amt, row_number() OVER "
        "(PARTITION BY region ORDER BY amt DESC NULLS LAST, id) AS r FROM ev) t WHERE r = 1"),
    "firsts": (
        "",
        "SELECT DISTINCT ON (region) region, id, bal * 2 AS b2 FROM acct "
        "ORDER BY region, bal DESC, id"),
    # INTERSECT / EXCEPT of the changelog and the stream (counts per arm, NULLs equal).
    "common": (
        "",
        "SELECT region FROM acct INTERSECT ALL SELECT region FROM ev WHERE amt > 50"),
    "acct_left": (
        "WITH (topic = 'acct_left_out')",
        "SELECT region, id % 4 AS m FROM acct EXCEPT SELECT region, id % 4 FROM ev"),
}
# Created over the empty tables; the others over the first changes.
EARLY = ["by_region", "totals", "rich", "shapes", "events", "first_ev"]
# Output topics: name -> (view, "group" for an upsert changelog keyed by the group columns or
# "row" for a changelog keyed by the whole row).
TOPICS = {"by_region_out": ("by_region", "group"), "crowded_out": ("crowded", "group"),
          "rich_out": ("rich", "group"), "shapes_out": ("shapes", "row"),
          "top_bal_out": ("top_bal", "row"), "acct_left_out": ("acct_left", "row")}


class Model:
    """What acct holds now (id -> row) and how many rows ev has."""

    def __init__(self, rng):
        self.rng = rng
        self.acct = {}
        self.ev_rows = 0

    def random_row(self, key_id):
        rng = self.rng
        bal = None if rng.random() < 0.12 else D(rng.randint(-5000, 10000)) / 100
        n = None if rng.random() < 0.12 else rng.randint(0, 9)
        flag = rng.choice([True, False, None])
        return (key_id, rng.choice(REGIONS), bal, n, flag)


def bal_json(bal, rng):
    """A numeric as JSON in one of the forms a producer may write (never more than 2 decimals)."""
    if bal is None:
        return "null"
    if bal == bal.to_integral_value() and rng.random() < 0.5:
        return str(int(bal))
    return f"{bal:.2f}"


def row_json(row, rng):
    key_id, region, bal, n, flag = row
    fields = [f'"id": {key_id}']
    for name, text in (("region", json.dumps(region)), ("bal", bal_json(bal, rng)),
                       ("n", json.dumps(n)), ("flag", json.dumps(flag))):
        if text == "null" and rng.random() < 0.5:
            continue  # a missing field is NULL too
        fields.append(f'"{name}": {text}')
    rng.shuffle(fields)
    return "{" + ", ".join(fields) + "}"


def kafka_key(key_id, rng):
    return rng.choice([f'{{"id": {key_id}}}', f'{{"id":{key_id}}}', str(key_id)]).encode()


def kafka_changes(model, count):
    """Random acct changes (applied to the model) and ev appends, as records to produce."""
    rng = model.rng
    records = []
    for _ in range(count):
        if rng.random() < 0.2:
            model.ev_rows += 1
            amt = rng.choice([None, D(0), D(rng.randint(-999, 9999)) / 100])
            value = (f'{{"id": {rng.randrange(100)}, "region": {json.dumps(rng.choice(REGIONS))}, '
                     f'"amt": {bal_json(amt, rng)}}}')
            records.append(("ev", None, None, value.encode()))
            continue
        # Mostly keys 0..KEYS-1, about three in four of them live; a few never-live keys.
        key_id = rng.randrange(KEYS + 10 if rng.random() < 0.1 else KEYS)
        what = rng.random()
        if key_id not in model.acct:
            # A new key, or a delete of a key that is not there.
            row = model.random_row(key_id) if key_id < KEYS and what < 0.8 else None
        elif what < 0.55:
            row = model.random_row(key_id)  # an update: other group, other values
        elif what < 0.7:
            row = model.acct[key_id]  # the same row again
        else:
            row = None  # a delete
        apply_change(model.acct, key_id, row)
        if row is None:
            records.append(("acct", partition_of(key_id, PARTITIONS), kafka_key(key_id, rng),
                            None))
        else:
            key = None if rng.random() < 0.1 else kafka_key(key_id, rng)
            records.append(("acct", partition_of(key_id, PARTITIONS), key,
                            row_json(row, rng).encode()))
    return records


def sql_upserts(server, model, count):
    """One INSERT of `count` rows (a key may come twice: the later row wins)."""
    rows = [model.random_row(model.rng.randrange(KEYS)) for _ in range(count)]
    upsert_rows(server, "acct", model.acct, rows)


def change(server, model, count):
    produce_all(server, kafka_changes(model, count))
    sql_upserts(server, model, model.rng.randint(1, 4))
    produce_all(server, kafka_changes(model, count // 2))


def wait_caught_up(server, what, views=VIEWS):
    """Until every view has checkpointed everything produced so far (lag 0): no view reads
    another, so one poll that finds as many views as `views` at lag 0 is enough; polled back to
    back."""
    view_checks.wait_caught_up(server, what, views, two_polls=False, by_name=False, pause_s=0)


def read_topic(server, topic):
    """Every record of the topic from its start to its end offsets, per partition in order."""
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "changelog-test",
                         "enable.auto.commit": False, "allow.auto.create.topics": False,
                         "log_level": 2})
    try:
        meta = consumer.list_topics(timeout=10)
        if topic not in meta.topics:
            return []
        records = []
        for partition in sorted(meta.topics[topic].partitions):
            lo, hi = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if hi <= lo:
                continue
            consumer.assign([TopicPartition(topic, partition, lo)])
            deadline = time.monotonic() + 30
            next_offset = lo
            while next_offset < hi:
                check(time.monotonic() < deadline, f"{topic}[{partition}]: read stopped at "
                      f"{next_offset} of {lo}..{hi}")
                msg = consumer.poll(1.0)
                if msg is None:
                    continue
                if msg.error():
                    raise KafkaException(msg.error())
                if msg.offset() >= hi:
                    break
                records.append((msg.key(), msg.value()))
                next_offset = msg.offset() + 1
        return records
    finally:
        consumer.close()


def decode(data):
    return json.loads(data, parse_float=D)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, default=str)


def rebuild(topic, kind, records, columns):
    """Latest value per key, a null value deleting it: the rows the topic holds."""
    latest = {}
    for key, value in records:
        check(key is not None, f"{topic}: a record without a key")
        k = decode(key)
        if value is None:
            latest.pop(canonical(k), None)
            continue
        v = decode(value)
        check(list(v) == columns, f"{topic}: value fields {list(v)} are not the view's {columns}")
        if kind == "group":
            check(set(k) <= set(columns) and all(v[c] == k[c] for c in k),
                  f"{topic}: key {k} does not name the group of {v}")
        else:
            check(k == v, f"{topic}: key {k} is not its row {v}")
        latest[canonical(k)] = tuple(v[c] for c in columns)
    return list(latest.values())


def verify(server, model, what, views=VIEWS):
    """Views compared with their bounded SELECTs value for value; the table with the model and
    the output topics with the views as Python compares them (JSON numbers lose a numeric's
    scale); a failing query is psycopg's error."""
    with connect(server) as conn:
        check_keyed_table(conn, what, "acct", "*", model.acct, PARTITIONS, key=None,
                          mismatch=False)
        ev = query(conn, "SELECT count(*) FROM ev", mismatch=False)[1][0][0]
        check(ev == model.ev_rows, f"{what}: ev has {ev} rows, produced {model.ev_rows}")
        contents = {}
        for name in views:
            select = VIEWS[name][1]
            columns, actual = query(conn, f"SELECT * FROM {name}", mismatch=False)
            expected_columns, expected = query(conn, select, mismatch=False)
            check(columns == expected_columns, f"{what}: {name} columns {columns}")
            # Value for value: numerics with their digits and scale, types as sent.
            check_rows(f"{what}: view {name} vs its bounded SELECT [{select}]", actual, expected,
                       ("the view", "the bounded SELECT"), key=exact_row)
            contents[name] = (columns, actual)
    for topic, (view, kind) in TOPICS.items():
        if view not in views:
            continue
        columns, rows = contents[view]
        rebuilt = rebuild(topic, kind, read_topic(server, topic), columns)
        wanted = rows if kind == "group" else list(set(rows))
        check_rows(f"{what}: output topic {topic} rebuilt vs view {view}", rebuilt, wanted,
                   (f"the topic {topic}", f"the view {view}"), key=None)


def create(server):
    with connect(server) as conn:
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, region text, bal numeric(10,2), "
                     f"n int, flag boolean) WITH (partitions = {PARTITIONS})")
        conn.execute("CREATE TABLE ev (id int, region text, amt numeric(10,2)) "
                     "WITH (partitions = 2)")


def create_views(server, names):
    with connect(server) as conn:
        for name in names:
            options, select = VIEWS[name]
            conn.execute(f"CREATE MATERIALIZED VIEW {name} {options} AS {select}")


def check_string_agg_refused(server):
    with connect(server) as conn:
        expect_error(conn, "CREATE MATERIALIZED VIEW names AS SELECT region, "
                     "string_agg(CAST(id AS text), ',') AS ids FROM acct GROUP BY region",
                     "0A000", "string_agg over a table with a primary key")


def run(binary, seed):
    model = Model(random.Random(seed))
    options = server_options(model.rng)
    print(f"server options: {' '.join(options)}", flush=True)
    started = time.monotonic()

    def quiescent(what, views=VIEWS):
        wait_caught_up(server, what, views)
        verify(server, model, what, views)

    with eddy_pg.Server(binary, extra_args=options) as server:
        server.start()
        create(server)
        check_string_agg_refused(server)
        create_views(server, EARLY)
        quiescent("over empty tables", EARLY)
        change(server, model, 60)  # data the other views find when they start
        create_views(server, [name for name in VIEWS if name not in EARLY])
        quiescent("initial")
        for round_no in range(1, 6):
            change(server, model, model.rng.randint(10, 80))
            quiescent(f"round {round_no}")

        # SIGKILLs right after batches of Kafka changes: 6000, then 3000, 500 and 2000.
        restarts_and_kills(server, quiescent,
                           change=lambda count: change(server, model, count),
                           burst=lambda count: produce_all(server, kafka_changes(model, count)),
                           round_size=50, bursts=[6000, 3000, 500, 2000])
        change(server, model, 50)
        quiescent("last round")
        server.stop()
    print(f"ok: seed {seed}, {len(model.acct)} live keys, {model.ev_rows} ev rows, "
          f"{time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    run_main(run, default_seed=1, catch_all=False)

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
import collections
import decimal
import json
import os
import random
import signal
import sys
import time

import psycopg
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sql"))
import eddy_pg  # noqa: E402

D = decimal.Decimal
CATCH_UP_S = 60
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


class Mismatch(AssertionError):
    pass


def check(cond, message):
    if not cond:
        raise Mismatch(message)


def partition_of(key_id):
    """The partition INSERT writes the key to (FNV-1a of its JSON key, docs/sql.md); Kafka
    records of the key go there too so that one key stays in one partition."""
    h = 2166136261
    for c in f'{{"id":{key_id}}}'.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h % PARTITIONS


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


def producer(server):
    # One request in flight per connection, so a key's records land in the order produced.
    return Producer({"bootstrap.servers": server.bootstrap, "acks": "all", "linger.ms": 5,
                     "max.in.flight.requests.per.connection": 1, "log_level": 2})


def produce_all(server, records):
    """Produces (topic, partition or None, key, value) in order; returns once all are acked."""
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(err)

    p = producer(server)
    for topic, partition, key, value in records:
        kwargs = {} if partition is None else {"partition": partition}
        while True:
            try:
                p.produce(topic, key=key, value=value, on_delivery=delivered, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    check(p.flush(60) == 0, "producer did not deliver everything")
    check(not errors, f"produce failed: {errors[:3]}")


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
        if row is None:
            model.acct.pop(key_id, None)
            records.append(("acct", partition_of(key_id), kafka_key(key_id, rng), None))
        else:
            model.acct[key_id] = row
            key = None if rng.random() < 0.1 else kafka_key(key_id, rng)
            records.append(("acct", partition_of(key_id), key, row_json(row, rng).encode()))
    return records


def sql_upserts(server, model, count):
    """One INSERT of `count` rows (a key may come twice: the later row wins)."""
    rows = [model.random_row(model.rng.randrange(KEYS)) for _ in range(count)]
    placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"INSERT INTO acct VALUES {placeholders}", [v for r in rows for v in r])
    for row in rows:
        model.acct[row[0]] = row


def change(server, model, count):
    produce_all(server, kafka_changes(model, count))
    sql_upserts(server, model, model.rng.randint(1, 4))
    produce_all(server, kafka_changes(model, count // 2))


def wait_caught_up(server, what, views=VIEWS):
    """Until every view has checkpointed everything produced so far (lag 0)."""
    deadline = time.monotonic() + CATCH_UP_S
    last = None
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            last = conn.execute("SHOW MATERIALIZED VIEWS").fetchall()
            check(all(v[2] == "running" for v in last), f"{what}: a view failed: {last}")
            if len(last) == len(views) and all(v[5] == 0 for v in last):
                return
    raise Mismatch(f"{what}: views did not catch up within {CATCH_UP_S} s: {last}")


def sort_key(row):
    return tuple((v is not None, str(type(v)), v if v is not None else 0) for v in row)


def multiset_diff(actual, expected):
    a, e = collections.Counter(actual), collections.Counter(expected)
    return sorted((a - e).elements(), key=sort_key), sorted((e - a).elements(), key=sort_key)


def check_rows(what, actual, expected, names=("the view", "the bounded SELECT")):
    extra, missing = multiset_diff(actual, expected)
    width = max(len(n) for n in names)
    check(not extra and not missing,
          f"{what}: {len(actual)} rows in {names[0]}, {len(expected)} in {names[1]}\n"
          f"  only in {names[0]:{width}}: {extra[:12]}\n"
          f"  only in {names[1]:{width}}: {missing[:12]}")


def query(conn, sql):
    cur = conn.execute(sql)
    return [d.name for d in cur.description], [tuple(r) for r in cur.fetchall()]


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
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        _, acct = query(conn, "SELECT * FROM acct")
        check_rows(f"{what}: bounded SELECT of acct vs the model", acct, list(model.acct.values()),
                   ("the table", "the model"))
        placed = query(conn, "SELECT id, _partition FROM acct")[1]
        check(all(p == partition_of(i) for i, p in placed),
              f"{what}: INSERT put keys elsewhere than the test's partitioner: {placed}")
        ev = query(conn, "SELECT count(*) FROM ev")[1][0][0]
        check(ev == model.ev_rows, f"{what}: ev has {ev} rows, produced {model.ev_rows}")
        contents = {}
        for name in views:
            select = VIEWS[name][1]
            columns, actual = query(conn, f"SELECT * FROM {name}")
            expected_columns, expected = query(conn, select)
            check(columns == expected_columns, f"{what}: {name} columns {columns}")
            check_rows(f"{what}: view {name} vs its bounded SELECT [{select}]", actual, expected)
            contents[name] = (columns, actual)
    for topic, (view, kind) in TOPICS.items():
        if view not in views:
            continue
        columns, rows = contents[view]
        rebuilt = rebuild(topic, kind, read_topic(server, topic), columns)
        wanted = rows if kind == "group" else list(set(rows))
        check_rows(f"{what}: output topic {topic} rebuilt vs view {view}", rebuilt, wanted,
                   (f"the topic {topic}", f"the view {view}"))


def create(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, region text, bal numeric(10,2), "
                     f"n int, flag boolean) WITH (partitions = {PARTITIONS})")
        conn.execute("CREATE TABLE ev (id int, region text, amt numeric(10,2)) "
                     "WITH (partitions = 2)")


def create_views(server, names):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for name in names:
            options, select = VIEWS[name]
            conn.execute(f"CREATE MATERIALIZED VIEW {name} {options} AS {select}")


def check_string_agg_refused(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        try:
            conn.execute("CREATE MATERIALIZED VIEW names AS SELECT region, "
                         "string_agg(CAST(id AS text), ',') AS ids FROM acct GROUP BY region")
        except psycopg.Error as e:
            check(e.sqlstate == "0A000", f"string_agg over acct: {e.sqlstate} {e}")
        else:
            raise Mismatch("string_agg over a table with a primary key was accepted")


def server_options(rng):
    """Per seed: how many stream workers (more than the partitions: decode slices and sharded
    aggregate merges), how much aggregate state stays in memory (little: the rest, with the
    values min/max/DISTINCT keep per group, is read back from RocksDB) and how often views
    checkpoint (often: more output-topic appends for a SIGKILL to fall between)."""
    return ["--stream-workers", str(rng.choice([1, 2, 4])),
            "--state-cache-bytes", str(rng.choice([64 << 10, 64 << 20])),
            "--view-checkpoint-interval-ms", str(rng.choice([5, 20, 100]))]


def crash(server, model, what, sizes):
    """SIGKILL right after each batch is acknowledged (the later ones while the views still
    recover from the kill before), then a restart; the views must end up exact."""
    for size in sizes:
        produce_all(server, kafka_changes(model, size))
        server.stop(signal.SIGKILL)
        server.start()
    wait_caught_up(server, what)
    verify(server, model, what)


def run(binary, seed):
    model = Model(random.Random(seed))
    options = server_options(model.rng)
    print(f"server options: {' '.join(options)}", flush=True)
    started = time.monotonic()
    with eddy_pg.Server(binary, extra_args=options) as server:
        server.start()
        create(server)
        check_string_agg_refused(server)
        create_views(server, EARLY)
        wait_caught_up(server, "over empty tables", EARLY)
        verify(server, model, "over empty tables", EARLY)
        change(server, model, 60)  # data the other views find when they start
        create_views(server, [name for name in VIEWS if name not in EARLY])
        wait_caught_up(server, "initial")
        verify(server, model, "initial")
        for round_no in range(1, 6):
            change(server, model, model.rng.randint(10, 80))
            wait_caught_up(server, f"round {round_no}")
            verify(server, model, f"round {round_no}")

        server.stop()
        server.start()
        wait_caught_up(server, "clean restart")
        verify(server, model, "after a clean restart")
        change(server, model, 50)
        wait_caught_up(server, "round after the clean restart")
        verify(server, model, "round after the clean restart")

        crash(server, model, "after SIGKILL", [6000])
        change(server, model, 50)
        wait_caught_up(server, "round after SIGKILL")
        verify(server, model, "round after SIGKILL")
        crash(server, model, "after SIGKILLs during recovery", [3000, 500, 2000])
        change(server, model, 50)
        wait_caught_up(server, "last round")
        verify(server, model, "last round")
        server.stop()
    print(f"ok: seed {seed}, {len(model.acct)} live keys, {model.ev_rows} ev rows, "
          f"{time.monotonic() - started:.1f} s")


def main():
    binary = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    print(f"seed {seed}", flush=True)
    try:
        run(binary, seed)
    except Mismatch as e:
        print(f"FAIL (seed {seed}): {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

"""The harness the randomized materialized-view tests in this folder share
(views_on_views_test.py, joins_test.py, changelog_views_test.py): checks that fail with a
Mismatch; the connection and the poll of SHOW MATERIALIZED VIEWS until the views have caught up;
exact value and multiset row comparison with a readable diff; views whose SELECTs read other
views (ViewGraph: created in dependency order over the rounds of a run, each compared with its
own SELECT and with that SELECT inlined down to the base tables); a table with a PRIMARY KEY
modelled as id -> row (the partition INSERT picks for a key, random upserts and tombstones,
the bounded SELECT against the model); producing records over Kafka until every one is
acknowledged and INSERTs of rows; the clean restart and SIGKILLs every run goes through; the
per-seed server options and the main function (usage: TEST EDDY_BINARY [SEED]).

The tests import it from this folder (sys.path); it runs nothing by itself.
"""
import collections
import decimal
import signal
import string
import sys
import time

import psycopg
from confluent_kafka import Producer

D = decimal.Decimal
CATCH_UP_S = 60


class Mismatch(AssertionError):
    """A check failed; run_main prints it as `FAIL (seed N): ...` and exits 1."""


def check(cond, message):
    if not cond:
        raise Mismatch(message)


# ---------------------------------------------------------------------------------------------
# Talking to the server.

def connect(server):
    return psycopg.connect(server.dsn(), autocommit=True)


def show_views(conn):
    return conn.execute("SHOW MATERIALIZED VIEWS").fetchall()


def wait_caught_up(server, what, live, two_polls=True, by_name=True, pause_s=0.02):
    """Until exactly the `live` views run with lag 0 and nothing moves over two polls in a row:
    the statuses are read one view after another, so one poll may see a reader before its
    upstream's last checkpoint; the next one sees the reader's own progress. Every poll must
    find every view running.

    two_polls=False returns at the first poll that finds every view at lag 0 (enough when no
    view reads another); by_name=False only wants as many views as `live` names; pause_s is the
    pause between polls (a polling interval, not a synchronization; 0 polls back to back)."""
    deadline = time.monotonic() + CATCH_UP_S
    last, previous = None, None
    with connect(server) as conn:
        while time.monotonic() < deadline:
            last = show_views(conn)
            check(all(v[2] == "running" for v in last), f"{what}: a view failed: {last}")
            if by_name:
                listed = sorted(v[0] for v in last) == sorted(live)
            else:
                listed = len(last) == len(live)
            settled = listed and all(v[5] == 0 for v in last)
            if settled and (not two_polls or last == previous):
                return
            previous = last if settled else None
            if pause_s:
                time.sleep(pause_s)
    raise Mismatch(f"{what}: views did not catch up within {CATCH_UP_S} s: {last}")


def query(conn, sql, mismatch=True):
    """(column names, rows as tuples) of `sql`. A failing query is a Mismatch naming the SQL;
    with mismatch=False psycopg's error itself."""
    try:
        cur = conn.execute(sql)
        return [d.name for d in cur.description], [tuple(r) for r in cur.fetchall()]
    except psycopg.Error as e:
        if not mismatch:
            raise
        raise Mismatch(f"[{sql}] failed: {e.sqlstate} {e}") from e


def expect_error(conn, sql, sqlstate, what):
    try:
        conn.execute(sql)
    except psycopg.Error as e:
        check(e.sqlstate == sqlstate, f"{what}: [{sql}] answered {e.sqlstate} ({e}), "
              f"not {sqlstate}")
    else:
        raise Mismatch(f"{what}: [{sql}] was accepted; expected {sqlstate}")


def insert_rows(server, table, rows):
    """One INSERT of `rows` (tuples of one width) into `table`; nothing for no rows."""
    if not rows:
        return
    width = len(rows[0])
    one = "(" + ", ".join(["%s"] * width) + ")"
    with connect(server) as conn:
        conn.execute(f"INSERT INTO {table} VALUES " + ", ".join([one] * len(rows)),
                     [v for r in rows for v in r])


def produce_all(server, records):
    """Produces (topic, partition or None for the client's choice, key, value) in order, one
    request in flight per connection (so a key's records land in the order produced); returns
    once every record is acknowledged."""
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(err)

    producer = Producer({"bootstrap.servers": server.bootstrap, "acks": "all",
                         "linger.ms": 5, "max.in.flight.requests.per.connection": 1,
                         "log_level": 2})
    for topic, partition, key, value in records:
        kwargs = {} if partition is None else {"partition": partition}
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered, **kwargs)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    check(producer.flush(60) == 0, "the producer did not deliver everything")
    check(not errors, f"produce failed: {errors[:3]}")


# ---------------------------------------------------------------------------------------------
# Comparing rows.

def exact(value):
    """A value compared exactly: its type and, for a Decimal, its digits and scale."""
    return (type(value).__name__, str(value) if isinstance(value, D) else value)


def exact_row(row):
    return tuple(exact(v) for v in row)


def sort_key(row):
    return tuple((v is not None, str(type(v)), v if v is not None else 0) for v in row)


def check_rows(what, actual, expected, names, seed=None, key=exact_row, listed=0):
    """`actual` and `expected` must hold the same rows as multisets, rows compared as `key`
    makes them (exact_row: type and Decimal digits included; None: as Python compares them).
    The Mismatch names both sides as `names`, shows up to 20 rows only one side has (and with
    `listed`, up to that many rows of each side) and, with `seed`, the seed."""
    a = collections.Counter(actual if key is None else map(key, actual))
    e = collections.Counter(expected if key is None else map(key, expected))
    if a == e:
        return
    only_a = sorted((a - e).elements(), key=sort_key)
    only_e = sorted((e - a).elements(), key=sort_key)
    width = max(len(n) for n in names)
    message = (f"{what}{'' if seed is None else f' (seed {seed})'}: {len(actual)} rows in "
               f"{names[0]}, {len(expected)} in {names[1]}\n"
               f"  only in {names[0]:{width}} ({len(only_a)}): {only_a[:20]}\n"
               f"  only in {names[1]:{width}} ({len(only_e)}): {only_e[:20]}")
    if listed:
        message += (f"\n  {names[0]}: {sorted(actual, key=sort_key)[:listed]}"
                    f"\n  {names[1]}: {sorted(expected, key=sort_key)[:listed]}")
    raise Mismatch(message)


# ---------------------------------------------------------------------------------------------
# Views that read views.

class ViewGraph:
    """A test's views, name -> (when it is created, SELECT), every view after its upstreams.
    `{v}` in a SELECT names the upstream view v: the view's own SELECT reads v by name, the
    inlined SELECT replaces it by `inline` formatted with v's SELECT (itself inlined) as
    `select` and v as `name`, so that it computes from the base tables alone. `when` is the
    test's: e.g. "early" (over the empty tables), "late" (once there is data) or a round."""

    def __init__(self, views, inline):
        self.views = views
        self.inline = inline

    def upstreams(self, name):
        return [field for _, field, _, _ in string.Formatter().parse(self.views[name][1])
                if field]

    def readers_closure(self, name):
        """Every view that reads `name`, directly or through others."""
        out, todo = set(), [name]
        while todo:
            current = todo.pop()
            for other in self.views:
                if current in self.upstreams(other) and other not in out:
                    out.add(other)
                    todo.append(other)
        return out

    def in_dependency_order(self, names):
        """`names` with every view after its upstreams."""
        return [name for name in self.views if name in names]

    def own_select(self, name):
        return self.views[name][1].format(**{u: u for u in self.upstreams(name)})

    def inlined_select(self, name):
        return self.views[name][1].format(
            **{u: self.inline.format(select=self.inlined_select(u), name=u)
               for u in self.upstreams(name)})

    def create(self, server, names):
        with connect(server) as conn:
            for name in self.in_dependency_order(names):
                conn.execute(f"CREATE MATERIALIZED VIEW {name} AS {self.own_select(name)}")

    def create_at(self, server, live, when):
        """Creates the views whose `when` is `when` (if any) and adds them to `live`."""
        new = [name for name, (w, _) in self.views.items() if w == when]
        if new:
            self.create(server, new)
            live += new

    def create_in_rounds(self, server, live, quiescent, refused, change, first, rounds, size):
        """The views created as the tests create them, each step followed by quiescent(what):
        the "early" ones over the empty tables (then refused(server, live), the statements that
        must create nothing), a round of change(first), the "late" ones over that data, then
        `rounds` rounds of change(size()), round N's views created just before it (while their
        upstreams' feeds move). `live` gets every view created; in the end that is all."""
        self.create_at(server, live, "early")
        refused(server, live)
        quiescent("over empty tables")
        change(first)
        quiescent("early views over the first data")
        self.create_at(server, live, "late")
        quiescent("late views created over data")
        for round_no in range(1, rounds + 1):
            self.create_at(server, live, round_no)
            change(size())
            quiescent(f"round {round_no}")
        check(sorted(live) == sorted(self.views), f"not every view was created: {live}")

    def check_views(self, conn, what, live, seed, own_names, listed=0):
        """Each `live` view's columns and rows (exactly) equal its own SELECT's, run as a bounded
        query and called `own_names` in a Mismatch, and, for a view over views, the inlined
        SELECT's. Returns how many rows the views hold."""
        rows_total = 0
        for name in self.in_dependency_order(live):
            columns, rows = query(conn, f"SELECT * FROM {name}")
            own_columns, own = query(conn, self.own_select(name))
            check(columns == own_columns, f"{what}: {name} has columns {columns}, its SELECT "
                  f"{own_columns}")
            check_rows(f"{what}: view {name} vs its SELECT [{self.own_select(name)}]", rows, own,
                       (f"view {name}", own_names), seed=seed, listed=listed)
            if self.upstreams(name):
                inl_columns, inlined = query(conn, self.inlined_select(name))
                check(columns == inl_columns, f"{what}: {name} inlined columns {inl_columns}")
                check_rows(f"{what}: view {name} vs its SELECT inlined down to the tables "
                           f"[{self.inlined_select(name)}]", rows, inlined,
                           (f"view {name}", "the SELECT over the base tables"), seed=seed,
                           listed=listed)
            rows_total += len(rows)
        return rows_total


# ---------------------------------------------------------------------------------------------
# A table with a PRIMARY KEY id, modelled as id -> row.

def partition_of(key_id, partitions):
    """The partition INSERT writes the key `key_id` to: FNV-1a of its JSON key (docs/sql.md);
    the tests produce a key's Kafka records there too, so that one key stays in one partition."""
    h = 0x811C9DC5
    for byte in f'{{"id":{key_id}}}'.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h % partitions


def apply_change(table, key_id, row):
    """The model `table` (id -> row) after an upsert of `row`, or a delete for None."""
    if row is None:
        table.pop(key_id, None)
    else:
        table[key_id] = row


def random_keyed_changes(rng, model, count, keys, new_row, record, moved=None):
    """`count` random changes of the table modelled as `model`, applied to it, as the records
    record(key_id, row, or None for a tombstone) makes: ids 0..keys-1 come and go, ids
    keys..keys+9 (about one change in 12) are only ever deleted. Of a live key, 2 changes in 10
    delete it, 1 upserts its row again, 3 (with `moved`) upsert moved(its row), the rest
    new_row(key_id); a key that is not there gets new_row(key_id)."""
    records = []
    for _ in range(count):
        key_id = rng.randrange(keys + 10 if rng.random() < 0.08 else keys)
        what = rng.random()
        live = key_id in model
        if key_id >= keys or (live and what < 0.2):
            row = None
        elif live and what < 0.3:
            row = model[key_id]
        elif moved is not None and live and what < 0.6:
            row = moved(model[key_id])
        else:
            row = new_row(key_id)
        apply_change(model, key_id, row)
        records.append(record(key_id, row))
    return records


def upsert_rows(server, table, model, rows):
    """One INSERT of `rows` into `table` (upserts: of a key given twice the later row wins),
    applied to its model in the same order."""
    insert_rows(server, table, rows)
    for row in rows:
        apply_change(model, row[0], row)


def check_keyed_table(conn, what, table, columns, model, partitions, seed=None, key=exact_row,
                      listed=0, mismatch=True):
    """The bounded SELECT of `columns` of `table` equals the model's rows (compared as
    check_rows does with `key`; query's `mismatch`), and INSERT placed every key in
    partition_of's partition."""
    _, rows = query(conn, f"SELECT {columns} FROM {table}", mismatch)
    check_rows(f"{what}: bounded SELECT of {table} vs the model", rows, list(model.values()),
               ("the table", "the model"), seed=seed, key=key, listed=listed)
    placed = query(conn, f"SELECT id, _partition FROM {table}", mismatch)[1]
    check(all(p == partition_of(i, partitions) for i, p in placed),
          f"{what}: INSERT placed {table} keys elsewhere than partition_of: {placed}")


# ---------------------------------------------------------------------------------------------
# Restarts and kills, the server options and main.

def kill_after_each(server, burst, sizes):
    """For each size: burst(size) (changes produced; it returns once they are acknowledged),
    right after it a SIGKILL, then a start: the later kills hit views that still recover from
    the kill before."""
    for size in sizes:
        burst(size)
        server.stop(signal.SIGKILL)
        server.start()


def restarts_and_kills(server, quiescent, change, burst, round_size, bursts):
    """The restarts the tests share, each followed by quiescent(what): a clean restart, then a
    round of change(round_size); a SIGKILL right after burst(bursts[0]), then a round; SIGKILLs
    right after each further burst (kill_after_each)."""
    server.stop()
    server.start()
    quiescent("after a clean restart")
    change(round_size)
    quiescent("round after the clean restart")
    kill_after_each(server, burst, bursts[:1])
    quiescent("after SIGKILL right after a burst")
    change(round_size)
    quiescent("round after SIGKILL")
    kill_after_each(server, burst, bursts[1:])
    quiescent("after SIGKILLs during recovery")


def server_options(rng, workers=None):
    """Per seed: stream workers (unless given, rng's choice of 1, 2 or 4: more than the
    partitions means decode slices and sharded aggregate merges), how much aggregate and join
    state stays in memory (little: the rest, with the values min/max/DISTINCT keep per group,
    is read back from RocksDB) and how often views checkpoint (often: more checkpoints, hence
    more feed entries and output-topic appends for a SIGKILL to fall between)."""
    if workers is None:
        workers = rng.choice([1, 2, 4])
    return ["--stream-workers", str(workers),
            "--state-cache-bytes", str(rng.choice([64 << 10, 64 << 20])),
            "--view-checkpoint-interval-ms", str(rng.choice([5, 20, 100]))]


def run_main(run, default_seed, catch_all=True):
    """usage: TEST EDDY_BINARY [SEED]: prints the seed and calls run(binary, seed). A Mismatch,
    and with catch_all any other exception (the server's log tail is printed by
    eddy_pg.Server), is `FAIL (seed N): ...` on stderr and exit status 1; without catch_all
    other exceptions propagate (a traceback)."""
    binary = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else default_seed
    print(f"seed {seed}", flush=True)
    try:
        run(binary, seed)
    except Mismatch as e:
        print(f"FAIL (seed {seed}): {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:
        if not catch_all:
            raise
        print(f"FAIL (seed {seed}): {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

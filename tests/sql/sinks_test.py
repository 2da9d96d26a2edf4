"""Dead-letter topics and view output topics through psycopg, kcat and confluent_kafka against
the real binary.

- Records that are not JSON or do not fit the declared types reach `<table>_dead_letter` with
  their key, the reason, the source topic, partition and offset and the original value; the views
  go on. `dead_letter = ''` only counts.
- `WITH (topic = ...)` views: the append-only view's topic holds one JSON row per output row; the
  aggregate view's compacted topic, read as an upsert changelog (latest value per key, tombstones
  delete), equals the view's contents and a brute-force computation. Again after a SIGKILL
  (at-least-once: duplicates allowed in the append-only topic, nothing lost)."""
import json
import signal
import subprocess
import sys
import time

import psycopg
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

import eddy_pg

DEADLINE_S = 90


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def produce(server, topic, lines):
    """Keyed records: each line is key|value."""
    data = "".join(f"{k}|{v}\n" for k, v in lines)
    subprocess.run(["kcat", "-b", f"127.0.0.1:{server.kafka_port}", "-t", topic, "-P", "-K|",
                    "-X", "acks=all", "-X", "linger.ms=5"],
                   input=data.encode(), check=True, timeout=120)


def read_all(server, topic):
    """Every record of `topic` as (partition, offset, key, value) with text key/value or None."""
    consumer = Consumer({"bootstrap.servers": f"127.0.0.1:{server.kafka_port}",
                         "group.id": "sinks-test", "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=30)
        t = meta.topics.get(topic)
        check(t is not None and t.error is None, f"topic {topic} missing: {t and t.error}")
        out = []
        for p in sorted(t.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, p, low)])
            deadline = time.monotonic() + DEADLINE_S
            last = low - 1
            while last < high - 1:
                check(time.monotonic() < deadline, f"reading {topic}[{p}] timed out at {last}")
                m = consumer.poll(1.0)
                if m is None or m.error():
                    continue
                last = m.offset()
                key = m.key().decode() if m.key() is not None else None
                value = m.value().decode() if m.value() is not None else None
                out.append((p, m.offset(), key, value))
        return out
    finally:
        consumer.close()


def topic_names(server):
    consumer = Consumer({"bootstrap.servers": f"127.0.0.1:{server.kafka_port}",
                         "group.id": "sinks-test"})
    try:
        return set(consumer.list_topics(timeout=30).topics)
    finally:
        consumer.close()


def cleanup_policy(server, topic):
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{server.kafka_port}"})
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    return configs["cleanup.policy"].value


class Input:
    def __init__(self):
        self.orders = []  # (id, customer, amount)
        self.bad = []  # keys of the records that must be dead letters

    def lines(self, count, bad_every=0):
        out = []
        for _ in range(count):
            i = len(self.orders) + len(self.bad)
            if bad_every and i % bad_every == 0:
                key = f"bad{i}"
                value = "not json {" if i % 2 == 0 else f'{{"id": "x{i}", "amount": 1}}'
                self.bad.append(key)
                out.append((key, value))
                continue
            order = (i, f"c{i % 5}", (i % 13) + 0.5)
            self.orders.append(order)
            out.append((f"k{i}", json.dumps({"id": i, "customer": order[1], "amount": order[2]})))
        return out

    def revenue(self):
        groups = {}
        for _, customer, amount in self.orders:
            n, total = groups.get(customer, (0, 0.0))
            groups[customer] = (n + 1, total + amount)
        # HAVING n > 1 in the view
        return sorted((c, n, t) for c, (n, t) in groups.items() if n > 1)

    def big(self):
        return sorted((i, a * 2) for i, _, a in self.orders if a > 10)


def wait_for(server, data, what):
    deadline = time.monotonic() + DEADLINE_S
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        while True:
            revenue = conn.execute("SELECT customer, n, total FROM revenue ORDER BY customer").fetchall()
            big = conn.execute("SELECT id, dbl FROM big ORDER BY id").fetchall()
            if revenue == data.revenue() and big == data.big():
                return revenue, big
            check(time.monotonic() < deadline,
                  f"{what}: views did not converge: {revenue} vs {data.revenue()}, "
                  f"{len(big)} vs {len(data.big())} big rows")


def check_outputs(server, data, revenue, big, exact):
    # Upsert changelog: the latest value per key; a tombstone deletes the key.
    latest = {}
    for _, _, key, value in read_all(server, "revenue_out"):
        check(key is not None, "aggregate output without a key")
        if value is None:
            latest.pop(key, None)
        else:
            latest[key] = json.loads(value)
    changelog = sorted((json.loads(k)["customer"], v["n"], v["total"]) for k, v in latest.items())
    for k, v in latest.items():
        check(json.loads(k) == {"customer": v["customer"]}, f"key {k} vs value {v}")
    check(changelog == [tuple(r) for r in revenue] == data.revenue(),
          f"revenue_out: {changelog} vs view {revenue}")
    rows = [json.loads(v) for _, _, _, v in read_all(server, "big_out")]
    got = sorted((r["id"], r["dbl"]) for r in rows)
    if exact:
        check(got == [tuple(r) for r in big] == data.big(), f"big_out: {len(got)} rows vs {len(big)}")
    else:
        check(sorted(set(got)) == data.big(), f"big_out: {len(set(got))} distinct rows vs {len(big)}")


def check_dead_letters(server, data):
    source = {(p, o): (k, v) for p, o, k, v in read_all(server, "orders")}
    letters = read_all(server, "orders_dead_letter")
    by_view = {}
    for _, _, key, value in letters:
        letter = json.loads(value)
        check(letter["topic"] == "orders", f"dead letter topic: {letter}")
        check(letter["reason"], f"dead letter without a reason: {letter}")
        original = source.get((letter["partition"], letter["offset"]))
        check(original == (key, letter["value"]),
              f"dead letter {key} {letter} does not match the source record {original}")
        by_view.setdefault(letter["view"], set()).add(key)
    for view in ("revenue", "big"):
        check(by_view.get(view) == set(data.bad),
              f"dead letters of {view}: {sorted(by_view.get(view, []))} vs {sorted(data.bad)}")
    return letters


def main():
    data = Input()
    with eddy_pg.Server(sys.argv[1]) as server:
        server.start()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE orders (id bigint, customer text, amount double precision) "
                         "WITH (topic = 'orders', format = 'json', partitions = 2)")
            conn.execute("CREATE TABLE quiet (id bigint) WITH (dead_letter = '')")
            produce(server, "orders", data.lines(400, bad_every=37))
            produce(server, "quiet", [("q", "not json")])
            conn.execute("CREATE MATERIALIZED VIEW revenue WITH (topic = 'revenue_out', "
                         "format = 'json') AS SELECT customer, count(*) AS n, sum(amount) AS total "
                         "FROM orders GROUP BY customer HAVING count(*) > 1")
            conn.execute("CREATE MATERIALIZED VIEW big WITH (topic = 'big_out') AS "
                         "SELECT id, amount * 2 AS dbl FROM orders WHERE amount > 10")
            conn.execute("CREATE MATERIALIZED VIEW q AS SELECT id FROM quiet")
            try:
                conn.execute("CREATE MATERIALIZED VIEW v2 WITH (colour = 'red') AS "
                             "SELECT id FROM orders")
                check(False, "unknown view option accepted")
            except psycopg.errors.InvalidParameterValue:
                pass
            produce(server, "orders", data.lines(1500, bad_every=101))
        revenue, big = wait_for(server, data, "while producing")
        check_outputs(server, data, revenue, big, exact=True)
        check_dead_letters(server, data)
        deadline = time.monotonic() + DEADLINE_S
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            while True:
                status = {v[0]: v for v in conn.execute("SHOW MATERIALIZED VIEWS").fetchall()}
                if status["q"][4] == 1:
                    break
                check(time.monotonic() < deadline, f"q status: {status['q']}")
            check(status["revenue"][4] == len(data.bad), f"skipped: {status['revenue']}")
        check("quiet_dead_letter" not in topic_names(server), "dead_letter = '' created a topic")
        check(cleanup_policy(server, "revenue_out") == "compact", "revenue_out is not compacted")
        check(cleanup_policy(server, "big_out") == "delete", "big_out is compacted")

        # SIGKILL right after a large produce with bad records: nothing lost afterwards.
        produce(server, "orders", data.lines(5000, bad_every=251))
        server.stop(signal.SIGKILL)
        server.start()
        produce(server, "orders", data.lines(100, bad_every=7))
        revenue, big = wait_for(server, data, "after SIGKILL")
        check_outputs(server, data, revenue, big, exact=False)
        check_dead_letters(server, data)
        server.stop()
        print(f"ok: {len(data.orders)} orders, {len(data.bad)} dead letters")


if __name__ == "__main__":
    main()

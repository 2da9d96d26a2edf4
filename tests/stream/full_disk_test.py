#!/usr/bin/python3
"""A full disk under a producer with acks=all and a running materialized view.

usage: full_disk_test.py EDDY_BINARY

The data directory is a small tmpfs mounted by the test (root only; exits 77, which CTest
reports as skipped, where mounting is not allowed). The test
  1. produces (confluent_kafka, acks=all) into a table's topic;
  2. fills the file system with a filler file but for 64 KiB, creates a view whose output is
     about as large as its input (one row per distinct record), so its output write must fail,
     and produces on: deliveries fail with a Kafka error, the server stays up and answers SQL,
     and the view pauses (status "retrying ...") instead of stopping for good;
  3. fills the last bytes too: DROP TABLE and Kafka DeleteTopics still work (the server's disk
     reserve gives their catalog writes room);
  4. frees the space: producing resumes, the view carries on to count every stored record;
  5. kills the server (-9) and starts it again: every acknowledged record is where its delivery
     report said, and the view's counts still match the topic;
  6. fills the file system again: DROP MATERIALIZED VIEW works.
Every wait is bounded. Prints "N passed, 0 failed" on success.
"""
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psycopg
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kafka"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, fail, finish  # noqa: E402
from eddy_server import Server  # noqa: E402

SKIP = 77
WAIT_S = 60


class Deliveries:
    def __init__(self):
        self.acked = {}  # value -> (partition, offset)
        self.errors = []

    def __call__(self, err, msg):
        if err is None:
            self.acked[msg.value().decode()] = (msg.partition(), msg.offset())
        else:
            self.errors.append(err)


def produce(bootstrap, deliveries, first, count, timeout_ms):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "message.timeout.ms": timeout_ms, "log_level": 2})
    for i in range(first, first + count):
        value = f"{i}:" + "x" * 200
        producer.produce("clicks", key=f"page-{i % 7}", value=value.encode(),
                         on_delivery=deliveries)
        producer.poll(0)
    producer.flush(timeout_ms / 1000 + 30)


def fill(path):
    """Writes until the file system is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * (1 << 20)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # The last partial chunk too, so nothing is left.
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    written += f.write(b"\0" * size)
                except OSError:
                    break
    return written


def view_state(conn):
    rows = conn.execute("SHOW MATERIALIZED VIEWS").fetchall()
    return {r[0]: r[2] for r in rows}["per_body"]


def retries(state):
    """n of a paused view's "retrying (n failed so far): ..."; -1 when it is not paused."""
    found = re.match(r"retrying \((\d+) failed so far\)", state)
    return int(found.group(1)) if found else -1


def stored_records(conn):
    return {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT split_part(body, ':', 1), _partition, _offset FROM clicks")}


def wait_for_view_to_count(conn, want, what):
    deadline = time.monotonic() + WAIT_S
    total = None
    while time.monotonic() < deadline:
        total = conn.execute("SELECT coalesce(sum(n), 0) FROM per_body").fetchone()[0]
        if total == want:
            break
        conn.execute("SELECT 1")  # a round trip, then look again
    eq(total, want, what)


def check_acknowledged(conn, deliveries, what):
    stored = stored_records(conn)
    missing = [v for v, at in deliveries.acked.items() if stored.get(v.split(":")[0]) != at]
    eq(missing[:5], [], f"{what}: every acknowledged record is where its report said")
    return stored


def main():
    binary = sys.argv[1]
    mount = tempfile.mkdtemp(prefix="eddy-full-disk-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", mount],
                             stderr=subprocess.DEVNULL).returncode == 0
    if not mounted:
        os.rmdir(mount)
        print("cannot mount a tmpfs here (needs root); skipped")
        sys.exit(SKIP)
    server = None
    try:
        data_dir = os.path.join(mount, "data")
        server = Server(binary, data_dir=data_dir, fail=fail,
                        extra_args=["--segment-bytes", "1048576"])
        server.start()
        conn = psycopg.connect(server.dsn(), autocommit=True)
        conn.execute("CREATE TABLE clicks (body text) WITH (format = 'text', partitions = 2)")
        conn.execute("CREATE TABLE scratch (n int)")
        conn.execute("INSERT INTO scratch VALUES " + ", ".join(f"({i})" for i in range(1000)))
        admin = AdminClient({"bootstrap.servers": server.bootstrap})
        admin.create_topics([NewTopic("scratch-topic", 1, 1)])["scratch-topic"].result(30)
        deliveries = Deliveries()
        produce(server.bootstrap, deliveries, 0, 3000, 10_000)
        eq((len(deliveries.acked), len(deliveries.errors)), (3000, 0), "produce before the fill")

        filler = os.path.join(mount, "filler")
        size = fill(filler)
        check(size > 0, "the file system is full")
        os.truncate(filler, size - 65536)  # room for the view's definition, not its output
        conn.execute("CREATE MATERIALIZED VIEW per_body AS "
                     "SELECT body, count(*) AS n FROM clicks GROUP BY body")
        # Two failed tries: the first reopen of the state store has released the log file
        # RocksDB had preallocated before the disk filled up.
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and retries(view_state(conn)) < 2:
            conn.execute("SELECT 1")  # a round trip, then look again
        check(retries(view_state(conn)) >= 2,
              f"a view whose output cannot be written pauses: {view_state(conn)}")
        fill(filler + "-1")  # whatever that release gave back
        produce(server.bootstrap, deliveries, 3000, 3000, 5_000)
        # Whether these fail depends on what the state store's reopens give back meanwhile;
        # the errors that do come must be the storage error or a timeout.
        codes = {e.name() for e in deliveries.errors}
        check(codes <= {"KAFKA_STORAGE_ERROR", "_MSG_TIMED_OUT", "_TIMED_OUT"},
              f"producers see a storage error or a timeout: {codes}")
        eq(conn.execute("SELECT 1").fetchone()[0], 1, "the server answers SQL on a full disk")
        # (Between two tries the view briefly shows "running": look until it shows a retry.)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not view_state(conn).startswith("retrying"):
            conn.execute("SELECT 1")  # a round trip, then look again
        check(view_state(conn).startswith("retrying"),
              f"the view does not stop for good: {view_state(conn)}")

        check(fill(filler + "-2") >= 0, "the last bytes are taken too")
        conn.execute("DROP TABLE scratch")
        check("scratch" not in {r[0] for r in conn.execute("SHOW TABLES").fetchall()},
              "DROP TABLE works on a full disk")
        admin.delete_topics(["scratch-topic"])["scratch-topic"].result(30)
        check("scratch-topic" not in admin.list_topics(timeout=15).topics,
              "DeleteTopics works on a full disk")

        for name in (filler, filler + "-1", filler + "-2"):
            os.remove(name)
        before = len(deliveries.acked)
        deliveries.errors.clear()
        produce(server.bootstrap, deliveries, 6000, 2000, 30_000)
        eq((len(deliveries.acked) - before, len(deliveries.errors)), (2000, 0),
           "producing resumes once space is freed")
        stored = check_acknowledged(conn, deliveries, "after the space came back")
        wait_for_view_to_count(conn, len(stored), "the view catches up with every stored record")
        eq(view_state(conn), "running", "the view runs again")

        conn.close()
        server.stop(signal.SIGKILL)
        server.start()
        conn = psycopg.connect(server.dsn(), autocommit=True)
        stored_again = check_acknowledged(conn, deliveries, "after kill -9")
        eq(len(stored_again), len(stored), "nothing stored is lost across kill -9")
        wait_for_view_to_count(conn, len(stored), "the view's counts after kill -9")

        # Full again, to the last byte: a view can be dropped to make room.
        check(fill(filler) > 0, "the file system is full again")
        conn.execute("DROP MATERIALIZED VIEW per_body")
        check("per_body" not in {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()},
              "DROP MATERIALIZED VIEW works on a full disk")
        os.remove(filler)
        conn.close()
        eq(server.stop(signal.SIGTERM), 0, "clean stop")
    except BaseException:
        if server is not None:
            print("server log:\n" + "".join(server.log)[-6000:], file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.kill_if_running()
            server.close()
        subprocess.run(["umount", mount])
        shutil.rmtree(mount, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()

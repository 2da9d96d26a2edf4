#!/usr/bin/python3
"""No acknowledged record is lost across broker restarts (SIGTERM, then SIGKILL).

usage: restart_test.py EDDY_BINARY

Manages the server itself (with_server.py cannot restart it): one free loopback port and one
data directory for the whole test. A confluent_kafka producer (acks=all, retries on,
enable.idempotence=False) streams keyed, sequence-numbered records to a 2-partition topic from a
background thread and records every successful delivery report. Meanwhile the test
  1. waits for acknowledgements, stops the server with SIGTERM (clean exit 0 required) and
     starts it again on the same port and data directory;
  2. waits for acknowledgements from the restarted server, kills it with SIGKILL and starts it
     again;
  3. waits for acknowledgements once more, stops producing and flushes.
Then it reads both partitions from offset 0 to the high watermark and requires that every
acknowledged record is present at exactly the partition and offset its delivery report named,
with its key and value. Duplicates (retries without idempotence) are allowed; acknowledged
records may not be missing. Every wait is bounded; the whole test stays well under a minute.
Prints "N passed, 0 failed" on success.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from eddy_server import Server  # noqa: E402

PARTITIONS = 2
ACKS_PER_PHASE = 3000
PHASE_TIMEOUT_S = 15
PASSED = 0


SERVER = None


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    if SERVER is not None:
        print("server log:\n" + "".join(SERVER.log)[-4000:], file=sys.stderr)
    print(f"{PASSED} passed, 1 failed")
    if SERVER is not None:
        SERVER.kill_if_running()
    os._exit(1)  # the producer thread may still be running


def check(condition, what):
    global PASSED
    if not condition:
        fail(what)
    PASSED += 1


class StreamingProducer:
    """Produces sequence-numbered records until stopped; keeps every successful delivery."""

    def __init__(self, bootstrap, topic):
        self.topic = topic
        self.producer = Producer({
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": False,
            "retries": 1_000_000,
            "retry.backoff.ms": 50,
            "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200,
            "message.timeout.ms": 40_000,
            "linger.ms": 2,
            "socket.timeout.ms": 5_000,
            "log.connection.close": False,
            "log_level": 2,  # refused connections while the broker restarts are expected
        })
        self.lock = threading.Lock()
        self.acked = {}  # seq -> (partition, offset)
        self.failed = 0
        self.sent = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def record(seq):
        return f"key-{seq % 101}".encode(), f"seq-{seq}".encode()

    def _on_delivery(self, err, msg):
        seq = int(msg.value().decode().split("-")[1])
        with self.lock:
            if err is None:
                self.acked[seq] = (msg.partition(), msg.offset())
            else:
                self.failed += 1

    def _run(self):
        seq = 0
        while not self.stopping.is_set():
            key, value = self.record(seq)
            try:
                self.producer.produce(self.topic, key=key, value=value,
                                      partition=seq % PARTITIONS, on_delivery=self._on_delivery)
                seq += 1
                self.sent = seq
            except BufferError:
                self.producer.poll(0.05)
            # Bound what is outstanding, so a restart finds work in flight but not a flood.
            self.producer.poll(0.01 if len(self.producer) > 2000 else 0)

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def wait_for_acks(self, target, what):
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        while self.acked_count() < target:
            if time.monotonic() > deadline:
                fail(f"{what}: only {self.acked_count()} of {target} records acknowledged "
                     f"({self.failed} failed)")
            self.stopping.wait(0.02)  # poll interval
        check(True, f"{what}: {self.acked_count()} records acknowledged")

    def finish(self):
        self.stopping.set()
        self.thread.join(timeout=10)
        remaining = self.producer.flush(45)
        check(remaining == 0, f"producer flushed its queue ({remaining} left)")


def read_partitions(bootstrap, topic):
    """{partition: {offset: (key, value)}} for everything below each high watermark."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"restart-{os.getpid()}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    highs = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
             for p in range(PARTITIONS)}
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    stored = {p: {} for p in range(PARTITIONS)}
    deadline = time.monotonic() + 30
    while any(len(stored[p]) < highs[p] for p in stored):
        if time.monotonic() > deadline:
            fail(f"read back {[len(v) for v in stored.values()]} of {highs} records")
        for msg in consumer.consume(num_messages=1000, timeout=0.5):
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    fail(f"consume: {msg.error()}")
                continue
            if msg.offset() < highs[msg.partition()]:
                stored[msg.partition()][msg.offset()] = (msg.key(), msg.value())
    consumer.close()
    for p in range(PARTITIONS):
        check(sorted(stored[p]) == list(range(highs[p])),
              f"partition {p}: offsets 0..{highs[p] - 1} are dense")
    return stored


def main():
    global SERVER
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    started = time.monotonic()
    data_dir = tempfile.mkdtemp(prefix="eddy-restart-test-")
    # Port 0: the server picks a free port and keeps it across the restarts below.
    SERVER = Server(sys.argv[1], data_dir, 0, fail)
    try:
        SERVER.start()
        bootstrap = SERVER.bootstrap
        topic = "restart"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS,
                                      replication_factor=1)])[topic].result(timeout=15)
        del admin

        producer = StreamingProducer(bootstrap, topic)
        producer.thread.start()
        producer.wait_for_acks(ACKS_PER_PHASE, "before the first restart")

        code = SERVER.stop(signal.SIGTERM)
        check(code == 0, f"SIGTERM: eddy exits 0 (got {code})")
        before = producer.acked_count()
        SERVER.start()
        # The topic and the internal __consumer_offsets (1 partition).
        reopened = re.search(r"storage opened .*: 2 topics, 3 partitions",
                             "".join(SERVER.log[SERVER.log_at_start:]))
        check(reopened is not None, "the stopped server's data directory reopens with the topic")
        producer.wait_for_acks(before + ACKS_PER_PHASE, "after the SIGTERM restart")

        code = SERVER.stop(signal.SIGKILL)
        check(code == -signal.SIGKILL, f"SIGKILL: eddy was killed (got {code})")
        before = producer.acked_count()
        SERVER.start()
        # The topic and the internal __consumer_offsets (1 partition).
        reopened = re.search(r"storage opened .*: 2 topics, 3 partitions",
                             "".join(SERVER.log[SERVER.log_at_start:]))
        check(reopened is not None, "the killed server's data directory reopens with the topic")
        producer.wait_for_acks(before + ACKS_PER_PHASE, "after the SIGKILL restart")

        producer.finish()
        with producer.lock:
            acked = dict(producer.acked)
            failed = producer.failed
        print(f"sent {producer.sent}, acknowledged {len(acked)}, failed {failed}", flush=True)

        stored = read_partitions(bootstrap, topic)
        missing = []
        for seq, (partition, offset) in sorted(acked.items()):
            if stored[partition].get(offset) != StreamingProducer.record(seq):
                missing.append((seq, partition, offset, stored[partition].get(offset)))
        check(not missing, f"{len(missing)} acknowledged records missing or different, first "
                           f"(seq, partition, offset, stored): {missing[:5]}")
        present = {}
        for p in range(PARTITIONS):
            for key, value in stored[p].values():
                seq = int(value.decode().split("-")[1])
                present[seq] = present.get(seq, 0) + 1
                if StreamingProducer.record(seq) != (key, value) or seq % PARTITIONS != p:
                    fail(f"partition {p} holds a foreign record {key!r} {value!r}")
        check(all(seq in present for seq in acked),
              f"all {len(acked)} acknowledged sequence numbers are stored")
        print(f"stored {sum(present.values())} records, "
              f"{sum(present.values()) - len(present)} of them retried duplicates", flush=True)

        code = SERVER.stop(signal.SIGTERM)
        check(code == 0, f"final SIGTERM: eddy exits 0 (got {code})")
        elapsed = time.monotonic() - started
        check(elapsed < 60, f"finished in {elapsed:.1f} s")
    finally:
        SERVER.kill_if_running()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"{PASSED} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

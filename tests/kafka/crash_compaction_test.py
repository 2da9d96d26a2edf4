#!/usr/bin/python3
"""kill -9 while a compacted topic is being compacted and other topics are created and deleted:
no acknowledged record is lost.

usage: crash_compaction_test.py EDDY_BINARY

The server runs with small segments and a retention/compaction check every 50 ms. An idempotent
producer (acks=all) writes keyed records to a compacted topic ("kv", 300 keys, so compaction has
work in every sealed segment) and sequence-numbered records to a plain topic; meanwhile an admin
thread keeps creating a topic, producing into it and deleting it. Four times the server is
killed with SIGKILL once more records have been acknowledged, and started again on the same
port and data directory. Afterwards:
  - plain: every acknowledged record is at the partition and offset its delivery report named;
  - kv: for every key, the acknowledged record with the highest offset is still there, at that
    offset, with its value (compaction may drop older ones), and no record of the key lies
    beyond it (idempotence: nothing was written twice).
Every wait is bounded. Prints "N passed, 0 failed" on success.
"""
import os
import signal
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, eq, finish  # noqa: E402
from eddy_server import Server  # noqa: E402

KEYS = 300
KILLS = 4
ACKS_PER_ROUND = 3000
WAIT_S = 60


def main():
    server = Server(sys.argv[1], extra_args=["--retention-check-interval-ms", "50",
                                            "--num-partitions", "2"])
    with server:
        server.start()
        bootstrap = f"127.0.0.1:{server.kafka_port}"
        admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        topics = [NewTopic("kv", 2, 1, config={"cleanup.policy": "compact",
                                                "segment.bytes": "16384",
                                                "min.compaction.lag.ms": "0"}),
                  NewTopic("plain", 2, 1, config={"segment.bytes": "16384"})]
        for future in admin.create_topics(topics).values():
            future.result(30)

        lock = threading.Lock()
        acked = {"kv": [], "plain": []}  # (partition, offset, key, value)
        errors = []
        stop = threading.Event()

        def delivered(err, msg):
            if err is not None:
                errors.append(err)
                return
            with lock:
                acked[msg.topic()].append((msg.partition(), msg.offset(), msg.key(), msg.value()))

        def produce():
            producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                                 "enable.idempotence": True, "linger.ms": 2,
                                 # batches well below segment.bytes (a larger one is refused)
                                 "batch.size": 8192,
                                 "message.timeout.ms": 120000, "log_level": 0})
            seq = 0
            while not stop.is_set():
                for _ in range(200):
                    for topic, key, value in (("kv", f"k{seq % KEYS}", f"v{seq}"),
                                              ("plain", str(seq), f"p{seq}")):
                        while True:
                            try:
                                producer.produce(topic, key=key.encode(), value=value.encode(),
                                                 on_delivery=delivered)
                                break
                            except BufferError:  # the local queue is full: let it drain
                                producer.poll(0.05)
                    seq += 1
                producer.poll(0.01)
            check(producer.flush(WAIT_S) == 0, "the producer delivered everything")

        def churn():
            """Creates a topic, produces into it and deletes it, over and over."""
            n = 0
            producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0,
                                 "message.timeout.ms": 5000})
            while not stop.is_set():
                name = f"churn-{n}"
                n += 1
                try:
                    admin.create_topics([NewTopic(name, 2, 1)])[name].result(5)
                    for i in range(50):
                        producer.produce(name, value=b"x" * 200)
                    producer.flush(5)
                    admin.delete_topics([name])[name].result(5)
                except (KafkaException, RuntimeError):
                    pass  # the server was being killed: the next round starts over
            producer.flush(1)

        threads = [threading.Thread(target=produce), threading.Thread(target=churn)]
        for t in threads:
            t.start()
        def more_acks(what):
            """Waits (bounded) until ACKS_PER_ROUND more kv records are acknowledged."""
            with lock:
                target = len(acked["kv"]) + ACKS_PER_ROUND
            deadline = time.monotonic() + WAIT_S
            while True:
                with lock:
                    if len(acked["kv"]) >= target:
                        return
                check(time.monotonic() < deadline, f"{what}: acknowledgements arrive")
                time.sleep(0.02)  # polling the delivery reports, bounded by the deadline

        for round_no in range(KILLS):
            more_acks(f"round {round_no}")
            server.stop(signal.SIGKILL)
            server.start()
        more_acks("after the last restart")
        stop.set()
        for t in threads:
            t.join()
        eq(errors[:3], [], f"no delivery failed ({len(errors)} did)")

        logs = {}
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify",
                             "enable.auto.commit": False, "log_level": 0})
        for topic in ("kv", "plain"):
            for p in range(2):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), 10)
                consumer.assign([TopicPartition(topic, p, low)])
                deadline = time.monotonic() + WAIT_S
                offset = low
                while offset < high:
                    check(time.monotonic() < deadline, f"{topic}/{p} reads to its end")
                    msg = consumer.poll(1)
                    if msg is None or msg.error():
                        continue
                    logs[(topic, p, msg.offset())] = (msg.key(), msg.value())
                    offset = msg.offset() + 1
        consumer.close()

        missing = [a for a in acked["plain"] if logs.get(("plain", a[0], a[1])) != (a[2], a[3])]
        eq(missing[:3], [], f"every acknowledged plain record is in place ({len(acked['plain'])})")
        latest = {}
        for partition, offset, key, value in acked["kv"]:
            if key not in latest or offset > latest[key][1]:
                latest[key] = (partition, offset, value)
        lost = [(k, v) for k, v in latest.items() if logs.get(("kv", v[0], v[1])) != (k, v[2])]
        eq(lost[:3], [], f"every key's latest acknowledged value survives ({len(latest)} keys)")
        beyond = [(t, p, o) for (t, p, o), (k, _) in logs.items()
                  if t == "kv" and k in latest and o > latest[k][1] and p == latest[k][0]]
        eq(beyond[:3], [], "no record of a key beyond its latest acknowledged one")
        compacted = len(acked["kv"]) - sum(1 for t, _, _ in logs if t == "kv")
        check(compacted > 0, f"compaction removed superseded records ({compacted})")
        print(f"{len(acked['kv'])} kv and {len(acked['plain'])} plain records acknowledged, "
              f"{KILLS} kill -9s, {compacted} kv records compacted away")
        eq(server.stop(), 0, "clean stop")
    finish()


if __name__ == "__main__":
    main()

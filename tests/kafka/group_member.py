#!/usr/bin/python3
"""A consumer-group member for groups_test.py, run as its own process so a test can kill it.

usage: group_member.py BOOTSTRAP GROUP TOPIC STRATEGY [INSTANCE_ID]

A librdkafka high-level consumer (python3-confluent-kafka) with auto-commit off. It processes
records in batches: prints `REC <partition> <offset> <value>` for each record, then commits the
offsets after the batch synchronously and prints `COMMIT <partition> <next offset>` once the
commit is acknowledged. Assignment changes print as `ASSIGN p,p,...` and `REVOKE p,...`.
SIGTERM closes the consumer (a dynamic member leaves the group). Every line is flushed at once,
so a killed member's output is complete up to the moment it died.
"""
import signal
import sys

from confluent_kafka import Consumer, KafkaException, TopicPartition

stopping = False


def main():
    bootstrap, group, topic, strategy = sys.argv[1:5]
    instance = sys.argv[5] if len(sys.argv) > 5 else None

    def on_term(*_):
        global stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": strategy,
        "session.timeout.ms": 6000 if instance is None else 20000,
        "heartbeat.interval.ms": 500,
        "enable.partition.eof": False,
    }
    if instance is not None:
        config["group.instance.id"] = instance
    consumer = Consumer(config)

    def show(word, partitions):
        print(word, ",".join(str(p.partition) for p in sorted(partitions, key=lambda p: p.partition)),
              flush=True)

    consumer.subscribe([topic], on_assign=lambda c, ps: show("ASSIGN", ps),
                       on_revoke=lambda c, ps: show("REVOKE", ps))
    print("STARTED", flush=True)
    while not stopping:
        records = consumer.consume(num_messages=200, timeout=0.2)
        if not records:
            continue
        next_offsets = {}
        for r in records:
            if r.error():
                print("ERROR", r.error(), flush=True)
                continue
            print("REC", r.partition(), r.offset(), r.value().decode(), flush=True)
            next_offsets[r.partition()] = r.offset() + 1
        if not next_offsets:
            continue
        try:
            done = consumer.commit(offsets=[TopicPartition(topic, p, o)
                                            for p, o in next_offsets.items()],
                                   asynchronous=False)
        except KafkaException as e:
            # A commit refused during a rebalance is not an error of the test: the records are
            # processed again by whoever gets the partition, which the test allows only when
            # the commit did not happen.
            print("COMMITFAILED", e, flush=True)
            continue
        for tp in done:
            if tp.error is None:
                print("COMMIT", tp.partition, tp.offset, flush=True)
            else:
                print("COMMITFAILED", tp.partition, tp.error, flush=True)
    consumer.close()
    print("CLOSED", flush=True)


if __name__ == "__main__":
    main()

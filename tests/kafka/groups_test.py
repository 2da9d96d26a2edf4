#!/usr/bin/python3
"""Consumer groups with librdkafka high-level consumers (python3-confluent-kafka), each member
its own process so it can be killed.

usage: groups_test.py EDDY_BINARY

Manages the server itself (it restarts it). For each assignor (range, roundrobin,
cooperative-sticky), three members share a 6-partition topic; once they have processed the
first half of the records, the second half streams in, one member is killed with SIGKILL while
it processes it and a fourth member joins. Every record must be processed, with the right value, and no record may
be processed twice where both processings were committed (only what the killed member
processed after its last commit may be processed again). Then the members stop, the server is
restarted, more records are produced and three new members must resume exactly from the
committed offsets: they see the new records and none of the old ones.

A static-membership scenario follows: of two static members, one is killed and restarted with
the same group.instance.id inside the session timeout; it gets its partitions back and the other
member sees no rebalance.

Every wait is bounded and watches the members' output; nothing sleeps to synchronise.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from eddy_server import Server  # noqa: E402

PARTITIONS = 6
HALF = 3000
RESUMED = 1000
WAIT_S = 60
MEMBER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "group_member.py")

PASSED = 0
SERVER = None
MEMBERS = []


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    for m in MEMBERS:
        print(f"--- member {m.name} (last lines):\n" + "\n".join(m.lines[-15:]), file=sys.stderr)
    if SERVER is not None:
        print("server log:\n" + "".join(SERVER.log)[-6000:], file=sys.stderr)
    print(f"{PASSED} passed, 1 failed")
    for m in MEMBERS:
        m.kill()
    if SERVER is not None:
        SERVER.kill_if_running()
    os._exit(1)


def check(condition, what):
    global PASSED
    if not condition:
        fail(what)
    PASSED += 1


def wait_until(condition, what, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    with Member.changed:
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"timed out waiting for {what}")
            Member.changed.wait(min(left, 0.5))
    check(True, what)


class Member:
    """One group_member.py process; its output lines are collected as they arrive."""
    changed = threading.Condition()

    def __init__(self, name, group, topic, strategy, instance=None):
        self.name = name
        args = ["/usr/bin/python3", MEMBER, SERVER.bootstrap, group, topic, strategy]
        if instance:
            args.append(instance)
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        self.lines = []
        MEMBERS.append(self)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            with Member.changed:
                self.lines.append(line.rstrip("\n"))
                Member.changed.notify_all()
        with Member.changed:
            Member.changed.notify_all()

    def snapshot(self):
        with Member.changed:
            return list(self.lines)

    def records(self):
        """[(partition, offset, value, committed_by_this_member)] in processing order."""
        lines = self.snapshot()
        out = []
        committed_upto = {}
        for line in reversed(lines):
            parts = line.split()
            # A member killed while printing leaves a partial last line.
            if len(parts) < 3 or (parts[0] == "REC" and len(parts) < 4):
                continue
            if parts[0] == "COMMIT":
                p, o = int(parts[1]), int(parts[2])
                committed_upto[p] = max(committed_upto.get(p, -1), o)
            elif parts[0] == "REC":
                p, o = int(parts[1]), int(parts[2])
                out.append((p, o, parts[3], committed_upto.get(p, -1) > o))
        out.reverse()
        return out

    def commits(self):
        result = {}
        for line in self.snapshot():
            parts = line.split()
            if parts[0] == "COMMIT" and len(parts) == 3:
                result[int(parts[1])] = max(result.get(int(parts[1]), 0), int(parts[2]))
        return result

    def assignment(self):
        """Partitions currently assigned, from the ASSIGN/REVOKE lines."""
        owned = set()
        for line in self.snapshot():
            parts = line.split()
            if parts[0] in ("ASSIGN", "REVOKE") and len(parts) > 1:
                partitions = {int(p) for p in parts[1].split(",")}
                owned = owned | partitions if parts[0] == "ASSIGN" else owned - partitions
        return owned

    def rebalance_events(self):
        return [line for line in self.snapshot() if line.startswith(("ASSIGN", "REVOKE"))]

    def stop(self):
        # Before STARTED the member may not have installed its SIGTERM handler yet.
        wait_until(lambda: "STARTED" in self.snapshot() or self.process.poll() is not None,
                   f"member {self.name} started")
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail(f"member {self.name} did not stop on SIGTERM")
        check(code == 0, f"member {self.name} closed cleanly (exit {code})")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def create_topic(name, partitions):
    admin = AdminClient({"bootstrap.servers": SERVER.bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1)])
    futures[name].result(timeout=30)


def produce(topic, first, count):
    """Record i goes to partition i % PARTITIONS, so its offset there is i // PARTITIONS."""
    producer = Producer({"bootstrap.servers": SERVER.bootstrap, "enable.idempotence": False,
                         "linger.ms": 5})
    for i in range(first, first + count):
        producer.produce(topic, str(i).encode(), partition=i % PARTITIONS)
    check(producer.flush(30) == 0, f"{count} records from {first} acknowledged")


def processed(members):
    seen = {}
    for m in members:
        for p, o, value, committed in m.records():
            seen.setdefault((p, o), []).append((m.name, value, committed))
    return seen


def expected(first, count):
    return {(i % PARTITIONS, i // PARTITIONS): str(i) for i in range(first, first + count)}


def churn(strategy):
    topic = group = f"churn-{strategy}"
    create_topic(topic, PARTITIONS)
    members = [Member(f"{strategy}-{n}", group, topic, strategy) for n in (1, 2, 3)]
    wait_until(lambda: all(len(m.assignment()) == 2 for m in members)
               and set().union(*(m.assignment() for m in members)) == set(range(PARTITIONS)),
               f"{strategy}: three members own two partitions each")
    produce(topic, 0, HALF)
    first_half = expected(0, HALF)
    wait_until(lambda: set(first_half) <= set(processed(members)),
               f"{strategy}: three members processed the first {HALF} records")
    victim = members[1]
    # The second half streams in while the victim is killed in the middle of its work.
    producing = threading.Thread(target=produce, args=(topic, HALF, HALF))
    producing.start()
    wait_until(lambda: any(int(v) >= HALF for _, _, v, _ in victim.records()),
               f"{strategy}: the member to be killed is processing the second half")
    victim.kill()
    members.append(Member(f"{strategy}-4", group, topic, strategy))
    producing.join()
    everything = expected(0, 2 * HALF)
    wait_until(lambda: set(everything) <= set(processed(members)),
               f"{strategy}: all {2 * HALF} records processed after a kill and a join")
    per_partition = 2 * HALF // PARTITIONS

    def all_committed():
        best = {}
        for m in members:
            for p, o in m.commits().items():
                best[p] = max(best.get(p, 0), o)
        return all(best.get(p, 0) == per_partition for p in range(PARTITIONS))

    wait_until(all_committed, f"{strategy}: every partition committed up to its end")
    seen = processed(members)
    wrong = [(key, v) for key, occurrences in seen.items() for (_, v, _) in occurrences
             if everything.get(key) != v]
    check(not wrong, f"{strategy}: every record has its value (wrong: {wrong[:3]})")
    twice = {key: occ for key, occ in seen.items() if sum(1 for o in occ if o[2]) > 1}
    check(not twice, f"{strategy}: no record processed twice between commits ({list(twice.items())[:3]})")
    redone = [key for key, occ in seen.items() if len(occ) > 1]
    check(all(any(name == victim.name and not committed for name, _, committed in seen[key])
              for key in redone),
          f"{strategy}: only the killed member's uncommitted records were processed again "
          f"({len(redone)} of them)")
    print(f"{strategy}: {len(seen)} records processed by {len(members)} members, "
          f"{len(redone)} again after the kill", flush=True)
    for m in members:
        if m is not victim:
            m.stop()
    return topic, group


def resume(topic, group, strategy):
    produce(topic, 2 * HALF, RESUMED)
    members = [Member(f"{strategy}-r{n}", group, topic, strategy) for n in (1, 2, 3)]
    fresh = expected(2 * HALF, RESUMED)
    wait_until(lambda: set(fresh) <= set(processed(members)),
               f"{strategy}: new members consumed the {RESUMED} records produced after the restart")
    old = [key for key in processed(members) if key not in fresh]
    check(not old, f"{strategy}: resumed from the committed offsets (re-read {old[:5]})")
    for m in members:
        m.stop()


def static_membership():
    topic = group = "static"
    create_topic(topic, 4)
    first = Member("static-1", group, topic, "range", "instance-1")
    second = Member("static-2", group, topic, "range", "instance-2")
    wait_until(lambda: first.assignment() and second.assignment()
               and first.assignment() | second.assignment() == {0, 1, 2, 3},
               "two static members share the partitions")
    owned = first.assignment()
    events_before = second.rebalance_events()
    first.kill()
    again = Member("static-1-again", group, topic, "range", "instance-1")
    wait_until(lambda: again.assignment(), "the restarted static member gets an assignment")
    check(again.assignment() == owned,
          f"it gets its partitions back ({sorted(again.assignment())} vs {sorted(owned)})")
    check(second.rebalance_events() == events_before,
          f"the other member saw no rebalance ({second.rebalance_events()[len(events_before):]})")
    check("static member instance-1 of group static rejoined" in SERVER.log_since_start(),
          "the coordinator logged the static rejoin")
    again.stop()
    second.stop()


def main():
    global SERVER
    data_dir = tempfile.mkdtemp(prefix="eddy-groups-test-")
    SERVER = Server(sys.argv[1], data_dir, 0, fail,
                    ["--group-initial-rebalance-delay-ms", "0"])
    try:
        SERVER.start()
        resumable = [(churn(s), s) for s in ("range", "roundrobin", "cooperative-sticky")]
        code = SERVER.stop(signal.SIGTERM)
        check(code == 0, f"SIGTERM: eddy exits 0 (got {code})")
        SERVER.start()
        for (topic, group), strategy in resumable:
            resume(topic, group, strategy)
        static_membership()
        code = SERVER.stop(signal.SIGTERM)
        check(code == 0, f"SIGTERM: eddy exits 0 (got {code})")
    finally:
        for m in MEMBERS:
            m.kill()
        SERVER.kill_if_running()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"{PASSED} passed, 0 failed")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Both listeners of the real binary against peers that abuse connections:

- declared sizes: connections that declare huge pgwire messages or Kafka requests and send a few
  bytes do not make the server allocate what they declared (RSS stays bounded), while other
  sessions keep working and a large message that does arrive is read whole;
- the open-file limit: with the server's descriptor limit reached, connections queue without the
  accept loop spinning (CPU and log lines bounded), existing connections are served, and new
  ones are accepted once descriptors free up;
- pgwire startup: a connection that never completes its startup is closed after
  --pg-startup-timeout-ms; one that did stays open.

usage: connections_test.py EDDY_BINARY
"""
import os
import resource
import select
import socket
import struct
import sys
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from eddy_server import Server  # noqa: E402
from proc_stats import cpu_seconds, rss_bytes  # noqa: E402

PASSED = 0
MIB = 1 << 20


def check(cond, what):
    global PASSED
    if not cond:
        raise AssertionError(what)
    PASSED += 1
    print(f"ok: {what}")


def pg_startup_packet():
    params = b"user\0tester\0database\0eddy\0\0"
    return struct.pack("!ii", 8 + len(params), 196608) + params


def read_until_ready(sock):
    """Reads server messages until ReadyForQuery; returns them as (type, body) pairs."""
    data = b""
    messages = []
    sock.settimeout(10)
    while True:
        while len(data) >= 5:
            kind, length = data[0:1], struct.unpack("!i", data[1:5])[0]
            if len(data) < 1 + length:
                break
            messages.append((kind, data[5:1 + length]))
            data = data[1 + length:]
            if kind == b"Z":
                return messages
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before ReadyForQuery: {messages}")
        data += chunk


def pg_session(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(pg_startup_packet())
    read_until_ready(sock)
    return sock


def max_rss_over(pid, seconds):
    """The largest RSS seen while polling for `seconds`: an allocation of a declared size shows
    within milliseconds of the header's arrival, so a window of this length cannot miss it."""
    end = time.monotonic() + seconds
    peak = 0
    while time.monotonic() < end:
        peak = max(peak, rss_bytes(pid))
        time.sleep(0.02)
    return peak


def declared_sizes(binary):
    with Server(binary) as server:
        server.start()
        pid = server.process.pid
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("SELECT 1")
        baseline = rss_bytes(pid)

        # 20 sessions each declare a 60 MiB query and send 7 bytes of it; 10 Kafka connections
        # each declare a 90 MiB request and send 7 bytes. Before reading as bytes arrived this
        # took ~2 GiB.
        pg_attackers = [pg_session(server.pg_port) for _ in range(20)]
        for sock in pg_attackers:
            sock.sendall(b"Q" + struct.pack("!i", 60 * MIB + 4) + b"SELECT ")
        kafka_attackers = [socket.create_connection(("127.0.0.1", server.kafka_port))
                           for _ in range(10)]
        for sock in kafka_attackers:
            sock.sendall(struct.pack("!i", 90 * MIB) + b"\0\0\0\0\0\0\0")
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            check(conn.execute("SELECT 41 + 1").fetchone()[0] == 42,
                  "a session works beside 30 connections with huge declared sizes")
            peak = max_rss_over(pid, 1.0)
            check(peak - baseline < 100 * MIB,
                  f"RSS grew by {(peak - baseline) / MIB:.1f} MiB for 30 declared sizes of "
                  f"60-90 MiB (baseline {baseline / MIB:.1f} MiB)")

            # A large statement that does arrive is read whole, piece by piece.
            big = "x" * (3 * MIB)
            got = conn.execute(f"SELECT length('{big}')").fetchone()[0]
            check(got == 3 * MIB, "a 3 MiB statement beside them is read whole")
        for sock in pg_attackers + kafka_attackers:
            sock.close()
        check(server.process.poll() is None, "the server is up after the declared sizes")
        check(server.stop() == 0, "clean stop")


def descriptor_limit(binary):
    with Server(binary) as server:
        server.start()
        pid = server.process.pid
        working = psycopg.connect(server.dsn(), autocommit=True)
        in_use = len(os.listdir(f"/proc/{pid}/fd"))
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 16, hard))
        def serve_for(seconds):
            """Runs statements on the working session for `seconds`; returns the count and the
            server's CPU seconds meanwhile."""
            cpu_before, began, served = cpu_seconds(pid), time.monotonic(), 0
            while time.monotonic() - began < seconds:
                if working.execute("SELECT 2").fetchone()[0] != 2:
                    raise AssertionError("SELECT 2 answered something else")
                served += 1
            return served, cpu_seconds(pid) - cpu_before

        # The same work without and with the crowd, to judge the accept loop's CPU by the
        # difference: spinning on accept would cost a whole core on top.
        calm_served, calm_cpu = serve_for(1.5)
        log_before = len(server.log_since_start())
        # Far more connections than descriptors left: the rest wait in the listen backlog and
        # every accept beyond the limit fails with EMFILE.
        crowd = []
        for port in (server.pg_port, server.kafka_port):
            for _ in range(60):
                crowd.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        crowded_served, crowded_cpu = serve_for(1.5)
        log = server.log_since_start()[log_before:]
        failures = log.count("accept failed")
        check("Too many open files" in log, "the failed accepts are logged")
        check(failures <= 10, f"{failures} accept-failure log lines in 1.5 s")
        check(crowded_cpu - calm_cpu < 0.5,
              f"server CPU for 1.5 s of statements: {calm_cpu:.2f} s ({calm_served} statements) "
              f"without the crowd, {crowded_cpu:.2f} s ({crowded_served}) at the descriptor limit")
        check(crowded_served > calm_served / 3, "the existing session is served at the limit")

        for sock in crowd:
            sock.close()
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=10) as conn:
            check(conn.execute("SELECT 3").fetchone()[0] == 3,
                  "new connections are accepted once descriptors free up")
        working.close()
        check(server.stop() == 0, "clean stop")


def startup_timeout(binary):
    with Server(binary, extra_args=["--pg-startup-timeout-ms", "300"]) as server:
        server.start()
        silent = socket.create_connection(("127.0.0.1", server.pg_port))
        partial = socket.create_connection(("127.0.0.1", server.pg_port))
        partial.sendall(pg_startup_packet()[:6])
        started = pg_session(server.pg_port)
        for sock, what in ((silent, "a connection that sends nothing"),
                           (partial, "a connection that sends part of its startup packet")):
            sock.settimeout(10)
            began = time.monotonic()
            try:
                closed = sock.recv(1) == b""
            except ConnectionResetError:
                closed = True
            check(closed and time.monotonic() - began < 10, f"{what} is closed by the server")
            sock.close()
        # The started session is not subject to the startup timeout: still open well after it.
        readable, _, _ = select.select([started], [], [], 1.0)
        check(not readable, "a started session stays open past the startup timeout")
        started.sendall(b"Q" + struct.pack("!i", 4 + 9) + b"SELECT 1\0")
        messages = read_until_ready(started)
        check(any(kind == b"D" for kind, _ in messages), "and answers a query")
        started.close()
        check(server.stop() == 0, "clean stop")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    declared_sizes(sys.argv[1])
    descriptor_limit(sys.argv[1])
    startup_timeout(sys.argv[1])
    print(f"{PASSED} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

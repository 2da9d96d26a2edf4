#!/usr/bin/python3
"""Runs a client test against a real `eddy serve`.

usage: with_server.py EDDY_BINARY -- COMMAND [ARGS...]

Starts the server on a free loopback port with a temporary data directory, waits (bounded,
by reading its log, never by sleeping) until it listens, runs COMMAND with
`--bootstrap 127.0.0.1:PORT` appended and EDDY_DATA_DIR/EDDY_BINARY in the environment,
then stops the server with SIGTERM and requires a clean exit. The exit status is the
command's (or 1 if the server misbehaved).
"""
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    binary, command = sys.argv[1], sys.argv[3:]
    data_dir = tempfile.mkdtemp(prefix="eddy-kafka-test-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDDY_")}
    server = subprocess.Popen(
        [binary, "serve", "--data-dir", data_dir, "--kafka-listen", "127.0.0.1:0",
         "--pg-listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    log = []
    try:
        port = wait_for_port(server, log)
        if port is None:
            print("eddy did not start:\n" + "".join(log), file=sys.stderr)
            return 1
        env.update(EDDY_DATA_DIR=data_dir, EDDY_BINARY=binary, EDDY_KAFKA_PORT=str(port))
        result = subprocess.run(command + ["--bootstrap", f"127.0.0.1:{port}"], env=env)
        status = result.returncode
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print("eddy did not stop after SIGTERM", file=sys.stderr)
            return 1
        if server.returncode != 0:
            print(f"eddy exited with {server.returncode}:\n" + "".join(log), file=sys.stderr)
            return 1
        if status != 0:
            print("server log:\n" + "".join(log)[-4000:], file=sys.stderr)
        return status
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


def wait_for_port(server, log):
    selector = selectors.DefaultSelector()
    selector.register(server.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT_S
    buffered = b""
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            continue
        chunk = os.read(server.stderr.fileno(), 65536)
        if not chunk:
            return None
        buffered += chunk
        log.append(chunk.decode(errors="replace"))
        match = re.search(rb"kafka on [^ ]+:(\d+)", buffered)
        if match:
            # Keep draining the log in the background so the server never blocks on stderr.
            drain(server, log)
            return int(match.group(1))
    return None


def drain(server, log):
    def pump():
        for chunk in iter(lambda: os.read(server.stderr.fileno(), 65536), b""):
            log.append(chunk.decode(errors="replace"))

    threading.Thread(target=pump, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())

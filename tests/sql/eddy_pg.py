"""Starts a real `eddy serve` for SQL tests: free loopback ports (port 0, read back from the
log), a fresh data directory, and restarts on the same directory. Waits by reading the log with
a deadline, never by sleeping."""
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


class Server:
    def __init__(self, binary):
        self.binary = binary
        self.data_dir = tempfile.mkdtemp(prefix="eddy-sql-test-")
        self.process = None
        self.log = []
        self.pg_port = self.kafka_port = None

    def dsn(self, dbname="eddy"):
        return f"host=127.0.0.1 port={self.pg_port} dbname={dbname} user=tester"

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDDY_")}
        self.process = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir, "--kafka-listen", "127.0.0.1:0",
             "--pg-listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        selector = selectors.DefaultSelector()
        selector.register(self.process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT_S
        buffered = b""
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            chunk = os.read(self.process.stderr.fileno(), 65536)
            if not chunk:
                break
            buffered += chunk
            self.log.append(chunk.decode(errors="replace"))
            pg = re.search(rb"pgwire on [^ \n]+:(\d+)\n", buffered)
            kafka = re.search(rb"kafka on [^ \n]+:(\d+)\n", buffered)
            if pg and kafka:
                selector.close()
                self.pg_port, self.kafka_port = int(pg.group(1)), int(kafka.group(1))
                threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()
                return
        selector.close()
        raise RuntimeError("eddy did not start:\n" + "".join(self.log))

    def _drain(self, process):
        for chunk in iter(lambda: os.read(process.stderr.fileno(), 65536), b""):
            self.log.append(chunk.decode(errors="replace"))

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        if sig == signal.SIGTERM and self.process.returncode != 0:
            raise RuntimeError(f"eddy exited with {self.process.returncode}:\n" + "".join(self.log))

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)

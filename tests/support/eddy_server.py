"""One real `eddy serve` for Python tests: loopback listeners (port 0 = any free port, read back
from the log), a data directory (a fresh temporary one unless given), restarts on the same ports
and directory, and the log kept for failure reports. Waits by reading the log with a deadline,
never by sleeping; once the server listens a thread keeps draining its log."""
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


def _raise(message):
    raise RuntimeError(message)


class Server:
    def __init__(self, binary, data_dir=None, kafka_port=0, fail=None, extra_args=(), pg_port=0):
        self.binary = binary
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="eddy-test-")
        # After the first start these hold the bound ports, so a restart reuses them.
        self.kafka_port, self.pg_port = kafka_port, pg_port
        self.fail = fail or _raise  # called with a message; must not return
        self.extra_args = list(extra_args)
        self.process = None
        self.log = []
        self.log_at_start = 0

    @property
    def port(self):
        return self.kafka_port

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    def dsn(self, dbname="eddy"):
        return f"host=127.0.0.1 port={self.pg_port} dbname={dbname} user=tester"

    def start(self):
        """Starts the server and returns once both listeners are up."""
        self.log_at_start = len(self.log)
        self.process = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir,
             "--kafka-listen", f"127.0.0.1:{self.kafka_port}",
             "--pg-listen", f"127.0.0.1:{self.pg_port}"] + self.extra_args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if not k.startswith("EDDY_")})
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
            kafka = re.search(rb"kafka on [^ \n]+:(\d+)\n", buffered)
            pg = re.search(rb"pgwire on [^ \n]+:(\d+)\n", buffered)
            if kafka and pg:
                selector.close()
                for wanted, got, name in ((self.kafka_port, int(kafka.group(1)), "kafka"),
                                          (self.pg_port, int(pg.group(1)), "pgwire")):
                    if wanted and wanted != got:
                        self.fail(f"{name} listens on {got}, not {wanted}")
                self.kafka_port, self.pg_port = int(kafka.group(1)), int(pg.group(1))
                threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()
                return
        selector.close()
        self.fail("eddy did not start:\n" + "".join(self.log))

    def log_since_start(self):
        return "".join(self.log[self.log_at_start:])

    def _drain(self, process):
        for chunk in iter(lambda: os.read(process.stderr.fileno(), 65536), b""):
            self.log.append(chunk.decode(errors="replace"))

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig`, waits for the exit and returns the exit code."""
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.fail(f"eddy did not exit after {signal.Signals(sig).name}")
        return self.process.returncode

    def kill_if_running(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self):
        self.kill_if_running()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        """Closes the server; when the test failed, first prints the end of its log."""
        if kind is not None:
            sys.stderr.write("".join(self.log)[-4000:])
        self.close()
        return False

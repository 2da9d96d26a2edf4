"""One `eddy serve` process that a test can stop and start again on the same port and data
directory (with_server.py cannot restart its server). Its log is kept for failure reports."""
import os
import re
import selectors
import signal
import socket
import subprocess
import threading
import time

START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 15


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data_dir, port, fail, extra_args=()):
        self.binary, self.data_dir, self.port = binary, data_dir, port
        self.fail = fail  # called with a message; must not return
        self.extra_args = list(extra_args)
        self.process = None
        self.log = []
        self.log_at_start = 0

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        """Starts the server and returns once it listens (read from its log, never slept)."""
        self.log_at_start = len(self.log)
        self.process = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir, "--kafka-listen",
             f"127.0.0.1:{self.port}", "--pg-listen", "127.0.0.1:0"] + self.extra_args,
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
            match = re.search(rb"kafka on [^ ]+:(\d+)", buffered)
            if match:
                selector.close()
                if int(match.group(1)) != self.port:
                    self.fail(f"server listens on {match.group(1)}, not {self.port}")
                self._drain(self.process)
                return
        selector.close()
        self.fail(f"eddy did not start on port {self.port}")

    def log_since_start(self):
        return "".join(self.log[self.log_at_start:])

    def _drain(self, process):
        def pump():
            for chunk in iter(lambda: os.read(process.stderr.fileno(), 65536), b""):
                self.log.append(chunk.decode(errors="replace"))

        threading.Thread(target=pump, daemon=True).start()

    def stop(self, sig=signal.SIGTERM):
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

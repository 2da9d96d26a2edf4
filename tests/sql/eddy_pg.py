"""The shared test server (tests/support/eddy_server.py) as the SQL tests use it: a fresh data
directory, and a SIGTERM stop that must exit cleanly."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import eddy_server  # noqa: E402


class Server(eddy_server.Server):
    def __init__(self, binary, **options):
        super().__init__(binary, **options)

    def stop(self, sig=signal.SIGTERM):
        code = super().stop(sig)
        if sig == signal.SIGTERM and code != 0:
            raise RuntimeError(f"eddy exited with {code}:\n" + "".join(self.log))
        return code

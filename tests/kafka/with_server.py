#!/usr/bin/python3
"""Runs a client test against a real `eddy serve`.

usage: with_server.py EDDY_BINARY -- COMMAND [ARGS...]

Starts the server (tests/support/eddy_server.py) on free loopback ports with a temporary data
directory, waits (bounded, by reading its log, never by sleeping) until it listens, runs COMMAND
with `--bootstrap 127.0.0.1:PORT` appended and EDDY_DATA_DIR/EDDY_BINARY/EDDY_KAFKA_PORT/
EDDY_PG_PORT in the environment, then stops the server with SIGTERM and requires a clean exit.
The exit status is the command's (or 1 if the server misbehaved).
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from eddy_server import Server  # noqa: E402


class ServerFailed(Exception):
    pass


def fail(message):
    raise ServerFailed(message)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    binary, command = sys.argv[1], sys.argv[3:]
    server = Server(binary, fail=fail)
    try:
        server.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDDY_")}
        env.update(EDDY_DATA_DIR=server.data_dir, EDDY_BINARY=binary,
                   EDDY_KAFKA_PORT=str(server.kafka_port), EDDY_PG_PORT=str(server.pg_port))
        status = subprocess.run(command + ["--bootstrap", server.bootstrap], env=env).returncode
        code = server.stop(signal.SIGTERM)
        if code != 0:
            print(f"eddy exited with {code}:\n" + "".join(server.log), file=sys.stderr)
            return 1
        if status != 0:
            print("server log:\n" + "".join(server.log)[-4000:], file=sys.stderr)
        return status
    except ServerFailed as e:
        print(str(e), file=sys.stderr)
        return 1
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())

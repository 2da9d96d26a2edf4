#!/usr/bin/python3
"""Golden SQL tests: runs every tests/sql/golden/*.sql against a real server (one fresh server per
file) over the wire protocol (pg_script.py renders what the server sent, independent of any psql
version) and compares the transcript with the .out file next to it.

usage: golden_test.py EDDY_BINARY [--update]
--update rewrites the .out files (review the diff before committing).
"""
import difflib
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eddy_pg import Server  # noqa: E402
from pg_script import run_script  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def run_file(binary, path):
    server = Server(binary)
    try:
        server.start()
        with open(path, encoding="utf-8") as script:
            transcript = run_script("127.0.0.1", server.pg_port, script.read())
        server.stop()
        return transcript
    finally:
        server.close()


def main():
    binary = sys.argv[1]
    update = "--update" in sys.argv
    failed = []
    files = sorted(glob.glob(os.path.join(GOLDEN, "*.sql")))
    if not files:
        print("no golden files found", file=sys.stderr)
        return 1
    for path in files:
        actual = run_file(binary, path)
        expected_path = path[:-4] + ".out"
        if update:
            with open(expected_path, "w") as f:
                f.write(actual)
            continue
        expected = open(expected_path).read() if os.path.exists(expected_path) else ""
        if actual != expected:
            failed.append(os.path.basename(path))
            sys.stdout.writelines(difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), expected_path, "actual"))
    for name in failed:
        print(f"FAILED: {name}")
    print(f"{len(files) - len(failed)}/{len(files)} golden files match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

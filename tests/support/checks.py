"""Assertions shared by the client test scripts: stop at the first failure with a clear
message, and end with the 'N passed, N failed' line CI reads."""
import sys

_passed = 0


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    print(f"{_passed} passed, 1 failed")
    sys.exit(1)


def check(condition, what):
    global _passed
    if not condition:
        fail(what)
    _passed += 1


def eq(actual, expected, what):
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def passed():
    return _passed


def finish():
    print(f"{_passed} passed, 0 failed")

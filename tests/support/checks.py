"""The assertion helper of the Python integration tests: check() raises with a message that says
what was expected; passed() counts the checks that held, for the test's closing line."""

_passed = 0


def check(cond, what):
    global _passed
    if not cond:
        raise AssertionError(what)
    _passed += 1


def passed():
    return _passed

#!/usr/bin/python3
r"""SQL logic tests: runs sqllogictest-style files against the real server over psycopg and checks
only what the server sent (values as the text it sent, type OIDs, column names, SQLSTATEs, error
fields, notices, row counts, COPY data), never a client's rendering of it.

usage: slt_runner.py EDDY_BINARY [FILE.slt ...]     (default: every tests/sql/slt/*.slt)

Each file runs on a fresh server (its own data directory) over one psycopg connection in
autocommit mode (psql's default: BEGIN/COMMIT in a file are plain statements), its records in
order. A failing record is reported (file:line, the SQL, expected and actual) and the file goes
on with the next record. The exit code is 1 when any record or server failed.

File format (tests/sql/slt/README.md has examples). Records are separated by blank lines; a line
starting with `#` between records is a comment. SQL is sent exactly as written (lines joined by
newlines, a trailing `;` included) as one simple Query, so it may hold several statements; it
ends at a blank line or a `----` line.

  statement ok                      the SQL succeeds (rows it returns are not checked)
  statement count N                 it succeeds and its command tag counts N rows
                                    (INSERT 0 N, COPY N, ...)
  statement error SQLSTATE [MSG]    it fails with exactly that SQLSTATE, and MSG (the rest of the
                                    line, optional) is a substring of the server's message
  query error SQLSTATE [MSG]        the same, for a query
      Either error record may end with `----` and lines `FIELD: VALUE` naming error fields
      (DETAIL, HINT, POSITION, CONTEXT, INTERNAL POSITION, INTERNAL QUERY). Then the error must
      have exactly those fields, each equal to its VALUE; without the block they are not checked.

  query TYPES [nosort|rowsort|valuesort] [colnames]
  SQL
  ----
  [NAME | NAME ...]                 with colnames: the result's column names
  VALUE | VALUE ...                 the rows, one per line, up to a blank line
      TYPES has one letter per column, checked against the type OID the server sent:
        I int2 int4 int8 oid      R float4 float8 numeric      T text varchar bpchar name char
        B bool      D date time timetz timestamp timestamptz interval      J json jsonb
        X bytea
      nosort (the default) compares the rows in the server's order; rowsort compares the sorted
      lists of rows (the file may list them in any order); valuesort the sorted lists of single
      values. When the SQL holds several statements, the record describes the last result; the
      others must succeed.

  copy out                          a COPY ... TO STDOUT; after `----` the data it sends,
  SQL                               verbatim, one line per line (tabs are tabs, `\N` is COPY's
  ----                              NULL), ended by a line `\.` (which COPY output never holds:
  DATA LINES                        it escapes or quotes it); the data must end in a newline, as
  \.                                every COPY row does

  notice SQLSTATE MESSAGE           follows a SQL record: that record raised this notice (exact
                                    message). A SQL record must list every notice it raises, in
                                    order; one followed by no notice record must raise none.
  parameter NAME VALUE              the server's latest ParameterStatus for NAME is VALUE (exact,
                                    the rest of the line)
  wait views                        polls SHOW MATERIALIZED VIEWS until every view is running
                                    with lag 0 and the answer is the same twice in a row (at most
                                    60 s); put it before a query that reads a materialized view

COPY ... FROM STDIN: when a statement record's SQL is a COPY ... FROM STDIN, the SQL is that one
line and the lines after it, through a line `\.`, are the data, sent verbatim (the `\.` line too;
the server ends the data there) if the server asks for it; an error record's `----` block of
fields comes after the data.

Values, column names and error fields: the text the server sent, as is. NULL is `NULL`, the
empty string `(empty)`. A text that would otherwise be ambiguous or fragile (it reads as NULL or
(empty), starts with `"`, ends with a space, holds a `|`, a control character or bytes that are
not UTF-8) is written in double quotes, with `\\`, `\"`, `\n`, `\t`, `\r` and `\xHH` escapes
inside. Columns are separated by ` | `. Compared as text: the digits and scale of numbers,
spacing and case must match exactly.

The connection sends client_encoding UTF8, TimeZone UTC and DateStyle ISO, MDY at startup.
"""
import difflib
import glob
import os
import re
import sys
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eddy_pg import Server  # noqa: E402

SLT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slt")
WAIT_VIEWS_TIMEOUT_S = 60

TYPE_LETTERS = {
    20: "I", 21: "I", 23: "I", 26: "I",
    700: "R", 701: "R", 1700: "R",
    25: "T", 1042: "T", 1043: "T", 18: "T", 19: "T", 705: "T",
    16: "B",
    1082: "D", 1083: "D", 1266: "D", 1114: "D", 1184: "D", 1186: "D",
    114: "J", 3802: "J",
    17: "X",
}

# Error fields a record may check: (name in the file, psycopg Diagnostic attribute).
ERROR_FIELDS = (("DETAIL", "message_detail"), ("HINT", "message_hint"),
                ("POSITION", "statement_position"), ("INTERNAL POSITION", "internal_position"),
                ("INTERNAL QUERY", "internal_query"), ("CONTEXT", "context"))
FIELD_NAMES = [name for name, _ in ERROR_FIELDS]

COPY_DIRECTION = re.compile(r"\b(from\s+stdin|to\s+stdout)\b", re.IGNORECASE)
SORT_MODES = ("nosort", "rowsort", "valuesort")


def encode(value):
    """A value (bytes, or None for NULL) or a name or field (str) as the files write it."""
    if value is None:
        return "NULL"
    text = value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")
    if text == "":
        return "(empty)"
    if not (text in ("NULL", "(empty)") or text.startswith('"') or text.endswith(" ") or
            "|" in text or any(ord(c) < 0x20 or ord(c) == 0x7f or 0xdc80 <= ord(c) <= 0xdcff
                               for c in text)):
        return text
    out = []
    for c in text:
        code = ord(c)
        if c in '\\"':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7f:
            out.append(f"\\x{code:02x}")
        elif 0xdc80 <= code <= 0xdcff:  # a byte that is not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xdc00:02x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def split_row(line):
    """The encoded values of one expected row (quoted values may hold ` | `)."""
    values, at = [], 0
    while True:
        if line.startswith('"', at):
            end = at + 1
            while end < len(line) and line[end] != '"':
                end += 2 if line[end] == "\\" else 1
            end = min(end + 1, len(line))
        else:
            end = line.find(" | ", at)
            end = len(line) if end < 0 else end
        values.append(line[at:end])
        if not line.startswith(" | ", end):
            if end < len(line):  # junk after a quoted value: keep it, so the row cannot match
                values[-1] += line[end:]
            return values
        at = end + 3


def encode_row(values):
    return " | ".join(encode(v) for v in values)


def copy_direction(sql):
    """"in" for COPY ... FROM STDIN, "out" for COPY ... TO STDOUT, else None."""
    if not re.match(r"\s*copy\b", sql, re.IGNORECASE):
        return None
    found = COPY_DIRECTION.findall(sql)
    if not found:
        return None
    return "in" if found[-1].lower().startswith("from") else "out"


# ---------------------------------------------------------------------------------------------
# Parsing


class ParseError(Exception):
    pass


@dataclass
class Record:
    kind: str  # statement, statement_error, query, query_error, copy_out, parameter, wait_views
    line: int
    sql: str = ""
    count: int = None  # statement count N
    sqlstate: str = None  # error records, notices
    message: str = None  # error message substring, notice message
    fields: dict = None  # error fields to check, or None
    types: str = None
    sort: str = "nosort"
    colnames: bool = False
    expected: list = field(default_factory=list)  # rows, or COPY output lines
    names: str = None  # the expected column names line (colnames)
    data: bytes = None  # COPY FROM STDIN data
    notices: list = field(default_factory=list)  # (sqlstate, message) of following notice records
    name: str = None  # parameter
    value: str = None  # parameter

    @property
    def is_sql(self):
        return self.kind in ("statement", "statement_error", "query", "query_error", "copy_out")


def parse(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records = []
    i = 0

    def fail(at, message):
        raise ParseError(f"{path}:{at + 1}: {message}")

    def take_sql(start, kind):
        """SQL lines from `start` up to a blank line or `----`; returns (sql, next index)."""
        j = start
        while j < len(lines) and lines[j].strip() != "" and lines[j].rstrip() != "----":
            j += 1
        if j == start:
            fail(start, f"{kind} record without SQL")
        return "\n".join(lines[start:j]), j

    def take_copy_data(start):
        j = start
        while j < len(lines) and lines[j] != "\\.":
            j += 1
        if j == len(lines):
            fail(start - 1, "COPY ... FROM STDIN data does not end with a line \\.")
        return "".join(line + "\n" for line in lines[start:j + 1]).encode(), j + 1

    def take_block(start):
        j = start
        while j < len(lines) and lines[j].strip() != "":
            j += 1
        return lines[start:j], j

    def take_fields(start):
        block, j = take_block(start)
        fields = {}
        for offset, text in enumerate(block):
            match = re.match(r"(" + "|".join(FIELD_NAMES) + r"): (.*)$", text)
            if not match:
                fail(start + offset, f"expected FIELD: VALUE with FIELD one of {FIELD_NAMES}")
            fields[match.group(1)] = match.group(2)
        return fields, j

    while i < len(lines):
        text = lines[i]
        stripped = text.strip()
        if stripped == "" or stripped.startswith("#"):
            i += 1
            continue
        header, at = stripped.split(), i
        i += 1
        if header[:2] == ["statement", "ok"] and len(header) == 2 or \
                header[:2] == ["statement", "count"]:
            record = Record("statement", at)
            if header[1] == "count":
                if len(header) != 3 or not header[2].isdigit():
                    fail(at, "statement count needs one number")
                record.count = int(header[2])
            if i < len(lines) and copy_direction(lines[i]) == "in":
                record.sql = lines[i]
                record.data, i = take_copy_data(i + 1)
            else:
                record.sql, i = take_sql(i, "statement")
            if i < len(lines) and lines[i].rstrip() == "----":
                fail(i, "`----` after a statement ok/count record")
        elif header[:2] in (["statement", "error"], ["query", "error"]):
            match = re.match(r"(statement|query) error (\S+)(?: (.*))?$", stripped)
            if not match:
                fail(at, f"{header[0]} error needs a SQLSTATE")
            record = Record(header[0] + "_error", at, sqlstate=match.group(2),
                            message=match.group(3) or "")
            if header[0] == "statement" and i < len(lines) and copy_direction(lines[i]) == "in":
                record.sql = lines[i]
                record.data, i = take_copy_data(i + 1)
            else:
                record.sql, i = take_sql(i, header[0])
            if i < len(lines) and lines[i].rstrip() == "----":
                record.fields, i = take_fields(i + 1)
        elif header[0] == "query":
            if len(header) < 2:
                fail(at, "query needs its column types")
            record = Record("query", at, types=header[1])
            bad = [c for c in record.types if c not in set(TYPE_LETTERS.values())]
            if bad:
                fail(at, f"unknown type letters {''.join(bad)!r}")
            for option in header[2:]:
                if option in SORT_MODES:
                    record.sort = option
                elif option == "colnames":
                    record.colnames = True
                else:
                    fail(at, f"unknown query option {option!r}")
            record.sql, i = take_sql(i, "query")
            if i >= len(lines) or lines[i].rstrip() != "----":
                fail(i, "query without `----` and expected rows")
            block, i = take_block(i + 1)
            if record.colnames:
                if not block:
                    fail(i, "colnames: the first line after `----` names the columns")
                record.names, block = block[0], block[1:]
            record.expected = block
        elif header == ["copy", "out"]:
            record = Record("copy_out", at)
            record.sql, i = take_sql(i, "copy out")
            if i >= len(lines) or lines[i].rstrip() != "----":
                fail(i, "copy out without `----` and expected data")
            j = i + 1
            while j < len(lines) and lines[j] != "\\.":
                j += 1
            if j == len(lines):
                fail(i, "copy out data does not end with a line \\.")
            record.expected, i = lines[i + 1:j], j + 1
        elif header[0] == "notice":
            match = re.match(r"notice (\S+) (.*)$", stripped)
            if not match:
                fail(at, "notice needs a SQLSTATE and a message")
            if not records or not records[-1].is_sql:
                fail(at, "a notice record must follow a SQL record")
            records[-1].notices.append((match.group(1), match.group(2)))
            continue
        elif header[0] == "parameter":
            match = re.match(r"parameter (\S+)(?: (.*))?$", stripped)
            if not match:
                fail(at, "parameter needs a name (and a value, none for the empty string)")
            record = Record("parameter", at, name=match.group(1), value=match.group(2) or "")
        elif header == ["wait", "views"]:
            record = Record("wait_views", at)
        else:
            fail(at, f"unknown record {stripped!r}")
        if record.is_sql and i < len(lines) and lines[i].strip() != "":
            fail(i, "a blank line must end a record")
        records.append(record)
    return records


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Result:
    columns: list  # (name, type OID); None for a command without rows
    rows: list  # lists of bytes or None
    status: str  # the command tag
    rowcount: int  # the count in the command tag, or -1


@dataclass
class Outcome:
    results: list = field(default_factory=list)
    copy_out: bytes = None
    error: dict = None  # "SQLSTATE", "MESSAGE" and the ERROR_FIELDS present
    notices: list = field(default_factory=list)  # (sqlstate, message, all fields)


def diagnostic_fields(diag):
    fields = {"SQLSTATE": diag.sqlstate, "MESSAGE": diag.message_primary}
    for name, attribute in ERROR_FIELDS:
        value = getattr(diag, attribute)
        if value is not None:
            fields[name] = value
    return fields


class Session:
    """One psycopg connection: runs SQL the way the records need and keeps what came back."""

    def __init__(self, dsn):
        # libpq sends PGTZ and PGDATESTYLE as startup parameters; the others would change what
        # it sends.
        for name in ("PGOPTIONS", "PGAPPNAME", "PGCLIENTENCODING", "PGGEQO"):
            os.environ.pop(name, None)
        os.environ["PGTZ"] = "UTC"
        os.environ["PGDATESTYLE"] = "ISO, MDY"
        # prepare_threshold=None: psycopg would otherwise prepare a query it has run 5 times and
        # send it with the extended protocol from then on; every record goes as a simple Query.
        self.conn = psycopg.connect(dsn, autocommit=True, client_encoding="UTF8",
                                    prepare_threshold=None)
        self.notices = []  # a notice's Diagnostic is valid only in the handler: keep its fields
        self.conn.add_notice_handler(lambda diag: self.notices.append(diagnostic_fields(diag)))

    def close(self):
        self.conn.close()

    def run(self, sql, data=None):
        self.notices.clear()
        outcome = Outcome()
        cursor = self.conn.cursor()
        try:
            direction = copy_direction(sql)
            if direction == "in":
                with cursor.copy(sql) as copy:
                    if data:
                        copy.write(data)
                outcome.results.append(Result(None, [], cursor.statusmessage, cursor.rowcount))
            elif direction == "out":
                with cursor.copy(sql) as copy:
                    outcome.copy_out = b"".join(bytes(chunk) for chunk in copy)
                outcome.results.append(Result(None, [], f"COPY {cursor.rowcount}",
                                              cursor.rowcount))
            else:
                cursor.execute(sql)
                while True:
                    outcome.results.append(self._result(cursor.pgresult))
                    if not cursor.nextset():
                        break
        except psycopg.Error as error:
            if error.diag.sqlstate is None:  # the client's own error (e.g. a lost connection)
                outcome.error = {"SQLSTATE": None, "MESSAGE": f"{type(error).__name__}: {error}"}
            else:
                outcome.error = diagnostic_fields(error.diag)
        finally:
            cursor.close()
        outcome.notices = [(n["SQLSTATE"], n["MESSAGE"], n) for n in self.notices]
        return outcome

    @staticmethod
    def _result(result):
        status = (result.command_status or b"").decode()
        rowcount = result.command_tuples if result.command_tuples is not None else -1
        if result.status != pq.ExecStatus.TUPLES_OK:
            return Result(None, [], status, rowcount)
        columns = [(result.fname(c).decode(), result.ftype(c)) for c in range(result.nfields)]
        rows = [[result.get_value(r, c) for c in range(result.nfields)]
                for r in range(result.ntuples)]
        return Result(columns, rows, status, rowcount)

    def wait_views(self):
        """None once every materialized view has caught up, else why not."""
        deadline = time.monotonic() + WAIT_VIEWS_TIMEOUT_S
        previous = None
        while True:
            outcome = self.run("SHOW MATERIALIZED VIEWS")
            if outcome.error:
                return f"SHOW MATERIALIZED VIEWS failed: {outcome.error}"
            result = outcome.results[-1]
            names = [name for name, _ in result.columns]
            rows = [dict(zip(names, (v.decode() if v is not None else None for v in row)))
                    for row in result.rows]
            failed = [r for r in rows if (r.get("status") or "").startswith("failed")]
            if failed:
                return f"materialized view failed: {failed}"
            ready = all(r.get("status") == "running" and r.get("lag") == "0" for r in rows)
            if ready and rows == previous:
                return None
            previous = rows if ready else None
            if time.monotonic() > deadline:
                return f"views not caught up after {WAIT_VIEWS_TIMEOUT_S} s: {rows}"
            time.sleep(0.05)


def check_error(record, outcome):
    """Failure lines for an error record, [] when it matched."""
    error = outcome.error
    if error is None:
        got = outcome.results[-1].status if outcome.results else "no result"
        return [f"expected error {record.sqlstate} {record.message}".rstrip(),
                f"got success: {got}"]
    problems = []
    if error["SQLSTATE"] != record.sqlstate or record.message not in error["MESSAGE"]:
        problems += [f"expected error {record.sqlstate} {record.message}".rstrip(),
                     f"got error      {error['SQLSTATE']} {error['MESSAGE']}"]
    if record.fields is not None:
        expected = dict(record.fields)
        actual = {name: encode(error[name]) for name in FIELD_NAMES if name in error}
        if expected != actual:
            problems += ["expected fields:"] + [f"  {k}: {v}" for k, v in expected.items()]
            problems += ["actual fields:"] + [f"  {k}: {v}" for k, v in actual.items()]
    return problems


def describe_error(error):
    lines = [f"got error {error['SQLSTATE']} {error['MESSAGE']}"]
    lines += [f"  {name}: {encode(error[name])}" for name in FIELD_NAMES if name in error]
    return lines


def sorted_lines(lines, mode):
    if mode == "rowsort":
        return sorted(lines)
    if mode == "valuesort":
        return sorted(value for line in lines for value in split_row(line))
    return list(lines)


def diff(expected, actual):
    return list(difflib.unified_diff(expected, actual, "expected", "actual", lineterm="", n=2))


def check_query(record, outcome):
    if outcome.error:
        return describe_error(outcome.error)
    result = outcome.results[-1]
    if result.columns is None:
        return [f"expected rows, got {result.status!r} with no row description"]
    problems = []
    letters = "".join(TYPE_LETTERS.get(oid, "?") for _, oid in result.columns)
    if letters != record.types:
        oids = ", ".join(f"{name} (OID {oid})" for name, oid in result.columns)
        problems.append(f"expected types {record.types}, got {letters} (columns: {oids})")
    if record.colnames:
        names = " | ".join(encode(name) for name, _ in result.columns)
        if names != record.names:
            problems += [f"expected column names {record.names}", f"got column names      {names}"]
    actual = sorted_lines([encode_row(row) for row in result.rows], record.sort)
    expected = sorted_lines(record.expected, record.sort)
    if actual != expected:
        problems.append(f"rows differ ({record.sort}):")
        problems += diff(expected, actual)
    return problems


def check_copy_out(record, outcome):
    if outcome.error:
        return describe_error(outcome.error)
    data = outcome.copy_out.decode("utf-8", "surrogateescape")
    if data and not data.endswith("\n"):
        return [f"COPY data does not end with a newline: {data[-80:]!r}"]
    actual = data.split("\n")[:-1] if data else []
    if actual != record.expected:
        return ["COPY data differs:"] + diff(record.expected, actual)
    return []


def check_statement(record, outcome):
    if outcome.error:
        return describe_error(outcome.error)
    if record.count is not None and outcome.results[-1].rowcount != record.count:
        return [f"expected a count of {record.count}, got {outcome.results[-1].status!r}"]
    return []


def check_notices(record, outcome):
    actual = [(code, message) for code, message, _ in outcome.notices]
    if actual == record.notices:
        return []
    def listed(notices):
        return [f"  notice {c} {m}" for c, m in notices] or ["  (none)"]
    return ["expected notices:"] + listed(record.notices) + ["actual notices:"] + listed(actual)


CHECKS = {"statement": check_statement, "statement_error": check_error,
          "query_error": check_error, "query": check_query, "copy_out": check_copy_out}


def run_record(session, record):
    """Failure lines for one record, [] when it passed."""
    if record.kind == "wait_views":
        problem = session.wait_views()
        return [problem] if problem else []
    if record.kind == "parameter":
        value = session.conn.info.parameter_status(record.name)
        if value != record.value:
            return [f"expected parameter {record.name} = {record.value!r}, the server reported "
                    f"{value!r}"]
        return []
    outcome = session.run(record.sql, record.data)
    return CHECKS[record.kind](record, outcome) + check_notices(record, outcome)


def report(path, record, problems):
    where = os.path.relpath(path)
    print(f"FAIL {where}:{record.line + 1}: {record.kind.replace('_', ' ')}")
    if record.sql:
        print("  SQL: " + record.sql.replace("\n", "\n       "))
    for line in problems:
        print("  " + line)
    sys.stdout.flush()


def run_file(binary, path):
    """(records passed, records failed)."""
    try:
        records = parse(path)
    except (ParseError, OSError) as error:
        print(f"FAIL {error}")
        return 0, 1
    passed = failed = 0
    server = Server(binary)
    try:
        server.start()
        session = Session(server.dsn())
        try:
            for index, record in enumerate(records):
                if session.conn.closed:
                    report(path, record, ["the connection is closed; the rest of the file is "
                                          "not run"])
                    failed += len(records) - index
                    break
                problems = run_record(session, record)
                if problems:
                    report(path, record, problems)
                    failed += 1
                else:
                    passed += 1
        finally:
            session.close()
        server.stop()
    except Exception as error:  # the server failed to start or stop, or the connection broke
        print(f"FAIL {os.path.relpath(path)}: {type(error).__name__}: {error}")
        print("".join(server.log)[-4000:])
        failed += 1
    finally:
        server.close()
    return passed, failed


def main():
    if len(sys.argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary = sys.argv[1]
    files = sys.argv[2:] or sorted(glob.glob(os.path.join(SLT_DIR, "*.slt")))
    if not files:
        print(f"no .slt files in {SLT_DIR}", file=sys.stderr)
        return 1
    started = time.monotonic()
    total_passed = total_failed = 0
    failed_files = []
    for path in files:
        passed, failed = run_file(binary, path)
        total_passed += passed
        total_failed += failed
        if failed:
            failed_files.append(os.path.relpath(path))
    print(f"{len(files)} file{'' if len(files) == 1 else 's'}, {total_passed} records passed, "
          f"{total_failed} failed ({time.monotonic() - started:.1f} s)")
    for path in failed_files:
        print(f"FAILED: {path}")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs a psql-style SQL script against a server over the PostgreSQL wire protocol and renders
exactly what the server sent: column names and type OIDs, rows as text, command tags, parameter
changes, notices and errors with their SQLSTATE and fields. No client library or psql sits in
between, so the golden files record the server's behaviour, not a client's cosmetics.

Script syntax (the subset of psql the golden files use):
  - statements end with `;` outside quotes, comments and dollar quotes; `\\;` joins statements into
    one query string (psql's meaning), sent as one simple Query;
  - `COPY ... FROM STDIN` is followed by its data lines up to a line `\\.`; they are sent as
    CopyData when the server asks for them (CopyInResponse) and skipped when it refused the
    statement;
  - `\\copy ...` (one line) runs as the COPY statement it names.
"""
import re
import socket
import struct

# Type names for the OIDs Eddy reports, so column headers read well; unknown OIDs print as numbers.
TYPE_NAMES = {
    16: "bool", 17: "bytea", 18: "char", 19: "name", 20: "int8", 21: "int2", 23: "int4",
    25: "text", 26: "oid", 114: "json", 142: "xml", 700: "float4", 701: "float8",
    1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp",
    1184: "timestamptz", 1186: "interval", 1266: "timetz", 1700: "numeric", 2950: "uuid",
    3802: "jsonb", 1009: "text[]", 1007: "int4[]", 1016: "int8[]", 1005: "int2[]",
    1000: "bool[]", 1022: "float8[]", 1231: "numeric[]", 705: "unknown", 2205: "regclass",
    24: "regproc", 1028: "oid[]", 22: "int2vector", 1002: "char[]", 1003: "name[]",
}

# ErrorResponse/NoticeResponse field codes, in the order they are rendered.
ERROR_FIELDS = (("D", "DETAIL"), ("H", "HINT"), ("P", "POSITION"), ("p", "INTERNAL POSITION"),
                ("q", "INTERNAL QUERY"), ("W", "CONTEXT"))

COPY_FROM_STDIN = re.compile(r"^\s*copy\b.*\bfrom\s+stdin\b", re.IGNORECASE | re.DOTALL)


class ProtocolError(Exception):
    pass


class Connection:
    """A minimal frontend: startup with trust authentication, then the simple query protocol."""

    def __init__(self, host, port, user="tester", database="eddy", timeout=120):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        self.backend_key = None  # (process id, secret key) from BackendKeyData
        params = {"user": user, "database": database, "client_encoding": "UTF8",
                  "TimeZone": "UTC", "DateStyle": "ISO, MDY"}
        body = struct.pack("!i", 196608) + b"".join(
            k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items()) + b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        while True:
            kind, payload = self.read_message()
            if kind == b"R":
                if struct.unpack("!i", payload[:4])[0] != 0:
                    raise ProtocolError("the server asked for authentication the runner lacks")
            elif kind == b"E":
                raise ProtocolError("startup refused: " + repr(parse_fields(payload)))
            elif kind == b"K":
                self.backend_key = struct.unpack("!ii", payload[:8])
            elif kind == b"Z":
                return

    def close(self):
        try:
            self.sock.sendall(b"X\0\0\0\4")
        except OSError:
            pass
        self.sock.close()

    def send(self, kind, payload=b""):
        self.sock.sendall(kind + struct.pack("!i", len(payload) + 4) + payload)

    def read_message(self):
        while True:
            if len(self.buffer) >= 5:
                length = struct.unpack("!i", self.buffer[1:5])[0]
                if length < 4:
                    raise ProtocolError(f"message length {length}")
                if len(self.buffer) >= 1 + length:
                    kind, payload = self.buffer[:1], self.buffer[5:1 + length]
                    self.buffer = self.buffer[1 + length:]
                    return kind, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ProtocolError("the server closed the connection")
            self.buffer += chunk

    def run(self, sql, copy_data=None):
        """Sends one Query and returns the rendered lines of everything the server answered, up
        to ReadyForQuery. `copy_data` (bytes) answers a CopyInResponse."""
        self.send(b"Q", sql.encode() + b"\0")
        lines = []
        while True:
            kind, payload = self.read_message()
            if kind == b"T":
                lines.append("columns: " + ", ".join(
                    f"{name} {TYPE_NAMES.get(oid, oid)}" for name, oid in parse_columns(payload)))
            elif kind == b"D":
                lines.append(" | ".join(render_value(v) for v in parse_row(payload)))
            elif kind == b"C":
                lines.append("-- " + payload.rstrip(b"\0").decode())
            elif kind == b"I":
                lines.append("-- (empty query)")
            elif kind == b"E":
                lines.extend(render_fields("ERROR", parse_fields(payload)))
            elif kind == b"N":
                lines.extend(render_fields("NOTICE", parse_fields(payload)))
            elif kind == b"S":
                name, value = payload.rstrip(b"\0").split(b"\0")
                lines.append(f"-- parameter {name.decode()} = {value.decode()}")
            elif kind == b"G":
                if copy_data is None:
                    self.send(b"f", b"no data for COPY FROM STDIN in the script\0")
                else:
                    if copy_data:
                        self.send(b"d", copy_data)
                    self.send(b"c")
            elif kind == b"H":
                lines.append("copy out:")
            elif kind == b"d":
                lines.extend("  " + line for line in
                             payload.decode(errors="backslashreplace").split("\n")[:-1])
                if not payload.endswith(b"\n"):
                    lines.append("  (no newline) " + payload.decode(errors="backslashreplace"))
            elif kind == b"c":
                pass
            elif kind == b"A":
                lines.append("-- notification")
            elif kind == b"Z":
                return lines
            else:
                raise ProtocolError(f"unexpected message {kind!r}")


def parse_columns(payload):
    count = struct.unpack("!h", payload[:2])[0]
    at, columns = 2, []
    for _ in range(count):
        end = payload.index(b"\0", at)
        name = payload[at:end].decode()
        oid = struct.unpack("!i", payload[end + 7:end + 11])[0]
        columns.append((name, oid))
        at = end + 19
    return columns


def parse_row(payload):
    count = struct.unpack("!h", payload[:2])[0]
    at, values = 2, []
    for _ in range(count):
        length = struct.unpack("!i", payload[at:at + 4])[0]
        at += 4
        if length < 0:
            values.append(None)
        else:
            values.append(payload[at:at + length])
            at += length
    return values


def render_value(value):
    """NULL as NULL; text as is unless that would be ambiguous (empty, the word NULL, the column
    separator, surrounding spaces, control characters), then quoted with escapes."""
    if value is None:
        return "NULL"
    text = value.decode(errors="backslashreplace")
    if (text == "" or text == "NULL" or " | " in text or text != text.strip(" ")
            or any(ord(c) < 32 or c in "\"\\" for c in text)):
        escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                   .replace("\t", "\\t").replace("\r", "\\r"))
        return '"' + "".join(c if ord(c) >= 32 else f"\\x{ord(c):02x}" for c in escaped) + '"'
    return text


def parse_fields(payload):
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="backslashreplace")
    return fields


def render_fields(what, fields):
    lines = [f"{what}:  {fields.get('C', '?????')}: {fields.get('M', '')}"]
    for code, label in ERROR_FIELDS:
        if code in fields:
            lines.append(f"{label}:  {fields[code]}")
    return lines


def split_statements(lines):
    """Yields (echo_lines, sql, copy_data_lines or None) from the script's lines."""
    pending_echo, sql = [], ""
    state = None  # None, "'", '"', "e'" (backslash escapes), "$tag$", "--", "/*"
    depth = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not sql.strip() and state is None:
            stripped = line.strip()
            if stripped.startswith("\\copy "):
                statement = stripped[1:]
                data = None
                if COPY_FROM_STDIN.match(statement):
                    data, index = take_copy_data(lines, index)
                yield pending_echo + [line], statement, data
                pending_echo, sql = [], ""
                continue
            if stripped == "\\." or stripped == "":
                pending_echo.append(line)
                continue
            if stripped.startswith("--"):
                pending_echo.append(line)
                continue
        pending_echo.append(line)
        i = 0
        text = line + "\n"
        while i < len(text):
            c = text[i]
            if state is None:
                if c == "-" and text.startswith("--", i):
                    state = "--"
                elif c == "/" and text.startswith("/*", i):
                    state, depth = "/*", 1
                    sql += "/*"
                    i += 2
                    continue
                elif c == "'":
                    prev = sql[-1:] if sql else ""
                    state = "e'" if prev in ("e", "E") and not (sql[-2:-1].isalnum()) else "'"
                elif c == '"':
                    state = '"'
                elif c == "$":
                    match = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
                    if match and not (sql[-1:].isalnum() or sql[-1:] == "_"):
                        state = match.group(0)
                        sql += state
                        i += len(state)
                        continue
                elif c == "\\" and text.startswith("\\;", i):
                    sql += ";"
                    i += 2
                    continue
                elif c == ";":
                    sql += ";"
                    statement = sql.strip()
                    data = None
                    if COPY_FROM_STDIN.match(statement):
                        data, index = take_copy_data(lines, index)
                    yield pending_echo, statement, data
                    # psql sends each statement of a line as its own query.
                    pending_echo, sql = [], ""
                    i += 1
                    continue
                if state == "--":
                    i = len(text) - 1
                    state = None
                    sql += "\n"
                    break
                sql += c
                i += 1
            elif state == "/*":
                if text.startswith("*/", i):
                    depth -= 1
                    sql += "*/"
                    i += 2
                    if depth == 0:
                        state = None
                    continue
                if text.startswith("/*", i):
                    depth += 1
                    sql += "/*"
                    i += 2
                    continue
                sql += c
                i += 1
            elif state in ("'", '"'):
                sql += c
                i += 1
                if c == state[0]:
                    if text[i:i + 1] == c:
                        sql += c
                        i += 1
                    else:
                        state = None
            elif state == "e'":
                sql += c
                i += 1
                if c == "\\" and i < len(text):
                    sql += text[i]
                    i += 1
                elif c == "'":
                    if text[i:i + 1] == "'":
                        sql += "'"
                        i += 1
                    else:
                        state = None
            else:  # dollar quote
                if text.startswith(state, i):
                    sql += state
                    i += len(state)
                    state = None
                    continue
                sql += c
                i += 1
    if sql.strip():
        yield pending_echo, sql.strip(), None
    elif pending_echo:
        yield pending_echo, None, None


def take_copy_data(lines, index):
    """The data lines after a COPY FROM STDIN, through the `\\.` line (sent too, as psql does:
    the server ends the data there)."""
    data = []
    while index < len(lines):
        line = lines[index]
        index += 1
        data.append(line)
        if line == "\\.":
            break
    return data, index


def run_script(host, port, text):
    """Runs the script on one connection and returns the rendered transcript."""
    out = []
    connection = Connection(host, port)
    try:
        for echo, sql, data in split_statements(text.split("\n")[:-1] if text.endswith("\n")
                                                else text.split("\n")):
            out.extend(echo)
            if sql is None:
                continue
            copy_bytes = None if data is None else "".join(d + "\n" for d in data).encode()
            out.extend(connection.run(sql, copy_bytes))
    finally:
        connection.close()
    return "".join(line + "\n" for line in out)

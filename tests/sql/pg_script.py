"""A minimal PostgreSQL frontend for protocol-level tests: startup with trust authentication, the
simple query protocol, and everything the server answered rendered as lines: column names and
type OIDs, rows as text, command tags, parameter changes, notices and errors with their SQLSTATE
and fields, COPY data. No client library sits in between, so a test sees every message,
including those a driver drops (rows sent before an error, each result of a query string).
"""
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

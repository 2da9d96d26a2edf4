#!/usr/bin/python3
"""Writes the pgwire_fuzzer seed corpus: a startup packet followed by frontend messages. One
seed per SQL record of the SQL logic tests (tests/sql/slt/*.slt, as a simple Query), and
extended-protocol sequences (Parse, Bind with text and binary parameters, Describe, Execute,
Close) over a few parameterized statements, so fuzzing starts from well-formed traffic.

usage: fuzz/make_pgwire_corpus.py [OUT_DIR]   (default: fuzz/corpus/pgwire next to this script)

Deterministic: rerunning rewrites the same files.
"""
import glob
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "sql"))
import slt_runner  # noqa: E402


def startup():
    body = struct.pack("!i", 196608)
    for k, v in (("user", "fuzz"), ("database", "eddy"), ("client_encoding", "UTF8")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def message(kind, body=b""):
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def statements(path):
    """The SQL of each record of a .slt file (COPY data left out)."""
    return [record.sql for record in slt_runner.parse(path) if record.is_sql]


def parse(name, query, oids):
    return message(b"P", cstr(name) + cstr(query) + struct.pack("!h", len(oids)) +
                   b"".join(struct.pack("!I", o) for o in oids))


def bind(portal, statement, formats, params, result_formats):
    body = cstr(portal) + cstr(statement) + struct.pack("!h", len(formats))
    body += b"".join(struct.pack("!h", f) for f in formats)
    body += struct.pack("!h", len(params))
    for p in params:
        body += struct.pack("!i", -1) if p is None else struct.pack("!i", len(p)) + p
    body += struct.pack("!h", len(result_formats))
    body += b"".join(struct.pack("!h", f) for f in result_formats)
    return message(b"B", body)


def extended_seeds():
    cases = [
        ("SELECT $1::int4 + $2", [23, 23], [1], [struct.pack("!i", 41), struct.pack("!i", 1)], [1]),
        ("SELECT $1 || 'x', length($1)", [25], [0], [b"abc"], [0]),
        ("SELECT $1::float8 * 2", [701], [1], [struct.pack("!d", 1.5)], [1]),
        ("SELECT $1::bool AND true", [16], [1], [b"\x01"], [0]),
        ("SELECT $1::int8 / $2::int8", [20, 20], [1],
         [struct.pack("!q", 7), struct.pack("!q", 0)], [0]),
        ("SELECT $1::numeric(5,2), $2::date", [0, 0], [0], [b"123.456", b"2024-02-29"], [0]),
        ("SELECT $1::jsonb -> 'a'", [0], [0], [b'{"a": [1, 2]}'], [0]),
        ("SELECT $1::text IS NULL", [25], [0], [None], [0]),
        ("SELECT $1::int2, $2::interval", [21, 0], [1, 0], [struct.pack("!h", 5), b"1 day"], []),
    ]
    seeds = []
    for query, oids, formats, params, result_formats in cases:
        seeds.append(startup() + parse("s", query, oids) +
                     bind("p", "s", formats, params, result_formats) +
                     message(b"D", b"P" + cstr("p")) + message(b"E", cstr("p") + struct.pack("!i", 0)) +
                     message(b"C", b"P" + cstr("p")) + message(b"D", b"S" + cstr("s")) +
                     message(b"S"))
    seeds.append(startup() + message(b"Q", cstr("BEGIN; SELECT 1/0; ROLLBACK; SHOW ALL")))
    seeds.append(startup() + message(b"Q", cstr("SET work_mem = '64MB'; SHOW work_mem")))
    seeds.append(startup() + message(b"Q", cstr("COPY t FROM STDIN")) +
                 message(b"d", b"1\tx\n") + message(b"c"))
    return seeds


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "pgwire")
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(os.path.join(out, "*")):
        os.remove(old)
    seeds = extended_seeds()
    for path in sorted(glob.glob(os.path.join(slt_runner.SLT_DIR, "*.slt"))):
        for text in statements(path):
            if len(text) <= 4000:
                seeds.append(startup() + message(b"Q", cstr(text)))
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()[:16]
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed)
    print(f"{len(seeds)} seeds in {out}")


if __name__ == "__main__":
    main()

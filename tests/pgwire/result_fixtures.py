"""What the pgwire result tests share: the test server and checks, memory readings of the
server process, the raw protocol client, and the large table they read: `big (id int, pad
text)`, ids 0..rows-1, each pad PAD bytes of text beginning with the zero-padded id."""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "sql"))
sys.path.insert(0, os.path.join(_HERE, "..", "support"))

from checks import check, passed  # noqa: E402,F401
from eddy_pg import Server  # noqa: E402,F401
from pg_script import Connection, parse_fields, parse_row  # noqa: E402,F401
from proc_stats import peak_rss_bytes, reset_peak_rss, rss_bytes, sanitized  # noqa: E402,F401

PAD = 200
MiB = 1 << 20


def pad_of(i):
    return f"{i:08d}" + "x" * (PAD - 8)


def load_big(conn, rows):
    """Creates and fills `big` over `conn` (autocommit) with COPY; answers its row count."""
    conn.execute("CREATE TABLE big (id int, pad text)")
    # One COPY is all-or-nothing and bounded to 64 MiB: several of 100k rows (~21 MB).
    for first in range(0, rows, 100_000):
        with conn.cursor().copy("COPY big FROM STDIN") as copy:
            for block in range(first, min(rows, first + 100_000), 10_000):
                copy.write("".join(f"{i}\t{pad_of(i)}\n"
                                   for i in range(block, min(rows, block + 10_000))))
    return conn.execute("SELECT count(*) FROM big").fetchone()[0]

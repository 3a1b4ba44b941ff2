"""What auditing costs a statement: SELECT 1 and a one-row INSERT, with and without the audit
log and lineage (`--audit true|false`), and with OpenLineage events written to a file as well,
over psycopg's extended protocol."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from weir_server import default_bin, running_weir


def timings(conn: psycopg.Connection, sql: str, n: int) -> list[float]:
    """Seconds each of `n` executions of `sql` (one parameter) took, its rows read."""
    out = []
    for i in range(n):
        start = time.perf_counter()
        cur = conn.execute(sql, (i,))
        if cur.description:
            cur.fetchall()
        out.append(time.perf_counter() - start)
    return out


def summary(ts: list[float]) -> str:
    ts = sorted(ts)
    p = lambda q: ts[min(len(ts) - 1, int(q * len(ts)))] * 1000  # noqa: E731
    return f"mean {statistics.mean(ts) * 1000:.3f} ms, p50 {p(0.5):.3f} ms, p99 {p(0.99):.3f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", type=Path, default=default_bin())
    ap.add_argument("--selects", type=int, default=5000)
    ap.add_argument("--inserts", type=int, default=500)
    args = ap.parse_args()
    events = Path(tempfile.mkdtemp()) / "openlineage.jsonl"
    configs = {
        "audit off": ["--audit", "false"],
        "audit on": ["--audit", "true"],
        "audit on + OpenLineage file": ["--audit", "true", "--openlineage-file", str(events)],
    }
    for name, flags in configs.items():
        with running_weir(args.bin, extra_args=flags) as (_proc, port, _flight):
            dsn = f"host=127.0.0.1 port={port} user=admin password=bench dbname=main"
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE t (id INT)")
                timings(conn, "SELECT %s::int", 200)  # warm up
                selects = timings(conn, "SELECT %s::int", args.selects)
                inserts = timings(conn, "INSERT INTO t VALUES (%s)", args.inserts)
            print(f"{name}: SELECT 1 x{args.selects}: {summary(selects)}")
            print(f"{name}: INSERT 1 row x{args.inserts}: {summary(inserts)}")


if __name__ == "__main__":
    main()

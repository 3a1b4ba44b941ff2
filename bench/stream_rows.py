#!/usr/bin/env python3
"""Streams a large result through one of Weir's fronts and reports the server's peak memory.

The claim being measured: results are encoded batch by batch, so the server's peak memory does not
grow with the size of the result.

    bench/stream_rows.py [--rows 10000000] [--front postgres|flight] [--bin PATH]

Needs psycopg and adbc-driver-flightsql (the test venv has both:
~/.cache/weir-test-venv/bin/python bench/stream_rows.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import psycopg

from weir_server import default_bin, peak_rss_mib, running_weir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--front", choices=["postgres", "flight"], default="postgres")
    ap.add_argument("--bin", type=Path, default=default_bin())
    args = ap.parse_args()

    query = f"SELECT value, 'row ' || value FROM generate_series(1, {args.rows})"
    with running_weir(args.bin) as (proc, port, flight_port):
        baseline = peak_rss_mib(proc.pid)
        started = time.monotonic()
        n = 0
        if args.front == "postgres":
            with psycopg.connect(host="127.0.0.1", port=port, user="admin", password="bench", dbname="main") as conn:
                for _ in conn.cursor().stream(query):
                    n += 1
        else:
            import adbc_driver_flightsql.dbapi as flight_sql

            with flight_sql.connect(f"grpc://127.0.0.1:{flight_port}",
                                    db_kwargs={"username": "admin", "password": "bench"}) as conn:
                with conn.cursor() as cur:
                    cur.execute(query)
                    for batch in cur.fetch_record_batch():
                        n += batch.num_rows
        elapsed = time.monotonic() - started
        assert n == args.rows, n
        peak = peak_rss_mib(proc.pid)
    print(f"front:                  {args.front}")
    print(f"rows streamed:          {n}")
    print(f"elapsed:                {elapsed:.1f} s ({n / elapsed:,.0f} rows/s)")
    print(f"server peak RSS:        {peak:.0f} MiB (after start-up: {baseline:.0f} MiB)")


if __name__ == "__main__":
    main()

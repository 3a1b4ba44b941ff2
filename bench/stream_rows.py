#!/usr/bin/env python3
"""Streams a large result through the Postgres wire protocol and reports the server's peak memory.

The claim being measured: results are encoded batch by batch, so the server's peak memory does not
grow with the size of the result.

    bench/stream_rows.py [--rows 10000000] [--bin PATH]

Needs psycopg (the test venv has it: ~/.cache/weir-test-venv/bin/python bench/stream_rows.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    default_bin = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/weir-target")) / "release/weir"
    ap.add_argument("--bin", type=Path, default=default_bin)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen(
            [str(args.bin), "serve", "--data-dir", d, "--pg-addr", "127.0.0.1:0"],
            env={**os.environ, "WEIR_ADMIN_PASSWORD": "bench"},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert proc.stdout is not None
        port = None
        for line in proc.stdout:
            if line.startswith("postgres listening on "):
                port = int(line.split()[-1].rsplit(":", 1)[1])
                break
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user="admin", password="bench", dbname="main") as conn:
                baseline = peak_rss_mib(proc.pid)
                started = time.monotonic()
                n = 0
                for _ in conn.cursor().stream(f"SELECT value, 'row ' || value FROM generate_series(1, {args.rows})"):
                    n += 1
                elapsed = time.monotonic() - started
            assert n == args.rows, n
            peak = peak_rss_mib(proc.pid)
            print(f"rows streamed:          {n}")
            print(f"elapsed:                {elapsed:.1f} s ({n / elapsed:,.0f} rows/s, client-bound)")
            print(f"server peak RSS:        {peak:.0f} MiB (after start-up: {baseline:.0f} MiB)")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()

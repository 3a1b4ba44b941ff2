#!/usr/bin/env python3
"""MERGE of a daily batch into a large date-partitioned Delta table.

The batch changes 1% of the table's rows and adds 1% new rows, all in the last 5 days (late
data, as partner files bring it). Reported: MERGE time, source rows/s, the files MERGE removed
(rewrote) against the files that hold the batch's dates, and the server's peak memory.

    bench/merge.py [--rows 10000000] [--days 100] [--bin PATH]

Needs psycopg and deltalake (the test venv has both:
~/.cache/weir-test-venv/bin/python bench/merge.py).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg
import pyarrow as pa
from deltalake import DeltaTable

from weir_server import default_bin, peak_rss_mib, running_weir


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=100)
    ap.add_argument("--bin", type=Path, default=default_bin())
    args = ap.parse_args()
    n, days = args.rows, args.days
    late = list(range(days - 5, days))  # the batch's days
    changed = new = n // 100

    with running_weir(args.bin) as (proc, port, _):
        with psycopg.connect(host="127.0.0.1", port=port, user="admin", password="bench",
                             dbname="main", autocommit=True) as conn:
            started = time.monotonic()
            conn.execute(
                "CREATE TABLE events PARTITIONED BY (day) AS "
                f"SELECT value AS id, CAST(CAST(20089 + value % {days} AS INT) AS DATE) AS day, "
                f"value * 0.5 AS amount FROM generate_series(1, {n})"
            )
            load = time.monotonic() - started
            # 1% changed rows and 1% new rows, in the last 5 days.
            in_late = f"value % {days} >= {days - 5}"
            conn.execute(
                "CREATE TABLE batch AS "
                f"SELECT value AS id, CAST(CAST(20089 + value % {days} AS INT) AS DATE) AS day, "
                f"value * 2.0 AS amount FROM generate_series(1, {n}) WHERE {in_late} "
                f"ORDER BY value LIMIT {changed}"
            )
            conn.execute(
                "INSERT INTO batch "
                f"SELECT {n} + value AS id, CAST(CAST(20089 + value % {days} AS INT) AS DATE) AS day, "
                f"1.0 AS amount FROM generate_series(1, {n * 10}) WHERE {in_late} LIMIT {new}"
            )
            location = conn.execute("DESCRIBE DETAIL events").fetchone()[4]
            table = DeltaTable(unquote(urlparse(location).path))
            actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
            late_days = {str(r[0]) for r in conn.execute(
                "SELECT DISTINCT CAST(day AS STRING) FROM batch").fetchall()}
            total_files = len(actions)
            touched = sum(1 for a in actions if str(a["partition.day"]) in late_days)

            # Reset the peak (Linux: clear_refs 5) so it measures the MERGE, not the load.
            Path(f"/proc/{proc.pid}/clear_refs").write_text("5")
            baseline = peak_rss_mib(proc.pid)
            started = time.monotonic()
            result = conn.execute(
                "MERGE INTO events t USING batch s ON t.day = s.day AND t.id = s.id "
                "WHEN MATCHED THEN UPDATE SET amount = s.amount "
                "WHEN NOT MATCHED THEN INSERT *"
            ).fetchone()
            elapsed = time.monotonic() - started
            peak = peak_rss_mib(proc.pid)
            metrics = json.loads(conn.execute("DESCRIBE HISTORY events LIMIT 1").fetchone()[12])
            assert result[1] == changed and result[3] == new, result

        print(f"table rows / days:          {n:,} / {days} (loaded by CTAS in {load:.1f} s)")
        print(f"batch:                      {changed:,} changed + {new:,} new rows in {len(late_days)} days")
        print(f"MERGE:                      {elapsed:.1f} s ({(changed + new) / elapsed:,.0f} source rows/s)")
        print(f"files in table:             {total_files}")
        print(f"files holding batch dates:  {touched}")
        print(f"files scanned / removed:    {metrics.get('num_target_files_scanned')} / "
              f"{metrics.get('num_target_files_removed')} (added {metrics.get('num_target_files_added')})")
        print(f"server peak RSS in MERGE:   {peak:.0f} MiB (at its start: {baseline:.0f} MiB)")


if __name__ == "__main__":
    main()

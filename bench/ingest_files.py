#!/usr/bin/env python3
"""Loading tens of thousands of small partner files with drifting columns into tables.

The claim being checked: `CALL system.ingest.load(...)` loads 40,000 small CSV files (20 tables,
columns that are reordered, added and missing from file to file) in one call, at a rate comparable
to DuckDB's `read_csv(..., union_by_name=true)` -> Parquet, with the server's memory flat in the
number of files; and it reads the same files packed into .tar.gz archives without extracting them,
at a similar rate.

    bench/ingest_files.py [--files 40000] [--rows-per-file 50] [--tables 20]
                          [--members-per-archive 100] [--bin PATH] [--dir DIR] [--keep]
                          [--skip-duckdb] [--skip-weir] [--scales 10000,20000,40000]

Steps:
1. Generate (seeded, so the same arguments give the same rows) the files `{table}_{date}_{batch}.csv`
   over a few dates, in two layouts of the same rows: plain files in one directory, and .tar.gz
   archives of --members-per-archive files each (written with Python's tarfile, tables mixed).
   Every table has 5-10 base columns (BIGINT, DOUBLE, DATE, TIMESTAMP, STRING), an `id` unique in
   the table (so there are no duplicate rows), and per file: maybe reordered columns, maybe one of
   up to two extra columns (from the second and third date on), maybe one base column missing,
   and some empty fields.
2. DuckDB, in a subprocess (its peak RSS from wait4): per table `COPY (SELECT * FROM
   read_csv('<dir>/<table>_*.csv', union_by_name=true, filename=true)) TO '<table>.parquet'`.
   DuckDB cannot read members of a .tar.gz, so for the archives it is measured after extracting
   them with Python's tarfile in the same subprocess (the extraction counts in its time).
3. Weir, a fresh server per layout: `CALL system.ingest.load(source => '<dir>', pattern =>
   '{table}_{date}_{batch}.csv', target_schema => 'main.bench_plain' | 'main.bench_tar')`, with
   the server's VmRSS sampled every 0.2 s during the call (its VmHWM reset just before it). The
   result's row counts are checked against the generated ones, and for two tables count(*) and
   the inferred column types.

With --scales, only the plain layout is run, once per file count, to show the server's peak
memory against the number of files.

Needs psycopg (the test venv has it) and duckdb (bench/requirements.txt):
~/.cache/weir-test-venv/bin/pip install -r bench/requirements.txt
~/.cache/weir-test-venv/bin/python bench/ingest_files.py --bin ~/.cache/weir-target/debug/weir
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from weir_server import default_bin, peak_rss_mib, running_weir

PASSWORD = "bench"
PATTERN = "{table}_{date}_{batch}.csv"
FIRST_DATE = dt.date(2026, 11, 28)

# Table names hold no '_', so neither `{table}_{date}_{batch}` nor DuckDB's `<table>_*.csv` glob is
# ambiguous.
TABLE_NAMES = [
    "bookings", "rooms", "rates", "guests", "payments", "invoices", "reviews", "cancellations",
    "availability", "promotions", "partners", "channels", "inventory", "refunds", "loyalty",
    "transfers", "events", "stays", "quotes", "contracts",
]
COLUMN_NAMES = {
    "int": ["quantity", "nights", "adults", "children", "points", "room_number", "version", "units"],
    "double": ["amount", "price", "tax", "discount", "fee", "score", "weight", "margin"],
    "date": ["check_in", "check_out", "booked_on", "valid_from", "valid_to", "due_date"],
    "timestamp": ["created_at", "updated_at", "sent_at", "paid_at", "seen_at"],
    "string": ["status", "currency", "channel", "country", "code", "comment", "email", "city"],
}
EXTRA_COLUMNS = [("promo_code", "string"), ("exchange_rate", "double"), ("loyalty_points", "int"),
                 ("cancelled_at", "timestamp"), ("arrival_date", "date"), ("segment", "string")]
KINDS = list(COLUMN_NAMES)

# Per file: how often columns drift; per value: how often it is empty.
P_REORDER, P_EXTRA, P_MISSING, P_EMPTY = 0.2, 0.3, 0.1, 0.03

# Postgres type OIDs the inferred types arrive as (STRING may be text or varchar, TIMESTAMP with or
# without time zone).
TYPE_OIDS = {"id": {20}, "int": {20}, "double": {701}, "date": {1082}, "timestamp": {1114, 1184},
             "string": {25, 1043}}
META_COLUMNS = {"_source_file": {25, 1043}, "_ingested_at": {1114, 1184}, "_source_date": {25, 1043},
                "_batch_id": {25, 1043}}


# ---------------------------------------------------------------------------------------------
# Step 1: the files


@dataclass
class TableSpec:
    name: str
    columns: list[tuple[str, str]]  # (name, kind); the first is ("id", "id")
    extras: list[tuple[str, str]]   # extra k appears from date index k + 1 on


@dataclass
class Dataset:
    root: Path
    files: int
    rows: int
    bytes: int           # the CSVs, uncompressed
    archive_bytes: int   # the .tar.gz archives
    archives: int
    rows_per_table: dict[str, int]
    columns_seen: dict[str, dict[str, str]]  # table -> column -> kind, over all files
    seconds: float = 0.0
    reused: bool = False

    @property
    def plain_dir(self) -> Path:
        return self.root / "plain"

    @property
    def tar_dir(self) -> Path:
        return self.root / "tar"

    @property
    def tables(self) -> list[str]:
        return list(self.rows_per_table)


def table_specs(tables: int, seed: int) -> list[TableSpec]:
    rng = random.Random(f"schema-{seed}")
    specs = []
    for i in range(tables):
        name = TABLE_NAMES[i] if i < len(TABLE_NAMES) else f"table{i}"
        columns = [("id", "id")]
        pools = {kind: rng.sample(names, len(names)) for kind, names in COLUMN_NAMES.items()}
        # 5-10 columns with id; the first four others cover four kinds, the rest are random.
        kinds = rng.sample(KINDS, 4) + [rng.choice(KINDS) for _ in range(rng.randint(0, 5))]
        for kind in kinds:
            columns.append((pools[kind].pop(), kind))
        base = {c for c, _ in columns}
        extras = [e for e in rng.sample(EXTRA_COLUMNS, len(EXTRA_COLUMNS)) if e[0] not in base][:2]
        specs.append(TableSpec(name, columns, extras))
    return specs


def value_makers(rng: random.Random) -> dict:
    days = [(dt.date(2025, 1, 1) + dt.timedelta(days=d)).isoformat() for d in range(730)]
    times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(0, 86400, 7)]
    r = rng.random
    rr = rng.randrange
    return {
        "int": lambda col: str(rr(1, 1_000_000)),                      # no leading zeros
        "double": lambda col: f"{1 + r() * 9999:.2f}",                  # always has a '.'
        "date": lambda col: days[rr(len(days))],
        "timestamp": lambda col: f"{days[rr(len(days))]} {times[rr(len(times))]}",
        "string": lambda col: f"{col}-{rr(100_000)}",                   # never a number or date
    }


def dataset_dir(root: Path, args: argparse.Namespace, files: int) -> Path:
    return root / (f"files{files}-rows{args.rows_per_file}-tables{args.tables}-"
                   f"members{args.members_per_archive}-days{args.days}-seed{args.seed}")


def generate(target: Path, files: int, args: argparse.Namespace) -> Dataset:
    """Writes target/plain/*.csv and target/tar/*.tar.gz (the same files); reuses a complete earlier
    generation with the same arguments (target/manifest.json is written last)."""
    manifest = target / "manifest.json"
    if manifest.exists():
        ds = Dataset(root=target, **json.loads(manifest.read_text()))
        ds.reused = True
        print(f"reusing {files:,} generated files in {target}", flush=True)
        return ds
    if target.exists():
        shutil.rmtree(target)  # an interrupted generation
    (target / "plain").mkdir(parents=True)
    (target / "tar").mkdir()

    specs = table_specs(args.tables, args.seed)
    rng = random.Random(f"rows-{args.seed}")
    make = value_makers(rng)
    dates = [(FIRST_DATE + dt.timedelta(days=d)).isoformat() for d in range(args.days)]
    lo, hi = max(1, round(args.rows_per_file * 0.8)), max(1, round(args.rows_per_file * 1.2))
    next_id = {s.name: 1 for s in specs}
    batches: dict[tuple[str, str], int] = {}
    columns_seen: dict[str, dict[str, str]] = {s.name: {} for s in specs}
    total_rows = total_bytes = 0

    started = time.monotonic()
    archive: tarfile.TarFile | None = None
    archives = 0
    step = max(1, files // 10)
    for i in range(files):
        day = i * args.days // files   # files come date by date, tables interleaved
        spec = specs[i % len(specs)]
        date = dates[day]
        batch = batches[(spec.name, date)] = batches.get((spec.name, date), 0) + 1
        name = f"{spec.name}_{date}_{batch:05d}.csv"

        present = list(spec.columns)
        for k, extra in enumerate(spec.extras):
            if day >= k + 1 and rng.random() < P_EXTRA:
                present.append(extra)
        if rng.random() < P_MISSING:
            present.pop(rng.randrange(1, len(spec.columns)))  # never id
        if rng.random() < P_REORDER:
            rng.shuffle(present)
        for col, kind in present:
            columns_seen[spec.name][col] = kind

        n_rows = rng.randint(lo, hi)
        lines = [",".join(col for col, _ in present)]
        for _ in range(n_rows):
            values = []
            for col, kind in present:
                if kind == "id":
                    values.append(str(next_id[spec.name]))
                    next_id[spec.name] += 1
                elif rng.random() < P_EMPTY:
                    values.append("")
                else:
                    values.append(make[kind](col))
            lines.append(",".join(values))
        data = ("\n".join(lines) + "\n").encode()
        total_rows += n_rows
        total_bytes += len(data)

        (target / "plain" / name).write_bytes(data)
        if i % args.members_per_archive == 0:
            if archive is not None:
                archive.close()
            archive = tarfile.open(target / "tar" / f"drop_{archives:05d}.tar.gz", "w:gz", compresslevel=6)
            archives += 1
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 1764547200, 0o644
        archive.addfile(info, io.BytesIO(data))

        if (i + 1) % step == 0 or i + 1 == files:
            print(f"  generated {i + 1:,} of {files:,} files, {total_rows:,} rows "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    if archive is not None:
        archive.close()

    ds = Dataset(
        root=target, files=files, rows=total_rows, bytes=total_bytes,
        archive_bytes=sum(p.stat().st_size for p in (target / "tar").iterdir()), archives=archives,
        rows_per_table={s.name: next_id[s.name] - 1 for s in specs}, columns_seen=columns_seen,
        seconds=time.monotonic() - started,
    )
    manifest.write_text(json.dumps({k: v for k, v in ds.__dict__.items() if k not in ("root", "reused")}))
    return ds


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Result:
    tool: str
    layout: str
    files: int
    rows: int
    bytes: int
    seconds: float | None
    peak_mib: float | None
    details: list[str] = field(default_factory=list)


def fmt(v: float | None, digits: int = 0) -> str:
    return "n/a" if v is None else f"{v:,.{digits}f}"


def print_results(results: list[Result]) -> None:
    header = ["tool", "layout", "files", "rows", "MB", "seconds", "files/s", "rows/s", "MB/s", "peak RSS MiB"]
    table = [header]
    for r in results:
        s = r.seconds
        table.append([r.tool, r.layout, f"{r.files:,}", f"{r.rows:,}", fmt(r.bytes / 1e6, 1), fmt(s, 1),
                      fmt(s and r.files / s), fmt(s and r.rows / s), fmt(s and r.bytes / 1e6 / s, 2),
                      fmt(r.peak_mib)])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for n, row in enumerate(table):
        print("| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def machine() -> str:
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:"))
    return f"{len(os.sched_getaffinity(0))} cores, {mem_kib / 1024 / 1024:.1f} GiB"


def weir_build(binary: Path) -> str:
    if not binary.exists():
        return f"{binary} (missing)"
    built = dt.datetime.fromtimestamp(binary.stat().st_mtime).isoformat(timespec="minutes")
    return f"{binary} (built {built})"


# ---------------------------------------------------------------------------------------------
# Step 2: DuckDB

DUCKDB_CHILD = r"""
import json, os, sys, tarfile, tempfile, time
import duckdb

args = json.loads(sys.argv[1])
started = time.monotonic()
out = {"duckdb": duckdb.__version__}
source = args["source"]
if args["archives"]:
    source = tempfile.mkdtemp(dir=args["scratch"])
    for name in sorted(os.listdir(args["source"])):
        with tarfile.open(os.path.join(args["source"], name), "r:gz") as archive:
            archive.extractall(source, filter="data")
    out["extract_seconds"] = time.monotonic() - started
con = duckdb.connect()
out["threads"] = con.execute("SELECT current_setting('threads')").fetchone()[0]
rows = {}
for table in args["tables"]:
    rows[table] = con.execute(
        f"COPY (SELECT * FROM read_csv('{source}/{table}_*.csv', union_by_name=true, filename=true)) "
        f"TO '{args['scratch']}/{table}.parquet' (FORMAT parquet)").fetchone()[0]
out["rows"] = rows
print(json.dumps(out))
"""


def run_duckdb(ds: Dataset, archives: bool, scratch_root: Path, problems: list[str]) -> Result:
    """Runs DUCKDB_CHILD in a fresh interpreter; its wall time and peak RSS (ru_maxrss from wait4)
    include the interpreter's start and `import duckdb`."""
    layout = "tar.gz" if archives else "plain"
    tool = "duckdb (tarfile extract first)" if archives else "duckdb"
    print(f"{tool}, {layout}, {ds.files:,} files ...", flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="duckdb-", dir=scratch_root))
    try:
        spec = {"source": str(ds.tar_dir if archives else ds.plain_dir), "archives": archives,
                "scratch": str(scratch), "tables": ds.tables}
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", DUCKDB_CHILD, json.dumps(spec)],
                                stdout=subprocess.PIPE, text=True)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode != 0:
        problems.append(f"{tool}: exited with {proc.returncode}")
        return Result(tool, layout, ds.files, ds.rows, ds.bytes, None, None)
    out = json.loads(stdout.strip().splitlines()[-1])
    written = sum(out["rows"].values())
    if out["rows"] != ds.rows_per_table:
        problems.append(f"{tool}: wrote {written:,} rows, generated {ds.rows:,}")
    details = [f"duckdb {out['duckdb']}, threads {out['threads']}"]
    if "extract_seconds" in out:
        details.append(f"of which extracting {ds.archives} archives: {out['extract_seconds']:.1f} s")
    result = Result(tool, layout, ds.files, written, ds.bytes, elapsed, usage.ru_maxrss / 1024, details)
    print(f"  {elapsed:.1f} s, {written:,} rows, peak RSS {result.peak_mib:.0f} MiB; " + "; ".join(details),
          flush=True)
    return result


# ---------------------------------------------------------------------------------------------
# Step 3: Weir


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every `interval` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []  # (seconds since start, KiB)
        self.started = time.monotonic()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            kib = rss_kib(self.pid)
            if kib is not None:
                self.samples.append((time.monotonic() - self.started, kib))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def max_by_quarter(self, elapsed: float) -> list[float | None]:
        """The largest sample (MiB) in each quarter of `elapsed`: 0-25%, 25-50%, 50-75%, 75-100%."""
        quarters: list[float | None] = []
        for q in range(4):
            lo, hi = elapsed * q / 4, elapsed * (q + 1) / 4
            inside = [kib for t, kib in self.samples if lo <= t < hi or (q == 3 and t >= hi)]
            quarters.append(max(inside) / 1024 if inside else None)
        return quarters


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def reset_peak(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux: clear_refs 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_weir(binary: Path, ds: Dataset, archives: bool, deduplicate: bool, problems: list[str]) -> Result:
    layout = "tar.gz" if archives else "plain"
    schema = "main.bench_tar" if archives else "main.bench_plain"
    source = ds.tar_dir if archives else ds.plain_dir
    print(f"weir, {layout}, {ds.files:,} files ...", flush=True)
    with running_weir(binary, password=PASSWORD) as (proc, port, _):
        # Keep reading the server's stdout so that logging cannot fill the pipe and stall it.
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        with psycopg.connect(host="127.0.0.1", port=port, user="admin", password=PASSWORD,
                             dbname="main", autocommit=True) as conn:
            clock = {"start": time.monotonic()}
            conn.add_notice_handler(lambda d: print(
                f"  [weir {time.monotonic() - clock['start']:6.1f} s] {d.message_primary}", flush=True))
            conn.execute(f"CREATE SCHEMA {schema}")
            call = (f"CALL system.ingest.load(source => {sql_str(str(source))}, pattern => {sql_str(PATTERN)}, "
                    f"target_schema => {sql_str(schema)}"
                    + ("" if deduplicate else ", deduplicate => false") + ")")
            print(f"  {call}", flush=True)
            # No parameters: psycopg sends this as a simple query.
            reset = reset_peak(proc.pid)
            baseline = rss_kib(proc.pid) / 1024
            sampler = RssSampler(proc.pid)
            clock["start"] = sampler.started
            sampler.start()
            try:
                cur = conn.execute(call)
                if cur.description is None:
                    raise psycopg.ProgrammingError("the CALL returned no result set")
                rows = [dict(zip([c.name for c in cur.description], r)) for r in cur.fetchall()]
            except psycopg.Error as e:
                problems.append(f"weir into {schema}: the CALL failed: {e.sqlstate} {e}")
                return Result("weir", layout, ds.files, 0, ds.bytes, None, None)
            finally:
                elapsed = time.monotonic() - sampler.started
                sampler.stop()
            peak = peak_rss_mib(proc.pid)
            try:
                details = check_weir_result(conn, ds, schema, rows, archives, problems)
            except psycopg.Error as e:  # keep the timing when a check's query fails
                problems.append(f"weir into {schema}: checking the result failed: {e.sqlstate} {e}")
                details = []
        quarters = sampler.max_by_quarter(elapsed)
    details.append(f"RSS before the call {baseline:.0f} MiB; max RSS by quarter of the call: "
                   + " / ".join(fmt(q) for q in quarters) + f" MiB ({len(sampler.samples)} samples)")
    if not reset:
        details.append("VmHWM could not be reset: the peak includes start-up")
    written = sum(r["rows_written"] or 0 for r in rows)
    result = Result("weir", layout, ds.files, written, ds.bytes, elapsed, peak, details)
    print(f"  {elapsed:.1f} s, {written:,} rows, peak RSS {peak:.0f} MiB", flush=True)
    for line in details:
        print(f"  {line}", flush=True)
    return result


def check_weir_result(conn: psycopg.Connection, ds: Dataset, schema: str, rows: list[dict], archives: bool,
                      problems: list[str]) -> list[str]:
    """Checks the CALL's result against the generated files; returns lines worth printing."""
    tag = f"weir into {schema}"
    expected = {f"{schema}.{t}": n for t, n in ds.rows_per_table.items()}
    got = {r["table_name"]: r for r in rows}
    if set(got) != set(expected):
        problems.append(f"{tag}: tables missing from the result: {sorted(set(expected) - set(got))}, "
                        f"not expected: {sorted(set(got) - set(expected))}")
    for name, r in got.items():
        if r["status"] != "PUBLISHED":
            problems.append(f"{tag}: {name} is {r['status']}: {r['messages']}")
        if r["rows_written"] != expected.get(name) or r["rows_read"] != expected.get(name):
            problems.append(f"{tag}: {name} read {r['rows_read']}, wrote {r['rows_written']}, "
                            f"generated {expected.get(name)}")
        if r["rows_quarantined"] or r["rows_deduplicated"]:
            problems.append(f"{tag}: {name} quarantined {r['rows_quarantined']}, "
                            f"deduplicated {r['rows_deduplicated']}")
    total = {k: sum(r[k] or 0 for r in rows) for k in ("files", "rows_read", "rows_written")}
    if total["files"] != ds.files or total["rows_written"] != ds.rows:
        problems.append(f"{tag}: {total['files']:,} files / {total['rows_written']:,} rows written, "
                        f"generated {ds.files:,} / {ds.rows:,}")
    # seconds_read is the run's read stage (the same on every row); check and publish are
    # per table.
    phases = {"seconds_read": max((r["seconds_read"] or 0 for r in rows), default=0.0),
              **{k: sum(r[k] or 0 for r in rows) for k in ("seconds_check", "seconds_publish")}}
    details = ["stages: read (all tables at once) {:.1f} s, check (summed over tables) {:.1f} s, "
               "publish (summed over tables) {:.1f} s".format(*phases.values()),
               f"tables with failed checks (warnings expected: drifting headers): "
               f"{sum(1 for r in rows if r['checks_failed'])} of {len(rows)}"]

    run_ids = {r["run_id"] for r in rows}
    if len(run_ids) != 1:
        problems.append(f"{tag}: run ids {run_ids}")
    else:
        run = conn.execute("SELECT state, files_listed, files_skipped, files_unmatched, files_read, rows_written "
                           f"FROM system.ingest.runs WHERE run_id = {sql_str(run_ids.pop())}").fetchone()
        details.append(f"system.ingest.runs: state {run[0]}, listed {run[1]}, skipped {run[2]}, "
                       f"unmatched {run[3]}, read {run[4]}, rows written {run[5]}")
        # Whether an archive counts as a file read (or listed) the contract leaves open; its members
        # are what the result's per-table `files` count.
        read_ok = run[4] in ((ds.files, ds.archives) if archives else (ds.files,))
        if run[0] != "PUBLISHED" or run[3] != 0 or not read_ok or run[5] != ds.rows:
            problems.append(f"{tag}: system.ingest.runs says (state, listed, skipped, unmatched, read, "
                            f"rows written) = {run}")

    # count(*) and the inferred types of the first and the last table.
    for table in (ds.tables[0], ds.tables[-1]):
        count = conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
        if count != ds.rows_per_table[table]:
            problems.append(f"{tag}: count(*) of {table} is {count}, generated {ds.rows_per_table[table]}")
        cur = conn.execute(f"SELECT * FROM {schema}.{table} LIMIT 0")
        types = {c.name: c.type_code for c in cur.description}
        want = {c: TYPE_OIDS[k] for c, k in ds.columns_seen[table].items()} | META_COLUMNS
        wrong = [f"{c}: oid {types.get(c)}, expected {sorted(o)}" for c, o in want.items() if types.get(c) not in o]
        wrong += [f"{c}: unexpected" for c in types if c not in want]
        if wrong:
            problems.append(f"{tag}: columns of {table}: " + "; ".join(wrong))
    return details


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=40_000)
    ap.add_argument("--rows-per-file", type=int, default=50, help="on average; each file has 80-120%% of it")
    ap.add_argument("--tables", type=int, default=20)
    ap.add_argument("--days", type=int, default=4, help="dates the files are spread over")
    ap.add_argument("--members-per-archive", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", type=Path, default=default_bin())
    ap.add_argument("--dir", type=Path, help="where to generate (default: a new temporary directory)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the generated files; a later run with the same arguments and --dir reuses them")
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--skip-weir", action="store_true")
    ap.add_argument("--no-deduplicate", action="store_true",
                    help="pass deduplicate => false (the contract's default is true)")
    ap.add_argument("--scales", help="comma-separated file counts: run only the plain layout at each")
    args = ap.parse_args()
    if args.tables < 1 or args.files < args.tables or args.members_per_archive < 1 or args.days < 1:
        ap.error("need --tables >= 1, --files >= --tables, --members-per-archive >= 1, --days >= 1")
    scales = [int(s.replace("_", "")) for s in args.scales.split(",")] if args.scales else None
    if not args.skip_weir and not args.bin.exists():
        ap.error(f"no weir binary at {args.bin} (pass --bin, or --skip-weir)")

    print(f"machine:    {machine()}")
    if not args.skip_weir:
        print(f"weir build: {weir_build(args.bin)}")
    root = args.dir or Path(tempfile.mkdtemp(prefix="weir-ingest-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"files in:   {root}", flush=True)

    results: list[Result] = []
    problems: list[str] = []
    created: list[Path] = []
    try:
        for files in scales or [args.files]:
            target = dataset_dir(root, args, files)
            print(f"generating {files:,} files into {target} ...", flush=True)
            ds = generate(target, files, args)
            if not ds.reused:
                created.append(target)
            print(f"  {ds.files:,} files, {ds.rows:,} rows, {ds.bytes / 1e6:.1f} MB of CSV "
                  f"({ds.archives} archives, {ds.archive_bytes / 1e6:.1f} MB)"
                  + (f", in {ds.seconds:.0f} s" if not ds.reused else ""), flush=True)
            layouts = [False] if scales else [False, True]
            for archives in layouts:
                if not args.skip_duckdb:
                    results.append(run_duckdb(ds, archives, root, problems))
                if not args.skip_weir:
                    results.append(run_weir(args.bin, ds, archives, not args.no_deduplicate, problems))
    finally:
        if not args.keep:
            for target in created:
                shutil.rmtree(target, ignore_errors=True)
            if args.dir is None:
                shutil.rmtree(root, ignore_errors=True)

    print()
    print(f"machine:    {machine()}")
    if not args.skip_weir:
        print(f"weir build: {weir_build(args.bin)}")
    print_results(results)
    for r in results:
        for line in r.details:
            print(f"  {r.tool}, {r.layout}, {r.files:,} files: {line}")
    if scales:
        weir = [r for r in results if r.tool == "weir"]
        if weir:
            print("weir peak RSS by file count: "
                  + ", ".join(f"{r.files:,} files {fmt(r.peak_mib)} MiB" for r in weir))
    if problems:
        print("\nPROBLEMS:")
        for p in problems:
            print(f"  {p}")
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Soak: deeply nested statements of every shape, at growing sizes, over both fronts.

Each shape (additions, concatenations, ANDs, ORs, IN lists, CASE branches, UNION ALL arms,
nested brackets) is sent at each size over Postgres (psycopg) and Flight SQL (ADBC). Every
statement must either answer or fail with SQLSTATE 54001, and the server must still answer
`SELECT 1` afterwards; anything else (another error, a dropped connection, a server that
exited) is reported as a failure. Prints one line per shape and size, then a summary; exits
non-zero on any failure.

    bench/soak_deep_statements.py [--sizes 1000,10000,40000] [--bin PATH]

Needs psycopg and adbc_driver_flightsql (the test venv has both:
~/.cache/weir-test-venv/bin/python bench/soak_deep_statements.py --bin .../debug/weir).
"""

from __future__ import annotations

import argparse
import sys
import time

import adbc_driver_flightsql.dbapi as flight
import psycopg

from weir_server import default_bin, peak_rss_mib, running_weir

PASSWORD = "bench"


def joined(n: int, sep: str, term) -> str:
    return sep.join(term(i) for i in range(n))


SHAPES = {
    "additions": lambda n: "SELECT " + joined(n, "+", lambda i: "1"),
    "concatenations": lambda n: "SELECT length(" + joined(n, " || ", lambda i: "'a'") + ")",
    "ands": lambda n: "SELECT count(*) FROM deep WHERE " + joined(n, " AND ", lambda i: f"id <> {i + 1}"),
    "ors": lambda n: "SELECT count(*) FROM deep WHERE " + joined(n, " OR ", lambda i: f"id = {i}"),
    "in_list": lambda n: "SELECT count(*) FROM deep WHERE id IN (" + joined(n, ", ", str) + ")",
    "case": lambda n: "SELECT sum(CASE " + joined(n, " ", lambda i: f"WHEN id = {i} THEN {i}") + " ELSE -1 END) FROM deep",
    "union_all": lambda n: "SELECT count(*) FROM (" + joined(n, " UNION ALL ", lambda i: f"SELECT {i} AS x") + ") AS u",
    "brackets": lambda n: "SELECT " + "(" * n + "1" + ")" * n,
}


def run_pg(port: int, sql: str) -> str:
    with psycopg.connect(host="127.0.0.1", port=port, user="admin", password=PASSWORD, dbname="main") as c:
        try:
            c.execute(sql).fetchall()
            return "ok"
        except psycopg.Error as e:
            return e.sqlstate or f"error without SQLSTATE: {e}"


def run_flight(port: int, sql: str) -> str:
    with flight.connect(f"grpc://127.0.0.1:{port}", db_kwargs={"username": "admin", "password": PASSWORD}) as c:
        cur = c.cursor()
        try:
            cur.execute(sql)
            cur.fetchall()
            return "ok"
        except flight.Error as e:
            # The SQLSTATE travels in the gRPC status's `x-sqlstate` header.
            details = {}
            for k, v in getattr(e, "details", None) or []:
                k = k.decode() if isinstance(k, bytes) else k
                details[k] = v.decode(errors="replace") if isinstance(v, bytes) else v
            return details.get("x-sqlstate") or f"error without SQLSTATE: {str(e)[:120]}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,40000")
    ap.add_argument("--bin", default=str(default_bin()))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    failures = []
    runs = 0
    with running_weir(args.bin, PASSWORD) as (proc, port, flight_port):
        with psycopg.connect(host="127.0.0.1", port=port, user="admin", password=PASSWORD, dbname="main", autocommit=True) as c:
            c.execute("CREATE TABLE deep (id BIGINT)")
            c.execute("INSERT INTO deep VALUES (0), (5), (9999), (10000), (20000)")
        for shape, make in SHAPES.items():
            for n in sizes:
                if shape == "brackets" and n > 1000:
                    continue
                sql = make(n)
                for front, run in (("postgres", lambda: run_pg(port, sql)), ("flight", lambda: run_flight(flight_port, sql))):
                    start = time.monotonic()
                    try:
                        outcome = run()
                    except Exception as e:  # a dropped connection or a dead server
                        outcome = f"connection lost: {e}"
                    elapsed = time.monotonic() - start
                    alive = proc.poll() is None and run_pg(port, "SELECT 1") == "ok"
                    good = outcome in ("ok", "54001") and alive
                    runs += 1
                    print(f"{shape:15} {n:>7} {front:9} {outcome:10} {elapsed:7.2f}s {'up' if alive else 'DOWN'}", flush=True)
                    if not good:
                        failures.append((shape, n, front, outcome, alive))
                    if proc.poll() is not None:
                        print("the server exited", file=sys.stderr)
                        return 1
        print(f"server peak memory: {peak_rss_mib(proc.pid):.0f} MiB")
    print(f"{runs - len(failures)} passed, {len(failures)} failed")
    for f in failures:
        print("FAILED", *f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

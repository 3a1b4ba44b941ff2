"""The built-in procedure `CALL system.ingest.load(...)` through real clients, against its
contract: a partner drop (plain, .gz and .tar.gz members, drifting headers, NULLs, duplicates,
key collisions, a short row, a value that does not fit its column, an unmatched file) loads into
one Delta table per `{table}` with inferred types and the _source_* columns; bad rows go to
<schema>._quarantine; reruns load only new files (force reloads); schema evolution adds columns
or drops them; merge keeps the latest row per key; failed error checks publish nothing and
record nothing; system.ingest.runs / tables / checks describe each run; storage locations are an
admin's to read; NOTICEs tell the progress; async runs in the background; S3 sources; the same
CALL over Flight SQL (ADBC); a run killed with the server is resumed without loading a file twice.

The drop is written by ingest_fixtures.write_drop (see its docstring); every expected count and
row below is worked out by hand from it."""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime, timezone
from typing import Callable

import psycopg
import pytest

from ingest_fixtures import (
    ARCHIVE_FILE,
    BOOKINGS_DAY1_FILE,
    BOOKINGS_DAY2_BATCH2_FILE,
    BOOKINGS_DAY2_MEMBER,
    PATTERN,
    ROOM_RATES_DAY1_FILE,
    ROOM_RATES_DAY2_BAD_LINE,
    ROOM_RATES_DAY2_MEMBER,
    write_drop,
    write_file,
    write_many_files,
)

# --------------------------------------------------------------------------------------------
# The contract's shapes
# --------------------------------------------------------------------------------------------

RESULT_COLUMNS = [
    "run_id", "table_name", "status", "files", "rows_read", "rows_written", "rows_quarantined",
    "rows_deduplicated", "columns_added", "checks_failed", "messages", "seconds_read",
    "seconds_check", "seconds_publish",
]

QUARANTINE_COLUMNS = [
    ("run_id", "string"), ("table_name", "string"), ("source_file", "string"),
    ("archive_member", "string"), ("line_number", "bigint"), ("raw_line", "string"),
    ("reason", "string"), ("quarantined_at", "timestamp"),
]

META_TYPES = {"_source_file": "string", "_ingested_at": "timestamp",
              "_source_date": "string", "_batch_id": "string"}

ROOM_RATES_TYPES = {
    "hotel_id": "bigint", "room_type": "string", "rate_date": "date", "price": "double",
    "currency": "string", "refundable": "boolean", "updated_at": "timestamp", **META_TYPES,
}
BOOKINGS_TYPES = {
    "booking_id": "string", "hotel_id": "bigint", "guest_name": "string", "nights": "bigint",
    "amount": "double", "booked_at": "timestamp", "updated_at": "timestamp", **META_TYPES,
}

ROOM_RATES_COLS = ("hotel_id, room_type, rate_date, price, currency, refundable, breakfast, "
                   "updated_at, _source_file, _source_date, _batch_id")
ROOM_RATES_ORDER = "ORDER BY hotel_id, room_type"
BOOKINGS_COLS = ("booking_id, hotel_id, guest_name, guest, nights, amount, booked_at, "
                 "updated_at, _source_file, _source_date, _batch_id")
BOOKINGS_ORDER = "ORDER BY booking_id, updated_at"

ts = datetime  # a naive timestamp is UTC (values are normalised to naive UTC when read)


def base_summary(schema: str) -> list[tuple]:
    """The whole drop (with the archive) loaded in one run, append mode:
    bookings:   3 + 2 + 4 rows read in 3 files, the exact duplicate B2 line dropped;
    room_rates: 4 + 3 rows read in 2 files, the duplicate 101/STD dropped, the short row
                quarantined."""
    return [(f"{schema}.bookings", "PUBLISHED", 3, 9, 8, 0, 1),
            (f"{schema}.room_rates", "PUBLISHED", 2, 7, 5, 1, 1)]


def plain_summary(schema: str) -> list[tuple]:
    """The drop without the archive, in one run."""
    return [(f"{schema}.bookings", "PUBLISHED", 2, 7, 6, 0, 1),
            (f"{schema}.room_rates", "PUBLISHED", 1, 4, 3, 0, 1)]


def expected_room_rates(file_url: Callable[[str], str],
                        member_url: Callable[[str], str]) -> list[tuple]:
    """room_rates after the whole drop (ROOM_RATES_COLS, ROOM_RATES_ORDER)."""
    u1, m1 = file_url(ROOM_RATES_DAY1_FILE), member_url(ROOM_RATES_DAY2_MEMBER)
    d1, d2 = date(2026, 12, 24), date(2026, 12, 25)
    return [
        (101, "DLX", d1, 250.5, "KRW", True, None, ts(2026, 12, 1, 8), u1, "2026-12-01", "001"),
        (101, "STD", d1, 120.0, "KRW", False, None, ts(2026, 12, 1, 8), u1, "2026-12-01", "001"),
        (102, "DLX", d1, None, "KRW", True, None, ts(2026, 12, 1, 9, 30), u1, "2026-12-01", "001"),
        (103, "DLX", d2, 300.0, None, False, True, ts(2026, 12, 2, 8), m1, "2026-12-02", "001"),
        (103, "STD", d2, 150.25, None, True, False, ts(2026, 12, 2, 8), m1, "2026-12-02", "001"),
    ]


def expected_bookings(file_url: Callable[[str], str],
                      member_url: Callable[[str], str]) -> list[tuple]:
    """bookings after the whole drop in append mode (BOOKINGS_COLS, BOOKINGS_ORDER)."""
    g1, b2 = file_url(BOOKINGS_DAY1_FILE), file_url(BOOKINGS_DAY2_BATCH2_FILE)
    m2 = member_url(BOOKINGS_DAY2_MEMBER)
    day1, day2 = ("2026-12-01", "001"), ("2026-12-02", "002")
    member = ("2026-12-02", "001")
    return [
        ("B1", 101, "Kim", None, 5, 999.0, ts(2026, 11, 30, 10), ts(2026, 11, 30, 23), b2, *day2),
        ("B1", 101, "Kim", None, 2, 501.0, ts(2026, 11, 30, 10), ts(2026, 12, 1), g1, *day1),
        ("B2", 102, "Lee", None, 1, 120.0, ts(2026, 11, 30, 11), ts(2026, 12, 1), g1, *day1),
        ("B2", 102, "Lee", None, 2, 240.0, ts(2026, 11, 30, 11), ts(2026, 12, 2, 6), b2, *day2),
        ("B3", 101, None, None, 3, 360.5, ts(2026, 11, 30, 12), ts(2026, 12, 1), g1, *day1),
        ("B4", 103, None, "Park", 2, 600.0, ts(2026, 12, 1, 9), ts(2026, 12, 2), m2, *member),
        ("B4", 103, "Park", None, 3, 900.0, ts(2026, 12, 1, 9), ts(2026, 12, 2, 5), b2, *day2),
        ("B5", 103, None, "Choi", 1, 150.25, ts(2026, 12, 1, 10), ts(2026, 12, 2), m2, *member),
    ]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def sql_literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dict):
        return "map(" + ", ".join(f"{sql_literal(k)}, {sql_literal(x)}" for k, x in v.items()) + ")"
    return "'" + str(v).replace("'", "''") + "'"


def load_sql(**args) -> str:
    """`CALL system.ingest.load(name => value, ...)`, arguments in the order given; a trailing
    '_' of a name is dropped (`async_` -> `async`). A CALL runs as a plain query, so its
    arguments are literals, not driver parameters."""
    named = ", ".join(f"{k.rstrip('_')} => {sql_literal(v)}" for k, v in args.items())
    return f"CALL system.ingest.load({named})"


def as_dicts(cur) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def load(conn, source, schema: str, **kw) -> list[dict]:
    """Runs system.ingest.load over `source` into `schema` with PATTERN; the result as dicts."""
    sql = load_sql(source=str(source), pattern=PATTERN, target_schema=schema, **kw)
    return as_dicts(conn.execute(sql))


def summary(rows: list[dict]) -> list[tuple]:
    return [(r["table_name"], r["status"], r["files"], r["rows_read"], r["rows_written"],
             r["rows_quarantined"], r["rows_deduplicated"]) for r in rows]


def failed_checks(messages: str | None) -> set[tuple[str, str]]:
    """(check, severity) of each 'check (severity): detail' in a result row's messages."""
    return set(re.findall(r"(\w+) \((error|warning)\): ", messages or ""))


def naive_utc(v):
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(timezone.utc).replace(tzinfo=None)
    return v


def rows(conn, sql: str, params=None) -> list[tuple]:
    return [tuple(naive_utc(x) for x in r) for r in conn.execute(sql, params).fetchall()]


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def column_types(conn, table: str) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute(f"DESCRIBE {table}").fetchall()}


def tables_in(conn, schema: str) -> list[str]:
    bare = schema.split(".", 1)[1]
    return [r[0] for r in conn.execute(
        "SELECT table_name FROM main.information_schema.tables WHERE table_schema = %s "
        "ORDER BY table_name", (bare,)).fetchall()]


def version(conn, table: str) -> int:
    return conn.execute(f"DESCRIBE HISTORY {table} LIMIT 1").fetchone()[0]


def new_schema(conn, uniq) -> str:
    s = f"main.{uniq('ing')}"
    conn.execute(f"CREATE SCHEMA {s}")
    return s


def bare(table_name: str) -> str:
    """The table's own name, of catalog.schema.table."""
    assert table_name.count(".") == 2, table_name
    return table_name.rsplit(".", 1)[-1]


def quarantine(conn, schema: str) -> list[tuple]:
    """(run_id, table, source_file, archive_member, line_number, raw_line, reason) of every
    quarantined row, by table then line; quarantined_at is set on each."""
    got = conn.execute(
        "SELECT run_id, table_name, source_file, archive_member, line_number, raw_line, reason, "
        f"quarantined_at IS NOT NULL FROM {schema}._quarantine").fetchall()
    assert all(r[7] for r in got), got
    return sorted(((r[0], bare(r[1]), *r[2:7]) for r in got), key=lambda r: (r[1], r[4]))


def sqlstate_of(conn, sql: str) -> str:
    with pytest.raises(psycopg.Error) as err:
        conn.execute(sql)
    return err.value.sqlstate


def wait_for_background_run(conn, run_id: str, timeout: float = 180) -> tuple:
    """Polls system.jobs.runs until the background run has left RUNNING; returns its state and
    error message."""
    deadline = time.monotonic() + timeout
    while True:
        row = conn.execute("SELECT state, error_message FROM system.jobs.runs WHERE run_id = %s",
                           (run_id,)).fetchone()
        if row is not None and row[0] != "RUNNING":
            return row
        assert time.monotonic() < deadline, f"background run {run_id} never ended ({row})"


# --------------------------------------------------------------------------------------------
# 1. A local drop, append
# --------------------------------------------------------------------------------------------


def test_local_drop_loads_into_typed_tables_with_quarantine(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    cur = conn.execute(load_sql(source=str(d.root), pattern=PATTERN, target_schema=s))
    assert [c.name for c in cur.description] == RESULT_COLUMNS
    result = as_dicts(cur)
    assert summary(result) == base_summary(s)
    [run_id] = {r["run_id"] for r in result}
    assert run_id
    for r in result:
        assert all(isinstance(r[k], float) and r[k] >= 0
                   for k in ("seconds_read", "seconds_check", "seconds_publish")), r
    # The short row was quarantined: type_validation (warning) failed, the table still published.
    rr = result[1]
    assert failed_checks(rr["messages"]) == {("type_validation", "warning"),
                                              ("header_mismatch", "warning")}, rr
    assert rr["checks_failed"] == 2

    # Types inferred over all rows of the run; the new day-2 columns are there too.
    assert column_types(conn, f"{s}.room_rates") == {**ROOM_RATES_TYPES, "breakfast": "boolean"}
    assert column_types(conn, f"{s}.bookings") == {**BOOKINGS_TYPES, "guest": "string"}

    assert rows(conn, f"SELECT {ROOM_RATES_COLS} FROM {s}.room_rates {ROOM_RATES_ORDER}") == \
        expected_room_rates(d.url, d.member_url)
    assert rows(conn, f"SELECT {BOOKINGS_COLS} FROM {s}.bookings {BOOKINGS_ORDER}") == \
        expected_bookings(d.url, d.member_url)
    # _ingested_at: the run's start, one value for every row of the run.
    assert conn.execute(
        f"SELECT count(DISTINCT _ingested_at), count(_ingested_at) FROM "
        f"(SELECT _ingested_at FROM {s}.room_rates "
        f"UNION ALL SELECT _ingested_at FROM {s}.bookings) AS t").fetchone() == (1, 13)

    # The quarantine table: its columns, and exactly the short row (line 4 of the member).
    assert list(column_types(conn, f"{s}._quarantine").items()) == QUARANTINE_COLUMNS
    [q] = quarantine(conn, s)
    assert (q[0], q[1], q[3], q[4], q[5], q[6]) == (
        run_id, "room_rates", ROOM_RATES_DAY2_MEMBER, 4, ROOM_RATES_DAY2_BAD_LINE,
        "expected 7 fields, found 4")
    # source_file: the archive; the member is in archive_member.
    assert q[2] == d.archive_url(), q
    assert tables_in(conn, s) == ["_quarantine", "bookings", "room_rates"]


# --------------------------------------------------------------------------------------------
# 2. Reruns
# --------------------------------------------------------------------------------------------


def test_rerun_loads_only_new_files_and_force_reloads(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    assert summary(load(conn, d.root, s)) == base_summary(s)
    # Nothing new: zero rows, nothing written (also when the source is spelled as a file URL).
    assert load(conn, d.root, s) == []
    assert load(conn, d.root.as_uri(), s) == []
    assert (count(conn, f"{s}.room_rates"), count(conn, f"{s}.bookings")) == (5, 8)
    rr_version = version(conn, f"{s}.room_rates")

    # One new file: only it loads.
    write_file(d.root / "room_rates_2026-12-03_001.csv",
               "hotel_id,room_type,rate_date,price,currency,refundable,updated_at,breakfast\n"
               "104,DLX,2026-12-26,199.99,KRW,true,2026-12-03T08:00:00,true\n"
               "104,STD,2026-12-26,99.5,KRW,false,2026-12-03T08:00:00,false\n")
    result = load(conn, d.root, s)
    assert summary(result) == [(f"{s}.room_rates", "PUBLISHED", 1, 2, 2, 0, 0)]
    assert result[0]["columns_added"] is None
    assert version(conn, f"{s}.room_rates") > rr_version
    assert (count(conn, f"{s}.room_rates"), count(conn, f"{s}.bookings")) == (7, 8)
    assert rows(conn, f"SELECT hotel_id, room_type, price, breakfast, _source_date, _batch_id "
                      f"FROM {s}.room_rates WHERE hotel_id = 104 ORDER BY room_type") == [
        (104, "DLX", 199.99, True, "2026-12-03", "001"),
        (104, "STD", 99.5, False, "2026-12-03", "001")]
    assert load(conn, d.root, s) == []

    # force: every file again (duplicates are dropped inside a run only).
    assert summary(load(conn, d.root, s, force=True)) == [
        (f"{s}.bookings", "PUBLISHED", 3, 9, 8, 0, 1),
        (f"{s}.room_rates", "PUBLISHED", 3, 9, 7, 1, 1)]
    assert (count(conn, f"{s}.room_rates"), count(conn, f"{s}.bookings")) == (14, 16)
    assert count(conn, f"{s}._quarantine") == 2
    assert load(conn, d.root, s) == []


# --------------------------------------------------------------------------------------------
# 3. Drift and schema evolution
# --------------------------------------------------------------------------------------------


def test_drift_adds_columns_and_quarantines_values_that_do_not_fit(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    # Day 1 only, chosen by a glob (README.txt is not listed, the day-2 files not matched).
    day1 = load(conn, f"{d.root}/*2026-12-01*", s)
    assert summary(day1) == [(f"{s}.bookings", "PUBLISHED", 1, 3, 3, 0, 0),
                             (f"{s}.room_rates", "PUBLISHED", 1, 4, 3, 0, 1)]
    assert column_types(conn, f"{s}.room_rates") == ROOM_RATES_TYPES
    assert column_types(conn, f"{s}.bookings") == BOOKINGS_TYPES

    # The whole drop: day 1 is skipped; day 2 brings breakfast and guest.
    day2 = load(conn, d.root, s)
    assert summary(day2) == [(f"{s}.bookings", "PUBLISHED", 2, 6, 5, 0, 1),
                             (f"{s}.room_rates", "PUBLISHED", 1, 3, 2, 1, 0)]
    assert [r["columns_added"] for r in day2] == ["guest", "breakfast"]
    assert column_types(conn, f"{s}.room_rates") == {**ROOM_RATES_TYPES, "breakfast": "boolean"}
    assert column_types(conn, f"{s}.bookings") == {**BOOKINGS_TYPES, "guest": "string"}
    # Day-1 rows are NULL in the added columns; all rows as if loaded at once.
    assert rows(conn, f"SELECT {ROOM_RATES_COLS} FROM {s}.room_rates {ROOM_RATES_ORDER}") == \
        expected_room_rates(d.url, d.member_url)
    assert rows(conn, f"SELECT {BOOKINGS_COLS} FROM {s}.bookings {BOOKINGS_ORDER}") == \
        expected_bookings(d.url, d.member_url)

    # Day 3: 'n/a' in the BIGINT column nights sends its row to quarantine.
    day3_line = "B6,101,Han,n/a,80.0,2026-12-02T10:00:00,2026-12-03T00:00:00"
    day3 = write_file(d.root / "bookings_2026-12-03_001.csv",
                      "booking_id,hotel_id,guest_name,nights,amount,booked_at,updated_at\n"
                      f"{day3_line}\n"
                      "B7,102,Yoon,1,95.5,2026-12-02T11:00:00,2026-12-03T00:00:00\n")
    result = load(conn, d.root, s)
    assert summary(result) == [(f"{s}.bookings", "PUBLISHED", 1, 2, 1, 1, 0)]
    assert ("type_validation", "warning") in failed_checks(result[0]["messages"])
    assert column_types(conn, f"{s}.bookings")["nights"] == "bigint"
    assert rows(conn, f"SELECT booking_id, nights, amount FROM {s}.bookings "
                      "WHERE booking_id IN ('B6', 'B7')") == [("B7", 1, 95.5)]
    got = quarantine(conn, s)
    assert [(q[1], q[3], q[4], q[5], q[6]) for q in got] == [
        ("bookings", None, 2, day3_line, "column 'nights': 'n/a' is not a BIGINT"),
        ("room_rates", ROOM_RATES_DAY2_MEMBER, 4, ROOM_RATES_DAY2_BAD_LINE,
         "expected 7 fields, found 4")]
    assert got[0][0] == result[0]["run_id"] and got[0][2] == day3.as_uri()
    assert got[1][0] == day2[0]["run_id"]


def test_schema_evolution_none_drops_new_columns_and_reports_the_mismatch(conn, uniq, tmp_path):
    s = new_schema(conn, uniq)
    d = write_drop(tmp_path / "drop")
    load(conn, f"{d.root}/*2026-12-01*", s, schema_evolution="none")
    day2 = load(conn, d.root, s, schema_evolution="none")
    assert summary(day2) == [(f"{s}.bookings", "PUBLISHED", 2, 6, 5, 0, 1),
                             (f"{s}.room_rates", "PUBLISHED", 1, 3, 2, 1, 0)]
    for r in day2:
        assert r["columns_added"] is None, r
        assert ("header_mismatch", "warning") in failed_checks(r["messages"]), r
    # No breakfast, no guest: the tables keep their columns, the new ones' values are dropped.
    assert column_types(conn, f"{s}.room_rates") == ROOM_RATES_TYPES
    assert column_types(conn, f"{s}.bookings") == BOOKINGS_TYPES
    cols_rr = ROOM_RATES_COLS.replace(" breakfast,", "")
    assert rows(conn, f"SELECT {cols_rr} FROM {s}.room_rates {ROOM_RATES_ORDER}") == [
        r[:6] + r[7:] for r in expected_room_rates(d.url, d.member_url)]
    cols_b = BOOKINGS_COLS.replace(" guest,", "")
    assert rows(conn, f"SELECT {cols_b} FROM {s}.bookings {BOOKINGS_ORDER}") == [
        r[:3] + r[4:] for r in expected_bookings(d.url, d.member_url)]


# --------------------------------------------------------------------------------------------
# 4. Merge
# --------------------------------------------------------------------------------------------

KEYS = {"room_rates": "hotel_id,room_type,rate_date", "bookings": "booking_id"}


def test_narrow_number_columns_are_widened_and_their_rows_kept(conn, fresh_schema, tmp_path):
    """An existing INT / SMALLINT column meeting numbers it cannot hold is widened as Delta's
    type widening allows (to BIGINT, INT, DOUBLE), the stored rows rewritten unchanged in a
    commit of their own; BIGINT is never widened to DOUBLE (large values would change), so a
    fraction there is quarantined. With schema_evolution => 'none' nothing is widened."""
    s = fresh_schema
    t = f"{s}.orders"
    conn.execute(f"CREATE TABLE {t} (id INT, qty SMALLINT, price INT, total BIGINT, note STRING)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 5, 10, 100, 'old'), (2, -7, 20, 200, NULL)")
    before = version(conn, t)
    drop = tmp_path / "drop"
    write_file(drop / "orders_20260101_1.csv",
               "id,qty,price,total,note\n3000000000,40000,2.5,300,new\n4,1,3,1.5,fraction\n")
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    [result] = load(conn, drop, s)
    assert summary([result]) == [(t, "PUBLISHED", 1, 2, 1, 1, 0)]
    assert "columns widened: id INT to BIGINT, qty SMALLINT to INT, price INT to DOUBLE" in (
        result["messages"]), result["messages"]
    assert [n for n in notices if "widened" in n] == [
        f"system.ingest.load: {t}: column id widened from INT to BIGINT",
        f"system.ingest.load: {t}: column qty widened from SMALLINT to INT",
        f"system.ingest.load: {t}: column price widened from INT to DOUBLE"]
    types = column_types(conn, t)
    assert {c: types[c] for c in ("id", "qty", "price", "total", "note")} == {
        "id": "bigint", "qty": "int", "price": "double", "total": "bigint", "note": "string"}
    assert rows(conn, f"SELECT id, qty, price, total, note FROM {t} ORDER BY id") == [
        (1, 5, 10.0, 100, "old"), (2, -7, 20.0, 200, None),
        (3000000000, 40000, 2.5, 300, "new")]
    assert [(r[3], r[5], r[6]) for r in quarantine(conn, s)] == [
        (None, "4,1,3,1.5,fraction", "column 'total': '1.5' is not a BIGINT")]
    # The widening is a commit of its own (the table as stored, rewritten), then the rows.
    history = conn.execute(f"DESCRIBE HISTORY {t} LIMIT 2").fetchall()
    assert [h[0] for h in history] == [before + 2, before + 1]
    cur = conn.execute(f"DESCRIBE DETAIL {t}")
    location = dict(zip([d.name for d in cur.description], cur.fetchone()))["location"]
    import deltalake
    table = deltalake.DeltaTable(location)
    stored = table.to_pyarrow_table(columns=["id", "qty", "price"])
    assert [str(f.type) for f in stored.schema] == ["int64", "int32", "double"]
    got = stored.to_pylist()
    assert sorted((r["id"], r["qty"], r["price"]) for r in got) == [
        (1, 5, 10.0), (2, -7, 20.0), (3000000000, 40000, 2.5)]

    # schema_evolution => 'none': the values that do not fit are quarantined, types stay.
    t2 = f"{s}.stock"
    conn.execute(f"CREATE TABLE {t2} (sku INT, qty SMALLINT)")
    write_file(tmp_path / "drop2" / "stock_20260101_1.csv", "sku,qty\n1,40000\n2,3\n")
    [result] = load(conn, tmp_path / "drop2", s, schema_evolution="none")
    assert summary([result]) == [(t2, "PUBLISHED", 1, 2, 1, 1, 0)]
    assert column_types(conn, t2) == {"sku": "int", "qty": "smallint"}
    assert rows(conn, f"SELECT sku, qty FROM {t2}") == [(2, 3)]

    # Merge: the widened table is merged into (the older stored row 2 kept as it was).
    t3 = f"{s}.prices"
    conn.execute(f"CREATE TABLE {t3} (sku INT, price INT)")
    conn.execute(f"INSERT INTO {t3} VALUES (1, 10), (2, 20)")
    write_file(tmp_path / "drop3" / "prices_20260101_1.csv", "sku,price\n1,2.5\n3,4\n")
    [result] = load(conn, tmp_path / "drop3", s, mode="merge",
                    primary_keys={"prices": "sku"})
    assert summary([result]) == [(t3, "PUBLISHED", 1, 2, 2, 0, 0)]
    assert column_types(conn, t3)["price"] == "double"
    assert rows(conn, f"SELECT sku, price FROM {t3} ORDER BY sku") == [
        (1, 2.5), (2, 20.0), (3, 4.0)]

    # Overwrite: the rows replace the table's in one commit that also widens it.
    t4 = f"{s}.levels"
    conn.execute(f"CREATE TABLE {t4} (sku INT, qty SMALLINT)")
    conn.execute(f"INSERT INTO {t4} VALUES (1, 1)")
    v4 = version(conn, t4)
    write_file(tmp_path / "drop4" / "levels_20260101_1.csv", "sku,qty\n5,70000\n")
    [result] = load(conn, tmp_path / "drop4", s, mode="overwrite")
    assert summary([result]) == [(t4, "PUBLISHED", 1, 1, 1, 0, 0)]
    assert column_types(conn, t4)["qty"] == "int"
    assert rows(conn, f"SELECT sku, qty FROM {t4}") == [(5, 70000)]
    assert version(conn, t4) == v4 + 1


def test_merge_keeps_the_latest_row_per_key(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    # A table without a key: refused, nothing written.
    assert sqlstate_of(conn, load_sql(
        source=str(d.root), pattern=PATTERN, target_schema=s, mode="merge",
        primary_keys={"bookings": "booking_id"}, order_by="updated_at")) == "22023"
    assert tables_in(conn, s) == []

    # bookings: 9 rows, 5 keys. B1: day 1 beats the later file's stale row; B2: batch 002's
    # (twice); B4: batch 002's newer row beats batch 001's. room_rates: the duplicate collapses.
    first = load(conn, d.root, s, mode="merge", primary_keys=KEYS, order_by="updated_at")
    assert summary(first) == [(f"{s}.bookings", "PUBLISHED", 3, 9, 5, 0, 4),
                              (f"{s}.room_rates", "PUBLISHED", 2, 7, 5, 1, 1)]
    g1, b2 = d.url(BOOKINGS_DAY1_FILE), d.url(BOOKINGS_DAY2_BATCH2_FILE)
    m2 = d.member_url(BOOKINGS_DAY2_MEMBER)
    cols = "booking_id, hotel_id, guest_name, guest, nights, amount, updated_at, _source_file"
    merged = [
        ("B1", 101, "Kim", None, 2, 501.0, ts(2026, 12, 1), g1),
        ("B2", 102, "Lee", None, 2, 240.0, ts(2026, 12, 2, 6), b2),
        ("B3", 101, None, None, 3, 360.5, ts(2026, 12, 1), g1),
        ("B4", 103, "Park", None, 3, 900.0, ts(2026, 12, 2, 5), b2),
        ("B5", 103, None, "Choi", 1, 150.25, ts(2026, 12, 2), m2),
    ]
    assert rows(conn, f"SELECT {cols} FROM {s}.bookings ORDER BY booking_id") == merged
    assert rows(conn, f"SELECT {ROOM_RATES_COLS} FROM {s}.room_rates {ROOM_RATES_ORDER}") == \
        expected_room_rates(d.url, d.member_url)

    # Day 3: a newer B2 updates it; an older B4 does not overwrite the newer one.
    d3 = write_file(d.root / "bookings_2026-12-03_001.csv",
                    "booking_id,hotel_id,guest_name,nights,amount,booked_at,updated_at\n"
                    "B2,102,Lee,3,390.0,2026-11-30T11:00:00,2026-12-03T07:00:00\n"
                    "B4,103,Park,1,1.0,2026-12-01T09:00:00,2026-12-01T12:00:00\n")
    second = load(conn, d.root, s, mode="merge", primary_keys=KEYS, order_by="updated_at")
    [r] = second
    assert (r["table_name"], r["status"], r["files"], r["rows_read"], r["rows_quarantined"],
            r["rows_deduplicated"]) == (f"{s}.bookings", "PUBLISHED", 1, 2, 0, 0)
    # Rows written: the updated one (the stale B4 is not applied).
    assert r["rows_written"] == 1, r
    merged[1] = ("B2", 102, "Lee", None, 3, 390.0, ts(2026, 12, 3, 7), d3.as_uri())
    assert rows(conn, f"SELECT {cols} FROM {s}.bookings ORDER BY booking_id") == merged
    assert rows(conn, f"SELECT _source_date FROM {s}.bookings WHERE booking_id = 'B2'") == [
        ("2026-12-03",)]
    assert count(conn, f"{s}.room_rates") == 5


# --------------------------------------------------------------------------------------------
# 5. Write-audit-publish
# --------------------------------------------------------------------------------------------


def test_a_failed_error_check_publishes_nothing(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    result = load(conn, d.root, s, expected_files=99)
    assert [(r["table_name"], r["status"]) for r in result] == [
        (f"{s}.bookings", "NOT_PUBLISHED"), (f"{s}.room_rates", "NOT_PUBLISHED")]
    for r in result:
        assert ("expected_files", "error") in failed_checks(r["messages"]), r
    [run_id] = {r["run_id"] for r in result}
    # No table, no quarantine table.
    assert tables_in(conn, s) == []
    checks = conn.execute(
        "SELECT severity, passed, threshold FROM system.ingest.checks "
        "WHERE run_id = %s AND check_name = 'expected_files'", (run_id,)).fetchall()
    assert checks and set(checks) == {("error", False, "99")}, checks
    assert conn.execute("SELECT state FROM system.ingest.runs WHERE run_id = %s",
                        (run_id,)).fetchone() == ("NOT_PUBLISHED",)
    # The files were not recorded as loaded: without the check, everything loads.
    assert summary(load(conn, d.root, s)) == base_summary(s)
    assert (count(conn, f"{s}.room_rates"), count(conn, f"{s}.bookings")) == (5, 8)


def test_null_ratio_as_an_error_leaves_existing_tables_as_they_were(conn, uniq, tmp_path):
    s = new_schema(conn, uniq)
    d = write_drop(tmp_path / "drop")
    load(conn, f"{d.root}/*2026-12-01*", s)
    def state(t: str) -> tuple:
        return version(conn, f"{s}.{t}"), count(conn, f"{s}.{t}"), column_types(conn, f"{s}.{t}")

    before = {t: state(t) for t in ("bookings", "room_rates")}
    assert {t: v[1] for t, v in before.items()} == {"bookings": 3, "room_rates": 3}

    # Day 2: room_rates has no currency at all; bookings' guest_name / guest are mostly NULL.
    result = load(conn, d.root, s, max_null_ratio=0.1, severity={"null_ratio": "error"})
    assert [(r["table_name"], r["status"]) for r in result] == [
        (f"{s}.bookings", "NOT_PUBLISHED"), (f"{s}.room_rates", "NOT_PUBLISHED")]
    assert ("null_ratio", "error") in failed_checks(result[1]["messages"])
    [run_id] = {r["run_id"] for r in result}
    # Same Delta versions, rows and columns (no breakfast, no guest); no quarantine rows.
    assert {t: state(t) for t in ("bookings", "room_rates")} == before
    assert tables_in(conn, s) == ["bookings", "room_rates"]
    failed = conn.execute(
        "SELECT table_name, severity FROM system.ingest.checks "
        "WHERE run_id = %s AND check_name = 'null_ratio' AND NOT passed", (run_id,)).fetchall()
    assert {bare(t) for t, _ in failed} == {"bookings", "room_rates"}, failed
    assert {sev for _, sev in failed} == {"error"}

    # Nothing was recorded: the next run (default severities) loads day 2.
    assert summary(load(conn, d.root, s)) == [
        (f"{s}.bookings", "PUBLISHED", 2, 6, 5, 0, 1),
        (f"{s}.room_rates", "PUBLISHED", 1, 3, 2, 1, 0)]
    assert (count(conn, f"{s}.room_rates"), count(conn, f"{s}.bookings")) == (5, 8)


# --------------------------------------------------------------------------------------------
# 6. System tables, governance, bad arguments
# --------------------------------------------------------------------------------------------


def test_system_ingest_tables_describe_the_run(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop", archive=False)
    # price is NULL in 1 of room_rates' rows (over 0.2: a warning); guest_name in 1 of
    # bookings' 6 (under).
    result = load(conn, d.root, s, max_null_ratio=0.2)
    assert summary(result) == plain_summary(s)
    [run_id] = {r["run_id"] for r in result}
    bookings, room_rates = result
    assert (bookings["checks_failed"], bookings["messages"]) == (0, None)
    assert room_rates["checks_failed"] == 1
    assert room_rates["messages"].startswith("null_ratio (warning): "), room_rates

    [run] = conn.execute(
        "SELECT user_name, source, pattern, target_schema, mode, state, files_listed, "
        "files_skipped, files_unmatched, files_read, rows_read, rows_written, rows_quarantined, "
        "error_message, start_time <= end_time FROM system.ingest.runs WHERE run_id = %s",
        (run_id,)).fetchall()
    assert run[1] == str(d.root), run
    # Listed: the 3 CSV files and README.txt (_SUCCESS and the .crc file are not listed).
    assert run[:1] + run[2:] == ("admin", PATTERN, s, "append", "PUBLISHED", 4, 0, 1, 3,
                                 11, 9, 0, None, True)

    tables = conn.execute(
        "SELECT table_name, status, files, rows_read, rows_written, rows_quarantined, "
        "rows_deduplicated, null_ratios, seconds_read >= 0 AND seconds_check >= 0 "
        "AND seconds_publish >= 0 FROM system.ingest.tables WHERE run_id = %s "
        "ORDER BY table_name", (run_id,)).fetchall()
    assert [t[:7] for t in tables] == plain_summary(s)
    assert all(t[8] for t in tables), tables
    ratios = {bare(t[0]): json.loads(t[7]) for t in tables}
    assert ratios["room_rates"]["price"] > 0.2 and ratios["room_rates"].get("hotel_id", 0) == 0
    assert 0 < ratios["bookings"]["guest_name"] < 0.2 and ratios["bookings"].get("amount", 0) == 0

    checks = conn.execute(
        "SELECT table_name, severity, passed, threshold FROM system.ingest.checks "
        "WHERE run_id = %s AND check_name = 'null_ratio'", (run_id,)).fetchall()
    assert {(bare(t), sev) for t, sev, _, _ in checks} == {
        ("bookings", "warning"), ("room_rates", "warning")}, checks
    assert all(passed for t, _, passed, _ in checks if bare(t) == "bookings"), checks
    assert not all(passed for t, _, passed, _ in checks if bare(t) == "room_rates"), checks
    assert {float(threshold) for _, _, _, threshold in checks} == {0.2}


def test_loading_needs_read_files_on_an_external_location(server, conn, uniq, tmp_path):
    s = new_schema(conn, uniq)
    d = write_drop(tmp_path / "drop")
    user = uniq("loader")
    conn.execute(f"CREATE USER {user} PASSWORD '{user}-pw'")
    for grant in ("USE CATALOG ON CATALOG system", "USE SCHEMA ON SCHEMA system.ingest",
                  "USE CATALOG ON CATALOG main", f"USE SCHEMA, CREATE TABLE ON SCHEMA {s}"):
        conn.execute(f"GRANT {grant} TO {user}")
    call = load_sql(source=str(d.root), pattern=PATTERN, target_schema=s)
    loc = uniq("partner_drop")
    with server.connect(user=user, password=f"{user}-pw") as u:
        # Without EXECUTE; with it but no location holding the files.
        assert sqlstate_of(u, call) == "42501"
        conn.execute(f"GRANT EXECUTE ON PROCEDURE system.ingest.load TO {user}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            u.execute(call)
        assert "needs READ FILES on an external location" in str(err.value)
        assert tables_in(conn, s) == []
        # An admin names the drop directory as an external location and grants READ FILES.
        conn.execute(f"CREATE EXTERNAL LOCATION {loc} URL '{d.root}' COMMENT 'partner drop'")
        try:
            assert sqlstate_of(u, call) == "42501"
            conn.execute(f"GRANT READ FILES ON EXTERNAL LOCATION {loc} TO {user}")
            cur = u.execute(f"DESCRIBE EXTERNAL LOCATION {loc}")
            got = dict(zip([c.name for c in cur.description], cur.fetchone()))
            assert (got["name"], got["url"], got["comment"], got["owner"], got["created_by"]) == (
                loc, d.root.as_uri(), "partner drop", "admin", "admin")
            assert summary(as_dicts(u.execute(call))) == base_summary(s)
            # Nowhere else: a sibling directory is outside the location.
            other = write_drop(tmp_path / "other")
            assert sqlstate_of(u, load_sql(source=str(other.root), pattern=PATTERN,
                                           target_schema=s)) == "42501"
        finally:
            conn.execute(f"DROP EXTERNAL LOCATION {loc}")
        # Dropping the location takes the grant with it.
        assert sqlstate_of(u, load_sql(source=str(d.root), pattern=PATTERN, target_schema=s,
                                       force=True)) == "42501"
    assert tables_in(conn, s) == ["_quarantine", "bookings", "room_rates"]


def test_bad_arguments_are_refused(conn, fresh_schema, uniq, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    src = str(d.root)
    assert sqlstate_of(conn, load_sql(source=src, target_schema=s)) == "42605"
    assert sqlstate_of(conn, load_sql(source=src, pattern="{date}_{batch}.csv",
                                      target_schema=s)) == "22023"
    assert sqlstate_of(conn, load_sql(source=src, pattern=PATTERN, target_schema=s,
                                      mode="upsert")) == "22023"
    assert sqlstate_of(conn, load_sql(source=src, pattern=PATTERN,
                                      target_schema=f"main.{uniq('nope')}")) == "3F000"
    assert tables_in(conn, s) == []
    # Nothing there, or nothing in it: nothing to load.
    assert load(conn, tmp_path / "no-such-drop", s) == []
    (tmp_path / "empty").mkdir()
    assert load(conn, tmp_path / "empty", s) == []
    assert tables_in(conn, s) == []


# --------------------------------------------------------------------------------------------
# 7. NOTICEs
# --------------------------------------------------------------------------------------------


def test_progress_is_told_as_notices(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop", archive=False)
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    assert summary(load(conn, d.root, s)) == plain_summary(s)
    ours = [n for n in notices if n.startswith("system.ingest.load: ")]
    # Listed: the 3 CSV files and README.txt.
    assert ours and ours[0] == (
        "system.ingest.load: listed 4 files (0 already loaded, 1 unmatched)"), ours
    reads = [i for i, n in enumerate(ours) if n.startswith("system.ingest.load: read ")]
    published = [i for i, n in enumerate(ours) if n.startswith("system.ingest.load: published ")]
    assert reads and published and max(reads) < min(published), ours
    assert ours[reads[-1]] == "system.ingest.load: read 3 of 3 files, 11 rows"
    assert sorted(ours[i] for i in published) == [
        f"system.ingest.load: published {s}.bookings (6 rows)",
        f"system.ingest.load: published {s}.room_rates (3 rows)"]


# --------------------------------------------------------------------------------------------
# 8. async
# --------------------------------------------------------------------------------------------


def test_async_returns_a_run_id_and_loads_in_the_background(conn, fresh_schema, tmp_path):
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    conn.execute("SET statement_timeout = '300s'")
    cur = conn.execute(load_sql(source=str(d.root), pattern=PATTERN, target_schema=s,
                                async_=True))
    assert [c.name for c in cur.description] == ["run_id"]
    [(run_id,)] = cur.fetchall()
    assert run_id
    assert wait_for_background_run(conn, run_id) == ("SUCCEEDED", None)
    assert conn.execute("SELECT state FROM system.ingest.runs WHERE run_id = %s",
                        (run_id,)).fetchone() == ("PUBLISHED",)
    assert (count(conn, f"{s}.room_rates"), count(conn, f"{s}.bookings")) == (5, 8)
    assert rows(conn, f"SELECT {BOOKINGS_COLS} FROM {s}.bookings {BOOKINGS_ORDER}") == \
        expected_bookings(d.url, d.member_url)
    assert conn.execute(
        "SELECT rows_read, rows_written, rows_quarantined, end_time IS NOT NULL "
        "FROM system.ingest.runs WHERE run_id = %s", (run_id,)).fetchone() == (16, 13, 1, True)
    assert conn.execute(
        "SELECT table_name, status, files, rows_read, rows_written, rows_quarantined, "
        "rows_deduplicated FROM system.ingest.tables WHERE run_id = %s ORDER BY table_name",
        (run_id,)).fetchall() == base_summary(s)
    # Loaded: a synchronous rerun finds nothing new.
    assert load(conn, d.root, s) == []


# --------------------------------------------------------------------------------------------
# 9. S3
# --------------------------------------------------------------------------------------------


def test_a_drop_on_s3_loads(s3, server_factory, uniq, tmp_path):
    srv = server_factory(extra_args=s3.weir_args(uniq("wh")))
    d = write_drop(tmp_path / "drop")
    prefix = uniq("drops")
    client = s3.client()
    for p in d.files():
        client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{p.relative_to(d.root).as_posix()}",
                          Body=p.read_bytes())
    source = f"s3://{s3.bucket}/{prefix}/"

    def file_url(name: str) -> str:
        return f"{source}{name}"

    def member_url(member: str) -> str:
        return f"{source}{ARCHIVE_FILE}!/{member}"

    with srv.connect() as c:
        s = new_schema(c, uniq)
        assert summary(load(c, source, s)) == base_summary(s)
        assert load(c, source, s) == []
        assert rows(c, f"SELECT {ROOM_RATES_COLS} FROM {s}.room_rates {ROOM_RATES_ORDER}") == \
            expected_room_rates(file_url, member_url)
        assert rows(c, f"SELECT {BOOKINGS_COLS} FROM {s}.bookings {BOOKINGS_ORDER}") == \
            expected_bookings(file_url, member_url)
        [q] = quarantine(c, s)
        assert (q[1], q[3], q[4]) == ("room_rates", ROOM_RATES_DAY2_MEMBER, 4)


# --------------------------------------------------------------------------------------------
# 10. Flight SQL (ADBC)
# --------------------------------------------------------------------------------------------


def test_the_same_call_over_flight_sql(server, conn, uniq, tmp_path):
    d = write_drop(tmp_path / "drop")
    s_pg, s_fl = new_schema(conn, uniq), new_schema(conn, uniq)
    over_pg = load(conn, d.root, s_pg)
    adbc = server.adbc()
    try:
        with adbc.cursor() as cur:
            cur.execute(load_sql(source=str(d.root), pattern=PATTERN, target_schema=s_fl))
            assert [c[0] for c in cur.description] == RESULT_COLUMNS
            over_flight = as_dicts(cur)
            cur.execute(f"SELECT count(*) FROM {s_fl}.bookings")
            assert cur.fetchall() == [(8,)]
    finally:
        adbc.close()
    assert summary(over_flight) == base_summary(s_fl)

    def comparable(r: dict, schema: str) -> dict:
        return {k: v.replace(schema, "<schema>") if isinstance(v, str) else v
                for k, v in r.items() if k != "run_id" and not k.startswith("seconds_")}

    assert [comparable(r, s_fl) for r in over_flight] == [comparable(r, s_pg) for r in over_pg]
    assert count(conn, f"{s_fl}.room_rates") == 5


# --------------------------------------------------------------------------------------------
# 11. A run killed with the server, resumed
# --------------------------------------------------------------------------------------------


def test_a_run_killed_with_the_server_is_resumed_without_loading_a_file_twice(
        server_factory, uniq, tmp_path):
    data = tmp_path / "data"
    root = tmp_path / "many"
    tables = ("alpha", "beta", "gamma")
    per_table = write_many_files(root, tables, files_per_table=100, rows_per_file=2)
    schema = f"main.{uniq('crash')}"
    srv = server_factory(data_dir=data)
    with srv.connect() as c:
        c.execute(f"CREATE SCHEMA {schema}")
        [(run_id,)] = c.execute(load_sql(source=str(root), pattern=PATTERN,
                                         target_schema=schema, async_=True)).fetchall()
        assert run_id
    # kill -9 wherever the run is: listing, reading or publishing (or done).
    srv.process.kill()
    srv.process.wait(timeout=10)

    srv = server_factory(data_dir=data)
    with srv.connect() as c:
        c.execute("SET statement_timeout = '300s'")
        load(c, root, schema)
        for t in tables:
            assert c.execute(f"SELECT count(*), count(DISTINCT id), min(id), max(id) "
                             f"FROM {schema}.{t}").fetchone() == (
                per_table, per_table, 0, per_table - 1), t
        assert load(c, root, schema) == []


def test_a_dropped_table_is_loaded_again(conn, fresh_schema, tmp_path):
    """Files a published run read are skipped while every table they fed exists: dropping one
    table and loading again reloads exactly the files (and archive members) that fed it."""
    s = fresh_schema
    d = write_drop(tmp_path / "drop")
    assert summary(load(conn, d.root, s)) == base_summary(s)
    conn.execute(f"DROP TABLE {s}.bookings")
    assert summary(load(conn, d.root, s)) == base_summary(s)[:1]
    assert count(conn, f"{s}.bookings") == 8
    assert count(conn, f"{s}.room_rates") == 5
    assert load(conn, d.root, s) == []


def test_parquet_files_load_with_their_values(conn, fresh_schema, tmp_path):
    """Plain Parquet files are read whole (by ranges from the store): their values are typed
    by the same rules as text files'; a Parquet file inside an archive is refused, not skipped."""
    import io
    import tarfile

    import pyarrow as pa
    import pyarrow.parquet as pq
    s = fresh_schema
    drop = tmp_path / "pq"
    drop.mkdir()
    pq.write_table(pa.table({
        "event_id": pa.array([1, 2], pa.int64()),
        "score": pa.array([0.5, None], pa.float64()),
        "day": pa.array([date(2026, 12, 1), date(2026, 12, 2)], pa.date32()),
        "at": pa.array([datetime(2026, 12, 1, 8, 30), datetime(2026, 12, 2, 9)],
                       pa.timestamp("us")),
        "code": pa.array(["007", "x"], pa.string()),
    }), drop / "events_2026-12-01_1.parquet")
    [r] = as_dicts(conn.execute(load_sql(source=str(drop), pattern="{table}_{date}_{batch}.parquet",
                                         target_schema=s)))
    assert summary([r]) == [(f"{s}.events", "PUBLISHED", 1, 2, 2, 0, 0)]
    types = column_types(conn, f"{s}.events")
    assert [types[c] for c in ("event_id", "score", "day", "at", "code")] == [
        "bigint", "double", "date", "timestamp", "string"]
    assert rows(conn, f"SELECT event_id, score, day, at, code FROM {s}.events ORDER BY 1") == [
        (1, 0.5, date(2026, 12, 1), ts(2026, 12, 1, 8, 30), "007"),
        (2, None, date(2026, 12, 2), ts(2026, 12, 2, 9), "x")]
    packed = tmp_path / "packed"
    packed.mkdir()
    data = (drop / "events_2026-12-01_1.parquet").read_bytes()
    with tarfile.open(packed / "drop.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("events_2026-12-02_1.parquet")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert sqlstate_of(conn, load_sql(source=packed, pattern="{table}_{date}_{batch}.parquet",
                                      target_schema=s)) == "0A000"
    assert count(conn, f"{s}.events") == 2


# --------------------------------------------------------------------------------------------
# 12. The README's pipeline: archives on S3 -> bronze -> silver, with its quality summary
# --------------------------------------------------------------------------------------------

def _readme_pipeline() -> str:
    import pathlib
    text = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("## Ingesting partner drops: system.ingest.load", 1)[1]
    return section.split("```sql\n", 1)[1].split("```", 1)[0]


def test_readme_pipeline_runs_in_psql(s3, server_factory, uniq, tmp_path):
    import os
    import shutil
    import subprocess
    psql = shutil.which("psql")
    assert psql, "psql is not installed (apt-get install postgresql-client)"
    srv = server_factory(extra_args=s3.weir_args(uniq("wh")))
    client = s3.client()
    client.create_bucket(Bucket="partner-drops")
    d = write_drop(tmp_path / "drop")
    for p in d.files():
        client.put_object(Bucket="partner-drops",
                          Key=f"incoming/{p.relative_to(d.root).as_posix()}",
                          Body=p.read_bytes())
    script = tmp_path / "pipeline.sql"
    script.write_text(_readme_pipeline())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = srv.password

    def run_script() -> subprocess.CompletedProcess:
        return subprocess.run(
            [psql, "-X", "-A", "-v", "ON_ERROR_STOP=1", "-h", srv.host, "-p", str(srv.port),
             "-U", srv.user, "-d", "main", "-f", str(script)],
            capture_output=True, text=True, env=env, timeout=300)

    proc = run_script()
    assert proc.returncode == 0, proc.stderr + proc.stdout
    # The quality summary: per table, then the failed checks, then the quarantine.
    assert ("table_name|status|files|rows_read|rows_written|rows_quarantined|rows_deduplicated|"
            "columns_added\n"
            "main.bronze.bookings|PUBLISHED|3|9|5|0|4|\n"
            "main.bronze.room_rates|PUBLISHED|2|7|5|1|1|\n(2 rows)") in proc.stdout, proc.stdout
    assert "main.bronze.room_rates|type_validation|warning|1 rows quarantined" in proc.stdout
    assert (f"main.bronze.room_rates|{ROOM_RATES_DAY2_MEMBER}|4|{ROOM_RATES_DAY2_BAD_LINE}|"
            "expected 7 fields, found 4\n(1 row)") in proc.stdout, proc.stdout
    assert re.search(r"NOTICE:  system\.ingest\.load: published main\.bronze\.bookings "
                     r"\(5 rows\)", proc.stderr), proc.stderr
    silver = [
        ("B1", 101, 2, 501.0, ts(2026, 12, 1)),
        ("B2", 102, 2, 240.0, ts(2026, 12, 2, 6)),
        ("B3", 101, 3, 360.5, ts(2026, 12, 1)),
        ("B4", 103, 3, 900.0, ts(2026, 12, 2, 5)),
        ("B5", 103, 1, 150.25, ts(2026, 12, 2)),
    ]
    with srv.connect() as c:
        assert rows(c, "SELECT * FROM main.silver.bookings ORDER BY booking_id") == silver
    # The next day's run finds nothing new; silver stays as it is.
    proc = run_script()
    assert proc.returncode == 0, proc.stderr + proc.stdout
    with srv.connect() as c:
        assert rows(c, "SELECT * FROM main.silver.bookings ORDER BY booking_id") == silver
        assert c.execute("SELECT count(*) FROM main.bronze.bookings").fetchone() == (5,)

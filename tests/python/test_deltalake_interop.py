"""Delta interop with the delta-rs Python package (`deltalake`): tables Weir writes are read by
deltalake, and tables deltalake writes are registered, queried and refreshed by Weir."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from conftest import file_url_to_path, unique

UTC = dt.timezone.utc


def location(conn, table: str) -> str:
    cur = conn.execute(f"DESCRIBE DETAIL {table}")
    cols = [d.name for d in cur.description]
    return cur.fetchone()[cols.index("location")]


def storage_path(conn, cat: str, schema: str, table: str) -> str:
    return conn.execute(
        f"SELECT storage_path FROM {cat}.information_schema.tables "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchone()[0]


def delta_types(dtab: DeltaTable) -> dict[str, str]:
    return {f["name"]: f["type"] for f in json.loads(dtab.schema().to_json())["fields"]}


def norm(v):
    """Comparable form of a pandas/psycopg value (NaN/NaT/None -> None)."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def frame_rows(df: pd.DataFrame, cols: list[str], key: str) -> list[tuple]:
    df = df.sort_values(key, kind="stable")
    return [tuple(norm(v) for v in row) for row in df[cols].itertuples(index=False, name=None)]


@pytest.fixture
def schema(conn):
    s = unique("dl")
    conn.execute(f"CREATE SCHEMA main.{s}")
    return s


# ---------------------------------------------------------------------------------------------
# Weir writes, deltalake reads
# ---------------------------------------------------------------------------------------------

WEIR_COLS = ["id", "name", "amount", "ratio", "flag", "day", "ts", "big"]
WEIR_ROWS = [
    (1, "one", Decimal("10.25"), 0.5, True, dt.date(2024, 3, 1),
     dt.datetime(2024, 3, 1, 12, 30, 0, tzinfo=UTC), 5_000_000_000),
    (2, "two", Decimal("-1.00"), -2.75, False, dt.date(1999, 12, 31),
     dt.datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), -1),
    (3, None, None, None, None, None, None, None),
]


def test_weir_table_is_read_by_deltalake(conn, schema):
    t = f"main.{schema}.wt"
    conn.execute(
        f"CREATE TABLE {t} (id INT NOT NULL, name STRING, amount DECIMAL(10,2), ratio DOUBLE, "
        "flag BOOLEAN, day DATE, ts TIMESTAMP, big BIGINT) USING DELTA"
    )
    conn.execute(f"INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", WEIR_ROWS[0])
    conn.execute(f"INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s, %s, %s), "
                 "(%s, %s, %s, %s, %s, %s, %s, %s)", WEIR_ROWS[1] + WEIR_ROWS[2])

    loc = location(conn, t)
    assert loc.startswith("file://")
    assert storage_path(conn, "main", schema, "wt").rstrip("/") == loc.rstrip("/")
    path = file_url_to_path(loc)
    assert (Path(path) / "_delta_log" / "00000000000000000000.json").is_file()

    dtab = DeltaTable(path)
    assert dtab.version() == 2  # create + two INSERTs
    assert delta_types(dtab) == {
        "id": "integer", "name": "string", "amount": "decimal(10,2)", "ratio": "double",
        "flag": "boolean", "day": "date", "ts": "timestamp", "big": "long",
    }
    id_field = next(f for f in json.loads(dtab.schema().to_json())["fields"] if f["name"] == "id")
    assert id_field["nullable"] is False

    df = dtab.to_pandas()
    assert frame_rows(df, WEIR_COLS, "id") == WEIR_ROWS
    # Same as what Weir itself returns.
    assert conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() == WEIR_ROWS


def test_weir_partitioned_table_is_read_by_deltalake(conn, schema):
    t = f"main.{schema}.parted"
    conn.execute(
        f"CREATE TABLE {t} (id BIGINT, region STRING, v DOUBLE) PARTITIONED BY (region)"
    )
    data = [(i, ["eu", "us", "apac"][i % 3], i * 1.5) for i in range(1, 31)]
    values = ", ".join(f"({i}, '{r}', {v})" for i, r, v in data)
    conn.execute(f"INSERT INTO {t} VALUES {values}")

    dtab = DeltaTable(location(conn, t))
    assert dtab.metadata().partition_columns == ["region"]
    files = dtab.file_uris()
    assert {r for _, r, _ in data} == {
        part.split("=", 1)[1] for f in files for part in f.split("/") if part.startswith("region=")
    }
    assert frame_rows(dtab.to_pandas(), ["id", "region", "v"], "id") == data
    # Partition pruning from the delta-rs side agrees too.
    eu = dtab.to_pandas(filters=[("region", "=", "eu")])
    assert sorted(eu["id"].tolist()) == [i for i, r, _ in data if r == "eu"]
    assert conn.execute(f"SELECT count(*) FROM {t} WHERE region = 'us'").fetchone()[0] == len(
        [1 for _, r, _ in data if r == "us"])


def test_insert_overwrite_and_ctas_are_seen_by_deltalake(conn, schema):
    src, dst = f"main.{schema}.src", f"main.{schema}.dst"
    conn.execute(f"CREATE TABLE {src} (k INT, s STRING)")
    conn.execute(f"INSERT INTO {src} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    conn.execute(f"CREATE TABLE {dst} AS SELECT k, s FROM {src} WHERE k >= 2")
    assert frame_rows(DeltaTable(location(conn, dst)).to_pandas(), ["k", "s"], "k") == [
        (2, "b"), (3, "c")]
    conn.execute(f"INSERT OVERWRITE {dst} SELECT k * 10, s FROM {src} WHERE k = 1")
    dtab = DeltaTable(location(conn, dst))
    assert frame_rows(dtab.to_pandas(), ["k", "s"], "k") == [(10, "a")]
    assert dtab.history(1)[0]["operation"] in ("WRITE", "CREATE OR REPLACE TABLE")


# ---------------------------------------------------------------------------------------------
# deltalake writes, Weir registers and reads
# ---------------------------------------------------------------------------------------------


def arrow_batch(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array([f"n{i}" if i % 4 else None for i in ids], pa.string()),
        "amount": pa.array([Decimal(i) / 4 for i in ids], pa.decimal128(12, 2)),
        "ratio": pa.array([i / 8 for i in ids], pa.float64()),
        "flag": pa.array([i % 2 == 0 for i in ids], pa.bool_()),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in ids], pa.date32()),
        "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=i)
                        for i in ids], pa.timestamp("us", tz="UTC")),
        "part": pa.array([f"p{i % 3}" for i in ids], pa.string()),
    })


def expected_rows(tbl: pa.Table) -> list[tuple]:
    cols = tbl.column_names
    out = []
    for r in tbl.to_pylist():
        out.append(tuple(r[c] for c in cols))
    return sorted(out, key=lambda r: r[0])


def test_register_table_written_by_deltalake_and_refresh(server, conn, schema, tmp_path):
    path = tmp_path / "ext_written_by_deltalake"
    first = arrow_batch(1, 20)
    write_deltalake(str(path), first, partition_by=["part"])

    t = f"main.{schema}.ext"
    conn.execute(f"CREATE TABLE {t} LOCATION '{path}'")
    cols = first.column_names

    # Schema comes from the Delta log.
    described = {r[0]: r[1] for r in conn.execute(f"DESCRIBE {t}").fetchall() if r[0] in cols}
    assert described == {
        "id": "bigint", "name": "string", "amount": "decimal(12,2)", "ratio": "double",
        "flag": "boolean", "day": "date", "ts": "timestamp", "part": "string",
    }
    info = conn.execute(
        "SELECT table_type FROM main.information_schema.tables "
        "WHERE table_schema = %s AND table_name = 'ext'", (schema,)).fetchone()
    assert info == ("EXTERNAL",)

    got = conn.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY id").fetchall()
    assert got == expected_rows(first)
    assert conn.execute(f"SELECT count(*) FROM {t} WHERE part = 'p1'").fetchone()[0] == sum(
        1 for i in range(1, 21) if i % 3 == 1)

    # Another writer appends: Weir sees it on the next query, no refresh command needed.
    second = arrow_batch(21, 15)
    write_deltalake(str(path), second, mode="append")
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 35
    got = conn.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY id").fetchall()
    assert got == expected_rows(pa.concat_tables([first, second]))

    # And again, from a fresh connection as well.
    third = arrow_batch(36, 5)
    write_deltalake(str(path), third, mode="append")
    assert conn.execute(f"SELECT max(id) FROM {t}").fetchone()[0] == 40
    with server.connect() as c2:
        assert c2.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 40


def test_weir_writes_into_registered_table_and_deltalake_reads_it(conn, schema, tmp_path):
    path = tmp_path / "ext_bidirectional"
    write_deltalake(str(path), pa.table({"k": pa.array([1, 2], pa.int64()),
                                         "v": pa.array(["a", "b"], pa.string())}))
    t = f"main.{schema}.bidi"
    conn.execute(f"CREATE TABLE {t} LOCATION '{path}'")
    conn.execute(f"INSERT INTO {t} VALUES (3, 'c')")
    dtab = DeltaTable(str(path))
    assert dtab.version() == 1
    assert frame_rows(dtab.to_pandas(), ["k", "v"], "k") == [(1, "a"), (2, "b"), (3, "c")]
    # deltalake appends after Weir's commit; Weir sees both.
    write_deltalake(str(path), pa.table({"k": pa.array([4], pa.int64()),
                                         "v": pa.array(["d"], pa.string())}), mode="append")
    assert conn.execute(f"SELECT k, v FROM {t} ORDER BY k").fetchall() == [
        (1, "a"), (2, "b"), (3, "c"), (4, "d")]


def test_overwrite_by_deltalake_is_seen_by_weir(conn, schema, tmp_path):
    path = tmp_path / "ext_overwritten"
    write_deltalake(str(path), pa.table({"k": pa.array([1, 2, 3], pa.int64())}))
    t = f"main.{schema}.ow"
    conn.execute(f"CREATE TABLE {t} LOCATION '{path}'")
    assert conn.execute(f"SELECT sum(k) FROM {t}").fetchone()[0] == 6
    write_deltalake(str(path), pa.table({"k": pa.array([100], pa.int64())}), mode="overwrite")
    assert conn.execute(f"SELECT k FROM {t}").fetchall() == [(100,)]


def test_register_with_file_url_location(conn, schema, tmp_path):
    path = tmp_path / "ext_file_url"
    data = pa.table({"x": pa.array([5, 6], pa.int32())})
    write_deltalake(str(path), data)
    t = f"main.{schema}.fileurl"
    conn.execute(f"CREATE TABLE {t} LOCATION '{path.as_uri()}'")
    assert conn.execute(f"SELECT x FROM {t} ORDER BY x").fetchall() == [(5,), (6,)]
    assert file_url_to_path(location(conn, t)).rstrip("/") == str(path)


def test_schema_evolution_by_another_writer_is_followed(server, tmp_path):
    path = tmp_path / "evolving"
    write_deltalake(str(path), pa.table({"k": pa.array([1], pa.int64())}))
    schema = f"evo_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.t LOCATION '{path}'")
        conn.execute(f"COMMENT ON COLUMN {schema}.t.k IS 'the key'")
        # Another writer adds a column.
        write_deltalake(
            str(path),
            pa.table({"k": pa.array([2], pa.int64()), "label": pa.array(["two"])}),
            mode="append",
            schema_mode="merge",
        )
        rows = conn.execute(f"SELECT k, label FROM {schema}.t ORDER BY k").fetchall()
        assert rows == [(1, None), (2, "two")]
        described = conn.execute(f"DESCRIBE {schema}.t").fetchall()
        assert [(r[0], r[1], r[2]) for r in described] == [
            ("k", "bigint", "the key"),
            ("label", "string", None),
        ]


def test_update_and_delete_are_seen_by_deltalake(conn, schema):
    t = f"main.{schema}.changed"
    conn.execute(f"CREATE TABLE {t} (id BIGINT, region STRING, v DOUBLE) PARTITIONED BY (region)")
    values = ", ".join(f"({i}, '{['eu', 'us'][i % 2]}', {i}.0)" for i in range(1, 11))
    conn.execute(f"INSERT INTO {t} VALUES {values}")
    assert conn.execute(f"DELETE FROM {t} WHERE id IN (SELECT 2 UNION ALL SELECT 3)").rowcount == 2
    us_files = {f for f in DeltaTable(location(conn, t)).file_uris() if "region=us" in f}
    update = f"UPDATE {t} SET v = v * 10 WHERE region = 'eu'"
    assert conn.execute(update).rowcount == 4

    dtab = DeltaTable(location(conn, t))
    history = dtab.history()
    assert [h["operation"] for h in history[:2]] == ["UPDATE", "DELETE"]
    assert history[0]["userName"] == "admin"
    # The commit says what ran (for audit), and the update rewrote only the 'eu' partition.
    assert history[0]["weirStatement"] == update
    assert us_files == {f for f in dtab.file_uris() if "region=us" in f}
    expected = [
        (i, ["eu", "us"][i % 2], i * 10.0 if i % 2 == 0 else float(i))
        for i in range(1, 11) if i not in (2, 3)
    ]
    assert frame_rows(dtab.to_pandas(), ["id", "region", "v"], "id") == expected

    # And Weir reads what deltalake then deletes.
    dtab.delete("id = 10")
    assert conn.execute(f"SELECT count(*), max(id) FROM {t}").fetchone() == (7, 9)


def test_time_travel_and_restore_agree_with_deltalake(conn, schema):
    t = f"main.{schema}.versions"
    conn.execute(f"CREATE TABLE {t} (id BIGINT, v STRING)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    conn.execute(f"UPDATE {t} SET v = 'B' WHERE id = 2")
    loc = location(conn, t)
    for version in (1, 2):
        weir = conn.execute(f"SELECT id, v FROM {t} VERSION AS OF {version} ORDER BY id").fetchall()
        theirs = DeltaTable(loc, version=version).to_pandas().sort_values("id")
        assert weir == list(theirs.itertuples(index=False, name=None))

    conn.execute(f"RESTORE TABLE {t} TO VERSION AS OF 1")
    dtab = DeltaTable(loc)
    assert dtab.version() == 3
    assert dtab.history(1)[0]["operation"] == "RESTORE"
    assert sorted(dtab.to_pandas()["v"].tolist()) == ["a", "b"]
    # Weir's history lists what deltalake wrote after it.
    write_deltalake(loc, pd.DataFrame({"id": [3], "v": ["c"]}), mode="append")
    rows = conn.execute(f"DESCRIBE HISTORY {t} LIMIT 2").fetchall()
    assert [(r[0], r[4]) for r in rows] == [(4, "WRITE"), (3, "RESTORE")]


def test_optimize_and_vacuum_are_seen_by_deltalake(conn, schema):
    t = f"main.{schema}.maintained"
    conn.execute(f"CREATE TABLE {t} (id BIGINT, region STRING) PARTITIONED BY (region)")
    for i in range(4):
        conn.execute(f"INSERT INTO {t} VALUES ({i}, 'kr'), ({i + 10}, 'us')")
    loc = location(conn, t)
    before = len(DeltaTable(loc).file_uris())
    row = conn.execute(f"OPTIMIZE {t}").fetchone()
    assert (row[1], row[2]) == (2, before)
    conn.execute("SET spark.databricks.delta.retentionDurationCheck.enabled = false")
    deleted = conn.execute(f"VACUUM {t} RETAIN 0 HOURS").fetchone()[1]
    assert deleted == before

    dtab = DeltaTable(loc)
    assert len(dtab.file_uris()) == 2
    assert sorted(dtab.to_pandas()["id"].tolist()) == [0, 1, 2, 3, 10, 11, 12, 13]
    assert dtab.history(1)[0]["operation"].startswith("VACUUM")
    # Every file deltalake lists is on disk (vacuum removed only unreferenced ones).
    for uri in dtab.file_uris():
        assert Path(file_url_to_path(uri)).exists()


def test_merge_is_seen_by_deltalake(conn, schema):
    t = f"main.{schema}.merged"
    conn.execute(f"CREATE TABLE {t} (id BIGINT, day DATE, v DOUBLE) PARTITIONED BY (day)")
    conn.execute(f"INSERT INTO {t} VALUES (1, DATE '2025-01-01', 1.0), (2, DATE '2025-01-02', 2.0)")
    row = conn.execute(
        f"MERGE INTO {t} t USING (VALUES (2, DATE '2025-01-02', 20.0), (3, DATE '2025-01-03', 3.0)) "
        "AS s(id, day, v) ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT *"
    ).fetchone()
    assert row == (2, 1, 0, 1)
    dtab = DeltaTable(location(conn, t))
    assert dtab.history(1)[0]["operation"] == "MERGE"
    assert frame_rows(dtab.to_pandas(), ["id", "v"], "id") == [(1, 1.0), (2, 20.0), (3, 3.0)]

    # Weir reads a MERGE made by deltalake.
    source = pa.table({"id": [3, 4], "day": [dt.date(2025, 1, 3), dt.date(2025, 1, 4)], "v": [30.0, 4.0]})
    (
        dtab.merge(source, "t.id = s.id", source_alias="s", target_alias="t")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    assert conn.execute(f"SELECT id, v FROM {t} ORDER BY id").fetchall() == [
        (1, 1.0), (2, 20.0), (3, 30.0), (4, 4.0)
    ]


def test_change_feed_agrees_with_deltalake(conn, schema):
    t = f"main.{schema}.feed"
    conn.execute(
        f"CREATE TABLE {t} (id BIGINT, v STRING) TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')"
    )
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    conn.execute(f"UPDATE {t} SET v = 'B' WHERE id = 2")
    loc = location(conn, t)
    # deltalake writes a delete with the feed on; Weir reads its change rows.
    DeltaTable(loc).delete("id = 1")

    def norm_changes(rows):
        return sorted((int(i), v, c, int(ver)) for i, v, c, ver in rows)

    theirs = pa.table(DeltaTable(loc).load_cdf(starting_version=1).read_all()).to_pandas()
    weir = conn.execute(
        f"SELECT id, v, _change_type, _commit_version FROM table_changes('{t}', 1)"
    ).fetchall()
    assert norm_changes(weir) == norm_changes(
        theirs[["id", "v", "_change_type", "_commit_version"]].itertuples(index=False, name=None)
    )
    assert ("1", "a", "delete", "3") in {tuple(map(str, r)) for r in weir}


def test_schema_evolution_and_delete_pruning_agree_with_deltalake(conn, schema):
    t = f"main.{schema}.evolving"
    conn.execute(f"CREATE TABLE {t} (id BIGINT, region STRING) PARTITIONED BY (region)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'eu'), (2, 'us'), (3, 'kr')")
    loc = location(conn, t)
    before = set(DeltaTable(loc).file_uris())
    # DELETE in one partition rewrites or removes only that partition's file.
    conn.execute(f"DELETE FROM {t} WHERE region = 'kr'")
    after = set(DeltaTable(loc).file_uris())
    assert {f for f in before if "region=kr" not in f} == after

    conn.execute(
        f"MERGE WITH SCHEMA EVOLUTION INTO {t} t "
        "USING (VALUES (1, 'eu', 'gold'), (4, 'us', 'new')) AS s(id, region, tier) ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )
    dtab = DeltaTable(loc)
    assert "tier" in dtab.schema().to_arrow().names
    got = sorted(
        (int(r["id"]), r["region"], r["tier"] if isinstance(r["tier"], str) else None)
        for r in dtab.to_pandas().to_dict("records")
    )
    assert got == [(1, "eu", "gold"), (2, "us", None), (4, "us", "new")]
    # Weir's metastore follows the evolved schema.
    cols = [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'evolving' "
        "ORDER BY ordinal_position").fetchall()]
    assert cols == ["id", "region", "tier"]


def test_reads_prune_partitions(conn, schema):
    t = f"main.{schema}.pruned"
    conn.execute(f"CREATE TABLE {t} (id BIGINT, region STRING) PARTITIONED BY (region)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'kr'), (2, 'us'), (3, 'eu')")
    plan = "\n".join(r[1] for r in conn.execute(f"EXPLAIN SELECT * FROM {t} WHERE region = 'kr'").fetchall())
    # The scan lists only the files of the partition the predicate names.
    assert "region=kr/" in plan
    assert "region=us/" not in plan and "region=eu/" not in plan
    assert conn.execute(f"SELECT id FROM {t} WHERE region = 'kr'").fetchall() == [(1,)]

"""Weir with its warehouse on S3 (a moto S3 server on loopback)."""

from __future__ import annotations

import json
import threading

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from conftest import unique


def location(conn, table: str) -> str:
    cur = conn.execute(f"DESCRIBE DETAIL {table}")
    cols = [d.name for d in cur.description]
    return cur.fetchone()[cols.index("location")]


def split_s3(url: str) -> tuple[str, str]:
    assert url.startswith("s3://"), url
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key.rstrip("/")


def keys_under(s3, prefix: str) -> list[str]:
    out, token = [], None
    client = s3.client()
    while True:
        kw = {"Bucket": s3.bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        resp = client.list_objects_v2(**kw)
        out += [o["Key"] for o in resp.get("Contents", [])]
        if not resp.get("IsTruncated"):
            return out
        token = resp["NextContinuationToken"]


@pytest.fixture(scope="module")
def s3_server(s3, weir_bin, tmp_path_factory):
    from conftest import start_weir

    prefix = unique("wh")
    srv = start_weir(weir_bin, tmp_path_factory.mktemp("weir-s3") / "data",
                     s3.weir_args(prefix))
    srv.warehouse_prefix = prefix
    yield srv
    srv.stop()


@pytest.fixture
def s3conn(s3_server):
    c = s3_server.connect()
    yield c
    c.close()


def test_managed_table_on_s3(s3, s3_server, s3conn):
    sch = unique("s3s")
    t = f"main.{sch}.events"
    s3conn.execute(f"CREATE SCHEMA main.{sch}")
    s3conn.execute(f"CREATE TABLE {t} (id BIGINT NOT NULL, kind STRING, v DOUBLE) "
                   "PARTITIONED BY (kind)")
    rows = [(i, "click" if i % 2 else "view", i / 2) for i in range(1, 11)]
    s3conn.execute(f"INSERT INTO {t} VALUES " + ", ".join(["(%s, %s, %s)"] * len(rows)),
                   [x for r in rows for x in r])
    assert s3conn.execute(f"SELECT id, kind, v FROM {t} ORDER BY id").fetchall() == rows

    loc = location(s3conn, t)
    bucket, key = split_s3(loc)
    assert bucket == s3.bucket
    assert key.startswith(s3_server.warehouse_prefix + "/")

    # The Delta log and data files are real objects in the bucket.
    keys = keys_under(s3, key + "/")
    assert f"{key}/_delta_log/00000000000000000000.json" in keys
    assert f"{key}/_delta_log/00000000000000000001.json" in keys
    parquet = [k for k in keys if k.endswith(".parquet")]
    assert {k.split("kind=")[1].split("/")[0] for k in parquet} == {"click", "view"}
    commit0 = s3.client().get_object(
        Bucket=s3.bucket, Key=f"{key}/_delta_log/00000000000000000000.json")["Body"].read()
    actions = [json.loads(line) for line in commit0.decode().splitlines() if line.strip()]
    meta = next(a["metaData"] for a in actions if "metaData" in a)
    assert meta["partitionColumns"] == ["kind"]

    # delta-rs reads the same data straight from S3.
    dtab = DeltaTable(loc, storage_options=s3.storage_options())
    df = dtab.to_pandas().sort_values("id")
    assert list(zip(df["id"].tolist(), df["kind"].tolist(), df["v"].tolist())) == rows


def test_register_external_s3_table_written_by_deltalake(s3, s3_server, s3conn):
    sch = unique("s3x")
    s3conn.execute(f"CREATE SCHEMA main.{sch}")
    url = f"s3://{s3.bucket}/ext/{unique('tbl')}"
    first = pa.table({"k": pa.array([1, 2, 3], pa.int64()), "s": pa.array(["a", "b", None])})
    write_deltalake(url, first, storage_options=s3.storage_options())
    assert f"{split_s3(url)[1]}/_delta_log/00000000000000000000.json" in keys_under(
        s3, split_s3(url)[1] + "/")

    t = f"main.{sch}.ext"
    s3conn.execute(f"CREATE TABLE {t} LOCATION '{url}'")
    assert s3conn.execute(f"SELECT k, s FROM {t} ORDER BY k").fetchall() == [
        (1, "a"), (2, "b"), (3, None)]
    assert location(s3conn, t).rstrip("/") == url

    # Appends by another writer are seen on the next query.
    write_deltalake(url, pa.table({"k": pa.array([4], pa.int64()), "s": pa.array(["d"])}),
                    mode="append", storage_options=s3.storage_options())
    assert s3conn.execute(f"SELECT count(*), sum(k) FROM {t}").fetchone() == (4, 10)

    # Weir writes into it; delta-rs reads Weir's commit.
    s3conn.execute(f"INSERT INTO {t} VALUES (5, 'e')")
    df = DeltaTable(url, storage_options=s3.storage_options()).to_pandas().sort_values("k")
    assert df["k"].tolist() == [1, 2, 3, 4, 5]


def test_external_s3_location_for_new_table(s3, s3_server, s3conn):
    sch = unique("s3n")
    s3conn.execute(f"CREATE SCHEMA main.{sch}")
    url = f"s3://{s3.bucket}/ext/{unique('new')}"
    t = f"main.{sch}.newext"
    s3conn.execute(f"CREATE TABLE {t} (a INT, b STRING) LOCATION '{url}'")
    s3conn.execute(f"INSERT INTO {t} VALUES (1, 'x'), (2, 'y')")
    assert s3conn.execute(f"SELECT a, b FROM {t} ORDER BY a").fetchall() == [(1, "x"), (2, "y")]
    _, key = split_s3(url)
    assert f"{key}/_delta_log/00000000000000000000.json" in keys_under(s3, key + "/")
    df = DeltaTable(url, storage_options=s3.storage_options()).to_pandas().sort_values("a")
    assert df["b"].tolist() == ["x", "y"]


def assert_concurrent_inserts_land(server, conn, prefix: str) -> None:
    """Two connections INSERT into one table at once; every row of both lands."""
    sch = unique(prefix)
    t = f"main.{sch}.conc"
    conn.execute(f"CREATE SCHEMA main.{sch}")
    conn.execute(f"CREATE TABLE {t} (writer INT, n INT)")
    per_writer = 5
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def writer(w: int) -> None:
        try:
            with server.connect() as c:
                barrier.wait(timeout=30)
                for i in range(per_writer):
                    c.execute(f"INSERT INTO {t} VALUES (%s, %s)", (w, i))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in (1, 2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads), "an INSERT hung"
    assert not errors, errors
    got = conn.execute(f"SELECT writer, count(*) FROM {t} GROUP BY writer ORDER BY writer")
    assert got.fetchall() == [(1, per_writer), (2, per_writer)]


def test_concurrent_inserts_from_two_connections(s3_server, s3conn):
    assert_concurrent_inserts_land(s3_server, s3conn, "s3c")


def test_concurrent_inserts_on_local_warehouse(server):
    with server.connect() as c:
        assert_concurrent_inserts_land(server, c, "lc")

"""COPY INTO through real clients: CSV files whose columns drift, gzip, JSON and Parquet;
idempotent reruns and force; every bad input refused with its SQLSTATE and nothing written;
governance; the same statement over Flight SQL (ADBC); files on S3 (moto)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import deltalake
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def drop(tmp_path) -> Path:
    """A partner drop: columns reordered, missing and gzip'd; a hidden file; a subfolder."""
    d = tmp_path / "drop"
    _write(d / "day1.csv", "id,name,price\n1,apple,1.50\n2,pear,\n")
    _write(d / "day2.csv.gz", "name,id\nplum,3\n")
    _write(d / "nested" / "day3.csv", "price,id,name\n4.25,4,fig\n")
    _write(d / "_SUCCESS", "")
    _write(d / ".day9.csv.crc", "junk")
    return d


def _copy(conn, table: str, source, extra: str = "") -> tuple:
    return conn.execute(
        f"COPY INTO {table} FROM '{source}' FILEFORMAT = CSV "
        f"FORMAT_OPTIONS ('header' = 'true') {extra}").fetchone()


def _version(conn, table: str) -> int:
    return conn.execute(f"DESCRIBE HISTORY {table} LIMIT 1").fetchone()[0]


def test_csv_files_load_by_column_name_once(conn, uniq, drop):
    t = f"main.default.{uniq('fruit')}"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING, price DECIMAL(6, 2))")
    assert _copy(conn, t, drop) == (4, 4, 3, 0)
    assert conn.execute(f"SELECT id, name, CAST(price AS STRING) FROM {t} ORDER BY id"
                        ).fetchall() == [(1, "apple", "1.50"), (2, "pear", None),
                                         (3, "plum", None), (4, "fig", "4.25")]
    # One commit for the whole COPY, recorded as COPY INTO.
    cur = conn.execute(f"DESCRIBE DETAIL {t}")
    location = dict(zip([d.name for d in cur.description], cur.fetchone()))["location"]
    [last] = deltalake.DeltaTable(location).history(1)
    assert (last["version"], last["weirOperation"]) == (1, "COPY INTO")
    # A rerun loads nothing; a new file only itself; a changed file again.
    assert _copy(conn, t, drop) == (0, 0, 0, 3)
    _write(drop / "day4.csv", "id,name\n5,kiwi\n")
    assert _copy(conn, t, drop) == (1, 1, 1, 3)
    _write(drop / "day1.csv", "id,name,price\n1,apple,1.75\n")
    os.utime(drop / "day1.csv", (1_800_000_000, 1_800_000_000))
    assert _copy(conn, t, drop) == (1, 1, 1, 3)
    # force loads everything again.
    assert _copy(conn, t, drop, "COPY_OPTIONS ('force' = 'true')") == (4, 4, 4, 0)
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (10,)


def test_files_and_pattern_choose_files(conn, uniq, drop):
    t = f"main.default.{uniq('fruit')}"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING, price DOUBLE)")
    # `*` does not cross folders.
    assert _copy(conn, t, drop, "PATTERN = '*.csv*'")[2:] == (2, 0)
    assert _copy(conn, t, drop, "PATTERN = 'nested/*.csv'")[2:] == (1, 0)
    u = f"main.default.{uniq('fruit')}"
    conn.execute(f"CREATE TABLE {u} (id INT, name STRING, price DOUBLE)")
    assert _copy(conn, u, drop, "FILES = ('day2.csv.gz', 'nested/day3.csv')")[:3] == (2, 2, 2)
    assert conn.execute(f"SELECT id FROM {u} ORDER BY id").fetchall() == [(3,), (4,)]
    with pytest.raises(psycopg.errors.lookup("58P01")):
        _copy(conn, u, drop, "FILES = ('nope.csv')")


def test_json_and_parquet(conn, uniq, tmp_path):
    t = f"main.default.{uniq('ev')}"
    conn.execute(f"CREATE TABLE {t} (id BIGINT, kind STRING, amount DOUBLE)")
    _write(tmp_path / "j" / "a.json",
           '{"id": 1, "kind": "click"}\n{"kind": "view", "amount": 2.5, "id": 2}\n')
    _write(tmp_path / "j" / "b.json.gz", '{"id": 3, "kind": "buy", "amount": 9.0}\n')
    assert conn.execute(f"COPY INTO {t} FROM '{tmp_path / 'j'}' FILEFORMAT = JSON"
                        ).fetchone() == (3, 3, 2, 0)
    (tmp_path / "p").mkdir()
    pq.write_table(pa.table({"amount": [1.0], "id": pa.array([4], pa.int64())}),
                   tmp_path / "p" / "one.parquet")
    pq.write_table(pa.table({"id": pa.array([5], pa.int64()), "kind": ["refund"]}),
                   tmp_path / "p" / "two.parquet")
    assert conn.execute(f"COPY INTO {t} FROM '{tmp_path / 'p'}' FILEFORMAT = PARQUET"
                        ).fetchone() == (2, 2, 2, 0)
    assert conn.execute(f"SELECT id, kind, amount FROM {t} ORDER BY id").fetchall() == [
        (1, "click", None), (2, "view", 2.5), (3, "buy", 9.0), (4, None, 1.0),
        (5, "refund", None)]


def test_bad_input_is_refused_and_nothing_is_written(conn, uniq, tmp_path):
    t = f"main.default.{uniq('strict')}"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING)")
    _write(tmp_path / "ok" / "a.csv", "id,name\n1,a\n")
    _copy(conn, t, tmp_path / "ok")
    before = _version(conn, t)
    _write(tmp_path / "bad" / "a.csv", "id,name\n2,b\n")
    _write(tmp_path / "bad" / "b.csv", "id,name\nnot-a-number,c\n")
    with pytest.raises(psycopg.errors.DataException):
        _copy(conn, t, tmp_path / "bad")
    _write(tmp_path / "extra" / "a.csv", "id,name,colour\n3,c,red\n")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        _copy(conn, t, tmp_path / "extra")
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        _copy(conn, t, tmp_path / "ok", "COPY_OPTIONS ('forse' = 'true')")
    with pytest.raises(psycopg.errors.UndefinedTable):
        _copy(conn, f"main.default.{uniq('missing')}", tmp_path / "ok")
    assert _version(conn, t) == before
    assert conn.execute(f"SELECT id, name FROM {t}").fetchall() == [(1, "a")]
    # The failed files were not recorded as loaded: fixed, they load.
    _write(tmp_path / "bad" / "b.csv", "id,name\n4,d\n")
    assert _copy(conn, t, tmp_path / "bad")[:3] == (2, 2, 2)


def test_governance(server, conn, uniq, tmp_path):
    t = f"main.default.{uniq('gov')}"
    user = uniq("loader")
    conn.execute(f"CREATE TABLE {t} (id INT)")
    conn.execute(f"CREATE USER {user} PASSWORD '{user}-pw'")
    conn.execute(f"GRANT USE CATALOG ON CATALOG main TO {user}")
    conn.execute(f"GRANT USE SCHEMA ON SCHEMA main.default TO {user}")
    _write(tmp_path / "d" / "a.csv", "id\n1\n")
    with server.connect(user=user, password=f"{user}-pw") as u:
        # Without MODIFY, and with it but no external location holding the files.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _copy(u, t, tmp_path / "d")
        conn.execute(f"GRANT MODIFY ON TABLE {t} TO {user}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            _copy(u, t, tmp_path / "d")
        assert "needs READ FILES on an external location" in str(err.value)
        assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (0,)

        # An admin registers the directory and grants READ FILES on it: the user loads from it,
        # and from nowhere else (a sibling, or a path leaving it through '..').
        loc = uniq("drop_loc")
        conn.execute(f"CREATE EXTERNAL LOCATION {loc} URL '{tmp_path / 'd'}'")
        try:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _copy(u, t, tmp_path / "d")
            conn.execute(f"GRANT READ FILES ON EXTERNAL LOCATION {loc} TO {user}")
            _copy(u, t, tmp_path / "d")
            assert conn.execute(f"SELECT id FROM {t}").fetchall() == [(1,)]
            _write(tmp_path / "d2" / "b.csv", "id\n2\n")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _copy(u, t, tmp_path / "d2")
            with pytest.raises(psycopg.errors.InvalidParameterValue) as err:
                u.execute(
                    f"COPY INTO {t} FROM '{tmp_path / 'd'}/../d2' FILEFORMAT = CSV "
                    "FORMAT_OPTIONS ('header' = 'true')"
                )
            assert "'..' segment" in str(err.value)
            conn.execute(f"REVOKE READ FILES ON EXTERNAL LOCATION {loc} FROM {user}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _copy(u, t, tmp_path / "d", "COPY_OPTIONS ('force' = 'true')")
        finally:
            conn.execute(f"DROP EXTERNAL LOCATION {loc}")
    assert conn.execute(f"SELECT id FROM {t}").fetchall() == [(1,)]


def test_infer_schema_changes_no_value_of_a_table_column(conn, uniq, tmp_path):
    """inferSchema types the columns the table lacks (mergeSchema); the table's own columns
    are cast from the text of the file, so a code with leading zeros stays as written."""
    t = f"main.default.{uniq('codes')}"
    conn.execute(f"CREATE TABLE {t} (code STRING, qty INT)")
    _write(tmp_path / "d" / "a.csv", "code,qty,price\n01234,007,2.50\n00,1,3\n")
    assert conn.execute(
        f"COPY INTO {t} FROM '{tmp_path / 'd'}' FILEFORMAT = CSV "
        "FORMAT_OPTIONS ('header' = 'true', 'inferSchema' = 'true') "
        "COPY_OPTIONS ('mergeSchema' = 'true')").fetchone() == (2, 2, 1, 0)
    assert conn.execute(f"SELECT code, qty, price FROM {t} ORDER BY code").fetchall() == [
        ("00", 1, 3.0), ("01234", 7, 2.5)]
    types = {r[0]: r[1] for r in conn.execute(f"DESCRIBE {t}").fetchall()}
    assert types == {"code": "string", "qty": "int", "price": "double"}


def test_copy_into_over_flight(server, uniq, drop):
    t = f"main.default.{uniq('fl')}"
    with server.connect() as c:
        c.execute(f"CREATE TABLE {t} (id INT, name STRING, price DOUBLE)")
    conn = server.adbc()
    try:
        with conn.cursor() as cur:
            cur.execute(f"COPY INTO {t} FROM '{drop}' FILEFORMAT = CSV "
                        "FORMAT_OPTIONS ('header' = 'true')")
            assert cur.fetchall() == [(4, 4, 3, 0)]
            cur.execute(f"SELECT count(*) FROM {t}")
            assert cur.fetchall() == [(4,)]
    finally:
        conn.close()


def test_copy_into_from_s3(s3, server_factory, uniq, tmp_path):
    srv = server_factory(extra_args=s3.weir_args(uniq("wh")))
    client = s3.client()
    prefix = uniq("drop")
    client.put_object(Bucket=s3.bucket, Key=f"{prefix}/a.csv", Body=b"id,name\n1,a\n")
    client.put_object(Bucket=s3.bucket, Key=f"{prefix}/b.csv.gz",
                      Body=gzip.compress(b"name,id\nb,2\n"))
    with srv.connect() as c:
        c.execute("CREATE TABLE main.default.s3copy (id INT, name STRING)")
        source = f"s3://{s3.bucket}/{prefix}/"
        assert _copy(c, "main.default.s3copy", source) == (2, 2, 2, 0)
        assert _copy(c, "main.default.s3copy", source) == (0, 0, 0, 2)
        # Hadoop's s3a:// spelling names the same objects: nothing new to load.
        assert _copy(c, "main.default.s3copy", f"s3a://{s3.bucket}/{prefix}/") == (0, 0, 0, 2)
        assert c.execute("SELECT id, name FROM main.default.s3copy ORDER BY id").fetchall() == [
            (1, "a"), (2, "b")]


def test_lineage_names_the_location(conn, uniq, drop):
    """Table lineage of a COPY INTO: the location (PATH) to the table, once per COPY."""
    t = f"main.default.{uniq('lin')}"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING, price DOUBLE)")
    _copy(conn, t, drop)
    assert conn.execute(
        "SELECT source_type, source_path, source_table_full_name, target_type "
        "FROM system.access.table_lineage WHERE target_table_full_name = %s",
        (t,)).fetchall() == [("PATH", drop.as_uri() + "/", None, "TABLE")]


def test_a_location_with_a_space_loads(conn, uniq, tmp_path):
    t = f"main.default.{uniq('sp')}"
    conn.execute(f"CREATE TABLE {t} (id INT)")
    _write(tmp_path / "my drop" / "a b.csv", "id\n7\n")
    assert _copy(conn, t, tmp_path / "my drop") == (1, 1, 1, 0)
    assert _copy(conn, t, tmp_path / "my drop", "FILES = ('a b.csv')") == (0, 0, 0, 1)


def test_merge_schema_adds_the_files_new_columns(conn, uniq, tmp_path):
    """mergeSchema: columns of the files the table lacks join it in the COPY's own commit (in
    the order the files have them, NULL for older rows and files without them); the owner's
    or a MANAGE holder's call."""
    t = f"main.default.{uniq('grow')}"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING)")
    _write(tmp_path / "d" / "a.csv", "id,name\n1,a\n")
    _write(tmp_path / "d" / "b.csv", "id,name,colour\n2,b,red\n")
    _write(tmp_path / "d" / "c.csv", "size,id,colour\nL,3,blue\n")
    before = _version(conn, t)
    assert _copy(conn, t, tmp_path / "d", "COPY_OPTIONS ('mergeSchema' = 'true')") == (3, 3, 3, 0)
    assert _version(conn, t) == before + 1
    assert [r[0:2] for r in conn.execute(f"DESCRIBE TABLE {t}").fetchall()] == [
        ("id", "int"), ("name", "string"), ("colour", "string"), ("size", "string")]
    assert conn.execute(f"SELECT id, name, colour, size FROM {t} ORDER BY id").fetchall() == [
        (1, "a", None, None), (2, "b", "red", None), (3, None, "blue", "L")]


def test_a_select_over_the_files_picks_and_computes_columns(conn, uniq, tmp_path):
    """COPY INTO t FROM (SELECT ... FROM 'location'): expressions over each file's columns
    (named as its header names them, any case), matched to the table by name; headerless
    files' columns are _c0, _c1, ..."""
    t = f"main.default.{uniq('sel')}"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING, price DOUBLE, note STRING)")
    _write(tmp_path / "d" / "a.csv", "ID,Name,Price\n1,apple,1.50\n")
    _write(tmp_path / "d" / "b.csv.gz", "price,id,name\n2.25,2,pear\n")
    loaded = conn.execute(
        f"COPY INTO {t} FROM (SELECT id, upper(name) AS name, CAST(price AS DOUBLE) * 2 AS price, "
        f"'from ' || 'partner' AS note FROM '{tmp_path / 'd'}') FILEFORMAT = CSV "
        "FORMAT_OPTIONS ('header' = 'true')").fetchone()
    assert loaded == (2, 2, 2, 0)
    assert conn.execute(f"SELECT id, name, price, note FROM {t} ORDER BY id").fetchall() == [
        (1, "APPLE", 3.0, "from partner"), (2, "PEAR", 4.5, "from partner")]
    _write(tmp_path / "h" / "c.csv", "3,fig,9\n")
    loaded = conn.execute(
        f"COPY INTO {t} FROM (SELECT _c0 AS id, _c1 AS name FROM '{tmp_path / 'h'}') "
        "FILEFORMAT = CSV").fetchone()
    assert loaded == (1, 1, 1, 0)
    assert conn.execute(f"SELECT id, name, price FROM {t} WHERE id = 3").fetchall() == [
        (3, "fig", None)]
    # A column the files do not have is an error naming it; nothing is written.
    with pytest.raises(psycopg.errors.UndefinedColumn):
        conn.execute(f"COPY INTO {t} FROM (SELECT colour AS note FROM '{tmp_path / 'd'}') "
                     "FILEFORMAT = CSV FORMAT_OPTIONS ('header' = 'true') "
                     "COPY_OPTIONS ('force' = 'true')")
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (3,)


def test_odd_file_names_and_late_json_keys_load(conn, uniq, tmp_path):
    """Names holding '#', '?' or '%' name their own files (not another key, not zero rows);
    a JSON key first seen after a thousand records is a column like the others."""
    t = f"main.default.{uniq('odd')}"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING)")
    _write(tmp_path / "o" / "a#1.csv", "id,name\n1,hash\n")
    _write(tmp_path / "o" / "b?2.csv", "id,name\n2,question\n")
    _write(tmp_path / "o" / "c%203.csv", "id,name\n3,percent\n")
    assert _copy(conn, t, tmp_path / "o") == (3, 3, 3, 0)
    assert conn.execute(f"SELECT id, name FROM {t} ORDER BY id").fetchall() == [
        (1, "hash"), (2, "question"), (3, "percent")]
    assert _copy(conn, t, tmp_path / "o") == (0, 0, 0, 3)

    j = f"main.default.{uniq('late')}"
    conn.execute(f"CREATE TABLE {j} (id INT, late STRING)")
    lines = [f'{{"id": {i}}}' for i in range(1, 1201)] + ['{"id": 1201, "late": "here"}']
    _write(tmp_path / "j" / "events.json", "\n".join(lines) + "\n")
    assert conn.execute(f"COPY INTO {j} FROM '{tmp_path / 'j'}' FILEFORMAT = JSON"
                        ).fetchone() == (1201, 1201, 1, 0)
    assert conn.execute(f"SELECT id, late FROM {j} WHERE late IS NOT NULL").fetchall() == [
        (1201, "here")]

"""Flight SQL through ADBC (`adbc_driver_flightsql`), what data scientists use from notebooks:
DB-API queries with parameters, Arrow results, metadata, bulk ingest, session options, errors.
The Postgres front sees the same namespace and data."""

from __future__ import annotations

import datetime as dt
import decimal

import adbc_driver_manager
import pandas as pd
import pyarrow as pa
import pytest


@pytest.fixture
def adbc(server):
    conn = server.adbc()
    yield conn
    conn.close()


def test_queries_with_parameters_return_arrow(adbc, conn, fresh_schema):
    t = f"{fresh_schema}.people"
    with adbc.cursor() as cur:
        cur.execute(f"CREATE TABLE {t} (id INT, name STRING, score DOUBLE)")
        cur.executemany(f"INSERT INTO {t} VALUES (?, ?, ?)", [(1, "ann", 1.5), (2, "bo", None), (3, "cy", 3.0)])
        assert cur.rowcount == 3

        cur.execute(f"SELECT name, score FROM {t} WHERE id >= ? ORDER BY id", (2,))
        table = cur.fetch_arrow_table()
        assert table.schema.names == ["name", "score"]
        assert table.to_pylist() == [{"name": "bo", "score": None}, {"name": "cy", "score": 3.0}]

        cur.execute(f"SELECT * FROM {t} WHERE name = ?", ("ann",))
        assert cur.fetchall() == [(1, "ann", 1.5)]

        cur.execute(f"SELECT id FROM {t} ORDER BY id")
        df = cur.fetch_df()
        assert list(df["id"]) == [1, 2, 3]

    # Written through Flight, read through Postgres.
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 3


def test_result_columns_may_share_a_name(adbc):
    # As in Databricks SQL: the schema repeats the name; a prepared (parameterised) query too.
    with adbc.cursor() as cur:
        cur.execute("SELECT a, a, 2 AS a FROM (VALUES (1)) AS t(a)")
        table = cur.fetch_arrow_table()
        assert table.schema.names == ["a", "a", "a"]
        assert [c.to_pylist() for c in table.columns] == [[1], [1], [2]]
        cur.execute("SELECT ? AS x, ? AS x", (1, 2))
        table = cur.fetch_arrow_table()
        assert table.schema.names == ["x", "x"]
        assert [c.to_pylist() for c in table.columns] == [[1], [2]]


def test_execute_update_reports_affected_rows(adbc, fresh_schema):
    t = f"{fresh_schema}.counts"
    with adbc.cursor() as cur:
        stmt = cur.adbc_statement
        stmt.set_sql_query(f"CREATE TABLE {t} AS SELECT value AS n FROM generate_series(1, 5)")
        assert stmt.execute_update() == 5
        stmt.set_sql_query(f"INSERT INTO {t} VALUES (6), (7)")
        assert stmt.execute_update() == 2


def test_results_stream_in_batches(adbc):
    with adbc.cursor() as cur:
        cur.execute("SELECT value FROM generate_series(1, 2000000) AS g(value)")
        reader = cur.fetch_record_batch()
        batches = rows = 0
        total = 0
        for batch in reader:
            batches += 1
            rows += batch.num_rows
            total += pa.compute.sum(batch.column(0)).as_py()
        assert rows == 2_000_000
        assert total == 2_000_000 * 2_000_001 // 2
        assert batches > 1


def test_arrow_types_round_trip(adbc):
    with adbc.cursor() as cur:
        cur.execute(
            "SELECT CAST(12.34 AS DECIMAL(10, 2)) AS dec, "
            "arrow_cast(TIMESTAMP '2025-03-18 10:00:00', 'Timestamp(Microsecond, Some(\"UTC\"))') AS ts, "
            "[1, 2] AS list, named_struct('a', 1, 'b', 'x') AS st"
        )
        t = cur.fetch_arrow_table()
    assert t.schema.field("dec").type == pa.decimal128(10, 2)
    assert t.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert t.column("dec")[0].as_py() == decimal.Decimal("12.34")
    assert t.column("ts")[0].as_py() == dt.datetime(2025, 3, 18, 10, tzinfo=dt.timezone.utc)
    assert t.column("list")[0].as_py() == [1, 2]
    assert t.column("st")[0].as_py() == {"a": 1, "b": "x"}


def test_ingest_modes_from_pandas(adbc, conn, uniq):
    catalog = uniq("lake")
    conn.execute(f"CREATE CATALOG {catalog}")
    conn.execute(f"CREATE SCHEMA {catalog}.bronze")
    df = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "city": ["Seoul", "Busan", None],
            "amount": [10.5, 20.25, 30.0],
            "seen": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True),
        }
    )
    where = {"catalog_name": catalog, "db_schema_name": "bronze"}
    with adbc.cursor() as cur:
        assert cur.adbc_ingest("visits", df, mode="create", **where) == 3
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_ingest("visits", df, mode="create", **where)
        assert "already exists" in str(err.value)
        assert cur.adbc_ingest("visits", df, mode="append", **where) == 3
        assert cur.adbc_ingest("visits", df, mode="create_append", **where) == 3
        assert cur.adbc_ingest("fresh", df, mode="create_append", **where) == 3
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_ingest("missing", df, mode="append", **where)
        assert err.value.status_code == adbc_driver_manager.AdbcStatusCode.NOT_FOUND

    rows = conn.execute(
        f"SELECT city, count(*), sum(amount) FROM {catalog}.bronze.visits GROUP BY city ORDER BY city"
    ).fetchall()
    # Databricks SQL sorts NULLs first ascending.
    assert rows == [(None, 3, 90.0), ("Busan", 3, 60.75), ("Seoul", 3, 31.5)]
    seen = conn.execute(f"SELECT min(seen) FROM {catalog}.bronze.visits").fetchone()[0]
    assert seen == dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

    # replace swaps schema and data.
    with adbc.cursor() as cur:
        assert cur.adbc_ingest("visits", pd.DataFrame({"only": ["x"]}), mode="replace", **where) == 1
        cur.execute(f"SELECT * FROM {catalog}.bronze.visits")
        assert cur.fetchall() == [("x",)]


def test_metadata_for_notebooks_and_bi_tools(adbc, conn, uniq):
    catalog = uniq("meta")
    conn.execute(f"CREATE CATALOG {catalog}")
    conn.execute(f"CREATE SCHEMA {catalog}.gold")
    conn.execute(
        f"CREATE TABLE {catalog}.gold.revenue (day DATE COMMENT 'booking day', total DECIMAL(18, 2))"
    )
    conn.execute(f"CREATE VIEW {catalog}.gold.recent AS SELECT * FROM {catalog}.gold.revenue")

    objects = adbc.adbc_get_objects(catalog_filter=catalog).read_all().to_pylist()
    assert [o["catalog_name"] for o in objects] == [catalog]
    schemas = {s["db_schema_name"]: s for s in objects[0]["catalog_db_schemas"]}
    assert set(schemas) == {"default", "gold"}
    tables = {t["table_name"]: t for t in schemas["gold"]["db_schema_tables"]}
    assert {n: t["table_type"] for n, t in tables.items()} == {"revenue": "TABLE", "recent": "VIEW"}
    columns = tables["revenue"]["table_columns"]
    assert [c["column_name"] for c in columns] == ["day", "total"]
    assert columns[1]["xdbc_type_name"] == "decimal(18,2)"

    only_tables = adbc.adbc_get_objects(
        depth="tables", catalog_filter=catalog, table_types_filter=["VIEW"]
    ).read_all().to_pylist()
    names = [t["table_name"] for s in only_tables[0]["catalog_db_schemas"] for t in s["db_schema_tables"] or []]
    assert names == ["recent"]

    schema = adbc.adbc_get_table_schema("revenue", catalog_filter=catalog, db_schema_filter="gold")
    assert schema.names == ["day", "total"]
    assert schema.field("total").type == pa.decimal128(18, 2)
    assert adbc.adbc_get_table_types() == ["TABLE", "VIEW"]
    info = adbc.adbc_get_info()
    assert info["vendor_name"] == "Weir"


def test_current_catalog_and_schema_are_session_options(server, conn, uniq):
    catalog = uniq("cur")
    conn.execute(f"CREATE CATALOG {catalog}")
    conn.execute(f"CREATE SCHEMA {catalog}.silver")
    conn.execute(f"CREATE TABLE {catalog}.silver.t (x INT)")
    conn.execute(f"INSERT INTO {catalog}.silver.t VALUES (7)")
    with server.adbc() as adbc:
        assert adbc.adbc_current_catalog == "main"
        adbc.adbc_connection.set_options(**{"adbc.connection.catalog": catalog})
        adbc.adbc_connection.set_options(**{"adbc.connection.db_schema": "silver"})
        assert (adbc.adbc_current_catalog, adbc.adbc_current_db_schema) == (catalog, "silver")
        with adbc.cursor() as cur:
            cur.execute("SELECT x, current_catalog(), current_schema() FROM t")
            assert cur.fetchall() == [(7, catalog, "silver")]
        with pytest.raises(adbc_driver_manager.Error):
            adbc.adbc_connection.set_options(**{"adbc.connection.catalog": "no_such_catalog"})
        assert adbc.adbc_current_catalog == catalog
    # Another connection has its own session.
    with server.adbc() as other:
        assert other.adbc_current_catalog == "main"


def test_errors_map_to_status_codes(adbc, server):
    Status = adbc_driver_manager.AdbcStatusCode
    with adbc.cursor() as cur:
        for sql, code, text in [
            ("SELECT * FROM main.default.nope", Status.NOT_FOUND, "nope"),
            ("SELEC 1", Status.INVALID_ARGUMENT, "syntax"),
            ("CREATE SCHEMA main.default", Status.ALREADY_EXISTS, "already exists"),
        ]:
            with pytest.raises(adbc_driver_manager.Error) as err:
                cur.execute(sql)
            assert err.value.status_code == code, (sql, err.value)
            assert text in str(err.value)
        # The connection is still usable.
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    with pytest.raises(adbc_driver_manager.Error) as err:
        server.adbc(password="wrong")
    assert err.value.status_code == Status.UNAUTHENTICATED


def test_the_notebook_example_runs(server):
    """examples/notebook.py against a live server, as a user would run it."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {
        **os.environ,
        "WEIR_FLIGHT_URI": server.flight_uri(),
        "WEIR_PG_URL": f"postgresql://{server.user}@{server.host}:{server.port}/main",
        "WEIR_PASSWORD": server.password,
    }
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "notebook.py")],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "wrote 3 rows" in out.stdout
    assert "psql: Busan|50000.0; Jeju|40000.0; Seoul|60000.0" in out.stdout


def test_the_system_catalog_is_listed_to_those_who_may_use_it(server_factory):
    srv = server_factory()
    with srv.adbc() as admin:
        objects = admin.adbc_get_objects(catalog_filter="system").read_all().to_pylist()
        [system] = objects
        assert [s["db_schema_name"] for s in system["catalog_db_schemas"]] == ["access"]
        tables = {t["table_name"]: t for t in system["catalog_db_schemas"][0]["db_schema_tables"]}
        assert sorted(tables) == ["audit", "column_lineage", "openlineage_sinks", "table_lineage"]
        columns = tables["openlineage_sinks"]["table_columns"]
        assert [c["column_name"] for c in columns][:3] == ["sink", "target", "queued"]
    with srv.connect() as c:
        c.execute("CREATE USER dora PASSWORD 'doras-secret'")
    with srv.adbc(user="dora", password="doras-secret") as dora:
        # Without a grant in it, `system` is not listed.
        catalogs = [o["catalog_name"] for o in
                    dora.adbc_get_objects(depth="catalogs").read_all().to_pylist()]
        assert catalogs == []
    with srv.connect() as c:
        c.execute("GRANT USE CATALOG ON CATALOG system TO dora")
        c.execute("GRANT USE SCHEMA ON SCHEMA system.access TO dora")
        c.execute("GRANT SELECT ON TABLE system.access.table_lineage TO dora")
    with srv.adbc(user="dora", password="doras-secret") as dora:
        [system] = dora.adbc_get_objects(catalog_filter="system").read_all().to_pylist()
        names = [t["table_name"] for s in system["catalog_db_schemas"]
                 for t in s["db_schema_tables"]]
        assert names == ["table_lineage"]
        with dora.cursor() as cur:
            cur.execute("SELECT count(*) FROM system.access.table_lineage")
            assert cur.fetchone() == (0,)

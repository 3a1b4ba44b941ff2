"""What DROP does to data: managed tables lose their files, external tables keep them."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlparse

import deltalake


def _location(conn, schema: str, table: str) -> Path:
    loc = conn.execute(
        "SELECT storage_path FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchone()[0]
    return Path(urlparse(loc).path)


def test_drop_managed_removes_data_and_drop_external_keeps_it(server, tmp_path):
    schema = f"life_{uuid.uuid4().hex[:8]}"
    ext = tmp_path / "external_orders"
    with server.connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.managed (id BIGINT)")
        conn.execute(f"INSERT INTO {schema}.managed VALUES (1), (2)")
        managed = _location(conn, schema, "managed")
        assert (managed / "_delta_log").is_dir()

        conn.execute(f"CREATE TABLE {schema}.ext (id BIGINT) LOCATION '{ext}'")
        conn.execute(f"INSERT INTO {schema}.ext VALUES (7)")

        conn.execute(f"DROP TABLE {schema}.managed")
        conn.execute(f"DROP TABLE {schema}.ext")
        assert not managed.exists()
        # The external table's data is intact and readable by any Delta reader.
        assert deltalake.DeltaTable(str(ext)).to_pandas()["id"].tolist() == [7]

        # ... and can be registered again, with its rows.
        conn.execute(f"CREATE TABLE {schema}.ext_again LOCATION '{ext}'")
        assert conn.execute(f"SELECT id FROM {schema}.ext_again").fetchall() == [(7,)]


def test_drop_schema_cascade_removes_managed_data(server):
    schema = f"casc_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.a AS SELECT 1 AS x")
        conn.execute(f"CREATE VIEW {schema}.v AS SELECT x FROM {schema}.a")
        loc = _location(conn, schema, "a")
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        assert not loc.exists()
        assert conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchone()[0] == 0

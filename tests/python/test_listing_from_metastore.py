"""Listings are served from the metastore: they never open a Delta log.

The proof: after the tables' data directories are removed behind Weir's back, every listing
still answers, while reading a table's rows fails.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from urllib.parse import urlparse

import psycopg
import pytest


def test_listings_do_not_open_delta_logs(server):
    schema = f"lst_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        locations = []
        for i in range(5):
            conn.execute(f"CREATE TABLE {schema}.t{i} (id BIGINT COMMENT 'k{i}', v STRING)")
            conn.execute(f"INSERT INTO {schema}.t{i} VALUES ({i}, 'x')")
            loc = conn.execute(
                "SELECT storage_path FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (schema, f"t{i}"),
            ).fetchone()[0]
            locations.append(urlparse(loc).path)
        for path in locations:
            shutil.rmtree(path)

        tables = [r[1] for r in conn.execute(f"SHOW TABLES IN {schema}").fetchall()]
        assert tables == [f"t{i}" for i in range(5)]
        cols = conn.execute(
            "SELECT table_name, column_name, comment FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (schema,),
        ).fetchall()
        assert len(cols) == 10 and cols[0] == ("t0", "id", "k0")
        described = conn.execute(f"DESCRIBE {schema}.t3").fetchall()
        assert [r[0] for r in described] == ["id", "v"]

        with pytest.raises(psycopg.Error):
            conn.execute(f"SELECT * FROM {schema}.t0").fetchall()

    psql = subprocess.run(
        ["psql", f"postgresql://admin@{server.host}:{server.port}/main", "-c", f"\\dt {schema}.*"],
        env={"PGPASSWORD": server.password, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert psql.returncode == 0, psql.stderr
    for i in range(5):
        assert f" t{i} " in psql.stdout

"""system.access.table_lineage: what each statement read and wrote, taken from its resolved plan,
for a bronze -> silver -> gold pipeline run over psycopg and ADBC."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest

LINEAGE = ("SELECT l.source_table_full_name, l.source_type, l.target_table_full_name, "
           "l.target_type, l.created_by, a.statement_text "
           "FROM system.access.table_lineage l JOIN system.access.audit a "
           "ON l.statement_id = a.statement_id")

PIPELINE = [
    "CREATE SCHEMA lake",
    "CREATE TABLE lake.bronze (id INT, city STRING, amount INT)",
    "INSERT INTO lake.bronze VALUES (1, 'Seoul', 10), (2, 'Busan', 20)",
    "CREATE TABLE lake.silver AS SELECT id, upper(city) AS city, amount FROM lake.bronze "
    "WHERE amount > 0",
    "CREATE TABLE lake.dim (city STRING, region STRING)",
    "INSERT INTO lake.dim VALUES ('SEOUL', 'north')",
    "CREATE TABLE lake.gold (region STRING, total BIGINT)",
    "INSERT INTO lake.gold SELECT d.region, sum(s.amount) FROM lake.silver s "
    "JOIN lake.dim d ON s.city = d.city GROUP BY d.region",
    "CREATE VIEW lake.gold_v AS SELECT * FROM lake.gold",
    "MERGE INTO lake.silver t USING lake.bronze s ON t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET amount = s.amount",
    "UPDATE lake.gold SET total = 0 WHERE region IN (SELECT region FROM lake.dim)",
]


def test_pipeline_lineage_over_postgres_and_flight(server_factory):
    srv = server_factory()
    with srv.connect() as c:
        for sql in PIPELINE:
            c.execute(sql)
        # A failed statement leaves no lineage.
        with pytest.raises(psycopg.errors.UndefinedColumn):
            c.execute("INSERT INTO lake.gold SELECT nope FROM lake.silver")
    with srv.adbc() as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT region, total FROM lake.gold_v")
            assert cur.fetchall() == [("north", 0)]

    T, V = "TABLE", "VIEW"
    ctas, insert_gold, view, merge, update = PIPELINE[3], PIPELINE[7], PIPELINE[8], PIPELINE[9], \
        PIPELINE[10]
    expected = [
        ("main.lake.bronze", T, "main.lake.silver", T, "admin", ctas),
        ("main.lake.silver", T, "main.lake.gold", T, "admin", insert_gold),
        ("main.lake.dim", T, "main.lake.gold", T, "admin", insert_gold),
        ("main.lake.gold", T, "main.lake.gold_v", V, "admin", view),
        ("main.lake.bronze", T, "main.lake.silver", T, "admin", merge),
        ("main.lake.silver", T, "main.lake.silver", T, "admin", merge),
        ("main.lake.gold", T, "main.lake.gold", T, "admin", update),
        ("main.lake.dim", T, "main.lake.gold", T, "admin", update),
        # A read through the view is a read of the view (over Flight), with no target.
        ("main.lake.gold_v", V, None, None, "admin", "SELECT region, total FROM lake.gold_v"),
    ]
    with srv.connect() as c:
        assert Counter(c.execute(LINEAGE).fetchall()) == Counter(expected)
        parts = c.execute(
            "SELECT DISTINCT source_table_catalog, source_table_schema, source_table_name "
            "FROM system.access.table_lineage WHERE source_table_full_name = 'main.lake.dim'"
        ).fetchall()
        assert parts == [("main", "lake", "dim")]
        # The audit row of each statement names every table and view it touched.
        touched = dict(c.execute(
            "SELECT statement_text, securables FROM system.access.audit "
            "WHERE action_name IN ('update', 'create_view', 'merge')").fetchall())
        assert {k: set(v.split(",")) for k, v in touched.items()} == {
            update: {"main.lake.gold", "main.lake.dim"},
            view: {"main.lake.gold", "main.lake.gold_v"},
            merge: {"main.lake.silver", "main.lake.bronze"},
        }
        # Impact analysis: what gold is made from, what is made from bronze.
        up = "SELECT depth, source_table_full_name, target_table_full_name FROM " \
             "system.access.lineage_upstream('main.lake.gold', 3) ORDER BY 1, 2, 3"
        assert c.execute(up).fetchall() == [
            (1, "main.lake.dim", "main.lake.gold"),
            (1, "main.lake.gold", "main.lake.gold"),
            (1, "main.lake.silver", "main.lake.gold"),
            (2, "main.lake.bronze", "main.lake.silver"),
            (2, "main.lake.silver", "main.lake.silver"),
        ]
        assert c.execute(up.replace("', 3)", "', 1)")).fetchall() == [
            (1, "main.lake.dim", "main.lake.gold"),
            (1, "main.lake.gold", "main.lake.gold"),
            (1, "main.lake.silver", "main.lake.gold"),
        ]
        down = "SELECT depth, source_table_full_name, target_table_full_name, target_type " \
               "FROM system.access.lineage_downstream('main.lake.bronze', 5) ORDER BY 1, 2, 3"
        assert c.execute(down).fetchall() == [
            (1, "main.lake.bronze", "main.lake.silver", "TABLE"),
            (2, "main.lake.silver", "main.lake.gold", "TABLE"),
            (2, "main.lake.silver", "main.lake.silver", "TABLE"),
            (3, "main.lake.gold", "main.lake.gold", "TABLE"),
            (3, "main.lake.gold", "main.lake.gold_v", "VIEW"),
        ]
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="column lineage"):
            c.execute("SELECT * FROM system.access.lineage_upstream('main.lake.gold', 1, 'total')")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="depth"):
            c.execute("SELECT * FROM system.access.lineage_upstream('main.lake.gold', 0)")
        c.execute("CREATE USER dora PASSWORD 'doras-secret'")
    with psycopg.connect(srv.dsn(user="dora", password="doras-secret"), autocommit=True) as dora:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="readable by admins"):
            dora.execute("SELECT * FROM system.access.table_lineage")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="readable by admins"):
            dora.execute("SELECT * FROM system.access.lineage_downstream('main.lake.bronze', 2)")

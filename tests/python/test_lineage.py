"""system.access.table_lineage and column_lineage: what each statement read and wrote, column by
column, taken from its resolved plan, for a bronze -> silver -> gold pipeline run over psycopg and
ADBC, and the lineage functions that walk them."""

from __future__ import annotations

from collections import Counter

import psycopg
import pyarrow as pa
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
            # A bulk ingest's source is its client.
            cur.adbc_ingest("staged", pa.table({"id": [7]}), mode="create",
                            db_schema_name="lake")

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
        (None, "CLIENT", "main.lake.staged", T, "admin", "INGEST INTO lake.staged MODE Create"),
    ]
    with srv.connect() as c:
        assert Counter(c.execute(LINEAGE).fetchall()) == Counter(expected)
        assert c.execute(
            "SELECT source_path FROM system.access.table_lineage WHERE source_type = 'CLIENT'"
        ).fetchall() == [("flight://127.0.0.1",)]
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
        # Column lineage: every column written, each column it came from and how.
        columns = c.execute(
            "SELECT a.statement_text, l.source_table_name, l.source_column_name, "
            "l.target_table_name, l.target_column_name, l.transformation_type, "
            "l.transformation_subtype, l.masked FROM system.access.column_lineage l "
            "JOIN system.access.audit a ON l.statement_id = a.statement_id").fetchall()
        D, I = "DIRECT", "INDIRECT"
        assert Counter(columns) == Counter([
            (ctas, "bronze", "id", "silver", "id", D, "IDENTITY", False),
            (ctas, "bronze", "amount", "silver", "id", I, "FILTER", False),
            (ctas, "bronze", "city", "silver", "city", D, "TRANSFORMATION", False),
            (ctas, "bronze", "amount", "silver", "city", I, "FILTER", False),
            (ctas, "bronze", "amount", "silver", "amount", D, "IDENTITY", False),
            (ctas, "bronze", "amount", "silver", "amount", I, "FILTER", False),
            (insert_gold, "dim", "region", "gold", "region", D, "IDENTITY", False),
            (insert_gold, "dim", "region", "gold", "region", I, "GROUP_BY", False),
            (insert_gold, "dim", "city", "gold", "region", I, "JOIN", False),
            (insert_gold, "silver", "city", "gold", "region", I, "JOIN", False),
            (insert_gold, "silver", "amount", "gold", "total", D, "AGGREGATION", False),
            (insert_gold, "dim", "region", "gold", "total", I, "GROUP_BY", False),
            (insert_gold, "dim", "city", "gold", "total", I, "JOIN", False),
            (insert_gold, "silver", "city", "gold", "total", I, "JOIN", False),
            (view, "gold", "region", "gold_v", "region", D, "IDENTITY", False),
            (view, "gold", "total", "gold_v", "total", D, "IDENTITY", False),
            # MERGE writes only the column it sets, matched on the ON columns.
            (merge, "bronze", "amount", "silver", "amount", D, "IDENTITY", False),
            (merge, "bronze", "id", "silver", "amount", I, "JOIN", False),
            (merge, "silver", "id", "silver", "amount", I, "JOIN", False),
            # UPDATE: a constant, on rows chosen by its own column and a subquery's.
            (update, "gold", "region", "gold", "total", I, "FILTER", False),
            (update, "dim", "region", "gold", "total", I, "FILTER", False),
        ])
        # Impact of a column: what breaks if bronze.amount changes, to any depth.
        col_down = "SELECT depth, source_table_full_name, source_column_name, target_table_full_name, " \
                   "target_column_name, transformation_subtype FROM " \
                   "system.access.lineage_downstream('main.lake.bronze', 5, 'amount') " \
                   "ORDER BY 1, 2, 3, 4, 5, 6"
        assert c.execute(col_down).fetchall() == [
            (1, "main.lake.bronze", "amount", "main.lake.silver", "amount", "FILTER"),
            (1, "main.lake.bronze", "amount", "main.lake.silver", "amount", "IDENTITY"),
            (1, "main.lake.bronze", "amount", "main.lake.silver", "city", "FILTER"),
            (1, "main.lake.bronze", "amount", "main.lake.silver", "id", "FILTER"),
            (2, "main.lake.silver", "amount", "main.lake.gold", "total", "AGGREGATION"),
            (2, "main.lake.silver", "city", "main.lake.gold", "region", "JOIN"),
            (2, "main.lake.silver", "city", "main.lake.gold", "total", "JOIN"),
            (2, "main.lake.silver", "id", "main.lake.silver", "amount", "JOIN"),
            (3, "main.lake.gold", "region", "main.lake.gold", "total", "FILTER"),
            (3, "main.lake.gold", "region", "main.lake.gold_v", "region", "IDENTITY"),
            (3, "main.lake.gold", "total", "main.lake.gold_v", "total", "IDENTITY"),
        ]
        col_up = "SELECT depth, source_table_full_name, source_column_name, target_column_name, " \
                 "transformation_subtype FROM " \
                 "system.access.lineage_upstream('main.lake.gold_v', 2, 'total') ORDER BY 1, 2, 3, 5"
        assert c.execute(col_up).fetchall() == [
            (1, "main.lake.gold", "total", "total", "IDENTITY"),
            (2, "main.lake.dim", "city", "total", "JOIN"),
            (2, "main.lake.dim", "region", "total", "FILTER"),
            (2, "main.lake.dim", "region", "total", "GROUP_BY"),
            (2, "main.lake.gold", "region", "total", "FILTER"),
            (2, "main.lake.silver", "amount", "total", "AGGREGATION"),
            (2, "main.lake.silver", "city", "total", "JOIN"),
        ]
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="column"):
            c.execute("SELECT * FROM system.access.lineage_upstream('main.lake.gold', 1, 2)")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="depth"):
            c.execute("SELECT * FROM system.access.lineage_upstream('main.lake.gold', 0)")
        c.execute("CREATE USER dora PASSWORD 'doras-secret'")
    with psycopg.connect(srv.dsn(user="dora", password="doras-secret"), autocommit=True) as dora:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="lacks USE CATALOG on catalog system"):
            dora.execute("SELECT * FROM system.access.table_lineage")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="lacks USE CATALOG on catalog system"):
            dora.execute("SELECT * FROM system.access.lineage_downstream('main.lake.bronze', 2)")


def test_column_lineage_through_views_masks_windows_and_unions(server_factory):
    srv = server_factory()
    statements = [
        "CREATE SCHEMA crm",
        "CREATE TABLE crm.people (id INT, email STRING, city STRING, score INT)",
        "INSERT INTO crm.people VALUES (1, 'a@x.kr', 'Seoul', 5), (2, 'b@x.kr', 'Busan', 7)",
        "CREATE FUNCTION crm.hide(e STRING) RETURNS STRING RETURN '***'",
        "ALTER TABLE crm.people ALTER COLUMN email SET MASK crm.hide",
        "CREATE VIEW crm.people_v AS SELECT id, city FROM crm.people WHERE score > 0",
        "CREATE TABLE crm.report AS SELECT v.city, p.email, "
        "rank() OVER (PARTITION BY v.city ORDER BY p.score) AS r "
        "FROM crm.people_v v JOIN crm.people p ON v.id = p.id",
        "INSERT INTO crm.report VALUES ('Daegu', 'c@x.kr', 1)",
        "INSERT INTO crm.report SELECT city, email, 1 FROM crm.people UNION ALL SELECT 'x', 'y', 2",
        # A CTE named like the view is not the view.
        "USE SCHEMA crm",
        "INSERT INTO crm.report WITH people_v AS (SELECT city, score FROM crm.people) "
        "SELECT city, 'z', score FROM people_v",
        # ... nor when the statement reads the view as well.
        "INSERT INTO crm.report WITH people_v AS (SELECT city, score FROM crm.people) "
        "SELECT p.city, 'w', p.score FROM people_v p JOIN crm.people_v v ON p.city = v.city",
    ]
    with srv.connect() as c:
        for sql in statements:
            c.execute(sql)
        rows = c.execute(
            "SELECT a.statement_text, l.source_table_name, l.source_type, l.source_column_name, "
            "l.target_table_name, l.target_type, l.target_column_name, "
            "l.transformation_subtype, l.masked FROM system.access.column_lineage l "
            "JOIN system.access.audit a ON l.statement_id = a.statement_id").fetchall()
    view, report, union, cte, both = (statements[5], statements[6], statements[8],
                                      statements[10], statements[11])
    T, V = "TABLE", "VIEW"
    assert Counter(rows) == Counter([
        (view, "people", T, "id", "people_v", V, "id", "IDENTITY", False),
        (view, "people", T, "score", "people_v", V, "id", "FILTER", False),
        (view, "people", T, "city", "people_v", V, "city", "IDENTITY", False),
        (view, "people", T, "score", "people_v", V, "city", "FILTER", False),
        # Read through the view, a column comes from the view (whose own lineage goes on);
        # the masked email is flagged; rank() depends on its window's partition and order.
        (report, "people_v", V, "city", "report", T, "city", "IDENTITY", False),
        (report, "people_v", V, "id", "report", T, "city", "JOIN", False),
        (report, "people", T, "id", "report", T, "city", "JOIN", False),
        (report, "people", T, "email", "report", T, "email", "IDENTITY", True),
        (report, "people_v", V, "id", "report", T, "email", "JOIN", False),
        (report, "people", T, "id", "report", T, "email", "JOIN", False),
        (report, "people_v", V, "city", "report", T, "r", "WINDOW", False),
        (report, "people", T, "score", "report", T, "r", "WINDOW", False),
        (report, "people_v", V, "id", "report", T, "r", "JOIN", False),
        (report, "people", T, "id", "report", T, "r", "JOIN", False),
        # INSERT ... VALUES has no source columns; a UNION branch of constants adds none.
        (union, "people", T, "city", "report", T, "city", "IDENTITY", False),
        (union, "people", T, "email", "report", T, "email", "IDENTITY", True),
        (cte, "people", T, "city", "report", T, "city", "IDENTITY", False),
        (cte, "people", T, "score", "report", T, "r", "IDENTITY", False),
        # The CTE's columns come from people; the view, joined, is a source of its own.
        (both, "people", T, "city", "report", T, "city", "IDENTITY", False),
        (both, "people", T, "score", "report", T, "r", "IDENTITY", False),
        *[(both, src, typ, "city", "report", T, col, "JOIN", False)
          for src, typ in (("people", T), ("people_v", V)) for col in ("city", "email", "r")],
    ])


def test_a_granted_reader_sees_only_rows_about_what_it_may_see(server_factory):
    srv = server_factory()
    with srv.connect() as c:
        for sql in PIPELINE:
            c.execute(sql)
        for sql in [
            "CREATE USER dora PASSWORD 'doras-secret'",
            "GRANT USE CATALOG ON CATALOG system TO dora",
            "GRANT USE SCHEMA, SELECT ON SCHEMA system.access TO dora",
            "GRANT USE CATALOG ON CATALOG main TO dora",
            "GRANT USE SCHEMA ON SCHEMA main.lake TO dora",
            # bronze whole; silver without its amount column; dim, gold and gold_v not at all.
            "GRANT SELECT ON TABLE lake.bronze TO dora",
            "GRANT SELECT (id, city) ON TABLE lake.silver TO dora",
        ]:
            c.execute(sql)
        # What may be granted on system tables: reading, not writing or owning.
        with pytest.raises(psycopg.errors.InvalidGrantOperation, match="read-only"):
            c.execute("GRANT MODIFY ON TABLE system.access.audit TO dora")
        with pytest.raises(psycopg.errors.UndefinedTable):
            c.execute("GRANT SELECT ON TABLE system.access.nope TO dora")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="read-only"):
            c.execute("ALTER TABLE system.access.audit OWNER TO dora")
    with psycopg.connect(srv.dsn(user="dora", password="doras-secret"), autocommit=True) as dora:
        tables = dora.execute(
            "SELECT source_table_name, target_table_name, a.statement_text "
            "FROM system.access.table_lineage l "
            "JOIN system.access.audit a ON l.statement_id = a.statement_id").fetchall()
        # The lineage rows of the CTAS and the MERGE join audit rows dora may not see (the
        # statements name silver's hidden column): only the edges are hers to see.
        assert tables == []
        assert Counter(dora.execute(
            "SELECT source_table_name, target_table_name "
            "FROM system.access.table_lineage").fetchall()) == Counter([
                ("bronze", "silver"), ("bronze", "silver"), ("silver", "silver")])
        assert Counter(dora.execute(
            "SELECT source_column_name, target_column_name, transformation_subtype "
            "FROM system.access.column_lineage").fetchall()) == Counter([
                ("id", "id", "IDENTITY"), ("amount", "id", "FILTER"),
                ("city", "city", "TRANSFORMATION"), ("amount", "city", "FILTER")])
        audit = dora.execute(
            "SELECT user_identity, action_name, statement_text FROM system.access.audit "
            "ORDER BY event_time").fetchall()
        assert [r for r in audit if r[0] == "admin"] == [
            ("admin", "create_table", PIPELINE[1]),
            ("admin", "insert", PIPELINE[2]),
        ]
        assert {r[1] for r in audit if r[0] == "dora"} == {"login", "query"}
        assert dora.execute(
            "SELECT depth, source_table_full_name, target_table_full_name FROM "
            "system.access.lineage_downstream('main.lake.bronze', 5) ORDER BY 1, 2, 3"
        ).fetchall() == [(1, "main.lake.bronze", "main.lake.silver"),
                         (2, "main.lake.silver", "main.lake.silver")]
        assert dora.execute(
            "SELECT depth, target_column_name, transformation_subtype FROM "
            "system.access.lineage_downstream('main.lake.bronze', 5, 'amount') ORDER BY 1, 2"
        ).fetchall() == [(1, "city", "FILTER"), (1, "id", "FILTER")]


def test_column_lineage_of_aggregates_reads_their_arguments_and_keys(server_factory):
    srv = server_factory()
    ctas = ("CREATE TABLE s.totals AS SELECT city, sum(CASE WHEN score > 5 THEN id END) AS n "
            "FROM s.people GROUP BY city, city")
    with srv.connect() as c:
        c.execute("CREATE SCHEMA s")
        c.execute("CREATE TABLE s.people (id INT, city STRING, score INT)")
        c.execute(ctas)
        rows = c.execute(
            "SELECT source_column_name, target_column_name, transformation_type, "
            "transformation_subtype FROM system.access.column_lineage").fetchall()
    # A repeated grouping key is one key; what decides a summed value is its input too.
    assert Counter(rows) == Counter([
        ("city", "city", "DIRECT", "IDENTITY"),
        ("city", "city", "INDIRECT", "GROUP_BY"),
        ("id", "n", "DIRECT", "AGGREGATION"),
        ("score", "n", "INDIRECT", "CONDITIONAL"),
        ("city", "n", "INDIRECT", "GROUP_BY"),
    ])

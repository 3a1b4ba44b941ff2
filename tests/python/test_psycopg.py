"""psycopg 3 against a live Weir server: auth, DDL, parameters, types, errors, streaming,
session isolation."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from conftest import file_url_to_path, raw_startup, unique


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def table_location(conn, table: str) -> str:
    cur = conn.execute(f"DESCRIBE DETAIL {table}")
    cols = [d.name for d in cur.description]
    return cur.fetchone()[cols.index("location")]


def assert_alive(conn) -> None:
    """The connection still runs statements after an error."""
    assert conn.execute("SELECT 40 + 2").fetchone()[0] == 42
    assert conn.info.status == psycopg.pq.ConnStatus.OK


# ---------------------------------------------------------------------------------------------
# Connecting
# ---------------------------------------------------------------------------------------------


def test_connect_with_scram(server):
    with server.connect() as c:
        # libpq tells whether the server asked for (and we sent) a password.
        assert c.pgconn.used_password
        assert c.execute("SELECT 1").fetchone() == (1,)
        assert c.execute("SELECT current_database()").fetchone()[0] == "main"
        assert c.execute("SELECT current_user").fetchone()[0] == server.user
    res = raw_startup(server.host, server.port, server.user, server.password, "main")
    assert res == {"ok": True, "after_ready": []}


def test_wrong_password_rejected_28P01(server):
    with pytest.raises(psycopg.OperationalError) as ei:
        psycopg.connect(server.dsn(password="not-" + server.password))
    assert "password authentication failed" in str(ei.value).lower()
    res = raw_startup(server.host, server.port, server.user, "not-" + server.password, "main")
    assert not res["ok"], res
    assert res["error"].get("C") == "28P01", res
    assert res["error"].get("S") == "FATAL", res


def test_wrong_password_message_names_the_user(server):
    # PostgreSQL: FATAL: password authentication failed for user "admin"
    with pytest.raises(psycopg.OperationalError) as ei:
        psycopg.connect(server.dsn(password="not-" + server.password))
    assert f'for user "{server.user}"' in str(ei.value)


def test_unknown_user_rejected_28P01(server):
    res = raw_startup(server.host, server.port, "no_such_user", server.password, "main")
    assert not res["ok"], res
    assert res["error"].get("C") == "28P01", res


def test_unknown_database_rejected_at_connect_3D000(server):
    db = unique("nodb")
    # The failure must come during startup (before ReadyForQuery), like PostgreSQL's
    # FATAL: database "x" does not exist, so that connect() itself fails.
    res = raw_startup(server.host, server.port, server.user, server.password, db)
    assert not res["ok"], f"server completed startup for unknown database {db!r}: {res}"
    assert res["error"].get("C") == "3D000", res
    with pytest.raises(psycopg.OperationalError) as ei:
        psycopg.connect(server.dsn(db))
    assert db in str(ei.value)


def test_unknown_database_cannot_run_queries(server):
    # Whatever the moment of rejection, a session on an unknown database never runs a statement.
    db = unique("nodb")
    try:
        c = psycopg.connect(server.dsn(db), autocommit=True)
    except psycopg.OperationalError as e:
        assert db in str(e)
        return
    with c:
        with pytest.raises(psycopg.Error):
            c.execute("SELECT 1")


# ---------------------------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------------------------


def test_catalog_schema_table_ddl(server, conn):
    cat, sch, tbl = unique("cat"), unique("sch"), unique("tbl")
    conn.execute(f"CREATE CATALOG {cat} COMMENT 'test catalog'")
    conn.execute(f"CREATE CATALOG IF NOT EXISTS {cat}")
    assert cat in [r[0] for r in conn.execute("SHOW CATALOGS").fetchall()]

    conn.execute(f"CREATE SCHEMA {cat}.{sch}")
    with pytest.raises(errors.DuplicateSchema):
        conn.execute(f"CREATE SCHEMA {cat}.{sch}")
    assert_alive(conn)

    conn.execute(f"CREATE TABLE {cat}.{sch}.{tbl} (id INT NOT NULL, name STRING) USING DELTA")
    with pytest.raises(errors.DuplicateTable):
        conn.execute(f"CREATE TABLE {cat}.{sch}.{tbl} (id INT)")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {cat}.{sch}.{tbl} (id INT)")
    conn.execute(f"INSERT INTO {cat}.{sch}.{tbl} VALUES (1, 'one'), (2, 'two')")

    # The database of a connection is a catalog.
    with server.connect(cat) as c2:
        assert c2.execute("SELECT current_database()").fetchone()[0] == cat
        schemas = [r[0] for r in c2.execute("SHOW SCHEMAS").fetchall()]
        assert sch in schemas
        c2.execute(f"USE SCHEMA {sch}")
        assert [r for r in c2.execute("SHOW TABLES").fetchall() if tbl in r]
        assert c2.execute(f"SELECT name FROM {tbl} ORDER BY id").fetchall() == [("one",), ("two",)]
        rows = c2.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_name = '{tbl}'"
        ).fetchall()
        assert rows == [(sch, tbl)]

    conn.execute(f"DROP TABLE {cat}.{sch}.{tbl}")
    with pytest.raises(errors.UndefinedTable):
        conn.execute(f"SELECT * FROM {cat}.{sch}.{tbl}")
    conn.execute(f"CREATE TABLE {cat}.{sch}.again (x INT)")
    conn.execute(f"DROP SCHEMA {cat}.{sch} CASCADE")
    assert sch not in [r[0] for r in conn.execute(f"SHOW SCHEMAS IN {cat}").fetchall()]
    conn.execute(f"DROP CATALOG {cat} CASCADE")
    assert cat not in [r[0] for r in conn.execute("SHOW CATALOGS").fetchall()]


# ---------------------------------------------------------------------------------------------
# Parameters, types
# ---------------------------------------------------------------------------------------------

TYPED_DDL = (
    "(i INT, b BIGINT, d DECIMAL(12,3), f DOUBLE, s STRING, flag BOOLEAN, day DATE, ts TIMESTAMP)"
)
UTC = dt.timezone.utc
TYPED_ROWS = [
    (1, 9_000_000_000, Decimal("12345.678"), 1.25, "héllo wörld", True,
     dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)),
    (-7, -1, Decimal("-0.001"), -3.5e-10, "", False,
     dt.date(1970, 1, 1), dt.datetime(1999, 12, 31, 0, 0, 0, tzinfo=UTC)),
    (3, None, None, None, None, None, None, None),
]


def check_typed_rows(got, expected=TYPED_ROWS):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g[:7] == e[:7]
        assert type(g[0]) is int and (g[1] is None or type(g[1]) is int)
        assert g[2] is None or isinstance(g[2], Decimal)
        assert g[3] is None or isinstance(g[3], float)
        assert g[6] is None or type(g[6]) is dt.date
        if e[7] is None:
            assert g[7] is None
        else:
            assert isinstance(g[7], dt.datetime)
            # TIMESTAMP is an instant (Spark TIMESTAMP_LTZ): compare as instants.
            assert g[7].tzinfo is not None and g[7] == e[7]


def test_insert_with_server_side_parameters(conn, fresh_schema):
    t = f"{fresh_schema}.params"
    conn.execute(f"CREATE TABLE {t} (id INT, name STRING)")
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {t} VALUES (%s, %s)", (1, "x"))
    assert cur.rowcount == 1
    cur.execute(f"INSERT INTO {t} (id, name) VALUES (%(id)s, %(name)s)", {"id": 2, "name": "it's"})
    for i in range(3, 8):
        cur.execute(f"INSERT INTO {t} VALUES (%s, %s)", (i, f"p{i}"), prepare=True)
        assert cur.rowcount == 1
    cur.executemany(f"INSERT INTO {t} VALUES (%s, %s)", [(100, "m1"), (101, None)])
    rows = conn.execute(f"SELECT id, name FROM {t} ORDER BY id").fetchall()
    assert rows == [(1, "x"), (2, "it's")] + [(i, f"p{i}") for i in range(3, 8)] + [
        (100, "m1"), (101, None)]
    # Parameters in a prepared query.
    for i in (3, 5):
        got = conn.execute(f"SELECT name FROM {t} WHERE id = %s", (i,), prepare=True).fetchall()
        assert got == [(f"p{i}",)]


def test_typed_values_round_trip_via_parameters(conn, fresh_schema):
    t = f"{fresh_schema}.typed_params"
    conn.execute(f"CREATE TABLE {t} {TYPED_DDL}")
    for row in TYPED_ROWS:
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", row, prepare=True)
    got = conn.execute(f"SELECT * FROM {t} ORDER BY b NULLS LAST, i").fetchall()
    expected = sorted(TYPED_ROWS, key=lambda r: (r[1] is None, r[1] if r[1] is not None else 0))
    check_typed_rows(got, expected)


def test_typed_values_round_trip_via_literals_text_and_binary(conn, fresh_schema):
    t = f"{fresh_schema}.typed_lit"
    conn.execute(f"CREATE TABLE {t} {TYPED_DDL}")
    conn.execute(
        f"INSERT INTO {t} VALUES "
        "(1, 9000000000, 12345.678, 1.25, 'héllo wörld', true, DATE '2024-02-29', "
        " TIMESTAMP '2024-02-29 23:59:58.123456'),"
        "(-7, -1, -0.001, -3.5e-10, '', false, DATE '1970-01-01', TIMESTAMP '1999-12-31 00:00:00'),"
        "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
    )
    q = f"SELECT * FROM {t} ORDER BY i DESC"
    expected = sorted(TYPED_ROWS, key=lambda r: -r[0])
    text = conn.execute(q).fetchall()
    check_typed_rows(text, expected)
    binary = conn.cursor(binary=True).execute(q).fetchall()
    check_typed_rows(binary, expected)
    assert binary == text
    # Binary-format parameters too.
    got = conn.cursor().execute(
        f"SELECT s, d FROM {t} WHERE i = %b AND d = %b", (1, Decimal("12345.678")), binary=True
    ).fetchall()
    assert got == [("héllo wörld", Decimal("12345.678"))]


def test_result_column_types(conn, fresh_schema):
    t = f"{fresh_schema}.oids"
    conn.execute(f"CREATE TABLE {t} {TYPED_DDL}")
    cur = conn.execute(f"SELECT * FROM {t}")
    oids = {d.name: d.type_code for d in cur.description}
    types = psycopg.adapters.types
    expected = {
        "i": "int4", "b": "int8", "d": "numeric", "f": "float8", "s": "text",
        "flag": "bool", "day": "date", "ts": "timestamptz",
    }
    assert {k: types.get(v).name for k, v in oids.items()} == expected


def test_map_column_arrives_as_json_text_in_text_and_binary(conn, fresh_schema):
    # PostgreSQL has no map type: a MAP<STRING, INT> column is sent as JSON text.
    import json

    t = f"{fresh_schema}.maps"
    conn.execute(f"CREATE TABLE {t} (id INT, attrs MAP<STRING, INT>)")
    conn.execute(f"INSERT INTO {t} VALUES (1, map('a', 1, 'b', NULL)), (2, NULL)")
    for binary in (False, True):
        cur = conn.cursor(binary=binary)
        rows = cur.execute(f"SELECT id, attrs FROM {t} ORDER BY id").fetchall()
        assert psycopg.adapters.types.get(cur.description[1].type_code).name == "text"
        assert [(i, None if a is None else json.loads(a)) for i, a in rows] == [
            (1, {"a": 1, "b": None}),
            (2, None),
        ]


def test_result_columns_may_share_a_name_in_simple_and_extended_protocol(conn):
    for prepare in (False, True):
        cur = conn.execute(
            "SELECT a, a, t.a, 2 AS a, current_date() = current_date FROM (VALUES (1)) AS t(a)",
            prepare=prepare,
        )
        assert [d.name for d in cur.description][:4] == ["a", "a", "a", "a"]
        assert cur.fetchall() == [(1, 1, 1, 2, True)]


def test_naive_datetime_parameter_into_timestamp_column(conn, fresh_schema):
    # psycopg sends a naive datetime as `timestamp` (without time zone); it must be coerced to
    # the column's type, as PostgreSQL does for timestamptz columns (session TimeZone is UTC).
    t = f"{fresh_schema}.naive_ts"
    conn.execute(f"CREATE TABLE {t} (id INT, ts TIMESTAMP)")
    conn.execute("SET TIME ZONE 'UTC'")
    naive = dt.datetime(2023, 5, 6, 7, 8, 9)
    conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (1, naive))
    got = conn.execute(f"SELECT ts FROM {t}").fetchone()[0]
    assert got == naive.replace(tzinfo=UTC)


def test_each_history_timestamp_reads_its_own_version(conn, fresh_schema):
    # The time DESCRIBE HISTORY shows for a version is the time TIMESTAMP AS OF resolves to
    # that version: copying it from the history never lands on the version before.
    t = f"{fresh_schema}.history_times"
    conn.execute(f"CREATE TABLE {t} (id INT)")
    for i in range(1, 4):
        conn.execute(f"INSERT INTO {t} VALUES ({i})")
    cur = conn.execute(f"DESCRIBE HISTORY {t}")
    cols = [d.name for d in cur.description]
    history = {r[cols.index("version")]: r[cols.index("timestamp")] for r in cur.fetchall()}
    assert sorted(history) == [0, 1, 2, 3]
    for version, ts in history.items():
        wall = ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        assert count(conn, f"{t} TIMESTAMP AS OF '{wall}'") == version, (version, wall)


def test_change_feed_time_bounds_name_the_versions_history_shows(conn, fresh_schema):
    # A time copied from DESCRIBE HISTORY starts (or ends) the change feed at that very
    # version, as it does for TIMESTAMP AS OF.
    t = f"{fresh_schema}.feed_times"
    conn.execute(f"CREATE TABLE {t} (id INT) TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')")
    for i in range(1, 4):
        conn.execute(f"INSERT INTO {t} VALUES ({i})")
    cur = conn.execute(f"DESCRIBE HISTORY {t}")
    cols = [d.name for d in cur.description]
    history = {r[cols.index("version")]: r[cols.index("timestamp")] for r in cur.fetchall()}
    for version in (1, 2, 3):
        wall = history[version].astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        first = conn.execute(
            f"SELECT min(_commit_version), max(_commit_version) FROM table_changes('{t}', '{wall}')"
        ).fetchone()
        assert first == (version, 3), (version, wall, first)
        last = conn.execute(
            f"SELECT min(_commit_version), max(_commit_version) "
            f"FROM table_changes('{t}', 1, '{wall}')").fetchone()
        assert last == (1, version), (version, wall, last)


def test_time_travel_reads_a_time_without_zone_in_the_session_time_zone(server, conn, fresh_schema):
    # `TIMESTAMP AS OF '<local time>'` is the session's local time; a view reads with the time
    # zone of the session that reads it. (The value is computed here from the table's history,
    # which is why this is a client test rather than a .slt case.)
    from zoneinfo import ZoneInfo

    t = f"{fresh_schema}.zoned"
    conn.execute(f"CREATE TABLE {t} (id INT)")
    conn.execute(f"INSERT INTO {t} VALUES (1)")
    conn.execute(f"INSERT INTO {t} VALUES (2)")
    cur = conn.execute(f"DESCRIBE HISTORY {t}")
    cols = [d.name for d in cur.description]
    history = {r[cols.index("version")]: r[cols.index("timestamp")] for r in cur.fetchall()}
    committed = history[1]
    assert committed.tzinfo is not None
    # The state at that instant: the newest version committed at or before it.
    at = max(v for v, ts in history.items() if ts <= committed)
    want = count(conn, f"{t} VERSION AS OF {at}")

    def wall(zone) -> str:
        return committed.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    seoul, utc = wall(ZoneInfo("Asia/Seoul")), wall(dt.timezone.utc)
    conn.execute(f"CREATE VIEW {fresh_schema}.as_of_seoul AS SELECT count(*) AS n FROM {t} TIMESTAMP AS OF '{seoul}'")

    conn.execute("SET TIME ZONE 'Asia/Seoul'")
    assert count(conn, f"{t} TIMESTAMP AS OF '{seoul}'") == want
    assert conn.execute(f"SELECT n FROM {fresh_schema}.as_of_seoul").fetchone()[0] == want
    # Read in Seoul, the UTC wall-clock time is nine hours earlier: before the table existed.
    with pytest.raises(errors.InvalidParameterValue) as ei:
        conn.execute(f"SELECT count(*) FROM {t} TIMESTAMP AS OF '{utc}'")
    assert ei.value.sqlstate == "22023"
    assert_alive(conn)

    # In UTC, the same view reads nine hours after the commit: the latest state.
    conn.execute("SET TIME ZONE 'UTC'")
    assert count(conn, f"{t} TIMESTAMP AS OF '{utc}'") == want
    assert conn.execute(f"SELECT n FROM {fresh_schema}.as_of_seoul").fetchone()[0] == 2


def test_deallocate_drops_a_protocol_prepared_statement(conn):
    # Prepared with the extended protocol (libpq's PQprepare), dropped with SQL, as drivers do.
    from psycopg import pq

    pg = conn.pgconn
    assert pg.prepare(b"weir_stmt", b"SELECT 40 + 2").status == pq.ExecStatus.COMMAND_OK
    res = pg.exec_prepared(b"weir_stmt", [])
    assert (res.status, res.get_value(0, 0)) == (pq.ExecStatus.TUPLES_OK, b"42")
    assert conn.execute("DEALLOCATE weir_stmt").statusmessage == "DEALLOCATE"
    res = pg.exec_prepared(b"weir_stmt", [])
    assert res.status == pq.ExecStatus.FATAL_ERROR
    assert res.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"
    assert conn.execute("DEALLOCATE ALL").statusmessage == "DEALLOCATE ALL"
    assert_alive(conn)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def err_table(conn, fresh_schema):
    t = f"{fresh_schema}.errs"
    conn.execute(f"CREATE TABLE {t} (id INT NOT NULL, name STRING)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    return t


@pytest.mark.parametrize(
    "sql, sqlstate, exc",
    [
        ("SELEC 1", "42601", errors.SyntaxError),
        ("SELECT * FROM {schema}.no_such_table", "42P01", errors.UndefinedTable),
        ("SELECT no_such_column FROM {t}", "42703", errors.UndefinedColumn),
        ("INSERT INTO {t} VALUES (NULL, 'n')", "23502", errors.NotNullViolation),
        ("INSERT INTO {t} (name) VALUES ('omitted id')", "23502", errors.NotNullViolation),
        ("INSERT INTO {t} SELECT CAST(NULL AS INT), 'x'", "23502", errors.NotNullViolation),
        ("INSERT INTO {t} (id, nope) VALUES (3, 'x')", "42703", errors.UndefinedColumn),
    ],
    ids=["syntax", "unknown-table", "unknown-column", "null-literal", "omitted-not-null",
         "null-from-select", "insert-unknown-column"],
)
def test_error_sqlstates_and_connection_survives(conn, err_table, sql, sqlstate, exc):
    schema = err_table.rsplit(".", 1)[0]
    before = count(conn, err_table)
    with pytest.raises(psycopg.Error) as ei:
        conn.execute(sql.format(t=err_table, schema=schema))
    assert ei.value.sqlstate == sqlstate, f"{ei.value.sqlstate}: {ei.value}"
    assert isinstance(ei.value, exc)
    assert_alive(conn)
    # A failed statement writes nothing.
    assert count(conn, err_table) == before
    # And the next write works.
    conn.execute(f"INSERT INTO {err_table} VALUES (%s, %s)", (before + 10, "after"))
    assert count(conn, err_table) == before + 1


def test_error_with_parameters_then_prepared_statements_still_work(conn, err_table):
    before = count(conn, err_table)
    with pytest.raises(errors.NotNullViolation):
        conn.execute(f"INSERT INTO {err_table} VALUES (%s, %s)", (None, "x"), prepare=True)
    assert count(conn, err_table) == before
    conn.execute(f"INSERT INTO {err_table} VALUES (%s, %s)", (77, "x"), prepare=True)
    assert conn.execute(f"SELECT name FROM {err_table} WHERE id = 77").fetchall() == [("x",)]


def test_error_in_non_autocommit_connection_recovers_after_rollback(server, err_table):
    with server.connect(autocommit=False) as c:
        with pytest.raises(errors.UndefinedColumn):
            c.execute(f"SELECT nope FROM {err_table}")
        c.rollback()
        assert c.execute(f"SELECT count(*) FROM {err_table}").fetchone()[0] >= 2
        c.commit()


def test_multi_statement_query_stops_at_error_earlier_statements_committed(conn, err_table):
    before = count(conn, err_table)
    with pytest.raises(errors.NotNullViolation):
        # No parameters: psycopg uses the simple query protocol, which allows several statements.
        conn.execute(
            f"INSERT INTO {err_table} VALUES (500, 'first'); "
            f"INSERT INTO {err_table} VALUES (NULL, 'bad'); "
            f"INSERT INTO {err_table} VALUES (502, 'never')"
        )
    ids = [r[0] for r in conn.execute(f"SELECT id FROM {err_table} WHERE id >= 500").fetchall()]
    assert ids == [500]
    assert count(conn, err_table) == before + 1


# ---------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------

N_STREAM = 200_000


def test_stream_large_result(conn):
    n = total = 0
    for (v,) in conn.cursor().stream(f"SELECT * FROM generate_series(1, {N_STREAM})"):
        n += 1
        total += v
    assert n == N_STREAM
    assert total == N_STREAM * (N_STREAM + 1) // 2
    assert_alive(conn)


def test_fetch_large_result_in_batches(conn, fresh_schema):
    t = f"{fresh_schema}.big"
    conn.execute(
        f"CREATE TABLE {t} AS SELECT value AS id, CAST(value AS STRING) AS s "
        f"FROM generate_series(1, {N_STREAM})"
    )
    cur = conn.cursor()
    cur.execute(f"SELECT id, s FROM {t}")
    seen = 0
    ids = set()
    while batch := cur.fetchmany(10_000):
        seen += len(batch)
        ids.update(r[0] for r in batch)
        assert all(r[1] == str(r[0]) for r in batch)
    assert seen == N_STREAM and len(ids) == N_STREAM and max(ids) == N_STREAM


def test_named_server_side_cursor(server):
    # psycopg's named cursors use DECLARE ... CURSOR / FETCH inside a transaction block.
    with server.connect(autocommit=False) as c:
        with c.cursor(name=unique("cur")) as cur:
            cur.itersize = 5000
            cur.execute(f"SELECT * FROM generate_series(1, {N_STREAM})")
            first = cur.fetchmany(1000)
            assert [r[0] for r in first] == list(range(1, 1001))
            rest = sum(1 for _ in cur)
            assert len(first) + rest == N_STREAM
        c.commit()


# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------


def test_session_state_is_per_connection(server, conn):
    cat = unique("iso")
    s1, s2 = unique("a"), unique("b")
    conn.execute(f"CREATE CATALOG {cat}")
    conn.execute(f"CREATE SCHEMA {cat}.{s1}")
    conn.execute(f"CREATE SCHEMA {cat}.{s2}")
    conn.execute(f"CREATE TABLE {cat}.{s1}.t (v STRING)")
    conn.execute(f"CREATE TABLE {cat}.{s2}.t (v STRING)")
    conn.execute(f"INSERT INTO {cat}.{s1}.t VALUES ('{s1}')")
    conn.execute(f"INSERT INTO {cat}.{s2}.t VALUES ('{s2}')")

    with server.connect() as a, server.connect() as b:
        a.execute(f"USE CATALOG {cat}")
        a.execute(f"USE SCHEMA {s1}")
        assert a.execute("SELECT current_database(), current_schema()").fetchone() == (cat, s1)
        # b is untouched.
        assert b.execute("SELECT current_database(), current_schema()").fetchone() == (
            "main", "default")
        with pytest.raises(errors.UndefinedTable):
            b.execute("SELECT v FROM t")
        b.execute(f"USE {cat}.{s2}")
        # Unqualified names resolve in each connection's own schema.
        assert a.execute("SELECT v FROM t").fetchall() == [(s1,)]
        assert b.execute("SELECT v FROM t").fetchall() == [(s2,)]

        a.execute("SET application_name = 'conn_a'")
        b.execute("SET application_name = 'conn_b'")
        assert a.execute("SHOW application_name").fetchone()[0] == "conn_a"
        assert b.execute("SHOW application_name").fetchone()[0] == "conn_b"

        a.execute("SET TIME ZONE 'America/New_York'")
        assert b.execute("SHOW TimeZone").fetchone()[0] != "America/New_York"
        assert a.execute("SHOW TimeZone").fetchone()[0] == "America/New_York"

    # A new connection starts from the defaults again.
    with server.connect() as c:
        assert c.execute("SELECT current_database(), current_schema()").fetchone() == (
            "main", "default")


def test_each_statement_is_its_own_commit(server, conn, fresh_schema):
    t = f"{fresh_schema}.commits"
    conn.execute(f"CREATE TABLE {t} (id INT)")
    log = Path(file_url_to_path(table_location(conn, t))) / "_delta_log"
    versions = lambda: sorted(p.name for p in log.glob("*.json"))  # noqa: E731
    v0 = versions()
    with server.connect() as other:
        for i in range(1, 4):
            conn.execute(f"INSERT INTO {t} VALUES (%s)", (i,))
            # Visible to another connection at once: no COMMIT needed.
            assert count(other, t) == i
            assert len(versions()) == len(v0) + i
    # A non-autocommit driver (BEGIN sent implicitly) still sees its writes committed: Weir has
    # no multi-statement transactions.
    with server.connect(autocommit=False) as c:
        c.execute(f"INSERT INTO {t} VALUES (10)")
        c.commit()
    assert count(conn, t) == 4
    assert len(versions()) == len(v0) + 4
    assert os.path.isdir(log)


@pytest.mark.parametrize("protocol", ["extended", "simple"])
def test_merge_reports_counts_row_and_postgres_tag(conn, fresh_schema, protocol):
    """MERGE returns the Databricks counts row, and its command tag carries the affected rows
    as PostgreSQL's does (`MERGE 3`, what tokio-postgres's `execute` returns)."""
    t = f"{fresh_schema}.merge_tag"
    conn.execute(f"CREATE TABLE {t} (id INT, v STRING)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    cur = conn.cursor() if protocol == "extended" else psycopg.ClientCursor(conn)
    cur.execute(
        f"MERGE INTO {t} USING (VALUES (1, 'A'), (2, NULL), (9, 'z')) AS s(id, v) ON {t}.id = s.id "
        "WHEN MATCHED AND s.v IS NULL THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT *")
    assert [d.name for d in cur.description] == [
        "num_affected_rows", "num_updated_rows", "num_deleted_rows", "num_inserted_rows"]
    assert cur.fetchall() == [(3, 1, 1, 1)]
    assert cur.statusmessage == "MERGE 3"
    assert conn.execute(f"SELECT id, v FROM {t} ORDER BY id").fetchall() == [
        (1, "A"), (3, "c"), (9, "z")]


# ---------------------------------------------------------------------------------------------
# Server lifecycle
# ---------------------------------------------------------------------------------------------


def test_data_and_password_persist_across_restart(server_factory):
    first = server_factory()
    name = unique("persist")
    with first.connect() as c:
        c.execute(f"CREATE SCHEMA main.{name}")
        c.execute(f"CREATE TABLE main.{name}.t (id INT, s STRING)")
        c.execute(f"INSERT INTO main.{name}.t VALUES (1, 'kept'), (2, 'also kept')")
    first.stop()
    assert first.process.returncode == 0, first.stderr_tail()

    # WEIR_ADMIN_PASSWORD only applies on the first start of a data dir.
    second = server_factory(data_dir=first.data_dir, password="a-different-password")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(second.dsn())
    second.password = first.password
    with second.connect() as c:
        assert c.execute(f"SELECT id, s FROM main.{name}.t ORDER BY id").fetchall() == [
            (1, "kept"), (2, "also kept")]


def test_sigterm_shuts_down_cleanly(server_factory):
    srv = server_factory()
    with srv.connect() as c:
        assert c.execute("SELECT 1").fetchone() == (1,)
    srv.stop()
    assert srv.process.returncode == 0, srv.stderr_tail()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(srv.dsn())

"""system.access.audit: one row per statement and per login attempt, on both fronts, readable by
admins, durable across kill -9, pruned by the retention setting."""

from __future__ import annotations

import datetime
import sqlite3
from collections import Counter

import psycopg
import pyarrow as pa
import pytest

COLUMNS = ("user_identity, source_ip_address, service_name, action_name, statement_text, "
           "status, decision, sqlstate, securables, rows")


def audit_rows(srv) -> list[tuple]:
    """The audit rows an admin reads (the reading statement itself ends after it)."""
    with srv.connect() as c:
        return c.execute(f"SELECT {COLUMNS} FROM system.access.audit").fetchall()


def test_statements_logins_and_denials_over_postgres(server_factory):
    srv = server_factory()
    with srv.connect() as c:
        c.execute("CREATE TABLE t (id INT)")
        c.execute("INSERT INTO t VALUES (1), (2)")
        assert c.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,)]
        with pytest.raises(psycopg.errors.SyntaxError):
            c.execute("SELEC 1")
        c.execute("CREATE USER bob PASSWORD 'bobs-secret'")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(srv.dsn(user="bob", password="wrong"))
    with pytest.raises(psycopg.OperationalError, match='database "nowhere" does not exist'):
        psycopg.connect(srv.dsn(database="nowhere", user="bob", password="bobs-secret"))
    with psycopg.connect(srv.dsn(user="bob", password="bobs-secret"), autocommit=True) as bob:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT * FROM t")
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="lacks USE CATALOG on catalog system"):
            bob.execute("SELECT * FROM system.access.audit")

    ip = "127.0.0.1"
    pg = "postgres"
    login = lambda user, status, decision, state: (  # noqa: E731
        user, ip, pg, "login", None, status, decision, state, "", None)
    stmt = lambda text, action, status="succeeded", decision="allowed", state=None, sec="", rows=None, user="admin": (  # noqa: E501,E731
        user, ip, pg, action, text, status, decision, state, sec, rows)
    expected = [
        login("admin", "succeeded", "allowed", None),
        stmt("CREATE TABLE t (id INT)", "create_table", sec="main.default.t"),
        stmt("INSERT INTO t VALUES (1), (2)", "insert", sec="main.default.t", rows=2),
        stmt("SELECT id FROM t ORDER BY id", "query", sec="main.default.t", rows=2),
        stmt("SELEC 1", "unparsed", status="failed", state="42601"),
        # The password never reaches the audit log.
        stmt("CREATE USER bob PASSWORD '***'", "create_user"),
        login("bob", "failed", "denied", "28P01"),
        login("bob", "failed", "allowed", "3D000"),
        login("bob", "succeeded", "allowed", None),
        stmt("SELECT * FROM t", "query", status="failed", decision="denied", state="42501",
             user="bob"),
        stmt("SELECT * FROM system.access.audit", "query", status="failed", decision="denied",
             state="42501", user="bob"),
        # The connection audit_rows opens.
        login("admin", "succeeded", "allowed", None),
    ]
    assert Counter(audit_rows(srv)) == Counter(expected)

    with srv.connect() as c:
        ids = c.execute(
            "SELECT session_id, statement_id, event_date, duration_ms, error_message "
            "FROM system.access.audit WHERE action_name = 'unparsed'").fetchall()
    assert len(ids) == 1
    session_id, statement_id, event_date, duration_ms, error_message = ids[0]
    assert session_id and statement_id
    assert event_date == datetime.datetime.now(datetime.timezone.utc).date()
    assert duration_ms >= 0
    assert "SELEC" in error_message


def test_flight_statements_ingest_and_logins(server_factory):
    srv = server_factory()
    with srv.adbc() as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 AS one")
            assert cur.fetchall() == [(1,)]
            data = pa.table({"id": pa.array([1, 2, 3], pa.int32())})
            assert cur.adbc_ingest("visits", data, mode="create",
                                   catalog_name="main", db_schema_name="default") == 3
    import adbc_driver_manager

    with pytest.raises(adbc_driver_manager.Error):
        with srv.adbc(password="wrong") as bad:
            with bad.cursor() as cur:
                cur.execute("SELECT 1")

    rows = [r for r in audit_rows(srv) if r[2] == "flight"]
    assert Counter(rows) == Counter([
        ("admin", "127.0.0.1", "flight", "login", None, "succeeded", "allowed", None, "", None),
        ("admin", "127.0.0.1", "flight", "query", "SELECT 1 AS one", "succeeded", "allowed",
         None, "", 1),
        ("admin", "127.0.0.1", "flight", "ingest", "INGEST INTO main.default.visits MODE Create",
         "succeeded", "allowed", None, "main.default.visits", 3),
        ("admin", "127.0.0.1", "flight", "login", None, "failed", "denied", "28P01", "", None),
    ])
    # Non-admins are refused over Flight too.
    with srv.connect() as c:
        c.execute("CREATE USER carol PASSWORD 'carols-secret'")
    with srv.adbc(user="carol", password="carols-secret") as carol:
        with carol.cursor() as cur:
            with pytest.raises(adbc_driver_manager.Error, match="lacks USE CATALOG on catalog system"):
                cur.execute("SELECT * FROM system.access.audit")


def test_a_returned_statement_survives_kill_9_and_restart(server_factory):
    srv = server_factory()
    with srv.connect() as c:
        assert c.execute("SELECT 'before the crash' AS marker").fetchall() == [
            ("before the crash",)]
    srv.process.kill()
    srv.process.wait(timeout=10)
    again = server_factory(data_dir=srv.data_dir)
    assert ("admin", "127.0.0.1", "postgres", "query", "SELECT 'before the crash' AS marker",
            "succeeded", "allowed", None, "", 1) in audit_rows(again)


def test_records_older_than_the_retention_are_pruned(server_factory):
    srv = server_factory()
    with srv.connect() as c:
        c.execute("SELECT 'recent' AS marker")
    srv.stop()
    # A record from 40 days ago, as an older server would have left it.
    old = int((datetime.datetime.now(datetime.timezone.utc)
               - datetime.timedelta(days=40)).timestamp() * 1000)
    with sqlite3.connect(srv.data_dir / "audit.db") as db:
        db.execute(
            "INSERT INTO audit (event_time_ms, user, protocol, action, status, statement_text, "
            "securables) VALUES (?, 'admin', 'postgres', 'query', 'succeeded', 'SELECT ''old''', "
            "'[]')", (old,))
    kept = server_factory(data_dir=srv.data_dir, extra_args=["--audit-retention-days", "90"])
    texts = [r[4] for r in audit_rows(kept)]
    assert "SELECT 'old'" in texts and "SELECT 'recent' AS marker" in texts
    kept.stop()
    pruned = server_factory(data_dir=srv.data_dir, extra_args=["--audit-retention-days", "30"])
    texts = [r[4] for r in audit_rows(pruned)]
    assert "SELECT 'old'" not in texts and "SELECT 'recent' AS marker" in texts


def test_each_statement_of_a_psql_request_is_its_own_row(server_factory):
    """psql -c sends one simple-protocol request; each statement in it is audited with its own
    text, up to the one that fails (the statements after it never run)."""
    from test_psql import psql

    srv = server_factory()
    proc = psql(srv, "CREATE TABLE m (id INT); INSERT INTO m VALUES (1); SELECT nope FROM m; "
                     "INSERT INTO m VALUES (2)", check=False)
    assert proc.returncode != 0 and "nope" in proc.stderr, proc.stderr
    rows = [(r[3], r[4], r[5], r[7], r[9]) for r in audit_rows(srv) if r[3] != "login"]
    assert Counter(rows) == Counter([
        ("create_table", "CREATE TABLE m (id INT)", "succeeded", None, None),
        ("insert", "INSERT INTO m VALUES (1)", "succeeded", None, 1),
        ("query", "SELECT nope FROM m", "failed", "42703", None),
    ])


def test_time_filters_select_the_same_rows_as_without_them(server_factory):
    """Filters on event_time / event_date bound what is read from the store; the rows they keep
    are exactly those a full read keeps."""
    srv = server_factory()
    with srv.connect() as c:
        c.execute("CREATE TABLE f (id INT)")
        total = c.execute("SELECT count(*) FROM system.access.audit").fetchone()[0]
        assert total == 2  # the login and the CREATE TABLE
        q = "SELECT count(*) FROM system.access.audit WHERE "
        assert c.execute(q + "event_time < TIMESTAMP '2000-01-01 00:00:00'").fetchone()[0] == 0
        assert c.execute(q + "event_date > current_date()").fetchone()[0] == 0
        assert c.execute(q + "event_date = current_date() AND action_name = 'create_table'"
                         ).fetchone()[0] == 1
        assert c.execute(q + "event_time >= now() - INTERVAL '1 hour' AND event_time <= now()"
                         ).fetchone()[0] == total + 4  # and the four counts before this one
        assert c.execute(
            "SELECT count(*) FROM system.access.table_lineage "
            "WHERE event_date BETWEEN current_date() - 1 AND current_date()").fetchone()[0] == 0


def test_a_log_longer_than_a_page_is_read_whole_and_once(server_factory):
    """The audit table is read from its store a page (1,024 rows) at a time: a count over
    several pages sees every row exactly once."""
    srv = server_factory()
    statements = 2_500
    with srv.connect() as c:
        # Without parameters, psycopg sends one simple-protocol request: 2,500 statements.
        c.execute("SELECT 1;" * statements)
        total, distinct = c.execute(
            "SELECT count(*), count(DISTINCT statement_id) FROM system.access.audit "
            "WHERE action_name = 'query' AND statement_text = 'SELECT 1'").fetchone()
        assert (total, distinct) == (statements, statements)
        assert len(c.execute("SELECT * FROM system.access.audit LIMIT 5").fetchall()) == 5


def test_each_row_says_what_the_client_said_it_is(server_factory):
    """user_agent: PostgreSQL's application_name, the Flight client's user-agent header."""
    srv = server_factory()
    with psycopg.connect(srv.dsn(application_name="etl-nightly"), autocommit=True) as c:
        c.execute("SELECT 1")
    with srv.adbc() as conn, conn.cursor() as cur:
        cur.execute("SELECT 2")
        cur.fetchall()
    with srv.connect() as c:
        rows = c.execute(
            "SELECT service_name, action_name, statement_text, user_agent "
            "FROM system.access.audit ORDER BY event_time").fetchall()
    assert [r[:3] for r in rows] == [
        ("postgres", "login", None), ("postgres", "query", "SELECT 1"),
        ("flight", "login", None), ("flight", "query", "SELECT 2"),
        ("postgres", "login", None),
    ]
    assert [r[3] for r in rows[:2]] == ["etl-nightly", "etl-nightly"]
    assert all(r[3].startswith("ADBC Flight SQL Driver") for r in rows[2:4])
    # A connection that gives no application_name has none.
    assert rows[4][3] is None

"""Governance end to end: users and groups, grants (table, column, catalog/schema inheritance,
ownership), column masks and row filters, checked through both fronts — PostgreSQL wire
(psycopg, psql) and Arrow Flight SQL (ADBC).

The module fixture `scn` starts one server and, as admin, builds the scenario below. Each test
then acts as one of its users. Most tests take the `front` fixture ("postgres" or "flight") and
go through `scn.run(front, user, sql)`, which returns the rows or raises `Denied` — one error type
for both fronts — so each assertion is written once.

Scenario (all built by admin):

    main.hr.employees(id, name, salary, region, ssn)   6 rows, change data feed on
        ssn    masked by main.hr.mask_ssn  -> '***-**-****' unless is_member('hr_admins')
        rows   filtered by main.hr.eu_only -> region = 'EU' unless is_member('admins')
    main.hr.regions(region, manager)                   for joins
    main.hr.v_names = SELECT id, name FROM main.hr.employees   (owned by admin)
    main.payroll.bonuses, vault.keys.secrets           nobody but admin has any privilege
    main.sandbox                                       scratch schema for per-test tables

    groups  analysts ⊃ eu_analysts, hr, hr_admins
    alice   analysts:  USE CATALOG main, USE SCHEMA main.hr, SELECT (id, name, region) on
                       employees, SELECT on regions
    erin    eu_analysts (so analysts, transitively)
    bob     hr:        USE CATALOG main, USE SCHEMA main.hr + main.sandbox, SELECT on
                       employees and regions
    helen   hr + hr_admins (sees real SSNs, still only EU rows)
    carol   USE CATALOG main, USE SCHEMA main.hr, SELECT on the view only
    sam     USE CATALOG main, USE SCHEMA + CREATE TABLE on main.sandbox
    dave    nothing at all
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import adbc_driver_manager
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO, WeirServer, file_url_to_path, raw_startup, unique

FRONTS = ["postgres", "flight"]
# How "permission denied" looks on each front: the SQLSTATE over Postgres, the gRPC status over
# Flight (which also carries the SQLSTATE in its `x-sqlstate` header).
DENIED_CODE = {"postgres": "42501", "flight": "PERMISSION_DENIED"}

MASK = "***-**-****"
EMPLOYEES = [
    (1, "Ann", 5200.0, "EU", "111-11-1111"),
    (2, "Ben", 6100.0, "US", "222-22-2222"),
    (3, "Chen", 4800.0, "APAC", "333-33-3333"),
    (4, "Dora", 7000.0, "EU", "444-44-4444"),
    (5, "Eli", 5500.0, "US", "555-55-5555"),
    (6, "Fumi", 6600.0, "APAC", "666-66-6666"),
]
EU = [r for r in EMPLOYEES if r[3] == "EU"]
EU_IDS = [r[0] for r in EU]  # [1, 4]
E = "main.hr.employees"
R = "main.hr.regions"
SCENARIO_USERS = ["alice", "bob", "carol", "dave", "erin", "helen", "sam"]


# ---------------------------------------------------------------------------------------------
# One way to run SQL as anyone over either front
# ---------------------------------------------------------------------------------------------


class Denied(Exception):
    """A failed statement, whichever front ran it.

    `code` is the SQLSTATE over Postgres and the gRPC status name (e.g. PERMISSION_DENIED) over
    Flight; `sqlstate` is the SQLSTATE on both (Flight's `x-sqlstate` header)."""

    def __init__(self, front: str, code: str, sqlstate: str | None, message: str):
        super().__init__(f"[{front}] {code} (sqlstate {sqlstate}): {message}")
        self.front, self.code, self.sqlstate, self.message = front, code, sqlstate, message

    @property
    def is_permission_denied(self) -> bool:
        return self.code == DENIED_CODE[self.front] and self.sqlstate == "42501"


class Rows(list):
    """Result rows (tuples) with the result's column names in `.columns`."""

    columns: list[str]

    def __init__(self, rows, columns):
        super().__init__(rows)
        self.columns = list(columns)


_GRPC_OF_ADBC = {
    "UNAUTHORIZED": "PERMISSION_DENIED",
    "UNAUTHENTICATED": "UNAUTHENTICATED",
    "NOT_IMPLEMENTED": "UNIMPLEMENTED",
    "TIMEOUT": "DEADLINE_EXCEEDED",
    "INVALID_STATE": "FAILED_PRECONDITION",
}


def denied_from_pg(e: psycopg.Error) -> Denied:
    return Denied("postgres", e.sqlstate or "?", e.sqlstate, str(e))


def denied_from_adbc(e: adbc_driver_manager.Error) -> Denied:
    details = {}
    for k, v in getattr(e, "details", None) or []:
        k = k.decode() if isinstance(k, bytes) else k
        details[k] = v.decode(errors="replace") if isinstance(v, bytes) else v
    msg = str(e)
    # The Go Flight SQL driver ends its messages with "(<gRPC code>; <call>)".
    m = re.search(r"\((\w+); \w+\)\s*$", msg)
    if m:
        code = re.sub(r"(?<!^)(?=[A-Z])", "_", m.group(1)).upper()
    else:
        status = getattr(e, "status_code", None)
        name = status.name if status is not None else "UNKNOWN"
        code = _GRPC_OF_ADBC.get(name, name)
    return Denied("flight", code, details.get("x-sqlstate"), msg)


def unquote(message: str) -> str:
    """The message with quotes and backquotes removed, so `main`.`hr` matches main.hr."""
    return re.sub(r"[`\"']", "", message)


class Scenario:
    """The module's server, its users' passwords, and cached connections per (front, user)."""

    def __init__(self, server: WeirServer):
        self.server = server
        self.passwords: dict[str, str] = {"admin": server.password}
        self._pg: dict[str, psycopg.Connection] = {}
        self._flight: dict[str, object] = {}

    # -- connections ------------------------------------------------------------------------

    def pg_connect(self, user: str, database: str = "main", **kw) -> psycopg.Connection:
        s = self.server
        return psycopg.connect(s.dsn(database, user=user, password=self.passwords[user]),
                               autocommit=True, **kw)

    def flight_connect(self, user: str):
        return self.server.adbc(user=user, password=self.passwords[user])

    def _conn(self, front: str, user: str):
        cache = self._pg if front == "postgres" else self._flight
        c = cache.get(user)
        if c is None or (front == "postgres" and (c.closed or c.broken)):
            c = self.pg_connect(user) if front == "postgres" else self.flight_connect(user)
            cache[user] = c
        return c

    def reconnect(self, user: str) -> None:
        """Drops the cached connections of `user` (the next run logs in again)."""
        for cache in (self._pg, self._flight):
            c = cache.pop(user, None)
            if c is not None:
                try:
                    c.close()
                except Exception:
                    pass

    def close(self) -> None:
        for user in set(self._pg) | set(self._flight):
            self.reconnect(user)

    # -- statements -------------------------------------------------------------------------

    def run(self, front: str, user: str, sql: str, params: tuple | None = None) -> Rows:
        """Runs one statement as `user`; parameters are written `?` for both fronts."""
        conn = self._conn(front, user)
        if front == "postgres":
            try:
                q = sql.replace("?", "%s") if params is not None else sql
                cur = conn.execute(q, params)
                if not cur.description:
                    return Rows([], [])
                return Rows(cur.fetchall(), [d.name for d in cur.description])
            except psycopg.Error as e:
                raise denied_from_pg(e) from None
        try:
            with conn.cursor() as cur:
                if params is not None:
                    cur.execute(sql, params)
                else:
                    cur.execute(sql)
                if not cur.description:
                    return Rows([], [])
                return Rows(cur.fetchall(), [d[0] for d in cur.description])
        except adbc_driver_manager.Error as e:
            raise denied_from_adbc(e) from None

    def admin(self, sql: str, params: tuple | None = None) -> Rows:
        return self.run("postgres", "admin", sql, params)

    def new_user(self, prefix: str, groups=(), grants=()) -> str:
        """Creates a user (with a password) for one test, adds it to `groups` and runs each
        `grants` entry as `GRANT <entry> TO <user>`."""
        name = unique(prefix).lower()
        self.passwords[name] = f"{name}-Pw-{uuid.uuid4().hex[:12]}"
        self.admin(f"CREATE USER {name} PASSWORD '{self.passwords[name]}'")
        for g in groups:
            self.admin(f"ALTER GROUP {g} ADD USER {name}")
        for g in grants:
            self.admin(f"GRANT {g} TO {name}")
        return name


def expect_denied(scn: Scenario, front: str, user: str, sql: str, *mentions: str,
                  params: tuple | None = None) -> Denied:
    """`sql` run as `user` is refused as a permission error (42501 / PERMISSION_DENIED) whose
    message matches every regex in `mentions` (case-insensitive, quotes ignored)."""
    try:
        got = scn.run(front, user, sql, params)
    except Denied as d:
        assert d.is_permission_denied, f"{sql!r} as {user}: expected permission denied, got {d}"
        text = unquote(d.message)
        for m in mentions:
            assert re.search(m, text, re.I | re.S), (
                f"{sql!r} as {user}: message {d.message!r} does not match /{m}/")
        return d
    pytest.fail(f"{sql!r} as {user} over {front} was allowed; returned {list(got)[:5]!r}")


def expect_error(scn: Scenario, front: str, user: str, sql: str) -> Denied:
    """`sql` fails (any error) and returns no rows."""
    try:
        got = scn.run(front, user, sql)
    except Denied as d:
        return d
    pytest.fail(f"{sql!r} as {user} over {front} succeeded; returned {list(got)[:5]!r}")


def listing(scn: Scenario, front: str, user: str, sql: str) -> Rows:
    """A listing's rows; a permission error counts as an empty listing (both hide the objects).
    Any other error fails the test."""
    try:
        return scn.run(front, user, sql)
    except Denied as d:
        assert d.is_permission_denied, f"{sql!r} as {user}: {d}"
        return Rows([], [])


def priv(p: str) -> str:
    """Regex for a privilege name in a message."""
    return r"\b" + re.escape(p).replace("\\ ", " ").replace(" ", "[ _]") + r"\b"


def obj(name: str) -> str:
    """Regex for an object's full name in a message."""
    return r"\b" + re.escape(name) + r"\b"


def column(c: str) -> str:
    return r"\bcolumn\s+" + re.escape(c) + r"\b"


def first_col(rows) -> list:
    return [r[0] for r in rows]


def employees_snapshot(scn: Scenario) -> tuple:
    """What admin sees of the employees table (ssn left out: it is masked for admin too) and
    how many commits it has."""
    data = list(scn.admin(f"SELECT id, name, salary, region FROM {E} ORDER BY id"))
    history = len(scn.admin(f"DESCRIBE HISTORY {E}"))
    return data, history


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=FRONTS)
def front(request) -> str:
    return request.param


def _scenario_sql(pw: dict[str, str]) -> list[str]:
    values = ", ".join(f"({i}, '{n}', {s}, '{r}', '{ssn}')" for i, n, s, r, ssn in EMPLOYEES)
    return [
        # Data.
        "CREATE SCHEMA main.hr",
        f"CREATE TABLE {E} (id INT, name STRING, salary DOUBLE, region STRING, ssn STRING) "
        "TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')",
        f"INSERT INTO {E} VALUES {values}",  # version 1
        f"CREATE TABLE {R} (region STRING, manager STRING)",
        f"INSERT INTO {R} VALUES ('EU', 'Marie'), ('US', 'Sam'), ('APAC', 'Kenji')",
        f"CREATE VIEW main.hr.v_names AS SELECT id, name FROM {E}",
        "CREATE SCHEMA main.payroll",
        "CREATE TABLE main.payroll.bonuses (id INT, amount DOUBLE)",
        "INSERT INTO main.payroll.bonuses VALUES (1, 100.0)",
        "CREATE SCHEMA main.sandbox",
        "CREATE CATALOG vault",
        "CREATE SCHEMA vault.keys",
        "CREATE TABLE vault.keys.secrets (k STRING)",
        "INSERT INTO vault.keys.secrets VALUES ('s3cr3t')",
        # Principals.
        "CREATE GROUP analysts",
        "CREATE GROUP eu_analysts",
        "CREATE GROUP hr",
        "CREATE GROUP hr_admins",
        "ALTER GROUP analysts ADD GROUP eu_analysts",
        *[f"CREATE USER {u} PASSWORD '{pw[u]}'" for u in SCENARIO_USERS],
        "ALTER GROUP analysts ADD USER alice",
        "ALTER GROUP eu_analysts ADD USER erin",
        "ALTER GROUP hr ADD USER bob",
        "ALTER GROUP hr ADD USER helen",
        "ALTER GROUP hr_admins ADD USER helen",
        # Grants.
        "GRANT USE CATALOG ON CATALOG main TO analysts",
        "GRANT USE SCHEMA ON SCHEMA main.hr TO analysts",
        f"GRANT SELECT (id, name, region) ON TABLE {E} TO analysts",
        f"GRANT SELECT ON TABLE {R} TO analysts",
        "GRANT USE CATALOG ON CATALOG main TO hr",
        "GRANT USE SCHEMA ON SCHEMA main.hr TO hr",
        "GRANT USE SCHEMA ON SCHEMA main.sandbox TO hr",
        f"GRANT SELECT ON TABLE {E} TO hr",
        f"GRANT SELECT ON TABLE {R} TO `hr`",
        "GRANT USE CATALOG ON CATALOG main TO carol",
        "GRANT USE SCHEMA ON SCHEMA main.hr TO carol",
        "GRANT SELECT ON VIEW main.hr.v_names TO carol",
        "GRANT USE CATALOG ON CATALOG main TO sam",
        "GRANT USE SCHEMA, CREATE TABLE ON SCHEMA main.sandbox TO sam",
        # Policies.
        "CREATE FUNCTION main.hr.mask_ssn(ssn STRING) RETURNS STRING "
        f"RETURN CASE WHEN is_member('hr_admins') THEN ssn ELSE '{MASK}' END",
        f"ALTER TABLE {E} ALTER COLUMN ssn SET MASK main.hr.mask_ssn",
        "CREATE FUNCTION main.hr.eu_only(region STRING) RETURNS BOOLEAN "
        "RETURN is_member('admins') OR region = 'EU'",
        f"ALTER TABLE {E} SET ROW FILTER main.hr.eu_only ON (region)",
    ]


@pytest.fixture(scope="module")
def scn(server) -> Iterator[Scenario]:
    s = Scenario(server)
    for u in SCENARIO_USERS:
        s.passwords[u] = f"{u}-Pw-{uuid.uuid4().hex[:12]}"
    for stmt in _scenario_sql(s.passwords):
        try:
            s.admin(stmt)
        except Denied as d:
            pytest.fail(f"scenario setup failed at {stmt!r}: {d}", pytrace=False)
    yield s
    s.close()


# ---------------------------------------------------------------------------------------------
# Principals: who may manage them, logging in, passwords
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "CREATE USER mallory PASSWORD 'x-Pw-1'",
    "CREATE GROUP mallories",
    "ALTER GROUP analysts ADD USER dave",
    "ALTER GROUP admins ADD USER dave",
    "ALTER GROUP analysts DROP USER alice",
    "ALTER GROUP analysts DROP GROUP eu_analysts",
    "DROP USER alice",
    "DROP GROUP hr",
    "ALTER USER alice PASSWORD 'taken-over-1'",
    f"GRANT SELECT ON TABLE {E} TO dave",
    "GRANT CREATE CATALOG ON METASTORE TO dave",
    "GRANT ALL PRIVILEGES ON CATALOG main TO `account users`",
], ids=["create-user", "create-group", "join-group", "join-admins", "drop-member",
        "drop-nested-group", "drop-user", "drop-group", "alter-other-password", "self-grant",
        "grant-metastore", "grant-all-to-everyone"])
def test_non_admins_cannot_manage_principals_or_grant(scn, front, sql):
    """Only admins manage users and groups; a user without ownership/MANAGE cannot grant —
    not even to itself — and nothing changes."""
    for user in ("dave", "bob"):
        expect_denied(scn, front, user, sql)
    assert "mallory" not in first_col(scn.admin("SHOW USERS"))
    assert "mallories" not in first_col(scn.admin("SHOW GROUPS"))
    assert scn.run(front, "dave", "SELECT is_member('analysts') AS a, is_member('admins') AS b"
                   ) == [(False, False)]
    # alice is still in analysts and still logs in with her password.
    scn.reconnect("alice")
    assert scn.run(front, "alice", f"SELECT count(id) FROM {E}") == [(len(EU),)]


def test_show_users_and_groups(scn, front):
    """SHOW USERS / SHOW GROUPS list principals in a `name` column, built-in ones included."""
    users = scn.run(front, "admin", "SHOW USERS")
    assert users.columns == ["name"]
    assert {"admin", *SCENARIO_USERS} <= set(first_col(users))
    groups = scn.run(front, "admin", "SHOW GROUPS")
    assert groups.columns == ["name"]
    assert {"admins", "analysts", "eu_analysts", "hr", "hr_admins"} <= set(first_col(groups))


def _flight_login(server: WeirServer, user: str, password: str) -> Denied | None:
    """None if a Flight connection as user/password can run a query, else the error."""
    try:
        with server.adbc(user=user, password=password) as c, c.cursor() as cur:
            cur.execute("SELECT current_user() AS u")
            assert cur.fetchall() == [(user,)]
        return None
    except adbc_driver_manager.Error as e:
        return denied_from_adbc(e)


def _pg_login(server: WeirServer, user: str, password: str) -> dict:
    return raw_startup(server.host, server.port, user, password, "main")


def test_user_login_password_change_and_drop(scn):
    """A created user logs in over Postgres (SCRAM) and Flight (basic auth); a wrong password is
    28P01 / UNAUTHENTICATED; after ALTER USER the old password fails and the new one works;
    after DROP USER nothing works."""
    srv = scn.server
    u = unique("login").lower()
    old, new = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    scn.admin(f"CREATE USER {u} PASSWORD '{old}'")

    with psycopg.connect(srv.dsn("main", user=u, password=old), prepare_threshold=None) as c:
        assert c.pgconn.used_password
        assert c.execute("SELECT current_user() AS u, session_user() AS s").fetchone() == (u, u)
    assert _pg_login(srv, u, old) == {"ok": True, "after_ready": []}
    assert _flight_login(srv, u, old) is None
    bad = _pg_login(srv, u, "not-" + old)
    assert not bad["ok"] and bad["error"].get("C") == "28P01", bad
    assert _flight_login(srv, u, "not-" + old).code == "UNAUTHENTICATED"

    scn.admin(f"ALTER USER {u} PASSWORD '{new}'")
    res = _pg_login(srv, u, old)
    assert not res["ok"] and res["error"].get("C") == "28P01", res
    assert _flight_login(srv, u, old).code == "UNAUTHENTICATED"
    assert _pg_login(srv, u, new)["ok"]
    assert _flight_login(srv, u, new) is None

    scn.admin(f"DROP USER {u}")
    assert u not in first_col(scn.admin("SHOW USERS"))
    res = _pg_login(srv, u, new)
    assert not res["ok"] and res["error"].get("C") == "28P01", res
    assert _flight_login(srv, u, new).code == "UNAUTHENTICATED"


def test_user_changes_own_password_only(scn, front):
    """A user may ALTER USER its own password (and log in with it); not anyone else's."""
    u = scn.new_user("selfpw")
    new = f"mine-{uuid.uuid4().hex}"
    scn.run(front, u, f"ALTER USER {u} PASSWORD '{new}'")
    scn.passwords[u] = new
    scn.reconnect(u)
    assert scn.run(front, u, "SELECT current_user() AS u") == [(u,)]
    assert _pg_login(scn.server, u, new)["ok"]
    expect_denied(scn, front, u, "ALTER USER alice PASSWORD 'hijacked-1'")
    assert _pg_login(scn.server, "alice", scn.passwords["alice"])["ok"]


def test_create_user_by_new_admin_member(scn, front):
    """Membership of `admins` is what makes an admin: a user added to it may create users and
    run admin-only settings; removed again, it may not."""
    root = scn.new_user("root", groups=["admins"])
    made = unique("made").lower()
    scn.run(front, root, f"CREATE USER {made} PASSWORD 'made-Pw-1'")
    assert made in first_col(scn.admin("SHOW USERS"))
    scn.run(front, root, "SET spark.databricks.delta.retentionDurationCheck.enabled = false")
    scn.admin(f"ALTER GROUP admins DROP USER {root}")
    scn.reconnect(root)
    expect_denied(scn, front, root, f"DROP USER {made}")
    scn.admin(f"DROP USER {made}")


def test_current_user_functions(scn, front):
    """current_user()/session_user() name the logged-in user on both fronts."""
    assert scn.run(front, "bob", "SELECT current_user() AS u, session_user() AS s") == [
        ("bob", "bob")]


# ---------------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------------


def test_nested_group_member_gets_outer_groups_grants(scn, front):
    """erin is in eu_analysts, a member of analysts: she gets analysts' column grants and
    is_member/is_account_group_member see the transitive membership."""
    rows = scn.run(front, "erin", f"SELECT * FROM {E} ORDER BY id")
    assert rows.columns == ["id", "name", "region"]
    assert rows == [(i, n, r) for i, n, _, r, _ in EU]
    assert scn.run(front, "erin",
                   "SELECT is_member('analysts') AS a, is_member('eu_analysts') AS b, "
                   "is_member('hr') AS c, is_account_group_member('analysts') AS d, "
                   "is_member('account users') AS e") == [(True, True, False, True, True)]
    assert scn.run(front, "alice",
                   "SELECT is_member('analysts') AS a, is_member('eu_analysts') AS b"
                   ) == [(True, False)]
    expect_denied(scn, front, "erin", f"SELECT salary FROM {E}", column("salary"))


def test_group_membership_changes_take_effect(scn, front):
    """ALTER GROUP ADD/DROP USER and ADD/DROP GROUP change what a user may read; DROP GROUP
    removes the group and its grants."""
    t = f"main.sandbox.{unique('grp')}"
    scn.admin(f"CREATE TABLE {t} (x INT)")
    scn.admin(f"INSERT INTO {t} VALUES (1)")
    outer, inner = unique("outer").lower(), unique("inner").lower()
    scn.admin(f"CREATE GROUP {outer}")
    scn.admin(f"CREATE GROUP {inner}")
    for g in ("USE CATALOG ON CATALOG main", "USE SCHEMA ON SCHEMA main.sandbox",
              f"SELECT ON TABLE {t}"):
        scn.admin(f"GRANT {g} TO {outer}")
    u = scn.new_user("member")
    q = f"SELECT x FROM {t}"
    expect_denied(scn, front, u, q, priv("SELECT") + "|" + priv("USE CATALOG") + "|" +
                  priv("USE SCHEMA"))

    scn.admin(f"ALTER GROUP {outer} ADD USER {u}")
    scn.reconnect(u)
    assert scn.run(front, u, q) == [(1,)]
    scn.admin(f"ALTER GROUP {outer} DROP USER {u}")
    scn.reconnect(u)
    expect_denied(scn, front, u, q)

    scn.admin(f"ALTER GROUP {inner} ADD USER {u}")
    scn.admin(f"ALTER GROUP {outer} ADD GROUP {inner}")
    scn.reconnect(u)
    assert scn.run(front, u, q) == [(1,)]
    assert scn.run(front, u, f"SELECT is_member('{outer}') AS m") == [(True,)]
    scn.admin(f"ALTER GROUP {outer} DROP GROUP {inner}")
    scn.reconnect(u)
    expect_denied(scn, front, u, q)
    assert scn.run(front, u, f"SELECT is_member('{outer}') AS m") == [(False,)]

    scn.admin(f"ALTER GROUP {outer} ADD USER {u}")
    scn.admin(f"DROP GROUP {outer}")
    assert outer not in first_col(scn.admin("SHOW GROUPS"))
    scn.reconnect(u)
    expect_denied(scn, front, u, q)


def test_account_users_grant_reaches_every_user(scn, front):
    """A grant to `account users` (backquoted) reaches every user, including users created
    after it; dave, with nothing else, reads the table."""
    cat = unique("pub").lower()
    try:
        scn.admin(f"CREATE CATALOG {cat}")
        scn.admin(f"CREATE SCHEMA {cat}.s")
        scn.admin(f"CREATE TABLE {cat}.s.t (x INT)")
        scn.admin(f"INSERT INTO {cat}.s.t VALUES (42)")
        scn.admin(f"GRANT USE CATALOG ON CATALOG {cat} TO `account users`")
        scn.admin(f"GRANT USE SCHEMA ON SCHEMA {cat}.s TO `account users`")
        scn.admin(f"GRANT SELECT ON TABLE {cat}.s.t TO `account users`")
        assert scn.run(front, "dave", f"SELECT x FROM {cat}.s.t") == [(42,)]
        later = scn.new_user("later")
        assert scn.run(front, later, f"SELECT x FROM {cat}.s.t") == [(42,)]
        assert cat in first_col(listing(scn, front, "dave", "SHOW CATALOGS"))
        grants = scn.admin(f"SHOW GRANTS ON TABLE {cat}.s.t")
        assert ("account users", "SELECT", "TABLE", f"{cat}.s.t") in grants
        # account users has no MODIFY.
        expect_denied(scn, front, "dave", f"INSERT INTO {cat}.s.t VALUES (1)",
                      priv("MODIFY"), obj(f"{cat}.s.t"))
    finally:
        scn.admin(f"DROP CATALOG IF EXISTS {cat} CASCADE")


# ---------------------------------------------------------------------------------------------
# Table privileges, views, EXPLAIN
# ---------------------------------------------------------------------------------------------


def test_select_without_grant_is_denied(scn, front):
    """Reading a table needs USE CATALOG + USE SCHEMA + SELECT: carol (who has the first two)
    is refused with a message naming SELECT and the table; dave (nothing) is refused too."""
    expect_denied(scn, front, "carol", f"SELECT * FROM {E}", priv("SELECT"), obj(E))
    expect_denied(scn, front, "carol", f"SELECT count(*) FROM {E}", priv("SELECT"), obj(E))
    expect_denied(scn, front, "dave", f"SELECT * FROM {E}",
                  r"\b(SELECT|USE CATALOG|USE SCHEMA)\b", r"\bmain\b")
    # Unqualified names resolve to the same table and are refused the same way.
    expect_denied(scn, front, "carol", "SELECT id FROM hr.employees", priv("SELECT"), obj(E))


def test_view_runs_with_owners_rights(scn, front):
    """carol has SELECT on main.hr.v_names (owned by admin) and nothing on the table: the view
    works, the table (directly, in a join, or in a subquery) is refused."""
    rows = scn.run(front, "carol", "SELECT id, name FROM main.hr.v_names ORDER BY id")
    assert rows and set(rows) <= {(i, n) for i, n, *_ in EMPLOYEES}
    expect_denied(scn, front, "carol", f"SELECT name FROM {E}", priv("SELECT"), obj(E))
    expect_denied(scn, front, "carol",
                  f"SELECT v.id FROM main.hr.v_names v JOIN {E} e ON v.id = e.id",
                  priv("SELECT"), obj(E))
    expect_denied(scn, front, "carol",
                  f"SELECT id FROM main.hr.v_names WHERE id IN (SELECT id FROM {E})",
                  priv("SELECT"), obj(E))


def test_row_filter_applies_through_view(scn, front):
    """The row filter on the view's base table is evaluated for the querying user: carol
    (not in admins) sees only the EU rows through the admin-owned view."""
    rows = scn.run(front, "carol", "SELECT id, name FROM main.hr.v_names ORDER BY id")
    assert rows == [(i, n) for i, n, *_ in EU]


@pytest.mark.parametrize("user, sql, mentions", [
    ("carol", f"EXPLAIN SELECT * FROM {E}", [priv("SELECT"), obj(E)]),
    ("carol", f"EXPLAIN ANALYZE SELECT * FROM {E}", [priv("SELECT"), obj(E)]),
    ("dave", "EXPLAIN SELECT * FROM main.payroll.bonuses", []),
    ("alice", f"EXPLAIN SELECT salary FROM {E}", [column("salary")]),
], ids=["explain", "explain-analyze", "explain-invisible", "explain-column"])
def test_explain_of_denied_query_is_denied(scn, front, user, sql, mentions):
    """EXPLAIN of a query the user may not run is refused, and the error leaks no plan."""
    d = expect_denied(scn, front, user, sql, *mentions)
    for leak in ("TableScan", "DeltaScanExec", "DataSourceExec", ".parquet", "projection=",
                 str(scn.server.data_dir)):
        assert leak not in d.message, d.message


def test_creator_is_owner_and_owner_or_manage_may_grant(scn, front):
    """The creator of a table owns it (reads, writes, grants it without any grant); ALTER TABLE
    OWNER TO hands that over; MANAGE lets a non-owner grant; SELECT alone does not."""
    creator = scn.new_user("creator", grants=[
        "USE CATALOG ON CATALOG main", "USE SCHEMA, CREATE TABLE ON SCHEMA main.sandbox"])
    reader = scn.new_user("reader", grants=[
        "USE CATALOG ON CATALOG main", "USE SCHEMA ON SCHEMA main.sandbox"])
    t = f"main.sandbox.{unique('own')}"
    scn.run(front, creator, f"CREATE TABLE {t} (x INT)")
    scn.run(front, creator, f"INSERT INTO {t} VALUES (1), (2)")
    assert scn.run(front, creator, f"SELECT sum(x) FROM {t}") == [(3,)]
    expect_denied(scn, front, reader, f"SELECT x FROM {t}", priv("SELECT"), obj(t))
    scn.run(front, creator, f"GRANT SELECT ON TABLE {t} TO {reader}")
    assert scn.run(front, reader, f"SELECT count(*) FROM {t}") == [(2,)]
    # A SELECT holder may not pass it on, nor take the table over.
    expect_denied(scn, front, reader, f"GRANT SELECT ON TABLE {t} TO dave")
    expect_denied(scn, front, reader, f"ALTER TABLE {t} OWNER TO {reader}")
    expect_denied(scn, front, reader, f"REVOKE SELECT ON TABLE {t} FROM {creator}")

    # MANAGE makes a non-owner able to grant.
    manager = scn.new_user("manager", grants=[
        "USE CATALOG ON CATALOG main", "USE SCHEMA ON SCHEMA main.sandbox"])
    scn.run(front, creator, f"GRANT MANAGE ON TABLE {t} TO {manager}")
    scn.run(front, manager, f"GRANT MODIFY ON TABLE {t} TO {reader}")
    scn.run(front, reader, f"INSERT INTO {t} VALUES (3)")
    assert scn.admin(f"SELECT count(*) FROM {t}") == [(3,)]

    # Ownership moves with OWNER TO: the old owner loses what it had only as owner.
    scn.admin(f"ALTER TABLE {t} OWNER TO {manager}")
    expect_denied(scn, front, creator, f"GRANT SELECT ON TABLE {t} TO dave")
    scn.run(front, manager, f"REVOKE SELECT ON TABLE {t} FROM {reader}")
    expect_denied(scn, front, reader, f"SELECT x FROM {t}", priv("SELECT"), obj(t))


def test_create_catalog_needs_metastore_privilege(scn, front):
    """CREATE CATALOG needs CREATE CATALOG on the metastore; the new catalog's creator owns it
    and can build and read inside it."""
    u = scn.new_user("catmaker")
    cat = unique("own_cat").lower()
    expect_denied(scn, front, u, f"CREATE CATALOG {cat}", priv("CREATE CATALOG"))
    scn.admin(f"GRANT CREATE CATALOG ON METASTORE TO {u}")
    try:
        scn.run(front, u, f"CREATE CATALOG {cat}")
        scn.run(front, u, f"CREATE SCHEMA {cat}.s")
        scn.run(front, u, f"CREATE TABLE {cat}.s.t AS SELECT 1 AS x")
        assert scn.run(front, u, f"SELECT x FROM {cat}.s.t") == [(1,)]
        expect_denied(scn, front, "dave", f"SELECT x FROM {cat}.s.t")
    finally:
        scn.admin(f"DROP CATALOG IF EXISTS {cat} CASCADE")


def test_catalog_and_schema_grants_cover_later_children(scn, front):
    """Privileges granted on a catalog or schema cover tables created afterwards; ALL
    PRIVILEGES on a schema includes reading and writing its tables."""
    cat = unique("inh").lower()
    scn.admin(f"CREATE CATALOG {cat}")
    try:
        u = scn.new_user("inherit", grants=[f"USE CATALOG, USE SCHEMA, SELECT ON CATALOG {cat}"])
        scn.admin(f"CREATE SCHEMA {cat}.later")
        scn.admin(f"CREATE TABLE {cat}.later.t (x INT)")
        scn.admin(f"INSERT INTO {cat}.later.t VALUES (7)")
        assert scn.run(front, u, f"SELECT x FROM {cat}.later.t") == [(7,)]
        assert "t" in [r[1] for r in scn.run(front, u, f"SHOW TABLES IN {cat}.later")]
        expect_denied(scn, front, u, f"INSERT INTO {cat}.later.t VALUES (8)",
                      priv("MODIFY"), obj(f"{cat}.later.t"))

        w = scn.new_user("allpriv", grants=[f"USE CATALOG ON CATALOG {cat}"])
        scn.admin(f"CREATE SCHEMA {cat}.w")
        scn.admin(f"GRANT ALL PRIVILEGES ON SCHEMA {cat}.w TO {w}")
        scn.admin(f"CREATE TABLE {cat}.w.t (x INT)")
        scn.run(front, w, f"INSERT INTO {cat}.w.t VALUES (1)")
        assert scn.run(front, w, f"SELECT x FROM {cat}.w.t") == [(1,)]
        expect_denied(scn, front, w, f"SELECT x FROM {cat}.later.t")
    finally:
        scn.admin(f"DROP CATALOG IF EXISTS {cat} CASCADE")


# ---------------------------------------------------------------------------------------------
# Column grants
# ---------------------------------------------------------------------------------------------


def test_column_grant_select_star_returns_granted_columns(scn, front):
    """alice's access is column grants only: SELECT * returns exactly id, name, region in table
    order (of the EU rows: the row filter applies to her too)."""
    rows = scn.run(front, "alice", f"SELECT * FROM {E} ORDER BY id")
    assert rows.columns == ["id", "name", "region"]
    assert rows == [(i, n, r) for i, n, _, r, _ in EU]
    rows = scn.run(front, "alice", f"SELECT e.* FROM {E} e WHERE id = 1")
    assert rows.columns == ["id", "name", "region"]
    assert scn.run(front, "alice", f"SELECT region, count(id) FROM {E} GROUP BY region") == [
        ("EU", len(EU))]


@pytest.mark.parametrize("sql, col", [
    (f"SELECT salary FROM {E}", "salary"),
    (f"SELECT id, ssn FROM {E}", "ssn"),
    (f"SELECT id FROM {E} WHERE salary > 1000", "salary"),
    (f"SELECT id FROM {E} ORDER BY ssn", "ssn"),
    (f"SELECT region, sum(salary) FROM {E} GROUP BY region", "salary"),
    (f"SELECT count(ssn) FROM {E}", "ssn"),
    (f"SELECT e.name FROM {E} e JOIN {R} r ON e.region = r.region WHERE e.salary > 0", "salary"),
    (f"SELECT id FROM {E} WHERE id IN (SELECT id FROM {E} WHERE ssn IS NOT NULL)", "ssn"),
    (f"SELECT *, salary FROM {E}", "salary"),
    (f"SELECT salary FROM {E} VERSION AS OF 1", "salary"),
    (f"SELECT salary FROM {E}@v1", "salary"),
    (f"SELECT id FROM {E} WHERE id = ? AND salary > 0", "salary"),
], ids=["select", "select-ssn", "where", "order-by", "aggregate", "count", "join", "subquery",
        "star-plus", "version-as-of", "at-version", "with-parameter"])
def test_column_grant_other_column_denied(scn, front, sql, col):
    """Naming a column alice has no grant on — anywhere in the query — is 42501
    'permission denied for column <col> of table main.hr.employees'."""
    params = (1,) if "?" in sql else None
    expect_denied(scn, front, "alice", sql, column(col), obj(E), params=params)


def test_column_grant_table_changes_hides_other_columns(scn, front):
    """table_changes() is no way around column grants: it is refused, or returns no column
    alice may not read."""
    try:
        rows = scn.run(front, "alice", f"SELECT * FROM table_changes('{E}', 0)")
    except Denied as d:
        assert d.is_permission_denied, d
        return
    assert "salary" not in rows.columns and "ssn" not in rows.columns, rows.columns
    assert {r[0] for r in rows} <= set(EU_IDS)


def test_column_grant_metadata_shows_only_granted_columns(scn, front):
    """information_schema.columns, SHOW COLUMNS and DESCRIBE show alice only her columns."""
    info = scn.run(front, "alice",
                   "SELECT column_name FROM main.information_schema.columns "
                   "WHERE table_schema = 'hr' AND table_name = 'employees' "
                   "ORDER BY ordinal_position")
    assert first_col(info) == ["id", "name", "region"]
    assert first_col(scn.run(front, "alice", f"SHOW COLUMNS IN {E}")) == ["id", "name", "region"]
    assert first_col(scn.run(front, "alice", f"DESCRIBE {E}")) == ["id", "name", "region"]
    # admin sees all five.
    assert first_col(scn.run(front, "admin", f"SHOW COLUMNS IN {E}")) == [
        "id", "name", "salary", "region", "ssn"]


def test_column_grant_flight_metadata(scn):
    """ADBC adbc_get_table_schema / adbc_get_objects show alice only her columns."""
    c = scn._conn("flight", "alice")
    schema = c.adbc_get_table_schema("employees", catalog_filter="main", db_schema_filter="hr")
    assert schema.names == ["id", "name", "region"]
    objects = c.adbc_get_objects(catalog_filter="main", db_schema_filter="hr",
                                 table_name_filter="employees").read_all().to_pylist()
    tables = [t for o in objects for s in o["catalog_db_schemas"] or []
              for t in s["db_schema_tables"] or []]
    assert [t["table_name"] for t in tables] == ["employees"]
    assert [col["column_name"] for col in tables[0]["table_columns"]] == ["id", "name", "region"]


def test_column_grant_psql_describe(scn):
    """psql's \\d shows alice only her columns (pg_catalog is filtered too)."""
    out = psql_as(scn, "alice", r"\d hr.employees").stdout
    assert [r[0] for r in psql_rows(out)] == ["id", "name", "region"]
    out = psql_as(scn, "alice",
                  "SELECT attname, attnum FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
                  "ON a.attrelid = c.oid WHERE c.relname = 'employees' AND a.attnum > 0 "
                  "ORDER BY a.attnum").stdout
    assert [r[0] for r in psql_rows(out)] == ["id", "name", "region"]


def test_column_grant_and_revoke_forms(scn, front):
    """GRANT SELECT ON COLUMN c.s.t.col and GRANT SELECT (col) ON TABLE both add a column;
    REVOKE in either form removes it; a granted masked column reads masked; SHOW GRANTS lists
    column grants as objectType COLUMN."""
    u = scn.new_user("colgrant", grants=["USE CATALOG ON CATALOG main",
                                         "USE SCHEMA ON SCHEMA main.hr"])
    expect_denied(scn, front, u, f"SELECT salary FROM {E}")
    scn.admin(f"GRANT SELECT ON COLUMN {E}.salary TO {u}")
    rows = scn.run(front, u, f"SELECT * FROM {E} ORDER BY salary")
    assert rows.columns == ["salary"] and rows == [(r[2],) for r in EU]
    scn.admin(f"GRANT SELECT (id, ssn) ON TABLE {E} TO {u}")
    rows = scn.run(front, u, f"SELECT * FROM {E} ORDER BY id")
    assert rows.columns == ["id", "salary", "ssn"]
    assert rows == [(i, s, MASK) for i, _, s, _, _ in EU]
    assert (u, "SELECT", "COLUMN", f"{E}.salary") in scn.admin(f"SHOW GRANTS {u} ON TABLE {E}")

    scn.admin(f"REVOKE SELECT (salary) ON TABLE {E} FROM {u}")
    expect_denied(scn, front, u, f"SELECT salary FROM {E}", column("salary"), obj(E))
    scn.admin(f"REVOKE SELECT ON COLUMN {E}.id FROM {u}")
    expect_denied(scn, front, u, f"SELECT id FROM {E}", column("id"), obj(E))
    rows = scn.run(front, u, f"SELECT * FROM {E}")
    assert rows.columns == ["ssn"]
    assert (u, "SELECT", "COLUMN", f"{E}.salary") not in scn.admin(
        f"SHOW GRANTS {u} ON TABLE {E}")


# ---------------------------------------------------------------------------------------------
# Invisible objects
# ---------------------------------------------------------------------------------------------


def test_objects_without_privilege_are_not_listed(scn, front):
    """Catalogs, schemas and tables a user has no privilege on do not appear in SHOW,
    information_schema or pg_catalog (a permission error counts as not listing them)."""
    # dave has nothing at all.
    cats = first_col(listing(scn, front, "dave", "SHOW CATALOGS"))
    assert "main" not in cats and "vault" not in cats, cats
    assert "hr" not in first_col(listing(scn, front, "dave", "SHOW SCHEMAS IN main"))
    assert "employees" not in [r[1] for r in listing(scn, front, "dave",
                                                     "SHOW TABLES IN main.hr")]
    tables = listing(scn, front, "dave",
                     "SELECT table_schema, table_name FROM main.information_schema.tables")
    assert not [r for r in tables if r[0] in ("hr", "payroll", "sandbox")], tables
    schemata = listing(scn, front, "dave",
                       "SELECT schema_name FROM main.information_schema.schemata")
    assert not {"hr", "payroll"} & set(first_col(schemata)), schemata

    # alice sees main.hr (and in it what she was granted), not payroll, not vault, not the view.
    cats = first_col(scn.run(front, "alice", "SHOW CATALOGS"))
    assert "main" in cats and "vault" not in cats, cats
    schemas = first_col(scn.run(front, "alice", "SHOW SCHEMAS IN main"))
    assert "hr" in schemas and "payroll" not in schemas and "default" not in schemas, schemas
    hr_tables = {r[1] for r in scn.run(front, "alice", "SHOW TABLES IN main.hr")}
    assert hr_tables == {"employees", "regions"}, hr_tables
    assert [r[1] for r in listing(scn, front, "alice", "SHOW TABLES IN main.payroll")] == []
    tables = scn.run(front, "alice",
                     "SELECT table_schema, table_name FROM main.information_schema.tables "
                     "WHERE table_schema NOT IN ('information_schema', 'pg_catalog')")
    assert set(tables) == {("hr", "employees"), ("hr", "regions")}, tables
    schemata = first_col(scn.run(front, "alice",
                                 "SELECT schema_name FROM main.information_schema.schemata"))
    assert "payroll" not in schemata and "hr" in schemata, schemata
    assert "vault" not in first_col(listing(
        scn, front, "alice", "SELECT catalog_name FROM main.information_schema.catalogs"))


def test_system_information_schema_shows_only_what_the_reader_may_see(scn, front):
    """system.information_schema describes every catalog, filtered like each catalog's own."""
    tables = scn.run(front, "alice",
                     "SELECT table_catalog, table_schema, table_name "
                     "FROM system.information_schema.tables")
    assert set(tables) == {("main", "hr", "employees"), ("main", "hr", "regions")}, tables
    # dave has no privilege anywhere: he learns no name at all.
    assert scn.run(front, "dave", "SELECT table_catalog, table_name "
                                  "FROM system.information_schema.tables") == []
    assert scn.run(front, "dave", "SELECT catalog_name FROM system.information_schema.catalogs") == []
    # The admin sees the vault the others do not.
    cats = first_col(scn.run(front, "admin",
                             "SELECT DISTINCT table_catalog FROM system.information_schema.tables"))
    assert "vault" in cats, cats


def test_pg_catalog_hides_objects_without_privilege(scn):
    """pg_class (and so psql's \\dt) lists only what the user may see."""
    names = lambda user: set(first_col(listing(  # noqa: E731
        scn, "postgres", user, "SELECT relname FROM pg_catalog.pg_class")))
    assert not {"employees", "regions", "v_names", "bonuses"} & names("dave")
    alice = names("alice")
    assert {"employees", "regions"} <= alice and not {"bonuses", "v_names"} & alice, alice
    nsp = set(first_col(listing(scn, "postgres", "alice",
                                "SELECT nspname FROM pg_catalog.pg_namespace")))
    assert "payroll" not in nsp, nsp

    out = psql_as(scn, "dave", r"\dt hr.*", check=False)
    assert "employees" not in out.stdout and "regions" not in out.stdout, out.stdout
    out = psql_as(scn, "alice", r"\dt hr.*").stdout
    assert sorted(r[1] for r in psql_rows(out)) == ["employees", "regions"]
    out = psql_as(scn, "alice", r"\dt payroll.*", check=False)
    assert "bonuses" not in out.stdout


def test_flight_metadata_hides_objects_without_privilege(scn):
    """ADBC adbc_get_objects lists only visible catalogs, schemas and tables."""
    dave = scn._conn("flight", "dave")
    catalogs = [o["catalog_name"] for o in
                dave.adbc_get_objects(depth="catalogs").read_all().to_pylist()]
    assert "main" not in catalogs and "vault" not in catalogs, catalogs

    alice = scn._conn("flight", "alice")
    objects = alice.adbc_get_objects(depth="tables").read_all().to_pylist()
    assert "vault" not in [o["catalog_name"] for o in objects]
    main = next(o for o in objects if o["catalog_name"] == "main")
    schemas = {s["db_schema_name"]: s for s in main["catalog_db_schemas"] or []}
    assert "hr" in schemas and "payroll" not in schemas and "default" not in schemas
    tables = {t["table_name"] for t in schemas["hr"]["db_schema_tables"] or []}
    assert tables == {"employees", "regions"}, tables
    with pytest.raises(adbc_driver_manager.Error):
        alice.adbc_get_table_schema("bonuses", catalog_filter="main", db_schema_filter="payroll")


@pytest.mark.parametrize("user, sql", [
    ("alice", "SELECT * FROM main.payroll.bonuses"),
    ("bob", "SELECT count(*) FROM main.payroll.bonuses"),
    ("alice", "SELECT * FROM vault.keys.secrets"),
    ("dave", "SELECT * FROM vault.keys.secrets"),
    ("dave", f"SELECT * FROM {R}"),
    ("alice", "SELECT * FROM main.hr.v_names"),
], ids=["alice-payroll", "bob-payroll", "alice-vault", "dave-vault", "dave-regions",
        "alice-view"])
def test_querying_invisible_objects_is_denied(scn, front, user, sql):
    """Querying an object the user may not see is 42501 (not a leak of its rows)."""
    expect_denied(scn, front, user, sql)


@pytest.mark.parametrize("sql", [
    "DESCRIBE main.payroll.bonuses",
    "DESCRIBE DETAIL main.payroll.bonuses",
    "DESCRIBE HISTORY main.payroll.bonuses",
    "SHOW TBLPROPERTIES main.payroll.bonuses",
    "SHOW COLUMNS IN main.payroll.bonuses",
    "SELECT * FROM table_changes('main.payroll.bonuses', 0)",
], ids=["describe", "detail", "history", "tblproperties", "columns", "table-changes"])
def test_metadata_of_invisible_table_is_refused(scn, front, sql):
    """Describing a table alice has no privilege on fails and shows nothing about it."""
    d = expect_error(scn, front, "alice", sql)
    assert "amount" not in d.message and str(scn.server.data_dir) not in d.message, d


# ---------------------------------------------------------------------------------------------
# Column masks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql, expected", [
    (f"SELECT id, ssn FROM {E} ORDER BY id", [(i, MASK) for i in EU_IDS]),
    (f"SELECT id FROM {E} WHERE ssn = '111-11-1111'", []),
    (f"SELECT id FROM {E} WHERE ssn = ?", []),
    (f"SELECT count(*) FROM {E} WHERE ssn LIKE '111%'", [(0,)]),
    (f"SELECT id FROM {E} WHERE ssn = '{MASK}' ORDER BY id", [(i,) for i in EU_IDS]),
    (f"SELECT ssn, count(*) FROM {E} GROUP BY ssn", [(MASK, len(EU))]),
    (f"SELECT count(DISTINCT ssn) FROM {E}", [(1,)]),
    (f"SELECT min(ssn), max(ssn) FROM {E}", [(MASK, MASK)]),
    (f"SELECT DISTINCT substr(ssn, 1, 3) FROM {E}", [("***",)]),
    (f"SELECT e.id FROM {E} e JOIN (VALUES ('111-11-1111'), ('444-44-4444')) AS v(s) "
     "ON e.ssn = v.s", []),
    (f"SELECT a.id AS x, b.id AS y FROM {E} a JOIN {E} b ON a.ssn = b.ssn AND a.id < b.id",
     [(1, 4)]),
    (f"WITH x AS (SELECT ssn FROM {E}) SELECT DISTINCT ssn FROM x", [(MASK,)]),
    (f"SELECT DISTINCT ssn FROM {E} VERSION AS OF 1", [(MASK,)]),
    (f"SELECT DISTINCT ssn FROM table_changes('{E}', 0)", [(MASK,)]),
    (f"SELECT ssn FROM {E} WHERE id = 1 UNION SELECT ssn FROM {E} WHERE id = 4", [(MASK,)]),
], ids=["select", "where-real", "where-param", "like", "where-mask", "group-by",
        "count-distinct", "min-max", "expression", "join-real", "self-join", "cte",
        "version-as-of", "table-changes", "union"])
def test_mask_applies_wherever_the_column_is_used(scn, front, sql, expected):
    """bob (hr, not hr_admins) gets the masked SSN in every use of the column: results,
    predicates, grouping, joins, distinct counts, history and the change feed."""
    params = ("111-11-1111",) if "?" in sql else None
    assert list(scn.run(front, "bob", sql, params)) == expected


def test_mask_function_decides_even_for_admins(scn, front):
    """A mask applies to everyone: helen (hr_admins) sees real SSNs; admin, not in hr_admins,
    sees them masked (but, being in admins, all rows through the row filter)."""
    assert scn.run(front, "helen", f"SELECT id, ssn FROM {E} ORDER BY id") == [
        (r[0], r[4]) for r in EU]
    assert scn.run(front, "admin", f"SELECT id, ssn FROM {E} ORDER BY id") == [
        (r[0], MASK) for r in EMPLOYEES]


def test_mask_using_columns_set_and_drop(scn, front):
    """SET MASK ... USING COLUMNS passes other columns to the mask function; DROP MASK restores
    the real values; the masked values never reach the user meanwhile."""
    t = f"main.sandbox.{unique('masku')}"
    f = f"main.sandbox.{unique('redact')}"
    scn.admin(f"CREATE TABLE {t} (id INT, email STRING, region STRING)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 'a@x.eu', 'EU'), (2, 'b@x.us', 'US')")
    scn.admin(f"CREATE FUNCTION {f}(email STRING, region STRING) RETURNS STRING "
              "RETURN CASE WHEN region = 'EU' THEN '[redacted]' ELSE email END")
    scn.admin(f"ALTER TABLE {t} ALTER COLUMN email SET MASK {f} USING COLUMNS (region)")
    u = scn.new_user("masku", grants=["USE CATALOG ON CATALOG main",
                                      "USE SCHEMA ON SCHEMA main.sandbox", f"SELECT ON TABLE {t}"])
    assert scn.run(front, u, f"SELECT id, email FROM {t} ORDER BY id") == [
        (1, "[redacted]"), (2, "b@x.us")]
    assert scn.run(front, u, f"SELECT count(*) FROM {t} WHERE email LIKE 'a@%'") == [(0,)]
    masks = scn.admin("SELECT column_name, mask_name, using_columns "
                      "FROM main.information_schema.column_masks "
                      f"WHERE table_name = '{t.rsplit('.', 1)[1]}'")
    assert len(masks) == 1 and masks[0][:2] == ("email", f.rsplit(".", 1)[1])
    assert "region" in str(masks[0][2])
    scn.admin(f"ALTER TABLE {t} ALTER COLUMN email DROP MASK")
    assert scn.run(front, u, f"SELECT id, email FROM {t} ORDER BY id") == [
        (1, "a@x.eu"), (2, "b@x.us")]
    scn.admin(f"DROP FUNCTION IF EXISTS {f}")
    scn.admin(f"DROP FUNCTION IF EXISTS {f}")


# ---------------------------------------------------------------------------------------------
# Row filters
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql, expected", [
    (f"SELECT id FROM {E} ORDER BY id", [(i,) for i in EU_IDS]),
    (f"SELECT count(*) FROM {E}", [(len(EU),)]),
    (f"SELECT sum(salary), max(salary) FROM {E}",
     [(sum(r[2] for r in EU), max(r[2] for r in EU))]),
    (f"SELECT count(*) FROM {E} WHERE region <> 'EU'", [(0,)]),
    (f"SELECT DISTINCT region FROM {E}", [("EU",)]),
    (f"SELECT id FROM {E} WHERE id = ?", []),
    (f"SELECT e.id, r.manager FROM {E} e JOIN {R} r ON e.region = r.region ORDER BY e.id",
     [(i, "Marie") for i in EU_IDS]),
    (f"SELECT r.region, count(e.id) FROM {R} r LEFT JOIN {E} e ON e.region = r.region "
     "GROUP BY r.region ORDER BY r.region", [("APAC", 0), ("EU", len(EU)), ("US", 0)]),
    (f"SELECT region FROM {R} WHERE region IN (SELECT region FROM {E})", [("EU",)]),
    (f"SELECT (SELECT count(*) FROM {E}) AS n", [(len(EU),)]),
    (f"SELECT id FROM (SELECT * FROM {E} WHERE salary > 5000) AS s ORDER BY id",
     [(i,) for i, _, s, _, _ in EU if s > 5000]),
    (f"SELECT id, row_number() OVER (ORDER BY id) FROM {E} ORDER BY id",
     [(i, n + 1) for n, i in enumerate(EU_IDS)]),
    (f"SELECT DISTINCT count(*) OVER () FROM {E}", [(len(EU),)]),
    (f"SELECT id FROM {E} UNION ALL SELECT id FROM {E} ORDER BY 1",
     sorted([(i,) for i in EU_IDS] * 2)),
    (f"WITH x AS (SELECT * FROM {E}) SELECT count(*) FROM x", [(len(EU),)]),
    (f"SELECT id FROM {E} VERSION AS OF 1 ORDER BY id", [(i,) for i in EU_IDS]),
    (f"SELECT id FROM {E}@v1 ORDER BY id", [(i,) for i in EU_IDS]),
    (f"SELECT id FROM table_changes('{E}', 0) ORDER BY id", [(i,) for i in EU_IDS]),
    (f"SELECT count(*) FROM {E} a CROSS JOIN {E} b", [(len(EU) ** 2,)]),
], ids=["scan", "count", "aggregates", "where-other-region", "distinct", "param-filtered-id",
        "join", "left-join", "in-subquery", "scalar-subquery", "derived-table", "row-number",
        "window-count", "union-all", "cte", "version-as-of", "at-version", "table-changes",
        "cross-join"])
def test_row_filter_hides_rows_everywhere(scn, front, sql, expected):
    """bob (not in admins) never sees non-EU rows: not in scans, aggregates, joins, subqueries,
    window functions, UNION, CTEs, time travel or the change data feed."""
    params = (2,) if "?" in sql else None  # id 2 is a US row
    assert list(scn.run(front, "bob", sql, params)) == expected


def test_row_filter_function_decides_for_admins(scn, front):
    """The filter applies to everyone; its function lets members of admins see every row."""
    assert scn.run(front, "admin", f"SELECT count(*) FROM {E}") == [(len(EMPLOYEES),)]
    assert scn.run(front, "alice", f"SELECT count(id) FROM {E}") == [(len(EU),)]


def test_row_filter_set_and_drop(scn, front):
    """SET ROW FILTER on a fresh table filters at once; DROP ROW FILTER restores every row;
    information_schema.row_filters follows."""
    t = f"main.sandbox.{unique('rf')}"
    name = t.rsplit(".", 1)[1]
    f = f"main.sandbox.{unique('big')}"
    scn.admin(f"CREATE TABLE {t} (id INT, amount INT)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 5), (2, 50), (3, 500)")
    scn.admin(f"CREATE FUNCTION {f}(amount INT) RETURNS BOOLEAN RETURN amount < 100")
    u = scn.new_user("rf", grants=["USE CATALOG ON CATALOG main",
                                   "USE SCHEMA ON SCHEMA main.sandbox", f"SELECT ON TABLE {t}"])
    assert scn.run(front, u, f"SELECT count(*) FROM {t}") == [(3,)]
    scn.admin(f"ALTER TABLE {t} SET ROW FILTER {f} ON (amount)")
    assert scn.run(front, u, f"SELECT id FROM {t} ORDER BY id") == [(1,), (2,)]
    assert scn.admin(f"SELECT count(*) FROM {t}") == [(2,)]  # admins too: the function decides
    rf = scn.admin("SELECT filter_name, target_columns FROM main.information_schema.row_filters "
                   f"WHERE table_name = '{name}'")
    assert len(rf) == 1 and rf[0][0] == f.rsplit(".", 1)[1] and "amount" in str(rf[0][1])
    scn.admin(f"ALTER TABLE {t} DROP ROW FILTER")
    assert scn.run(front, u, f"SELECT count(*) FROM {t}") == [(3,)]
    assert scn.admin("SELECT count(*) FROM main.information_schema.row_filters "
                     f"WHERE table_name = '{name}'") == [(0,)]


@pytest.mark.parametrize("sql", [
    f"ALTER TABLE {E} DROP ROW FILTER",
    f"ALTER TABLE {E} ALTER COLUMN ssn DROP MASK",
    "CREATE OR REPLACE FUNCTION main.hr.mask_ssn(ssn STRING) RETURNS STRING RETURN ssn",
    "CREATE OR REPLACE FUNCTION main.hr.eu_only(region STRING) RETURNS BOOLEAN RETURN true",
    "DROP FUNCTION main.hr.mask_ssn",
    f"ALTER TABLE {E} OWNER TO bob",
    f"ALTER TABLE {E} ADD COLUMNS (note STRING)",
    f"DROP TABLE {E}",
    "DROP VIEW main.hr.v_names",
    "CREATE OR REPLACE VIEW main.hr.v_names AS SELECT id, ssn AS name FROM main.hr.employees",
    f"ALTER TABLE {E} SET TBLPROPERTIES ('x' = 'y')",
], ids=["drop-filter", "drop-mask", "replace-mask-fn", "replace-filter-fn",
        "drop-mask-fn", "take-ownership", "add-columns", "drop-table", "drop-view",
        "replace-view", "set-properties"])
def test_policies_and_objects_cannot_be_tampered_with(scn, front, sql):
    """bob (SELECT only) cannot remove or rewrite the mask, the filter or their functions, take
    ownership, or change the table; afterwards he still sees masked EU rows only."""
    expect_denied(scn, front, "bob", sql)
    assert scn.run(front, "bob", f"SELECT id, ssn FROM {E} ORDER BY id") == [
        (i, MASK) for i in EU_IDS]
    assert scn.admin(f"SELECT count(*) FROM {E}") == [(len(EMPLOYEES),)]


# ---------------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    f"INSERT INTO {E} VALUES (7, 'Gus', 1.0, 'EU', '777-77-7777')",
    f"INSERT INTO {E} SELECT * FROM {E}",
    f"INSERT OVERWRITE {E} SELECT * FROM {E} WHERE id = 1",
    f"UPDATE {E} SET salary = 0",
    f"DELETE FROM {E}",
    f"DELETE FROM {E} WHERE id = ?",
    f"MERGE INTO {E} t USING (VALUES (1, 0.0)) AS s(id, salary) ON t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET salary = s.salary",
    f"MERGE INTO {E} t USING (VALUES (9)) AS s(id) ON t.id = s.id "
    "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
], ids=["insert", "insert-select", "insert-overwrite", "update", "delete", "delete-param",
        "merge-update", "merge-insert"])
def test_writes_without_modify_are_denied_and_change_nothing(scn, front, sql):
    """bob has SELECT but not MODIFY: every kind of write is 42501 naming MODIFY and the
    table, and the table (rows and history) is unchanged."""
    before = employees_snapshot(scn)
    params = (1,) if "?" in sql else None
    expect_denied(scn, front, "bob", sql, priv("MODIFY"), obj(E), params=params)
    assert employees_snapshot(scn) == before


def test_insert_select_needs_modify_on_target_and_select_on_source(scn, front):
    """INSERT INTO t SELECT ... FROM s needs MODIFY on t and SELECT on s; with both the write
    works, and UPDATE/DELETE/MERGE work with MODIFY."""
    src, dst = f"main.sandbox.{unique('src')}", f"main.sandbox.{unique('dst')}"
    scn.admin(f"CREATE TABLE {src} (id INT, v STRING)")
    scn.admin(f"INSERT INTO {src} VALUES (1, 'a'), (2, 'b')")
    scn.admin(f"CREATE TABLE {dst} (id INT, v STRING)")
    u = scn.new_user("writer", grants=["USE CATALOG ON CATALOG main",
                                       "USE SCHEMA ON SCHEMA main.sandbox",
                                       f"SELECT, MODIFY ON TABLE {dst}"])
    ins = f"INSERT INTO {dst} SELECT * FROM {src}"
    expect_denied(scn, front, u, ins, priv("SELECT"), obj(src))
    assert scn.admin(f"SELECT count(*) FROM {dst}") == [(0,)]

    scn.admin(f"GRANT SELECT ON TABLE {src} TO {u}")
    scn.admin(f"REVOKE MODIFY ON TABLE {dst} FROM {u}")
    expect_denied(scn, front, u, ins, priv("MODIFY"), obj(dst))
    assert scn.admin(f"SELECT count(*) FROM {dst}") == [(0,)]

    scn.admin(f"GRANT MODIFY ON TABLE {dst} TO {u}")
    scn.run(front, u, ins)
    scn.run(front, u, f"UPDATE {dst} SET v = 'B' WHERE id = 2")
    scn.run(front, u, f"MERGE INTO {dst} t USING {src} s ON t.id = s.id AND s.id = 1 "
                      "WHEN MATCHED THEN DELETE")
    scn.run(front, u, f"INSERT INTO {dst} VALUES (?, ?)", (3, "c"))
    scn.run(front, u, f"DELETE FROM {dst} WHERE id = 3")
    assert scn.admin(f"SELECT id, v FROM {dst} ORDER BY id") == [(2, "B")]
    # MODIFY on dst is not MODIFY on src.
    expect_denied(scn, front, u, f"DELETE FROM {src}", priv("MODIFY"), obj(src))
    assert scn.admin(f"SELECT count(*) FROM {src}") == [(2,)]


def test_ctas_without_select_is_denied_and_creates_nothing(scn, front):
    """sam may create tables in main.sandbox but not read employees: CTAS from it is 42501
    and no table appears."""
    t = f"main.sandbox.{unique('copy')}"
    expect_denied(scn, front, "sam", f"CREATE TABLE {t} AS SELECT * FROM {E}",
                  r"\b(SELECT|USE SCHEMA)\b", r"\bmain\.hr\b")
    assert t.rsplit(".", 1)[1] not in [r[1] for r in scn.admin("SHOW TABLES IN main.sandbox")]


def test_ctas_without_create_table_is_denied_and_creates_nothing(scn, front):
    """bob may read employees and use main.sandbox but not create tables in it: CTAS is 42501
    naming CREATE TABLE, and no table appears."""
    t = f"main.sandbox.{unique('copy')}"
    expect_denied(scn, front, "bob", f"CREATE TABLE {t} AS SELECT * FROM {E}",
                  priv("CREATE TABLE"), obj("main.sandbox"))
    expect_denied(scn, front, "bob", f"CREATE TABLE {t} (x INT)", priv("CREATE TABLE"))
    assert t.rsplit(".", 1)[1] not in [r[1] for r in scn.admin("SHOW TABLES IN main.sandbox")]


def test_ctas_copies_only_what_the_user_sees(scn, front):
    """A CTAS by a filtered, masked reader writes what that reader sees — EU rows, masked SSNs —
    never the protected values."""
    u = scn.new_user("copier", groups=["hr"],
                     grants=["CREATE TABLE ON SCHEMA main.sandbox"])
    t = f"main.sandbox.{unique('copy')}"
    scn.run(front, u, f"CREATE TABLE {t} AS SELECT * FROM {E}")
    assert scn.admin(f"SELECT id, ssn FROM {t} ORDER BY id") == [(i, MASK) for i in EU_IDS]


# ---------------------------------------------------------------------------------------------
# Prepared statements and bulk ingest
# ---------------------------------------------------------------------------------------------


def test_prepared_statements_follow_grant_and_revoke_postgres(scn):
    """Server-side prepared statements (psycopg prepare=True) are checked on every execution:
    a GRANT or REVOKE between two executions of the same statement takes effect at once."""
    t = f"main.sandbox.{unique('prep')}"
    scn.admin(f"CREATE TABLE {t} (id INT, v STRING)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    u = scn.new_user("prep", grants=["USE CATALOG ON CATALOG main",
                                     "USE SCHEMA ON SCHEMA main.sandbox"])
    q = f"SELECT v FROM {t} WHERE id = %s"
    with scn.pg_connect(u) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(q, (1,), prepare=True)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(q, (1,))  # server-side parameters, unnamed statement
        scn.admin(f"GRANT SELECT ON TABLE {t} TO {u}")
        assert c.execute(q, (1,), prepare=True).fetchall() == [("a",)]
        assert c.execute(q, (2,), prepare=True).fetchall() == [("b",)]
        scn.admin(f"REVOKE SELECT ON TABLE {t} FROM {u}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as ei:
            c.execute(q, (2,), prepare=True)
        assert re.search(obj(t), unquote(str(ei.value)))
        scn.admin(f"GRANT SELECT ON TABLE {t} TO {u}")
        assert c.execute(q, (1,), prepare=True).fetchall() == [("a",)]

        # The same for a prepared write and MODIFY.
        w = f"INSERT INTO {t} VALUES (%s, %s)"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(w, (3, "c"), prepare=True)
        scn.admin(f"GRANT MODIFY ON TABLE {t} TO {u}")
        c.execute(w, (3, "c"), prepare=True)
        scn.admin(f"REVOKE MODIFY ON TABLE {t} FROM {u}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(w, (4, "d"), prepare=True)
    assert scn.admin(f"SELECT id FROM {t} ORDER BY id") == [(1,), (2,), (3,)]


def test_prepared_statements_follow_grant_and_revoke_flight(scn):
    """A Flight SQL prepared statement (ADBC with parameters) reused after a REVOKE is refused
    with PERMISSION_DENIED; after a new GRANT it runs again."""
    t = f"main.sandbox.{unique('prepf')}"
    scn.admin(f"CREATE TABLE {t} (id INT, v STRING)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    u = scn.new_user("prepf", grants=["USE CATALOG ON CATALOG main",
                                      "USE SCHEMA ON SCHEMA main.sandbox"])
    q = f"SELECT v FROM {t} WHERE id = ?"
    expect_denied(scn, "flight", u, q, priv("SELECT"), obj(t), params=(1,))
    scn.admin(f"GRANT SELECT ON TABLE {t} TO {u}")
    with scn.flight_connect(u) as c, c.cursor() as cur:
        cur.execute(q, (1,))
        assert cur.fetchall() == [("a",)]
        scn.admin(f"REVOKE SELECT ON TABLE {t} FROM {u}")
        with pytest.raises(adbc_driver_manager.Error) as ei:
            cur.execute(q, (2,))  # the same prepared statement, new parameters
            cur.fetchall()
        d = denied_from_adbc(ei.value)
        assert d.is_permission_denied, d
        scn.admin(f"GRANT SELECT ON TABLE {t} TO {u}")
        cur.execute(q, (2,))
        assert cur.fetchall() == [("b",)]


def test_flight_bulk_ingest_needs_modify(scn):
    """adbc_ingest append into a table without MODIFY is PERMISSION_DENIED and writes nothing;
    with MODIFY it appends; creating a table by ingest needs CREATE TABLE."""
    name = unique("ing").lower()
    t = f"main.sandbox.{name}"
    scn.admin(f"CREATE TABLE {t} (id INT, v STRING)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    u = scn.new_user("ingest", grants=["USE CATALOG ON CATALOG main",
                                       "USE SCHEMA ON SCHEMA main.sandbox",
                                       f"SELECT ON TABLE {t}"])
    data = pa.table({"id": pa.array([10, 11], pa.int32()), "v": pa.array(["x", "y"])})
    where = {"catalog_name": "main", "db_schema_name": "sandbox"}
    with scn.flight_connect(u) as c, c.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as ei:
            cur.adbc_ingest(name, data, mode="append", **where)
        d = denied_from_adbc(ei.value)
        assert d.is_permission_denied, d
        assert re.search(priv("MODIFY"), d.message, re.I), d
        assert re.search(obj(t), unquote(d.message), re.I), d
        assert scn.admin(f"SELECT count(*) FROM {t}") == [(2,)]

        fresh = unique("ing_new").lower()
        with pytest.raises(adbc_driver_manager.Error) as ei:
            cur.adbc_ingest(fresh, data, mode="create", **where)
        assert denied_from_adbc(ei.value).is_permission_denied, ei.value
        assert fresh not in [r[1] for r in scn.admin("SHOW TABLES IN main.sandbox")]

        scn.admin(f"GRANT MODIFY ON TABLE {t} TO {u}")
        assert cur.adbc_ingest(name, data, mode="append", **where) == 2
    assert scn.admin(f"SELECT id FROM {t} ORDER BY id") == [(1,), (2,), (10,), (11,)]


# ---------------------------------------------------------------------------------------------
# No way around the catalog
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loose_files(scn, tmp_path_factory) -> dict[str, str]:
    """Files a non-admin might try to read directly: a parquet file of our own and one data file
    of main.hr.employees (reading it would bypass the mask and the row filter)."""
    d = tmp_path_factory.mktemp("loose")
    mine = d / "plain.parquet"
    pq.write_table(pa.table({"secret": ["from-a-file"]}), mine)
    loc = scn.admin(f"DESCRIBE DETAIL {E}")
    cols = loc.columns
    location = Path(file_url_to_path(loc[0][cols.index("location")]))
    data_file = next(p for p in location.rglob("*.parquet") if "_delta_log" not in p.parts)
    return {"parquet": str(mine), "dir": str(d), "employees_file": str(data_file),
            "employees_dir": str(location)}


@pytest.mark.parametrize("sql", [
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM '{parquet}'",
    "SELECT * FROM '{employees_file}'",
    "CREATE EXTERNAL TABLE leak STORED AS PARQUET LOCATION '{employees_dir}'",
    "CREATE EXTERNAL TABLE leak2 STORED AS CSV LOCATION '/etc/passwd'",
    "COPY (SELECT 1) TO '{dir}/out-{n}.csv'",
    "COPY (SELECT * FROM main.hr.employees) TO '{dir}/out-{n}.parquet'",
], ids=["etc-passwd", "parquet-path", "table-data-file", "external-parquet", "external-csv",
        "copy-to", "copy-table-to"])
def test_no_file_access_outside_the_catalog(scn, front, loose_files, sql):
    """A non-admin cannot read or write files by path: every attempt fails, returns no rows,
    leaks no content, and writes no file."""
    sql = sql.format(n=uuid.uuid4().hex[:8], **loose_files)
    before = set(os.listdir(loose_files["dir"]))
    d = expect_error(scn, front, "bob", sql)
    for leak in ("root:x:", "from-a-file", "111-11-1111", "222-22-2222"):
        assert leak not in d.message, d
    assert set(os.listdir(loose_files["dir"])) == before


@pytest.mark.parametrize("sql", [
    "SET datafusion.catalog.location = '/tmp'",
    "SET spark.databricks.delta.retentionDurationCheck.enabled = false",
], ids=["catalog-location", "retention-check"])
def test_server_settings_are_admin_only(scn, front, sql):
    """Settings that widen file access or weaken VACUUM safety are 42501 for non-admins."""
    expect_denied(scn, front, "bob", sql)
    expect_denied(scn, front, "dave", sql)


def test_create_table_location_is_admin_only(scn, front, loose_files):
    """sam may create managed tables in main.sandbox but not choose a LOCATION — neither a new
    directory nor an existing Delta table's (which would register employees without its
    policies)."""
    for where in (f"{loose_files['dir']}/somewhere-{front}", loose_files["employees_dir"]):
        t = f"main.sandbox.{unique('loc')}"
        expect_denied(scn, front, "sam", f"CREATE TABLE {t} (x INT) LOCATION '{where}'")
        assert t.rsplit(".", 1)[1] not in [r[1] for r in scn.admin("SHOW TABLES IN main.sandbox")]
    assert not os.path.exists(f"{loose_files['dir']}/somewhere-{front}")
    t = f"main.sandbox.{unique('reg')}"
    expect_denied(scn, front, "sam", f"CREATE TABLE {t} LOCATION '{loose_files['employees_dir']}'")
    # Without LOCATION it works.
    t = f"main.sandbox.{unique('managed')}"
    scn.run(front, "sam", f"CREATE TABLE {t} (x INT)")


# ---------------------------------------------------------------------------------------------
# SHOW GRANTS and information_schema
# ---------------------------------------------------------------------------------------------


def test_show_grants(scn, front):
    """SHOW GRANTS [principal] ON securable lists principal, actionType, objectType, objectKey,
    column grants as objectType COLUMN."""
    g = scn.run(front, "admin", f"SHOW GRANTS ON TABLE {E}")
    assert g.columns == ["principal", "actionType", "objectType", "objectKey"]
    for row in [("hr", "SELECT", "TABLE", E),
                ("analysts", "SELECT", "COLUMN", f"{E}.id"),
                ("analysts", "SELECT", "COLUMN", f"{E}.name"),
                ("analysts", "SELECT", "COLUMN", f"{E}.region")]:
        assert row in g, (row, g)
    assert ("analysts", "SELECT", "COLUMN", f"{E}.salary") not in g

    only = scn.run(front, "admin", f"SHOW GRANTS analysts ON TABLE {E}")
    assert only and {r[0] for r in only} == {"analysts"}, only
    assert {r[3] for r in only if r[2] == "COLUMN"} == {f"{E}.id", f"{E}.name", f"{E}.region"}

    cat = scn.run(front, "admin", "SHOW GRANTS ON CATALOG main")
    assert ("analysts", "USE CATALOG", "CATALOG", "main") in cat
    assert ("hr", "USE CATALOG", "CATALOG", "main") in cat
    sch = scn.run(front, "admin", "SHOW GRANTS ON SCHEMA main.hr")
    assert ("analysts", "USE SCHEMA", "SCHEMA", "main.hr") in sch
    view = scn.run(front, "admin", "SHOW GRANTS carol ON VIEW main.hr.v_names")
    assert {r[0] for r in view} == {"carol"}
    assert ("carol", "SELECT", "main.hr.v_names") in [(r[0], r[1], r[3]) for r in view]
    assert scn.run(front, "admin", f"SHOW GRANTS `dave` ON TABLE {E}") == []


def test_information_schema_privilege_views(scn, front):
    """information_schema has catalog/schema/table/column privileges, routines, column masks
    and row filters of the scenario."""
    q = lambda sql: set(scn.run(front, "admin", sql))  # noqa: E731
    assert ("analysts", "main", "USE CATALOG") in q(
        "SELECT grantee, catalog_name, privilege_type "
        "FROM main.information_schema.catalog_privileges")
    assert ("analysts", "main", "hr", "USE SCHEMA") in q(
        "SELECT grantee, catalog_name, schema_name, privilege_type "
        "FROM main.information_schema.schema_privileges")
    tp = q("SELECT grantee, table_catalog, table_schema, table_name, privilege_type "
           "FROM main.information_schema.table_privileges")
    assert ("hr", "main", "hr", "employees", "SELECT") in tp
    assert ("carol", "main", "hr", "v_names", "SELECT") in tp
    cp = q("SELECT grantee, table_name, column_name, privilege_type "
           "FROM main.information_schema.column_privileges WHERE grantee = 'analysts'")
    assert {("analysts", "employees", c, "SELECT") for c in ("id", "name", "region")} <= cp
    assert not {r for r in cp if r[2] in ("salary", "ssn")}

    routines = {r[0]: r for r in scn.run(
        front, "admin",
        "SELECT routine_name, routine_catalog, routine_schema, routine_type, routine_definition "
        "FROM main.information_schema.routines")}
    assert {"mask_ssn", "eu_only"} <= set(routines)
    assert routines["mask_ssn"][1:4] == ("main", "hr", "FUNCTION")
    assert "is_member" in routines["mask_ssn"][4]

    assert q("SELECT table_name, column_name, mask_catalog, mask_schema, mask_name "
             "FROM main.information_schema.column_masks WHERE table_schema = 'hr'") == {
        ("employees", "ssn", "main", "hr", "mask_ssn")}
    rf = scn.run(front, "admin",
                 "SELECT table_name, filter_catalog, filter_schema, filter_name, target_columns "
                 "FROM main.information_schema.row_filters WHERE table_schema = 'hr'")
    assert len(rf) == 1 and rf[0][:4] == ("employees", "main", "hr", "eu_only")
    assert "region" in str(rf[0][4])


def test_information_schema_privileges_are_filtered(scn, front):
    """Non-admins see privilege rows only for objects they can see: dave sees none; alice sees
    her group's grants and nothing about payroll or vault."""
    for view in ("catalog_privileges", "schema_privileges", "table_privileges",
                 "column_privileges", "routines", "column_masks", "row_filters"):
        assert listing(scn, front, "dave", f"SELECT * FROM main.information_schema.{view}") == []
    tp = scn.run(front, "alice", "SELECT table_schema, table_name "
                                 "FROM main.information_schema.table_privileges")
    assert not [r for r in tp if r[0] == "payroll" or r[1] == "bonuses"], tp
    cp = set(scn.run(front, "alice", "SELECT grantee, table_name, column_name "
                                     "FROM main.information_schema.column_privileges"))
    assert {("analysts", "employees", c) for c in ("id", "name", "region")} <= cp
    sp = scn.run(front, "alice",
                 "SELECT schema_name FROM main.information_schema.schema_privileges")
    assert "payroll" not in first_col(sp)


# ---------------------------------------------------------------------------------------------
# Passwords never in the clear; everything survives a restart
# ---------------------------------------------------------------------------------------------


def test_passwords_never_stored_or_logged_in_plaintext(scn):
    """No password — admin's, the scenario users', or one changed with ALTER USER — appears in
    any file under the data directory, nor in the server's output."""
    u = scn.new_user("plain")
    changed = f"Changed-{uuid.uuid4().hex}"
    scn.admin(f"ALTER USER {u} PASSWORD '{changed}'")
    scn.passwords[u] = changed
    assert _pg_login(scn.server, u, changed)["ok"]
    assert _flight_login(scn.server, u, changed) is None
    secrets = {name: pw.encode() for name, pw in scn.passwords.items()}

    found = []
    for path in scn.server.data_dir.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            found += [(name, str(path)) for name, pw in secrets.items() if pw in blob]
    assert not found, f"plaintext passwords in the data dir: {found}"
    err = scn.server.stderr_path.read_bytes() if scn.server.stderr_path else b""
    out = "\n".join(scn.server.stdout_lines).encode()
    leaked = [name for name, pw in secrets.items() if pw in err or pw in out]
    assert not leaked, f"passwords of {leaked} in the server's output"


def test_governance_survives_restart(server_factory):
    """Users, nested groups, table/column/catalog grants, functions, masks and row filters are
    all in the metastore: after a restart everything applies exactly as before."""
    first = server_factory()
    a = Scenario(first)
    pw_u, pw_n = f"pu-{uuid.uuid4().hex}", f"nb-{uuid.uuid4().hex}"
    for stmt in [
        "CREATE SCHEMA main.p",
        "CREATE TABLE main.p.t (id INT, secret STRING, region STRING, salary DOUBLE)",
        "INSERT INTO main.p.t VALUES (1, 's1', 'EU', 1.0), (2, 's2', 'US', 2.0)",
        "CREATE GROUP outer_g", "CREATE GROUP inner_g", "ALTER GROUP outer_g ADD GROUP inner_g",
        f"CREATE USER pu PASSWORD '{pw_u}'", f"CREATE USER nobody PASSWORD '{pw_n}'",
        "ALTER GROUP inner_g ADD USER pu",
        "GRANT USE CATALOG ON CATALOG main TO outer_g",
        "GRANT USE SCHEMA ON SCHEMA main.p TO outer_g",
        "GRANT SELECT (id, secret, region) ON TABLE main.p.t TO outer_g",
        "CREATE FUNCTION main.p.redact(s STRING) RETURNS STRING "
        "RETURN CASE WHEN is_member('outer_g') THEN 'hidden' ELSE s END",
        "ALTER TABLE main.p.t ALTER COLUMN secret SET MASK main.p.redact",
        "CREATE FUNCTION main.p.eu(r STRING) RETURNS BOOLEAN RETURN r = 'EU'",
        "ALTER TABLE main.p.t SET ROW FILTER main.p.eu ON (region)",
        "CREATE CATALOG later_cat",
        "GRANT USE CATALOG, USE SCHEMA, SELECT ON CATALOG later_cat TO nobody",
    ]:
        a.admin(stmt)
    a.close()
    first.stop()
    assert first.process.returncode == 0, first.stderr_tail()

    second = server_factory(data_dir=first.data_dir)
    s = Scenario(second)
    s.passwords.update(pu=pw_u, nobody=pw_n)
    try:
        assert {"pu", "nobody"} <= set(first_col(s.admin("SHOW USERS")))
        assert {"outer_g", "inner_g"} <= set(first_col(s.admin("SHOW GROUPS")))
        s.admin("CREATE SCHEMA later_cat.s")
        s.admin("CREATE TABLE later_cat.s.t AS SELECT 5 AS x")
        for front in FRONTS:
            rows = s.run(front, "pu", "SELECT * FROM main.p.t ORDER BY id")
            assert rows.columns == ["id", "secret", "region"]
            assert rows == [(1, "hidden", "EU")]
            assert s.run(front, "pu", "SELECT is_member('outer_g') AS m") == [(True,)]
            expect_denied(s, front, "pu", "SELECT salary FROM main.p.t", column("salary"))
            expect_denied(s, front, "nobody", "SELECT id FROM main.p.t")
            assert s.run(front, "nobody", "SELECT x FROM later_cat.s.t") == [(5,)]
        assert s.admin("SELECT id, secret FROM main.p.t") == [(1, "s1")]
        assert ("outer_g", "SELECT", "COLUMN", "main.p.t.id") in s.admin(
            "SHOW GRANTS ON TABLE main.p.t")
        assert {"redact", "eu"} <= set(first_col(s.admin(
            "SELECT routine_name FROM main.information_schema.routines")))
        assert s.admin("SELECT column_name, mask_name FROM main.information_schema.column_masks"
                       ) == [("secret", "redact")]
        assert first_col(s.admin("SELECT filter_name FROM main.information_schema.row_filters")
                         ) == ["eu"]
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------
# psql helpers
# ---------------------------------------------------------------------------------------------


def psql_as(scn: Scenario, user: str, command: str, check: bool = True):
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is not installed (apt-get install postgresql-client)", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = scn.passwords[user]
    env["PGCONNECT_TIMEOUT"] = "10"
    proc = subprocess.run(
        [psql, "-X", "-A", "-v", "ON_ERROR_STOP=1", "-h", scn.server.host,
         "-p", str(scn.server.port), "-U", user, "-d", "main", "-c", command],
        capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert proc.returncode == 0 and "ERROR" not in proc.stderr, (
            f"psql -c {command!r} as {user} failed (exit {proc.returncode}):\n"
            f"{proc.stderr}\n{proc.stdout}")
    return proc


def psql_rows(output: str) -> list[list[str]]:
    """Data rows of unaligned psql output (title, header and footer dropped)."""
    body = [ln for ln in output.splitlines() if "|" in ln]
    return [ln.split("|") for ln in body[1:]]


# ---------------------------------------------------------------------------------------------
# The README's governance walkthrough
# ---------------------------------------------------------------------------------------------


def _readme_section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("## Governance walkthrough")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end != -1 else len(readme)]


def _parse_block(block: str) -> tuple[str | None, list[tuple[str, list[str]]]]:
    """(user or None for admin, [(statement, comment lines after it)]) of one ```sql block. A
    block whose first line is `-- as <user>` is run as that user."""
    lines = block.splitlines()
    user = None
    m = re.match(r"--\s*as\s+(\w+)\s*$", lines[0].strip()) if lines else None
    if m:
        user, lines = m.group(1), lines[1:]
    steps: list[tuple[str, list[str]]] = []
    buf: list[str] = []
    for line in lines:
        s = line.strip()
        if s.startswith("--"):
            if not buf and steps:
                steps[-1][1].append(s[2:])
            continue
        if not s:
            continue
        buf.append(line)
        if s.endswith(";"):
            steps.append(("\n".join(buf).strip().rstrip(";"), []))
            buf = []
    assert not buf, f"unterminated statement in README block: {buf}"
    return user, steps


def _expected(comments: list[str]):
    """What the comments under a statement promise: ("error", sqlstate), ("rows", header, rows)
    or None."""
    for c in comments:
        if c.strip().startswith("ERROR"):
            m = re.search(r"\((\w{5})\)", c)
            return ("error", m.group(1) if m else None)
    # A psql-style table: header, a `----+----` rule, then one line per row.
    cells = lambda ln: [x.strip() for x in ln.split("|")]  # noqa: E731
    for i, c in enumerate(comments):
        if i > 0 and re.fullmatch(r"\s*-+(\+-+)*\s*", c):
            return ("rows", cells(comments[i - 1]),
                    [cells(ln) for ln in comments[i + 1:] if ln.strip()])
    return None


def test_readme_governance_walkthrough_runs(server_factory):
    """The README's governance walkthrough, on a fresh server: admin's blocks run as admin,
    `-- as <user>` blocks as that user, and what their comments show is what the users get."""
    section = _readme_section()
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    parsed = [_parse_block(b) for b in blocks]
    admin_sql = "\n".join(b for b, (u, _) in zip(blocks, parsed) if u is None)
    users = {u for u, _ in parsed if u}
    assert {"alice", "bob"} <= users, "README governance blocks for alice and bob not found"
    passwords = dict(re.findall(r"CREATE USER (\w+) PASSWORD '([^']+)'", admin_sql))

    srv = server_factory()
    s = Scenario(srv)
    s.passwords.update(passwords)
    checked = []
    try:
        for user, steps in parsed:
            who = user or "admin"
            for stmt, comments in steps:
                want = _expected(comments) if user else None
                if want and want[0] == "error":
                    d = expect_error(s, "postgres", who, stmt)
                    if want[1]:
                        assert d.sqlstate == want[1], (stmt, d)
                    checked.append((who, stmt))
                    continue
                try:
                    got = s.run("postgres", who, stmt)
                except Denied as d:
                    pytest.fail(f"README statement failed as {who}: {stmt!r}: {d}")
                if want:
                    _, header, rows = want
                    assert got.columns == header, (stmt, got.columns)
                    shown = [["" if v is None else str(v) for v in r] for r in got]
                    assert shown == rows, (stmt, shown)
                    checked.append((who, stmt))
    finally:
        s.close()
    checked_text = " ".join(stmt for _, stmt in checked)
    assert any(w == "alice" for w, _ in checked) and any(w == "bob" for w, _ in checked)
    assert "ssn" in checked_text, "the README should show the masked SSN"
    assert MASK in section


# ---------------------------------------------------------------------------------------------
# Paths found by review: reads through writes, filter side channels, ownership hand-offs
# ---------------------------------------------------------------------------------------------


def test_rewrites_need_select_on_every_column(scn, front):
    """UPDATE, DELETE and MERGE evaluate their predicates and assignments on the raw table: with
    MODIFY but only some columns (or none) readable they would copy or probe hidden values, so
    they are refused; INSERT needs MODIFY only. Nothing changes."""
    t = f"main.sandbox.{unique('rw')}"
    scn.admin(f"CREATE TABLE {t} (id INT, name STRING, salary DOUBLE)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 'a', 100.0), (2, 'b', 200.0)")
    cols = scn.new_user("rwcols", grants=["USE CATALOG ON CATALOG main",
                                          "USE SCHEMA ON SCHEMA main.sandbox",
                                          f"SELECT (id, name) ON TABLE {t}",
                                          f"MODIFY ON TABLE {t}"])
    blind = scn.new_user("rwblind", grants=["USE CATALOG ON CATALOG main",
                                            "USE SCHEMA ON SCHEMA main.sandbox",
                                            f"MODIFY ON TABLE {t}"])
    before = scn.admin(f"SELECT * FROM {t} ORDER BY id")
    # The target's columns are those the user sees (INSERT fills the others with NULL).
    overwrite = {cols: "SELECT 9, 'z'", blind: "SELECT 9, 'z', 0.0"}
    for user in (cols, blind):
        for sql in (
            f"UPDATE {t} SET name = CAST(salary AS STRING)",
            f"UPDATE {t} SET id = id WHERE salary > 150",
            f"DELETE FROM {t} WHERE salary = 100",
            f"MERGE INTO {t} USING (SELECT 1 AS k) s ON false "
            "WHEN NOT MATCHED BY SOURCE THEN UPDATE SET name = CAST(salary AS STRING)",
            f"INSERT OVERWRITE {t} {overwrite[user]}",
        ):
            # Either the whole-table SELECT is missing, or the hidden column is named.
            expect_denied(scn, front, user, sql, r"\bSELECT\b|column salary", obj(t))
    assert scn.admin(f"SELECT * FROM {t} ORDER BY id") == before
    scn.run(front, blind, f"INSERT INTO {t} VALUES (3, 'c', 300.0)")
    assert scn.admin(f"SELECT count(*) FROM {t}") == [(3,)]


def test_row_filter_runs_before_the_users_predicate(scn, front):
    """A predicate that fails on a hidden row (division by zero on Ben's salary, a US row bob
    cannot see) must never run on it: the filter comes first, physical pushdown included."""
    ben_salary = int(EMPLOYEES[1][2])
    rows = scn.run(front, "bob", f"SELECT id FROM {E} "
                   f"WHERE 10 / (CAST(salary AS INT) - {ben_salary}) > -100 ORDER BY id")
    assert first_col(rows) == EU_IDS


def test_explain_over_governed_tables_is_admin_only(scn, front):
    """The plan of a query over a masked, filtered or column-granted table shows file paths,
    partition values and row counts: non-admins get 42501, admins the plan."""
    for user, sql in (("bob", f"SELECT * FROM {E}"), ("alice", f"SELECT id FROM {E}"),
                      ("carol", "SELECT * FROM main.hr.v_names")):
        for explain in ("EXPLAIN", "EXPLAIN ANALYZE"):
            expect_denied(scn, front, user, f"{explain} {sql}", "EXPLAIN")
    assert scn.run(front, "admin", f"EXPLAIN SELECT * FROM {E}")


def test_history_of_a_governed_table_is_its_owners(scn, front):
    """DESCRIBE HISTORY shows predicates and metrics naming hidden values and rows: on a table
    with policies only its owner, MANAGE holders and admins may read it."""
    expect_denied(scn, front, "bob", f"DESCRIBE HISTORY {E}", priv("MANAGE"))
    assert scn.run(front, "admin", f"DESCRIBE HISTORY {E} LIMIT 1")


def test_ownership_goes_only_to_oneself_or_ones_groups(scn, front):
    """A view handed to a stronger owner would run with that owner's privileges: non-admins may
    transfer ownership only to themselves or a group they belong to."""
    u = scn.new_user("own", groups=["analysts"],
                     grants=["USE CATALOG ON CATALOG main",
                             "USE SCHEMA, CREATE TABLE ON SCHEMA main.sandbox"])
    v = f"main.sandbox.{unique('ov')}"
    scn.run(front, u, f"CREATE VIEW {v} AS SELECT id FROM {E}")
    expect_denied(scn, front, u, f"ALTER VIEW {v} OWNER TO admin", "ownership")
    expect_denied(scn, front, u, f"ALTER VIEW {v} OWNER TO hr", "ownership")
    scn.run(front, u, f"ALTER VIEW {v} OWNER TO analysts")
    owner = scn.admin("SELECT table_owner FROM main.information_schema.tables "
                      f"WHERE table_name = '{v.rsplit('.', 1)[1]}'")
    assert owner == [("analysts",)]


def test_rename_into_a_schema_needs_create_table_there(scn, front):
    """RENAME TO into another schema needs CREATE TABLE on it, like creating the table there."""
    u = scn.new_user("ren", grants=["USE CATALOG ON CATALOG main",
                                    "USE SCHEMA, CREATE TABLE ON SCHEMA main.sandbox",
                                    "USE SCHEMA ON SCHEMA main.hr"])
    t = unique("rn")
    scn.run(front, u, f"CREATE TABLE main.sandbox.{t} (id INT)")
    expect_denied(scn, front, u, f"ALTER TABLE main.sandbox.{t} RENAME TO main.hr.{t}",
                  priv("CREATE TABLE"), obj("main.hr"))
    assert scn.admin(f"SHOW TABLES IN main.hr LIKE '{t}'") == []


def test_dynamic_view_guards_rows_before_the_readers_predicate(scn, front):
    """A view that filters rows by who reads it (is_member in its WHERE) is kept opaque: the
    reader's predicate never runs on a row the view hides (a division by zero on a hidden row
    would reveal it)."""
    t = f"main.sandbox.{unique('dv')}"
    v = f"main.sandbox.{unique('dynv')}"
    scn.admin(f"CREATE TABLE {t} (id INT, amount INT, region STRING)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 10, 'EU'), (2, 0, 'US'), (3, 30, 'EU')")
    scn.admin(f"CREATE VIEW {v} AS SELECT id, amount FROM {t} "
              "WHERE is_member('admins') OR region = 'EU'")
    u = scn.new_user("dyn", grants=["USE CATALOG ON CATALOG main",
                                    "USE SCHEMA ON SCHEMA main.sandbox", f"SELECT ON VIEW {v}"])
    rows = scn.run(front, u, f"SELECT id FROM {v} WHERE 100 / amount > 0 ORDER BY id")
    assert first_col(rows) == [1, 3]
    assert scn.run(front, "admin", f"SELECT count(*) FROM {v}") == [(3,)]


def test_dynamic_view_is_known_by_its_plan(scn, front):
    """A view is dynamic by the functions its plan calls, however they are written: user() is
    current_user() under another name, and is_member() in a subquery counts too."""
    t = f"main.sandbox.{unique('dv')}"
    scn.admin(f"CREATE TABLE {t} (id INT, amount INT, region STRING)")
    scn.admin(f"INSERT INTO {t} VALUES (1, 10, 'EU'), (2, 0, 'US'), (3, 30, 'EU')")
    views = [
        f"SELECT id, amount FROM {t} WHERE user() = 'admin' OR region = 'EU'",
        f"SELECT id, amount FROM {t} WHERE region = 'EU' OR id IN "
        f"(SELECT id FROM {t} WHERE is_member('admins'))",
    ]
    for body in views:
        v = f"main.sandbox.{unique('dynv')}"
        scn.admin(f"CREATE VIEW {v} AS {body}")
        u = scn.new_user("dyn", grants=["USE CATALOG ON CATALOG main",
                                        "USE SCHEMA ON SCHEMA main.sandbox", f"SELECT ON VIEW {v}"])
        rows = scn.run(front, u, f"SELECT id FROM {v} WHERE 100 / amount > 0 ORDER BY id")
        assert first_col(rows) == [1, 3], body
        assert scn.run(front, "admin", f"SELECT count(*) FROM {v}") == [(3,)]

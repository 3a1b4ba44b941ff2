"""The psql CLI's meta-commands against a live Weir server."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import unique

PSQL = shutil.which("psql")


def psql(server, command: str, database: str = "main", check: bool = True,
         tuples_only: bool = False):
    """Runs `psql -c COMMAND` with unaligned output; returns the CompletedProcess."""
    if PSQL is None:
        pytest.fail("psql is not installed (apt-get install postgresql-client)", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = server.password
    env["PGCONNECT_TIMEOUT"] = "10"
    proc = subprocess.run(
        [PSQL, "-X", "-A", "-v", "ON_ERROR_STOP=1", "-h", server.host, "-p", str(server.port),
         "-U", server.user, "-d", database, *(["-t"] if tuples_only else []), "-c", command],
        capture_output=True, text=True, env=env, timeout=60,
    )
    if check:
        assert proc.returncode == 0 and "ERROR" not in proc.stderr, (
            f"psql -c {command!r} failed (exit {proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    return proc


def rows(output: str) -> list[list[str]]:
    """Data rows of unaligned psql output (title, header and '(n rows)' footer dropped)."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    body = [ln for ln in lines if "|" in ln]
    return [ln.split("|") for ln in body[1:]]  # body[0] is the header


def header(output: str) -> list[str]:
    return next(ln for ln in output.splitlines() if "|" in ln).split("|")


@pytest.fixture(scope="module")
def ns(server):
    cat, sch, other = unique("psql_cat"), unique("psql_s"), unique("psql_other")
    main_sch = unique("psql_main")
    with server.connect() as c:
        c.execute(f"CREATE CATALOG {cat}")
        c.execute(f"CREATE SCHEMA {cat}.{sch} COMMENT 'psql schema'")
        c.execute(f"CREATE SCHEMA {cat}.{other}")
        c.execute(f"CREATE SCHEMA main.{main_sch}")
        c.execute(
            f"CREATE TABLE {cat}.{sch}.orders ("
            " id BIGINT NOT NULL COMMENT 'order id',"
            " customer STRING NOT NULL,"
            " amount DECIMAL(10,2),"
            " qty INT,"
            " shipped BOOLEAN,"
            " ordered_on DATE,"
            " ts TIMESTAMP,"
            " score DOUBLE"
            ") COMMENT 'all orders'"
        )
        c.execute(f"CREATE TABLE {cat}.{sch}.customers (name STRING)")
        c.execute(f"CREATE TABLE {cat}.{other}.elsewhere (x INT)")
        c.execute(f"CREATE VIEW {cat}.{sch}.big_orders AS SELECT id FROM {cat}.{sch}.orders "
                  "WHERE amount > 100")
    return {"cat": cat, "sch": sch, "other": other, "main_sch": main_sch}


def test_connects_and_queries(server, ns):
    out = psql(server, "SELECT current_database(), current_schema()", database=ns["cat"],
               tuples_only=True).stdout
    assert out.strip().splitlines() == [f"{ns['cat']}|default"]


def test_l_lists_catalogs(server, ns):
    out = psql(server, r"\l").stdout
    assert header(out)[0] == "Name"
    names = [r[0] for r in rows(out)]
    assert ns["cat"] in names and "main" in names


def test_l_lists_only_existing_catalogs(server, ns):
    # Every database psql lists must be a catalog one can connect to.
    names = {r[0] for r in rows(psql(server, r"\l").stdout)}
    with server.connect() as c:
        catalogs = {r[0] for r in c.execute("SHOW CATALOGS").fetchall()}
    assert names == catalogs


def test_dn_lists_schemas_of_current_catalog(server, ns):
    out = psql(server, r"\dn", database=ns["cat"]).stdout
    names = [r[0] for r in rows(out)]
    assert ns["sch"] in names and ns["other"] in names
    assert ns["main_sch"] not in names  # a schema of another catalog
    out_main = psql(server, r"\dn").stdout
    main_names = [r[0] for r in rows(out_main)]
    assert ns["main_sch"] in main_names and ns["sch"] not in main_names


def test_dt_lists_tables_of_schema(server, ns):
    out = psql(server, rf"\dt {ns['sch']}.*", database=ns["cat"]).stdout
    got = sorted((r[0], r[1], r[2]) for r in rows(out))
    assert got == [(ns["sch"], "customers", "table"), (ns["sch"], "orders", "table")]


def test_dv_lists_views_of_schema(server, ns):
    out = psql(server, rf"\dv {ns['sch']}.*", database=ns["cat"]).stdout
    assert [(r[0], r[1], r[2]) for r in rows(out)] == [(ns["sch"], "big_orders", "view")]


@pytest.mark.xfail(strict=True, reason="known gap: pg_class has no owner from the metastore yet: psql shows 'postgres' (datafusion-pg-catalog's fixed relowner)")
def test_dt_owner_is_the_creating_user(server, ns):
    out = psql(server, rf"\dt {ns['sch']}.*", database=ns["cat"]).stdout
    owner_col = header(out).index("Owner")
    assert {r[owner_col] for r in rows(out)} == {server.user}


def test_d_describes_table_columns(server, ns):
    out = psql(server, rf"\d {ns['sch']}.orders", database=ns["cat"]).stdout
    assert f'Table "{ns["sch"]}.orders"' in out
    h = header(out)
    assert h[:2] == ["Column", "Type"] and "Nullable" in h
    null_col = h.index("Nullable")
    cols = {r[0]: (r[1], r[null_col]) for r in rows(out)}
    assert list(cols) == ["id", "customer", "amount", "qty", "shipped", "ordered_on", "ts",
                          "score"]
    assert cols["id"] == ("bigint", "not null")
    assert cols["customer"] == ("text", "not null")
    assert cols["amount"][0].startswith("numeric") and cols["amount"][1] == ""
    assert cols["qty"] == ("integer", "")
    assert cols["shipped"] == ("boolean", "")
    assert cols["ordered_on"] == ("date", "")
    assert cols["ts"] == ("timestamp with time zone", "")
    assert cols["score"] == ("double precision", "")


def test_d_shows_decimal_precision(server, ns):
    out = psql(server, rf"\d {ns['sch']}.orders", database=ns["cat"]).stdout
    cols = {r[0]: r[1] for r in rows(out)}
    assert cols["amount"] == "numeric(10,2)"


def test_d_plus_shows_column_comments(server, ns):
    out = psql(server, rf"\d+ {ns['sch']}.orders", database=ns["cat"]).stdout
    h = header(out)
    desc = h.index("Description")
    comments = {r[0]: r[desc] for r in rows(out) if len(r) > desc}
    assert comments["id"] == "order id"


def test_unknown_table_error(server, ns):
    proc = psql(server, rf"\d {ns['sch']}.no_such_table", database=ns["cat"], check=False)
    assert "no_such_table" in proc.stderr
    assert "Did not find any relation" in proc.stderr


def test_readme_walkthrough_runs(server_factory):
    """The SQL blocks of the README walkthrough, in order, through psql on a fresh server."""
    import re

    from conftest import REPO

    readme = (REPO / "README.md").read_text()
    start = readme.index("## A bronze / silver / gold walkthrough in psql")
    end = readme.index("## Connecting from clients")
    blocks = re.findall(r"```sql\n(.*?)```", readme[start:end], re.S)
    assert len(blocks) >= 4, "walkthrough SQL blocks not found"
    srv = server_factory()
    script = srv.data_dir.parent / "walkthrough.sql"
    script.write_text("\n".join(blocks))
    out = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", str(script),
         f"postgresql://{srv.user}@{srv.host}:{srv.port}/main"],
        env={**os.environ, "PGPASSWORD": srv.password},
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "num_affected_rows" in out.stdout


def test_the_system_catalog_is_a_database_psql_lists_and_connects_to(server, ns):
    assert "system" in [r[0] for r in rows(psql(server, r"\l").stdout)]
    out = psql(server, "SELECT current_database(), current_schema()", database="system",
               tuples_only=True).stdout
    assert out.strip().splitlines() == ["system|information_schema"]
    tables = rows(psql(server, r"\dt access.*", database="system").stdout)
    assert [(r[0], r[1]) for r in tables] == [
        ("access", "audit"), ("access", "column_lineage"), ("access", "openlineage_sinks"),
        ("access", "table_lineage")]
    columns = rows(psql(server, r"\d access.table_lineage", database="system").stdout)
    assert [r[0] for r in columns][:2] == ["source_table_full_name", "source_table_catalog"]

"""OpenLineage: each statement that writes data is a run (START, then COMPLETE or FAIL) sent to a
JSON-lines file and to an HTTP collector (Marquez's API), every event valid against the
OpenLineage model; a sink that is down or slow changes nothing for users, and what it dropped is
counted in system.access.openlineage_sinks."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pyarrow as pa
import pytest

from openlineage_model import validate_run_event

SINKS = "SELECT sink, queued, delivered, retried, dropped, failed, last_error " \
        "FROM system.access.openlineage_sinks ORDER BY sink"


class Collector:
    """A local OpenLineage collector: records every POST to /api/v1/lineage. With `hold`, each
    request waits for it to be set before it is answered."""

    def __init__(self, hold: threading.Event | None = None):
        self.events: list[dict] = []
        self.paths: list[str] = []
        self.authorization: list[str | None] = []
        self.received = threading.Event()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.received.set()
                if hold is not None:
                    hold.wait(timeout=60)
                collector.paths.append(self.path)
                collector.authorization.append(self.headers.get("Authorization"))
                collector.events.append(json.loads(body))
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_until(condition, what: str, timeout: float = 60.0):
    """Polls `condition` until it holds (the sinks deliver on a task of their own)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def sinks(c: psycopg.Connection) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in c.execute(SINKS).fetchall()}


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_runs_reach_the_file_and_the_collector_and_validate(server_factory, tmp_path):
    collector = Collector()
    events_file = tmp_path / "openlineage.jsonl"
    try:
        srv = server_factory([
            "--openlineage-url", collector.url + "/",
            "--openlineage-api-key", "k3y",
            "--openlineage-file", str(events_file),
            "--openlineage-namespace", "acme",
        ])
        insert = "INSERT INTO lake.bronze VALUES (1, 'Seoul', 10), (2, 'Busan', 20)"
        ctas = ("CREATE TABLE lake.silver AS SELECT id, upper(city) AS city, amount "
                "FROM lake.bronze WHERE amount > 0")
        failing = "INSERT INTO lake.silver SELECT nope FROM lake.bronze"
        with srv.connect() as c:
            # Neither creates nor reads data: no run.
            c.execute("CREATE SCHEMA lake")
            c.execute("CREATE TABLE lake.bronze (id INT, city STRING, amount INT)")
            c.execute(insert)
            c.execute(ctas)
            with pytest.raises(psycopg.errors.UndefinedColumn):
                c.execute(failing)
            assert c.execute("SELECT count(*) FROM lake.silver").fetchone() == (2,)
        with srv.adbc() as conn, conn.cursor() as cur:
            cur.adbc_ingest("gold", pa.table({"city": ["SEOUL"], "total": [10]}),
                            mode="create", db_schema_name="lake")
        with srv.connect() as c:
            wait_until(lambda: sinks(c) == {
                "file": (0, 8, 0, 0, 0, None),
                "http": (0, 8, 0, 0, 0, None),
            }, "8 events delivered to each sink")
            ids = dict(c.execute(
                "SELECT statement_text, statement_id FROM system.access.audit "
                "WHERE action_name IN ('insert', 'create_table_as_select', 'ingest')").fetchall())
            location = dict(c.execute(
                "SELECT table_name, storage_path FROM information_schema.tables "
                "WHERE table_schema = 'lake'").fetchall())
    finally:
        collector.close()

    sent = [json.loads(line) for line in events_file.read_text().splitlines()]
    # Both sinks got the same events in the same order, each a valid RunEvent.
    assert sent == collector.events
    assert collector.paths == ["/api/v1/lineage"] * 8
    assert collector.authorization == ["Bearer k3y"] * 8
    for e in sent:
        validate_run_event(e)
    runs = [(e["eventType"], e["job"]["facets"]["sql"]["query"], e["run"]["runId"]) for e in sent]
    ingest = "INGEST INTO lake.gold MODE Create"
    assert [(t, q) for t, q, _ in runs] == [
        ("START", insert), ("COMPLETE", insert),
        ("START", ctas), ("COMPLETE", ctas),
        ("START", failing), ("FAIL", failing),
        ("START", ingest), ("COMPLETE", ingest),
    ]
    # A run is the statement: its id is the audit's statement id.
    for text in (insert, ctas, ingest):
        assert {r for _, q, r in runs if q == text} == {ids[text]}
    assert {e["job"]["namespace"] for e in sent} == {"acme"}
    assert sent[0]["job"]["name"] == sent[1]["job"]["name"]
    assert sent[0]["job"]["name"].startswith("insert.")

    def path(table: str) -> str:
        return location[table].removeprefix("file://").rstrip("/")

    def symlink(e: dict) -> list:
        return e["facets"]["symlinks"]["identifiers"]

    # INSERT ... VALUES: one output, its rows counted, no inputs and no column lineage.
    done = sent[1]
    assert done["inputs"] == []
    [out] = done["outputs"]
    assert (out["namespace"], out["name"]) == ("file", path("bronze"))
    assert symlink(out) == [{"namespace": "acme", "name": "main.lake.bronze", "type": "TABLE"}]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert "columnLineage" not in out["facets"]
    # CTAS: bronze in, silver out with each column's inputs.
    done = sent[3]
    [inp] = done["inputs"]
    assert (inp["namespace"], inp["name"]) == ("file", path("bronze"))
    assert symlink(inp) == [{"namespace": "acme", "name": "main.lake.bronze", "type": "TABLE"}]
    assert inp["facets"]["schema"]["fields"] == [
        {"name": "id", "type": "int"}, {"name": "city", "type": "string"},
        {"name": "amount", "type": "int"}]
    [out] = done["outputs"]
    assert (out["namespace"], out["name"]) == ("file", path("silver"))
    lineage = {
        column: {(f["name"], f["field"]): [(t["type"], t["subtype"], t["masking"])
                                           for t in f["transformations"]]
                 for f in spec["inputFields"]}
        for column, spec in out["facets"]["columnLineage"]["fields"].items()
    }
    bronze = path("bronze")
    assert lineage == {
        "id": {(bronze, "amount"): [("INDIRECT", "FILTER", False)],
               (bronze, "id"): [("DIRECT", "IDENTITY", False)]},
        "city": {(bronze, "amount"): [("INDIRECT", "FILTER", False)],
                 (bronze, "city"): [("DIRECT", "TRANSFORMATION", False)]},
        "amount": {(bronze, "amount"): [("DIRECT", "IDENTITY", False),
                                        ("INDIRECT", "FILTER", False)]},
    }
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 2
    # The failed statement: its error, and nothing written.
    fail = sent[5]
    assert fail["run"]["facets"]["errorMessage"]["message"].startswith("42703: ")
    assert fail["run"]["facets"]["errorMessage"]["programmingLanguage"] == "SQL"
    assert fail["outputs"] == []
    # Flight bulk ingest: the new table, its rows.
    [out] = sent[7]["outputs"]
    assert symlink(out) == [{"namespace": "acme", "name": "main.lake.gold", "type": "TABLE"}]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 1


def test_a_dead_sink_changes_nothing_for_users(server_factory):
    srv = server_factory(["--openlineage-url", f"http://127.0.0.1:{closed_port()}"])
    with srv.connect() as c:
        c.execute("CREATE TABLE t (x INT)")
        assert c.execute("INSERT INTO t VALUES (1), (2)").rowcount == 2
        assert c.execute("SELECT sum(x) FROM t").fetchone() == (3,)
        # Both events of the INSERT were tried five times each, then given up.
        state = wait_until(lambda: (s := sinks(c)["http"])[4] == 2 and s, "events to fail")
        queued, delivered, retried, dropped, failed, last_error = state
        assert (queued, delivered, retried, dropped, failed) == (0, 0, 8, 0, 2)
        assert last_error.startswith("cannot reach http://127.0.0.1:")
        c.execute("CREATE USER dora PASSWORD 'doras-secret'")
    with psycopg.connect(srv.dsn(user="dora", password="doras-secret"), autocommit=True) as dora:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="lacks USE CATALOG on catalog system"):
            dora.execute(SINKS)


def test_a_slow_collector_fills_the_queue_and_later_events_are_dropped(server_factory):
    hold = threading.Event()
    collector = Collector(hold=hold)
    try:
        srv = server_factory(["--openlineage-url", collector.url, "--openlineage-queue", "2"])
        with srv.connect() as c:
            c.execute("CREATE TABLE t (x INT)")
            c.execute("INSERT INTO t VALUES (1)")
            # The first START is in flight, held by the collector; the COMPLETE waits.
            assert collector.received.wait(timeout=30)
            # Statements go on while the collector holds: START 2 fills the queue, the five
            # events after it are dropped.
            for x in (2, 3, 4):
                c.execute("INSERT INTO t VALUES (%s)", (x,))
            assert c.execute("SELECT count(*) FROM t").fetchone() == (4,)
            # (Events are built on a task of their own: the counts settle there.)
            wait_until(lambda: sinks(c)["http"][:5] == (2, 0, 0, 5, 0), "five events dropped")
            hold.set()
            wait_until(lambda: sinks(c)["http"][:5] == (0, 3, 0, 5, 0), "the queue to drain")
    finally:
        hold.set()
        collector.close()
    assert [(e["eventType"], e["job"]["facets"]["sql"]["query"]) for e in collector.events] == [
        ("START", "INSERT INTO t VALUES (1)"),
        ("COMPLETE", "INSERT INTO t VALUES (1)"),
        ("START", "INSERT INTO t VALUES ($1)"),
    ]


def test_sinks_are_set_in_the_config_file_and_the_environment(server_factory, tmp_path):
    events_file = tmp_path / "events.jsonl"
    config = tmp_path / "weir.toml"
    config.write_text(f'openlineage_file = "{events_file}"\nopenlineage_queue = 100\n')
    srv = server_factory(["--config", str(config)], env={"WEIR_OPENLINEAGE_NAMESPACE": "from-env"})
    with srv.connect() as c:
        c.execute("CREATE TABLE t (x INT)")
        c.execute("INSERT INTO t VALUES (1)")
        wait_until(lambda: sinks(c)["file"][1] == 2, "two events in the file")
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert [(e["eventType"], e["job"]["namespace"]) for e in events] == [
        ("START", "from-env"), ("COMPLETE", "from-env")]


def test_events_queued_at_shutdown_are_still_sent(server_factory):
    hold = threading.Event()
    collector = Collector(hold=hold)
    try:
        srv = server_factory(["--openlineage-url", collector.url])
        with srv.connect() as c:
            c.execute("CREATE TABLE t (x INT)")
            c.execute("INSERT INTO t VALUES (1)")
        # The START is in flight, the COMPLETE queued, when the server is told to stop: it
        # waits for the collector rather than exit with the events undelivered.
        assert collector.received.wait(timeout=30)
        srv.process.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            srv.process.wait(timeout=2)
        hold.set()
        assert srv.process.wait(timeout=60) == 0
    finally:
        hold.set()
        collector.close()
    assert [e["eventType"] for e in collector.events] == ["START", "COMPLETE"]


def test_statements_of_a_procedure_name_the_call_as_their_parent(server_factory, tmp_path):
    events_file = tmp_path / "openlineage.jsonl"
    srv = server_factory(["--openlineage-file", str(events_file)])
    with srv.connect() as c:
        c.execute("CREATE SCHEMA lake")
        c.execute("CREATE TABLE lake.raw (id INT)")
        c.execute("CREATE PROCEDURE lake.promote() AS BEGIN "
                  "CREATE OR REPLACE TABLE lake.clean AS SELECT id FROM lake.raw WHERE id > 0; END")
        c.execute("INSERT INTO lake.raw VALUES (1), (-1)")
        c.execute("CALL lake.promote()")
        call_id, = c.execute("SELECT statement_id FROM system.access.audit "
                             "WHERE action_name = 'call'").fetchone()
        ctas_id, run_id = c.execute(
            "SELECT statement_id, run_id FROM system.access.audit "
            "WHERE action_name = 'create_table_as_select'").fetchone()
        assert run_id == call_id
        # Lineage rows name the run: Databricks' entity columns.
        assert c.execute(
            "SELECT source_table_full_name, entity_type, entity_id, entity_run_id "
            "FROM system.access.table_lineage WHERE target_table_full_name = 'main.lake.clean'"
        ).fetchall() == [("main.lake.raw", "PROCEDURE", "main.lake.promote", call_id)]
        assert {r[0] for r in c.execute(
            "SELECT DISTINCT entity_run_id FROM system.access.column_lineage "
            "WHERE target_table_full_name = 'main.lake.clean'").fetchall()} == {call_id}
        wait_until(lambda: sinks(c)["file"][1] >= 4, "the events written")
    sent = [json.loads(line) for line in events_file.read_text().splitlines()]
    for e in sent:
        validate_run_event(e)
    ctas = [e for e in sent if e["run"]["runId"] == ctas_id]
    assert [e["eventType"] for e in ctas] == ["START", "COMPLETE"]
    for e in ctas:
        parent = e["run"]["facets"]["parent"]
        assert parent["run"] == {"runId": call_id}
        assert parent["job"] == {"namespace": "weir", "name": "procedure.main.lake.promote"}
    # The client's own statements have no parent.
    assert all("parent" not in e["run"]["facets"] for e in sent if e["run"]["runId"] != ctas_id)


def test_copy_into_names_its_location_as_input(server_factory, tmp_path):
    events_file = tmp_path / "openlineage.jsonl"
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.csv").write_text("id\n1\n2\n")
    srv = server_factory(["--openlineage-file", str(events_file)])
    with srv.connect() as c:
        c.execute("CREATE TABLE main.default.landed (id INT)")
        c.execute(f"COPY INTO main.default.landed FROM '{drop}' FILEFORMAT = CSV "
                  "FORMAT_OPTIONS ('header' = 'true')")
        copy_id, = c.execute("SELECT statement_id FROM system.access.audit "
                             "WHERE action_name = 'copy_into'").fetchone()
        wait_until(lambda: sinks(c)["file"][1] >= 2, "the events written")
    sent = [json.loads(line) for line in events_file.read_text().splitlines()]
    for e in sent:
        validate_run_event(e)
    [complete] = [e for e in sent
                  if e["run"]["runId"] == copy_id and e["eventType"] == "COMPLETE"]
    assert complete["inputs"] == [{"namespace": "file", "name": str(drop)}]
    [output] = complete["outputs"]
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 2

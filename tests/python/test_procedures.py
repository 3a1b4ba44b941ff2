"""Procedures and SQL scripting through real clients: the README's procedure section in psql
and through ADBC (Flight SQL), a running block stopped by a cancel and by statement_timeout,
and DESCRIBE PROCEDURE."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import deltalake
import psycopg
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_block(heading: str) -> str:
    text = README.read_text()
    start = text.index(heading)
    return re.search(r"```sql\n(.*?)```", text[start:], re.S).group(1)


def _walkthrough_and_procedure() -> str:
    return (_readme_block("## A bronze / silver / gold walkthrough in psql") + "\n"
            + _readme_block("## Procedures, SQL scripting and jobs"))


def _statements(sql: str) -> list[str]:
    """Splits SQL at `;` outside quotes and `$$` bodies, dropping `--` comments."""
    out, cur, i, quote, dollar = [], [], 0, False, False
    while i < len(sql):
        ch = sql[i]
        if not quote and not dollar and sql.startswith("--", i):
            i = sql.index("\n", i) if "\n" in sql[i:] else len(sql)
            continue
        if not quote and sql.startswith("$$", i):
            dollar = not dollar
            cur.append("$$")
            i += 2
            continue
        if ch == "'" and not dollar:
            quote = not quote
        if ch == ";" and not quote and not dollar:
            stmt = "".join(cur).strip()
            if stmt:
                out.append(stmt)
            cur = []
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _wait_for_runs(c) -> None:
    """Polls system.jobs.runs until no run is going (the README starts one in the background)."""
    deadline = time.monotonic() + 120
    while c.execute("SELECT count(*) FROM system.jobs.runs WHERE state = 'RUNNING'").fetchone()[0]:
        assert time.monotonic() < deadline, "a background run never ended"


SCHEDULE = "pricing.silver.hourly_refresh"


def _check_pipeline_result(server) -> None:
    with server.connect() as c:
        _wait_for_runs(c)
        # The README's schedule is paused. (Had it fired between its CREATE and its PAUSE, its
        # run is told apart by its schedule_name.)
        assert c.execute(
            "SELECT schedule_name, cron, time_zone, enabled, next_fire_time IS NULL, owner "
            "FROM system.jobs.schedules").fetchall() == [
                ("hourly_refresh", "5 * * * *", "Asia/Seoul", False, True, server.user)]
        scheduled = {r[0] for r in c.execute(
            "SELECT run_id FROM system.jobs.runs WHERE schedule_name IS NOT NULL").fetchall()}
        # The background run: MERGE, CREATE TABLE AS and the report query.
        [(state, statements, written)] = c.execute(
            "SELECT state, statements, rows_written FROM system.jobs.runs "
            "WHERE schedule_name IS NULL").fetchall()
        assert (state, statements) == ("SUCCEEDED", 3) and written > 0
        assert c.execute("SELECT count(*) FROM pricing.silver.bookings").fetchone() == (4,)
        assert c.execute(
            "SELECT hotel_id, bookings, CAST(revenue AS STRING) FROM pricing.gold.daily_revenue "
            "WHERE booking_date = DATE '2025-03-20'").fetchall() == [("h2", 1, "180.00")]
        actions = {}
        for run_id, action in c.execute(
                "SELECT run_id, action_name FROM system.access.audit WHERE run_id IS NOT NULL"):
            if run_id not in scheduled:
                actions[action] = actions.get(action, 0) + 1
        # SET ... = (SELECT ...) is evaluated by the block; MERGE, the CTAS and the final query
        # are statements of a call, recorded with its run id: the CALL's and the background
        # run's; the background run's CALL is a statement of the run too.
        assert actions.get("merge") == 2 and actions.get("create_table_as_select") == 2, actions
        assert actions.get("query") == 2 and actions.get("call") == 1, actions
        run_ids = {r[0] for r in c.execute(
            "SELECT run_id FROM system.access.audit WHERE run_id IS NOT NULL").fetchall()}
        run_ids -= scheduled
        calls = {r[0] for r in c.execute(
            "SELECT statement_id FROM system.access.audit WHERE action_name = 'call' "
            "AND run_id IS NULL AND statement_text NOT LIKE 'CALL ASYNC%'").fetchall()}
        jobs = {r[0] for r in c.execute(
            "SELECT run_id FROM system.jobs.runs WHERE schedule_name IS NULL").fetchall()}
        assert len(run_ids) == 2 and run_ids == calls | jobs, (run_ids, calls, jobs)
        # Delta's commitInfo names the run too, for readers of the log.
        cur = c.execute("DESCRIBE DETAIL pricing.gold.daily_revenue")
        location = cur.fetchone()[[d.name for d in cur.description].index("location")]
    history = deltalake.DeltaTable(location).history()
    assert {h.get("weirRunId") for h in history} >= run_ids, history
    _fire_readme_schedule(server)


def _fire_readme_schedule(server) -> None:
    """The README's schedule, made to fire every second and resumed: its run does what the
    procedure does, as the schedule's owner."""
    with server.connect() as c:
        c.execute(f"ALTER SCHEDULE {SCHEDULE} CRON '* * * * * *'")
        c.execute(f"ALTER SCHEDULE {SCHEDULE} RESUME")
        deadline = time.monotonic() + 120
        while True:
            runs = c.execute(
                "SELECT state, user_name, statements, error_message FROM system.jobs.runs "
                "WHERE schedule_name = %s AND state <> 'RUNNING'", (SCHEDULE,)).fetchall()
            if runs:
                break
            assert time.monotonic() < deadline, "the schedule never fired"
        c.execute(f"ALTER SCHEDULE {SCHEDULE} PAUSE")
        assert runs[0] == ("SUCCEEDED", server.user, 3, None), runs
        [(last_run, last_fire)] = c.execute(
            "SELECT last_run_id, last_fire_time IS NOT NULL FROM system.jobs.schedules").fetchall()
        assert last_fire and c.execute(
            "SELECT schedule_name FROM system.jobs.runs WHERE run_id = %s",
            (last_run,)).fetchone() == (SCHEDULE,)


def test_readme_procedure_section_runs_in_psql(server_factory, tmp_path):
    psql = shutil.which("psql")
    assert psql, "psql is not installed (apt-get install postgresql-client)"
    srv = server_factory()
    script = tmp_path / "pipeline.sql"
    script.write_text(_walkthrough_and_procedure())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = srv.password
    proc = subprocess.run(
        [psql, "-X", "-A", "-v", "ON_ERROR_STOP=1", "-h", srv.host, "-p", str(srv.port),
         "-U", srv.user, "-d", "main", "-f", str(script)],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    # The CALL's result is the gold report; SELECT merged shows the OUT parameter.
    assert "2025-03-19|h2|1|210.00\n2025-03-20|h2|1|180.00\n(3 rows)" in proc.stdout
    assert "merged\n1\n(1 row)" in proc.stdout
    assert "procedure_name" in proc.stdout and "refresh_bookings" in proc.stdout
    # The call told its progress as it ran.
    assert re.search(r"NOTICE:  pricing\.silver\.refresh_bookings: statement 1 of 3 done "
                     r"\(merge, \d+ rows? written\)\n", proc.stderr), proc.stderr
    assert ("NOTICE:  pricing.silver.refresh_bookings: statement 3 of 3 done (query)"
            in proc.stderr), proc.stderr
    _check_pipeline_result(srv)


def test_readme_procedure_section_runs_through_adbc(server_factory):
    srv = server_factory()
    conn = srv.adbc()
    try:
        with conn.cursor() as cur:
            call_result = None
            for stmt in _statements(_walkthrough_and_procedure()):
                cur.execute(stmt)
                table = cur.fetch_arrow_table()
                if stmt.startswith("CALL pricing"):
                    call_result = table.to_pylist()
                if stmt.startswith("SELECT merged"):
                    assert table.to_pylist() == [{"merged": 1}]
            assert call_result is not None and len(call_result) == 3
            assert call_result[-1]["booking_date"].isoformat() == "2025-03-20"
    finally:
        conn.close()
    _check_pipeline_result(srv)


ENDLESS = """BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE true DO
    SET i = i + 1;
    INSERT INTO {t} VALUES (i);
  END WHILE;
END"""


def _cancel_endless_block(server, uniq, execute, cancel) -> BaseException | None:
    """Runs an endless block with `execute` on a thread, calls `cancel` once it has written a
    few rows, and returns what `execute` raised (the thread must have ended)."""
    t = f"main.default.{uniq('endless')}"
    with server.connect() as c:
        c.execute(f"CREATE TABLE {t} (i INT)")
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            execute(ENDLESS.format(t=t))
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    with server.connect() as c:
        deadline = time.monotonic() + 60
        while c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] < 3:
            assert time.monotonic() < deadline, "the block never started writing"
        cancel()
        thread.join(60)
        assert not thread.is_alive(), "the block did not stop at the cancel"
    return outcome.get("error")


def test_cancel_stops_a_running_block(server, uniq):
    runner = server.connect()
    try:
        err = _cancel_endless_block(server, uniq, runner.execute, runner.cancel)
        assert isinstance(err, psycopg.errors.QueryCanceled), err
        assert err.sqlstate == "57014"
        # The session is usable again.
        assert runner.execute("SELECT 1").fetchone() == (1,)
    finally:
        runner.close()


def test_statement_timeout_stops_an_endless_block(server, uniq):
    t = f"main.default.{uniq('timeout')}"
    with server.connect() as c:
        c.execute(f"CREATE TABLE {t} (i INT)")
        c.execute("SET statement_timeout = '500ms'")
        with pytest.raises(psycopg.errors.QueryCanceled) as err:
            c.execute(ENDLESS.format(t=t))
        assert err.value.sqlstate == "57014"
        assert "statement timeout" in str(err.value)
        c.execute("SET statement_timeout = 0")
        assert c.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            c.execute("SET statement_timeout = 'soon'")


def test_describe_procedure_shows_its_definition(conn, uniq):
    p = f"main.default.{uniq('proc')}"
    conn.execute(
        f"CREATE PROCEDURE {p}(INOUT b STRING, IN a INT DEFAULT 1 COMMENT 'second') "
        "SQL SECURITY DEFINER COMMENT 'demo' AS BEGIN SET b = b || a; END")
    info = dict(conn.execute(f"DESCRIBE PROCEDURE {p}").fetchall())
    assert info["Procedure"] == p
    assert info["Parameters"] == "INOUT b string, IN a int DEFAULT 1 COMMENT 'second'"
    assert info["SQL Security"] == "DEFINER"
    assert info["Comment"] == "demo"
    assert info["Owner"] == "admin"
    assert info["Body"] == "BEGIN SET b = b || a; END"
    conn.execute("DECLARE OR REPLACE VARIABLE v STRING DEFAULT 'x'")
    conn.execute(f"CALL {p}(b => v)")
    assert conn.execute("SELECT v").fetchone() == ("x1",)


def _start_endless_run(srv) -> str:
    with srv.connect() as c:
        c.execute("CREATE TABLE IF NOT EXISTS main.default.ticks (i INT)")
        c.execute("CREATE OR REPLACE PROCEDURE main.default.tick() AS BEGIN "
                  "LOOP INSERT INTO main.default.ticks VALUES (1); END LOOP; END")
        run_id = c.execute("CALL ASYNC main.default.tick()").fetchone()[0]
        deadline = time.monotonic() + 60
        while c.execute("SELECT statements FROM system.jobs.runs WHERE run_id = %s",
                        (run_id,)).fetchone()[0] < 2:
            assert time.monotonic() < deadline, "the run never made progress"
    return run_id


def _run_end(srv, run_id: str) -> tuple:
    with srv.connect() as c:
        return c.execute(
            "SELECT state, error_message, end_time IS NOT NULL FROM system.jobs.runs "
            "WHERE run_id = %s", (run_id,)).fetchone()


def test_a_shutdown_stops_runs_and_a_crash_is_found_at_restart(server_factory, tmp_path):
    data = tmp_path / "data"
    srv = server_factory(data_dir=data)
    run_id = _start_endless_run(srv)
    srv.stop()  # graceful: the run is stopped and says why
    srv = server_factory(data_dir=data)
    assert _run_end(srv, run_id) == (
        "FAILED", "interrupted: the server shut down while the run was going", True)

    run_id = _start_endless_run(srv)
    srv.process.kill()  # kill -9: the run cannot record its end; the restart does
    srv.process.wait(timeout=10)
    srv = server_factory(data_dir=data)
    assert _run_end(srv, run_id) == (
        "FAILED", "interrupted: the server stopped while the run was going", True)


def test_a_restart_does_not_replay_missed_fire_times(server_factory, tmp_path):
    """Fire times missed while the server was down are skipped: the schedule's next fire time
    is its first after the start, and nothing ran for the missed ones."""
    import sqlite3
    data = tmp_path / "data"
    srv = server_factory(data_dir=data)
    with srv.connect() as c:
        c.execute("CREATE PROCEDURE main.default.noop() AS BEGIN SELECT 1; END")
        c.execute("CREATE SCHEDULE main.default.yearly CRON '0 0 1 1 *' "
                  "AS CALL main.default.noop()")
    srv.stop()
    # Down for three hours, as far as the schedule knows: its next fire time passed.
    three_hours_ago = int(time.time() * 1000) - 3 * 3600 * 1000
    with sqlite3.connect(data / "metastore.db") as db:
        assert db.execute("UPDATE schedules SET next_fire_at_ms = ?",
                          (three_hours_ago,)).rowcount == 1
    started = time.time()
    srv = server_factory(data_dir=data)
    with srv.connect() as c:
        [(next_fire,)] = c.execute(
            "SELECT next_fire_time FROM system.jobs.schedules").fetchall()
        assert next_fire.timestamp() > started
        assert (next_fire.month, next_fire.day, next_fire.hour) == (1, 1, 0)
        assert c.execute("SELECT count(*) FROM system.jobs.runs").fetchone() == (0,)


def test_describe_schedule(conn, uniq):
    p, s = f"main.default.{uniq('p')}", f"main.default.{uniq('s')}"
    conn.execute(f"CREATE PROCEDURE {p}(n INT) AS BEGIN SELECT n; END")
    conn.execute(f"CREATE SCHEDULE {s} CRON '0 6 * * MON' AT TIME ZONE 'America/New_York' "
                 f"COMMENT 'weekly' AS CALL {p}(n => 1)")
    info = dict(conn.execute(f"DESCRIBE SCHEDULE {s}").fetchall())
    assert {k: info[k] for k in ("Schedule", "Cron", "Time Zone", "Call", "Procedure",
                                 "Enabled", "Last Run", "Skipped Fires", "Comment")} == {
        "Schedule": s, "Cron": "0 6 * * MON", "Time Zone": "America/New_York",
        "Call": f"CALL {p}(n => 1)", "Procedure": p, "Enabled": "true", "Last Run": None,
        "Skipped Fires": "0", "Comment": "weekly"}
    # Next Monday 06:00 in New York.
    import datetime
    from zoneinfo import ZoneInfo
    nxt = datetime.datetime.fromisoformat(info["Next Fire Time"]).astimezone(
        ZoneInfo("America/New_York"))
    assert (nxt.weekday(), nxt.hour, nxt.minute) == (0, 6, 0)
    conn.execute(f"DROP SCHEDULE {s}")


def test_a_call_tells_its_progress_as_notices(conn, uniq):
    """psql and drivers see a procedure's progress while it runs: a NOTICE after each statement
    of its body, with the statement's position, kind and rows written."""
    t, p = f"main.default.{uniq('t')}", f"main.default.{uniq('p')}"
    conn.execute(f"CREATE TABLE {t} (i INT)")
    conn.execute(f"""CREATE PROCEDURE {p}(n INT) AS BEGIN
        DECLARE i INT DEFAULT 0;
        INSERT INTO {t} VALUES (1), (2);
        WHILE i < n DO SET i = i + 1; INSERT INTO {t} VALUES (i); END WHILE;
        SELECT count(*) FROM {t};
      END""")
    notices = []
    conn.add_notice_handler(lambda d: notices.append((d.severity, d.sqlstate, d.message_primary)))
    assert conn.execute(f"CALL {p}(2)").fetchall() == [(4,)]
    assert notices == [
        ("NOTICE", "00000", f"{p}: statement 1 of 3 done (insert, 2 rows written)"),
        ("NOTICE", "00000", f"{p}: statement 2 of 3 done (insert, 1 row written)"),
        ("NOTICE", "00000", f"{p}: statement 2 of 3 done (insert, 1 row written)"),
        ("NOTICE", "00000", f"{p}: statement 3 of 3 done (query)"),
    ]


def test_adbc_cancel_stops_a_running_block_over_flight(server, uniq):
    """ADBC's cancel (Flight SQL: the in-flight request is cancelled) stops a running block,
    and the connection is usable again."""
    import adbc_driver_manager
    conn = server.adbc()
    cur = conn.cursor()
    try:
        err = _cancel_endless_block(server, uniq, cur.execute, cur.adbc_cancel)
        assert isinstance(err, adbc_driver_manager.Error), err
        # The block held the connection's session while it ran: a query on the same
        # connection runs only once the block has stopped.
        with conn.cursor() as again:
            again.execute("SELECT 1 AS one")
            assert again.fetchall() == [(1,)]
    finally:
        cur.close()
        conn.close()

"""Graceful shutdown: a write running at SIGTERM finishes (or leaves nothing), never half."""

from __future__ import annotations

import signal
import threading
import time

import psycopg

from conftest import start_weir

ROWS = 3_000_000


def test_sigterm_lets_a_running_insert_finish(weir_bin, tmp_path):
    data = tmp_path / "data"
    server = start_weir(weir_bin, data, ["--shutdown-grace-secs", "60"])
    with server.connect() as conn:
        conn.execute("CREATE TABLE big (n BIGINT, s STRING)")
    outcome: dict[str, object] = {}
    connected = threading.Event()

    def insert() -> None:
        try:
            with server.connect() as conn:
                connected.set()
                cur = conn.execute(
                    f"INSERT INTO big SELECT value, 'row ' || value FROM generate_series(1, {ROWS})"
                )
                outcome["rows"] = cur.rowcount
        except psycopg.Error as e:  # the connection may close after the statement
            outcome["error"] = e

    t = threading.Thread(target=insert)
    t.start()
    assert connected.wait(timeout=60)
    time.sleep(0.5)  # the INSERT is running
    server.process.send_signal(signal.SIGTERM)
    t.join(timeout=120)
    assert server.process.wait(timeout=120) == 0
    assert outcome.get("rows") == ROWS, outcome

    # After a restart the table holds the whole write.
    again = start_weir(weir_bin, data)
    try:
        with again.connect() as conn:
            assert conn.execute("SELECT count(*) FROM big").fetchone()[0] == ROWS
    finally:
        again.stop()


def test_idle_connections_do_not_delay_shutdown(weir_bin, tmp_path):
    server = start_weir(weir_bin, tmp_path / "data", ["--shutdown-grace-secs", "60"])
    idle = server.connect()
    try:
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        # Far below the grace period: only running statements are waited for.
        assert time.monotonic() - started < 30
    finally:
        idle.close()

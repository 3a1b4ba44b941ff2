"""Concurrent rewrites of one table from several connections: every statement either commits
whole or fails with SQLSTATE 40001 and leaves no trace; no update is lost."""

from __future__ import annotations

import threading

import psycopg
import pytest

from conftest import unique


def run_concurrently(server, statements_per_writer: list[list[str]]) -> tuple[int, int, list[BaseException]]:
    """Runs each writer's statements on its own connection; returns (committed, conflicts, other errors)."""
    committed = conflicts = 0
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(statements_per_writer))

    def writer(statements: list[str]) -> None:
        nonlocal committed, conflicts
        try:
            with server.connect() as c:
                barrier.wait(timeout=30)
                for sql in statements:
                    try:
                        c.execute(sql)
                        with lock:
                            committed += 1
                    except psycopg.errors.SerializationFailure:
                        with lock:
                            conflicts += 1
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(s,)) for s in statements_per_writer]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert not any(th.is_alive() for th in threads), "a writer hung"
    return committed, conflicts, errors


def test_concurrent_updates_lose_nothing(server, conn):
    s = unique("cw")
    t = f"main.{s}.counter"
    conn.execute(f"CREATE SCHEMA main.{s}")
    conn.execute(f"CREATE TABLE {t} (id INT, n BIGINT)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 0)")
    writers, per_writer = 3, 6
    committed, conflicts, errors = run_concurrently(
        server, [[f"UPDATE {t} SET n = n + 1 WHERE id = 1"] * per_writer for _ in range(writers)]
    )
    assert not errors, errors
    assert committed + conflicts == writers * per_writer
    assert committed >= per_writer  # at least one writer's updates always land
    # Every committed increment is there, and nothing of a failed one.
    assert conn.execute(f"SELECT n, count(*) FROM {t} GROUP BY n").fetchall() == [(committed, 1)]


def test_concurrent_deletes_and_merges_keep_the_table_consistent(server, conn):
    s = unique("cm")
    t = f"main.{s}.items"
    conn.execute(f"CREATE SCHEMA main.{s}")
    conn.execute(f"CREATE TABLE {t} (id INT, v INT)")
    conn.execute(f"INSERT INTO {t} SELECT CAST(value AS INT), 0 FROM generate_series(1, 20)")
    merges = [
        f"MERGE INTO {t} t USING (SELECT {i} AS id) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = t.v + 1"
        for i in range(1, 11)
    ]
    deletes = [f"DELETE FROM {t} WHERE id = {i}" for i in range(11, 21)]
    committed, conflicts, errors = run_concurrently(server, [merges, deletes])
    assert not errors, errors
    assert committed + conflicts == 20
    rows = dict(conn.execute(f"SELECT id, v FROM {t}").fetchall())
    # Rows 1-10 were only ever updated (by 0 or 1), rows 11-20 only deleted or kept.
    assert set(range(1, 11)) <= set(rows)
    assert all(rows[i] in (0, 1) for i in range(1, 11))
    assert sum(rows[i] for i in range(1, 11)) + len([i for i in range(11, 21) if i not in rows]) == committed

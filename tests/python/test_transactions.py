"""Transaction blocks: drivers see the protocol's transaction status; every statement still
commits on its own (documented in the README)."""

from __future__ import annotations

import uuid

from psycopg.pq import TransactionStatus


def test_transaction_status_follows_begin_and_commit(server):
    table = f"tx_{uuid.uuid4().hex[:8]}"
    with server.connect(autocommit=True) as setup:
        setup.execute(f"CREATE TABLE {table} (id INT)")
    with server.connect(autocommit=False) as conn:
        assert conn.info.transaction_status == TransactionStatus.IDLE
        conn.execute(f"INSERT INTO {table} VALUES (1)")  # psycopg sends BEGIN first
        assert conn.info.transaction_status == TransactionStatus.INTRANS
        with conn.transaction():  # a savepoint inside the block
            conn.execute(f"INSERT INTO {table} VALUES (2)")
        conn.commit()
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 2
        conn.rollback()
    with server.connect() as other:
        # The writes were committed statement by statement.
        assert other.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 2

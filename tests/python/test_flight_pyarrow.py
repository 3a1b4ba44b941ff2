"""Flight SQL through raw `pyarrow.flight`: Basic handshake to bearer token, tickets, updates,
cancellation, errors, and TLS from the same certificate as the Postgres front."""

from __future__ import annotations

import pyarrow.flight as flight
import pytest

import flight_sql
from test_tls_and_config import _self_signed


def test_basic_handshake_returns_a_bearer_token(server):
    client = flight.FlightClient(server.flight_uri())
    key, value = client.authenticate_basic_token(server.user, server.password)
    assert key == b"authorization" and value.startswith(b"Bearer ")
    options = flight.FlightCallOptions(headers=[(key, value)])
    table = flight_sql.read(client, options, "SELECT current_user() AS who, 1 + 1 AS two")
    assert table.to_pylist() == [{"who": "admin", "two": 2}]

    with pytest.raises(flight.FlightUnauthenticatedError):
        client.get_flight_info(flight_sql.statement_query("SELECT 1"))
    forged = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer forged")])
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.get_flight_info(flight_sql.get_catalogs(), forged)
    with pytest.raises(flight.FlightUnauthenticatedError):
        flight_sql.connect(server, password="wrong")


def test_updates_and_queries(server, conn, fresh_schema):
    client, options = flight_sql.connect(server)
    t = f"{fresh_schema}.events"
    for sql in [f"CREATE TABLE {t} (id BIGINT, kind STRING)", f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')"]:
        writer, reader = client.do_put(flight_sql.statement_update(sql), _empty_schema(), options)
        writer.done_writing()
        reader.read()
        writer.close()
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 2
    table = flight_sql.read(client, options, f"SELECT kind FROM {t} ORDER BY id")
    assert table.column("kind").to_pylist() == ["a", "b"]

    info = client.get_flight_info(flight_sql.get_catalogs(), options)
    catalogs = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert "main" in catalogs.column("catalog_name").to_pylist()


def _empty_schema():
    import pyarrow as pa

    return pa.schema([])


def test_errors_keep_their_kind(server):
    client, options = flight_sql.connect(server)
    with pytest.raises(KeyError, match="not found"):
        flight_sql.read(client, options, "SELECT * FROM main.default.missing")
    with pytest.raises(ValueError, match="syntax error"):
        flight_sql.read(client, options, "SELEC 1")
    assert flight_sql.read(client, options, "SELECT 1 AS one").to_pylist() == [{"one": 1}]


def test_cancel_flight_info(server):
    client, options = flight_sql.connect(server)
    big = "SELECT a.value * b.value AS v FROM generate_series(1, 100000) a(value), generate_series(1, 100000) b(value)"
    info = client.get_flight_info(flight_sql.statement_query(big), options)
    assert flight_sql.cancel_flight_info(client, options, info) == "CANCELLED"
    with pytest.raises(KeyError):
        client.do_get(info.endpoints[0].ticket, options).read_all()
    assert flight_sql.cancel_flight_info(client, options, info) == "NOT_CANCELLABLE"

    # Cancelled while streaming: the reader fails with a cancellation.
    info = client.get_flight_info(flight_sql.statement_query(big), options)
    reader = client.do_get(info.endpoints[0].ticket, options)
    reader.read_chunk()
    assert flight_sql.cancel_flight_info(client, options, info) == "CANCELLED"
    with pytest.raises(flight.FlightCancelledError):
        while True:
            reader.read_chunk()


def test_flight_tls_uses_the_configured_certificate(server_factory, tmp_path):
    cert, key = _self_signed(tmp_path)
    srv = server_factory(["--tls-cert", str(cert), "--tls-key", str(key)])
    root = cert.read_bytes()
    client, options = flight_sql.connect(srv, tls_root_certs=root)
    assert flight_sql.read(client, options, "SELECT 42 AS answer").to_pylist() == [{"answer": 42}]

    # ADBC over TLS with the same root certificate.
    import adbc_driver_flightsql.dbapi as flight_sql_dbapi

    with flight_sql_dbapi.connect(
        srv.flight_uri(tls=True),
        db_kwargs={
            "username": srv.user,
            "password": srv.password,
            "adbc.flight.sql.client_option.tls_root_certs": root.decode(),
        },
        autocommit=True,
    ) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)

    # Plaintext gRPC to a TLS port fails.
    plain = flight.FlightClient(f"grpc://{srv.host}:{srv.flight_port}")
    with pytest.raises(flight.FlightError):
        plain.authenticate_basic_token(srv.user, srv.password)

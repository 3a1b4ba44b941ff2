"""Raw Flight SQL commands for pyarrow.flight tests: pyarrow speaks Flight RPC but has no Flight SQL
command builders, so the few protobuf messages the tests send are encoded here."""

from __future__ import annotations

import pyarrow.flight as flight

_SQL_PREFIX = b"type.googleapis.com/arrow.flight.protocol.sql."


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _any(type_name: bytes, message: bytes) -> bytes:
    return _field(1, _SQL_PREFIX + type_name) + _field(2, message)


def statement_query(sql: str) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(_any(b"CommandStatementQuery", _field(1, sql.encode())))


def statement_update(sql: str) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(_any(b"CommandStatementUpdate", _field(1, sql.encode())))


def get_catalogs() -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(_any(b"CommandGetCatalogs", b""))


def connect(server, user: str | None = None, password: str | None = None,
            tls_root_certs: bytes | None = None) -> tuple[flight.FlightClient, flight.FlightCallOptions]:
    """A pyarrow Flight client and call options carrying the bearer token from a Basic handshake."""
    kwargs = {"tls_root_certs": tls_root_certs} if tls_root_certs else {}
    client = flight.FlightClient(server.flight_uri(tls=tls_root_certs is not None), **kwargs)
    header = client.authenticate_basic_token(user or server.user, password or server.password)
    return client, flight.FlightCallOptions(headers=[header])


def read(client: flight.FlightClient, options: flight.FlightCallOptions, sql: str):
    info = client.get_flight_info(statement_query(sql), options)
    return client.do_get(info.endpoints[0].ticket, options).read_all()


CANCEL_STATUS = {0: "UNSPECIFIED", 1: "CANCELLED", 2: "CANCELLING", 3: "NOT_CANCELLABLE"}


def cancel_flight_info(client: flight.FlightClient, options: flight.FlightCallOptions,
                       info: flight.FlightInfo) -> str:
    """The CancelFlightInfo action (pyarrow has no helper for it); returns the CancelStatus name."""
    body = _field(1, info.serialize())
    results = list(client.do_action(flight.Action("CancelFlightInfo", body), options))
    data = results[0].body.to_pybytes()
    # CancelFlightInfoResult { CancelStatus status = 1; } -- empty when the status is 0.
    status = data[1] if data[:1] == b"\x08" else 0
    return CANCEL_STATUS[status]

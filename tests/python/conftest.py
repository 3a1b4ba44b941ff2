"""Fixtures that run the real `weir serve` binary (and a moto S3 server) for client tests.

Run with:  pytest -q tests/python   (after `pip install -r tests/python/requirements.txt`)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import queue
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60
STOP_TIMEOUT = 20
PASSWORD = "weir-test-Pa55word"


# --------------------------------------------------------------------------------------------
# The binary
# --------------------------------------------------------------------------------------------


def _candidate_bins() -> list[Path]:
    out: list[Path] = []
    if os.environ.get("WEIR_BIN"):
        return [Path(os.environ["WEIR_BIN"])]
    if os.environ.get("CARGO_TARGET_DIR"):
        out.append(Path(os.environ["CARGO_TARGET_DIR"]) / "debug" / "weir")
    out.append(Path.home() / ".cache" / "weir-target" / "debug" / "weir")
    out.append(REPO / "target" / "debug" / "weir")
    return out


@pytest.fixture(scope="session")
def weir_bin() -> Path:
    candidates = _candidate_bins()
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    pytest.fail(
        "weir binary not found; build it with `cargo build -p weir` or set WEIR_BIN. Looked at: "
        + ", ".join(str(c) for c in candidates),
        pytrace=False,
    )


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


@dataclass
class WeirServer:
    host: str
    port: int
    flight_port: int
    password: str
    data_dir: Path
    process: subprocess.Popen
    user: str = "admin"
    stdout_lines: list[str] = field(default_factory=list)
    stderr_path: Path | None = None

    def dsn(self, database: str = "main", **extra: str) -> str:
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "password": self.password,
            "dbname": database,
            "connect_timeout": "10",
        }
        parts.update(extra)
        return " ".join(f"{k}='{v}'" for k, v in parts.items())

    def url(self, database: str = "main", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "main", autocommit: bool = True, **kw) -> psycopg.Connection:
        return psycopg.connect(self.dsn(database), autocommit=autocommit, **kw)

    def flight_uri(self, tls: bool = False) -> str:
        return f"grpc{'+tls' if tls else ''}://{self.host}:{self.flight_port}"

    def adbc(self, user: str | None = None, password: str | None = None, **db_kwargs: str):
        """An ADBC DB-API connection over Flight SQL."""
        import adbc_driver_flightsql.dbapi as flight_sql

        kwargs = {"username": user or self.user, "password": password or self.password}
        kwargs.update(db_kwargs)
        return flight_sql.connect(self.flight_uri(), db_kwargs=kwargs, autocommit=True)

    def stderr_tail(self, n: int = 40) -> str:
        if self.stderr_path and self.stderr_path.exists():
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    def stop(self) -> None:
        p = self.process
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def _clean_env() -> dict[str, str]:
    # A WEIR_* variable in the caller's environment must not change the server under test.
    return {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}


def start_weir(
    weir_bin: Path,
    data_dir: Path,
    extra_args: list[str] | None = None,
    password: str = PASSWORD,
    env: dict[str, str] | None = None,
) -> WeirServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = data_dir.parent / f"{data_dir.name}.stderr.log"
    full_env = _clean_env()
    full_env["WEIR_ADMIN_PASSWORD"] = password
    full_env.setdefault("RUST_BACKTRACE", "1")
    if env:
        full_env.update(env)
    cmd = [
        str(weir_bin),
        "serve",
        "--data-dir",
        str(data_dir),
        "--pg-addr",
        "127.0.0.1:0",
        *([] if "--flight-addr" in (extra_args or []) else ["--flight-addr", "127.0.0.1:0"]),
        *([] if "--shutdown-grace-secs" in (extra_args or []) else ["--shutdown-grace-secs", "5"]),
        *(extra_args or []),
    ]
    stderr_f = open(stderr_path, "wb")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=stderr_f,
        stdin=subprocess.DEVNULL,
        env=full_env,
        text=True,
        bufsize=1,
    )
    stderr_f.close()
    lines: "queue.Queue[str | None]" = queue.Queue()
    seen: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT
    host = port = flight_port = None
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith("postgres listening on "):
            addr = line[len("postgres listening on ") :].split()[0]
            host, _, p = addr.rpartition(":")
            port = int(p)
        if line.startswith("flight listening on "):
            addr = line[len("flight listening on ") :].split()[0]
            flight_port = int(addr.rpartition(":")[2])
        if port is not None and flight_port is not None:
            break
    if port is None or flight_port is None:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        err = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
        pytest.fail(
            f"weir did not report its listening addresses within {READY_TIMEOUT}s "
            f"(exit code {proc.returncode}).\nstdout:\n" + "\n".join(seen) + f"\nstderr:\n{err[-4000:]}",
            pytrace=False,
        )
    return WeirServer(
        host=host,
        port=port,
        flight_port=flight_port,
        password=password,
        data_dir=data_dir,
        process=proc,
        stdout_lines=seen,
        stderr_path=stderr_path,
    )


@pytest.fixture
def server_factory(weir_bin, tmp_path_factory) -> Iterator[Callable[..., WeirServer]]:
    """Starts fresh servers; each one is stopped (SIGTERM, then kill) at teardown."""
    started: list[WeirServer] = []

    def make(extra_args: list[str] | None = None, data_dir: Path | None = None,
             **kw) -> WeirServer:
        if data_dir is None:
            data_dir = tmp_path_factory.mktemp("weir") / "data"
        srv = start_weir(weir_bin, data_dir, extra_args, **kw)
        started.append(srv)
        return srv

    yield make
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def server(weir_bin, tmp_path_factory) -> Iterator[WeirServer]:
    """One server per test module; tests use unique names so they don't interfere."""
    data_dir = tmp_path_factory.mktemp("weir-mod") / "data"
    srv = start_weir(weir_bin, data_dir)
    yield srv
    srv.stop()


@pytest.fixture
def conn(server) -> Iterator[psycopg.Connection]:
    c = server.connect()
    yield c
    c.close()


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def uniq() -> Callable[[str], str]:
    return unique


@pytest.fixture
def fresh_schema(conn) -> str:
    """A new schema in catalog `main`; returns `main.<schema>`."""
    s = unique("s")
    conn.execute(f"CREATE SCHEMA main.{s}")
    return f"main.{s}"


def file_url_to_path(url: str) -> str:
    from urllib.parse import unquote, urlparse

    u = urlparse(url)
    if u.scheme in ("", None):
        return url
    assert u.scheme == "file", url
    return unquote(u.path)


# --------------------------------------------------------------------------------------------
# A minimal wire-protocol client, used only to read the SQLSTATE of a failed *startup*
# (libpq, and so psycopg and psql, do not expose it for connection failures).
# --------------------------------------------------------------------------------------------


def _msg(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("!I", len(body) + 4) + body


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    return buf


def _recv_msg(sock: socket.socket) -> tuple[bytes, bytes]:
    head = _recv_exact(sock, 5)
    tag, length = head[:1], struct.unpack("!I", head[1:])[0]
    return tag, _recv_exact(sock, length - 4)


def _error_fields(body: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode(errors="replace")
    return out


def raw_startup(host: str, port: int, user: str, password: str, database: str) -> dict:
    """Performs startup + SCRAM-SHA-256 and returns what happened.

    Returns {"ok": True, "after_ready": [error fields...]} when the server reached
    ReadyForQuery, or {"ok": False, "error": {field code: value}} when it sent an ErrorResponse
    before ReadyForQuery.
    """
    sock = socket.create_connection((host, port), timeout=10)
    try:
        params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
        body = struct.pack("!I", 196608) + params
        sock.sendall(struct.pack("!I", len(body) + 4) + body)
        client_nonce = base64.b64encode(secrets.token_bytes(18)).decode()
        client_first_bare = f"n=,r={client_nonce}"
        server_sig = None
        while True:
            tag, payload = _recv_msg(sock)
            if tag == b"E":
                return {"ok": False, "error": _error_fields(payload)}
            if tag == b"R":
                code = struct.unpack("!I", payload[:4])[0]
                if code == 0:  # AuthenticationOk
                    continue
                if code == 10:  # SASL: mechanisms
                    mechs = [m for m in payload[4:].split(b"\0") if m]
                    assert b"SCRAM-SHA-256" in mechs, mechs
                    first = ("n,," + client_first_bare).encode()
                    sasl = b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first
                    sock.sendall(_msg(b"p", sasl))
                elif code == 11:  # SASLContinue
                    server_first = payload[4:].decode()
                    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
                    nonce, salt, iters = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
                    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
                    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
                    stored_key = hashlib.sha256(client_key).digest()
                    without_proof = f"c=biws,r={nonce}"
                    auth_msg = f"{client_first_bare},{server_first},{without_proof}".encode()
                    client_sig = hmac.new(stored_key, auth_msg, hashlib.sha256).digest()
                    proof = bytes(a ^ b for a, b in zip(client_key, client_sig))
                    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
                    server_sig = hmac.new(server_key, auth_msg, hashlib.sha256).digest()
                    final = f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
                    sock.sendall(_msg(b"p", final))
                elif code == 12:  # SASLFinal
                    attrs = dict(kv.split("=", 1) for kv in payload[4:].decode().split(","))
                    assert base64.b64decode(attrs["v"]) == server_sig, "bad server signature"
                else:
                    raise AssertionError(f"unexpected auth request {code}")
            elif tag == b"Z":
                # Ready. Report any error the server sends right after (it should not).
                after = []
                sock.sendall(_msg(b"Q", b"SELECT 1\0"))
                while True:
                    t, p = _recv_msg(sock)
                    if t == b"E":
                        after.append(_error_fields(p))
                    if t == b"Z":
                        break
                return {"ok": True, "after_ready": after}
            # S (ParameterStatus), K (BackendKeyData), N (notice): ignore
    except ConnectionError as e:
        return {"ok": False, "error": {"M": str(e)}}
    finally:
        sock.close()


# --------------------------------------------------------------------------------------------
# S3 (moto)
# --------------------------------------------------------------------------------------------


@dataclass
class S3Info:
    endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )

    def weir_args(self, warehouse_prefix: str = "wh") -> list[str]:
        return [
            "--warehouse",
            f"s3://{self.bucket}/{warehouse_prefix}",
            "--s3-endpoint",
            self.endpoint,
            "--s3-region",
            self.region,
            "--s3-access-key-id",
            self.access_key_id,
            "--s3-secret-access-key",
            self.secret_access_key,
            "--s3-allow-http",
            "true",
        ]

    def storage_options(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_ALLOW_HTTP": "true",
            # moto has no conditional put; delta-rs then needs this to commit.
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Info]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    srv.start()
    try:
        info = S3Info(
            endpoint=f"http://127.0.0.1:{port}",
            bucket=f"weir-test-{uuid.uuid4().hex[:8]}",
            access_key_id="testing",
            secret_access_key="testing",
            region="us-east-1",
        )
        info.client().create_bucket(Bucket=info.bucket)
        yield info
    finally:
        srv.stop()


def have(cmd: str) -> bool:
    return shutil.which(cmd) is not None

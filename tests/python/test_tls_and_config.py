"""TLS, configuration precedence and start-up failures of `weir serve`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest

from conftest import PASSWORD, _clean_env, start_weir


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_connection_is_encrypted(weir_bin, tmp_path):
    cert, key = _self_signed(tmp_path)
    server = start_weir(weir_bin, tmp_path / "data", ["--tls-cert", str(cert), "--tls-key", str(key)])
    try:
        with psycopg.connect(server.dsn(sslmode="verify-ca", sslrootcert=str(cert)), autocommit=True) as conn:
            assert conn.pgconn.ssl_in_use
            assert conn.execute("SELECT 40 + 2").fetchone()[0] == 42
    finally:
        server.stop()


def test_broken_tls_refuses_to_start(weir_bin, tmp_path):
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("garbage")
    proc = subprocess.run(
        [str(weir_bin), "serve", "--data-dir", str(tmp_path / "d"), "--pg-addr", "127.0.0.1:0",
         "--tls-cert", str(bad), "--tls-key", str(bad)],
        env={**_clean_env(), "WEIR_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "listening" not in proc.stdout
    assert "TLS" in proc.stderr


def test_config_file_and_flag_precedence(weir_bin, tmp_path):
    # The file's unusable port is overridden by the --pg-addr flag start_weir passes.
    config = tmp_path / "weir.toml"
    config.write_text('pg_addr = "127.0.0.1:1"\nshutdown_grace_secs = 3\n')
    server = start_weir(weir_bin, tmp_path / "data", ["--config", str(config)])
    try:
        with server.connect() as conn:
            assert conn.execute("SELECT current_catalog()").fetchone()[0] == "main"
    finally:
        server.stop()


def test_config_file_sets_the_data_dir(weir_bin, tmp_path):
    data = tmp_path / "from-file"
    config = tmp_path / "weir.toml"
    config.write_text(f'data_dir = "{data}"\npg_addr = "127.0.0.1:0"\n')
    proc = subprocess.Popen(
        [str(weir_bin), "serve", "--config", str(config)],
        env={**_clean_env(), "WEIR_ADMIN_PASSWORD": PASSWORD},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("postgres listening on "):
                break
        assert (data / "metastore.db").exists()
        assert (data / "warehouse").is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_config_file_with_unknown_key_is_rejected(weir_bin, tmp_path):
    config = tmp_path / "weir.toml"
    config.write_text('data_dri = "/tmp/typo"\n')
    proc = subprocess.run(
        [str(weir_bin), "serve", "--config", str(config), "--pg-addr", "127.0.0.1:0"],
        env={**_clean_env(), "WEIR_ADMIN_PASSWORD": PASSWORD},
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "data_dri" in proc.stderr


def test_generated_admin_password_is_printed_once(weir_bin, tmp_path):
    data = tmp_path / "d"
    env = {k: v for k, v in _clean_env().items()}
    proc = subprocess.Popen(
        [str(weir_bin), "serve", "--data-dir", str(data), "--pg-addr", "127.0.0.1:0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    password = port = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Generated password for user 'admin'"):
            password = line.rsplit(": ", 1)[1].strip()
        if line.startswith("postgres listening on "):
            port = int(line.split()[-1].rsplit(":", 1)[1])
            break
    try:
        assert password and len(password) >= 16
        with psycopg.connect(host="127.0.0.1", port=port, user="admin", password=password, dbname="main") as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == "admin"
        # Only a verifier is stored: the password is nowhere in the data directory.
        for f in data.rglob("*"):
            if f.is_file():
                assert password.encode() not in f.read_bytes(), f
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # A second start does not generate (or print) a new one.
    again = subprocess.Popen(
        [str(weir_bin), "serve", "--data-dir", str(data), "--pg-addr", "127.0.0.1:0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert again.stdout is not None
        for line in again.stdout:
            assert not line.startswith("Generated password"), line
            if line.startswith("postgres listening on "):
                break
    finally:
        again.terminate()
        again.wait(timeout=30)

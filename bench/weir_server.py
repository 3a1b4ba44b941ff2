"""What the bench scripts share: the server binary, a throwaway server, its peak memory."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator


def default_bin() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/weir-target")) / "release/weir"


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def running_weir(binary: Path, password: str = "bench",
                 extra_args: list[str] | None = None) -> Iterator[tuple[subprocess.Popen, int, int]]:
    """A server on a temporary data directory; yields (process, postgres port, flight port)."""
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen(
            [str(binary), "serve", "--data-dir", d, "--pg-addr", "127.0.0.1:0", "--flight-addr", "127.0.0.1:0",
             *(extra_args or [])],
            env={**os.environ, "WEIR_ADMIN_PASSWORD": password},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert proc.stdout is not None
        port = flight_port = None
        for line in proc.stdout:
            if line.startswith("postgres listening on "):
                port = int(line.split()[3].rsplit(":", 1)[1])
            if line.startswith("flight listening on "):
                flight_port = int(line.split()[3].rsplit(":", 1)[1])
            if port and flight_port:
                break
        assert port and flight_port, "weir did not start"
        try:
            yield proc, port, flight_port
        finally:
            proc.terminate()
            proc.wait(timeout=30)

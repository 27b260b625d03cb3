"""`camelops serve` as a real process on 127.0.0.1, for black-box tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Served:
    base_url: str
    token: str
    data_dir: Path
    pid: int = 0
    """The serve process (crash tests kill it)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def camelops_serve(
    data_dir: Path,
    timeout: float = 60.0,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    *,
    local_roots: Path | None = None,
    tunnel: bool = False,
) -> Iterator[Served]:
    """`local_roots`: where the test's local repositories may be (default: beside data_dir);
    `tunnel`: also the mTLS tunnel (on a free port), which the replay route needs."""
    port = free_port()
    roots = str(local_roots or data_dir.parent)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "CAMELOPS_LOCAL_REPO_ROOTS": roots,
        **(env or {}),
    }
    log = (data_dir.parent / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "camelops",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            # without `tunnel` the API alone; a fixed tunnel port would collide between runs
            "--tunnel-port",
            str(free_port()) if tunnel else "0",
            *args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _ready(base + "/api/v1/healthz"):
            assert process.poll() is None, (data_dir.parent / "serve.log").read_text()
            assert time.monotonic() < deadline, "camelops serve did not start"
            time.sleep(0.05)
        token = (data_dir / "admin-token").read_text().strip()
        yield Served(base, token, data_dir, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()

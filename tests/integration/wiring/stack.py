"""The real processes for the wiring tests: `camelops serve` (API over HTTPS, mTLS tunnel) on
free loopback ports, the CLI as subprocesses, and the example repository in a local bare repo."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from reconciler.secrets.sealing import load_public_pem, seal_value
from tests.integration.reconciler.gitrepo import GitRepo

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "repo-layout"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without camelops settings, so the data dir decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMELOPS_")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@dataclass(frozen=True)
class Served:
    base_url: str
    tunnel_port: int
    token: str
    data_dir: Path
    ca_pem: bytes
    log: Path

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the control-plane CA only, as a registering runner does."""
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def _https_ready(url: str, ca_file: Path) -> bool:
    if not ca_file.exists():
        return False
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                return True
    except (OSError, ssl.SSLError):
        return False


@contextmanager
def camelops_serve(
    data_dir: Path, timeout: float = 60.0, *, umask: int = -1, local_roots: Path | None = None
) -> Iterator[Served]:
    """`umask`: the one the process inherits (-1: ours); `local_roots`: where the test's local
    repositories may be (default: beside data_dir)."""
    port, tunnel_port = free_port(), free_port()
    log_path = data_dir.parent / "serve.log"
    args = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
    args += ["--tunnel-port", str(tunnel_port), "--api-tls"]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "camelops", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(CAMELOPS_LOCAL_REPO_ROOTS=str(local_roots or data_dir.parent)),
            umask=umask,
        )
        base = f"https://127.0.0.1:{port}"
        ca_file = data_dir / "pki" / "ca.crt.pem"
        try:
            deadline = time.monotonic() + timeout
            while not _https_ready(base, ca_file):
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "camelops serve did not start"
                time.sleep(0.05)  # polling another process: nothing to await on
            token = (data_dir / "admin-token").read_text().strip()
            yield Served(base, tunnel_port, token, data_dir, ca_file.read_bytes(), log_path)
        finally:
            process.terminate()
            process.wait(timeout=30)


async def cli(
    *args: str, env: dict[str, str] | None = None, umask: int = -1
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camelops", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env or clean_env(),
        umask=umask,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class Api:
    """The control plane's JSON API over HTTPS, verified against its CA."""

    def __init__(self, served: Served, session: aiohttp.ClientSession) -> None:
        self.served, self.session = served, session

    async def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.served.token}"}
        async with self.session.request(
            method, self.served.base_url + path, json=body, headers=headers,
            ssl=self.served.ssl_context(),
        ) as response:  # fmt: skip
            text = await response.text()
            is_json = response.content_type in ("application/json", "application/problem+json")
            return response.status, json.loads(text) if is_json else text


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float) -> T:
    """Poll another process until `probe` answers (there is nothing to await on across it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def seed_example(root: Path, public_pem: bytes, project: str) -> GitRepo:
    """The example repository, its sealed values re-sealed to this control plane's project key,
    pushed to a local bare repository."""
    repo = GitRepo(root)
    shutil.copytree(EXAMPLE, repo.work, dirs_exist_ok=True)
    key = load_public_pem(public_pem)
    for sealed in (repo.work / "secrets").glob("*.sealed.yaml"):
        text = re.sub(
            r"cops1:[A-Za-z0-9_=-]+", lambda _m: seal_value(key, project, "test-value"),
            sealed.read_text(),
        )  # fmt: skip
        sealed.write_text(text)
    repo.commit({}, "example")
    repo.push()
    return repo

"""A real Camel Main JVM (examples/camel-app) with the Jolokia agent, on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import aiohttp
import pytest

from telemetry.jolokia import JolokiaClient, JolokiaError

ROOT = Path(__file__).resolve().parents[3]
APP_HOME = ROOT / ".cache" / "camel-app"
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_built() -> Path:
    """Build through the project's script (cached: a no-op when the stamp is there)."""
    if not (APP_HOME / ".stamp").exists():
        subprocess.run(
            ["bash", str(ROOT / "tools" / "camel-app" / "build.sh"), str(APP_HOME)],
            check=True,
            cwd=ROOT,
        )
    return APP_HOME


async def _routes_started(url: str) -> bool:
    async with aiohttp.ClientSession() as session:
        client = JolokiaClient(url, session, timeout_seconds=2.0)
        try:
            states = await client.read("org.apache.camel:type=routes,*", ["State"])
        except JolokiaError:
            return False
    return (
        isinstance(states, dict)
        and bool(states)
        and all(isinstance(v, dict) and v.get("State") == "Started" for v in states.values())
    )


@dataclass
class CamelJvm:
    """One running JVM; ``restart`` keeps the ports, like a container restart in the same pod."""

    home: Path
    routes_dir: Path
    http_port: int
    jolokia_port: int
    log_path: Path
    java_opts: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def jolokia_url(self) -> str:
        return f"http://127.0.0.1:{self.jolokia_port}/jolokia/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.home / "bin" / "camel-app"),
                    str(self.routes_dir),
                    str(self.jolokia_port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "CAMEL_APP_JAVA_OPTS": f"-Xmx192m -XX:TieredStopAtLevel=1 {self.java_opts}",
                },
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not await _routes_started(self.jolokia_url):
            if self.process.poll() is not None:
                raise RuntimeError(f"Camel JVM exited early:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Camel not started in {START_TIMEOUT}s:\n{self.log_tail()}")
            await asyncio.sleep(0.2)  # a readiness probe's polling interval

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    async def restart(self) -> None:
        await asyncio.to_thread(self.stop)
        await self.start()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# the JVM option that starts our runtime as a stock Camel image would run: no in-JVM tracer drain
WITHOUT_DRAIN = "-Dcamelops.trace.drain=false"


class StartCamel(Protocol):
    def __call__(
        self, routes: dict[str, str], properties: dict[str, str], *, java_opts: str = ""
    ) -> Awaitable[CamelJvm]: ...


@pytest.fixture(scope="session")
def camel_app_home() -> Path:
    return ensure_built()


@pytest.fixture
def start_camel(camel_app_home: Path, tmp_path: Path) -> Iterator[StartCamel]:
    """Start a JVM on ``routes`` (file name -> YAML) and extra properties; stopped at the end."""
    started: list[CamelJvm] = []

    async def start(
        routes: dict[str, str], properties: dict[str, str], *, java_opts: str = ""
    ) -> CamelJvm:
        routes_dir = tmp_path / f"camel-{len(started)}"
        routes_dir.mkdir()
        http_port = free_port()
        props = {
            "camel.main.name": "camel-e2e",
            "camel.server.enabled": "true",
            "camel.server.host": "127.0.0.1",
            "camel.server.port": str(http_port),
            "camel.main.streamCachingEnabled": "true",
            **properties,
        }
        (routes_dir / "application.properties").write_text(
            "".join(f"{key} = {value}\n" for key, value in props.items())
        )
        for name, text in routes.items():
            (routes_dir / name).write_text(text)
        jvm = CamelJvm(
            camel_app_home, routes_dir, http_port, free_port(), routes_dir / "jvm.log", java_opts
        )
        started.append(jvm)
        await jvm.start()
        return jvm

    yield start
    for jvm in started:
        jvm.stop()

"""Real TLS on loopback: a control plane (CA, store, tunnel server, HTTPS registration) per test."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from contract.envelopes import Envelope, Hello
from tunnel.backoff import Backoff
from tunnel.client import ClientSettings, TunnelClient
from tunnel.connection import LinkSettings
from tunnel.pki.ca import CertificateAuthority
from tunnel.pki.identity import RunnerIdentity
from tunnel.pki.service import ControlPlanePki
from tunnel.pki.store import SqlitePkiStore
from tunnel.registration import register_runner, registration_app
from tunnel.server import ServerSettings, TunnelCallbacks, TunnelServer
from tunnel.tls import registration_server_context, tunnel_server_context

ORG = "acme"
FAST_LINK = LinkSettings(heartbeat=0.5, hello_timeout=3.0)
FAST_BACKOFF = Backoff(base=0.05, cap=0.3)


class Clock:
    """Real time unless a test moves it forward (token expiry without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Recorder(TunnelCallbacks):
    def __init__(self) -> None:
        self.received: list[tuple[RunnerIdentity, Envelope]] = []
        self.hellos: list[tuple[RunnerIdentity, Hello]] = []
        self.disconnects: list[tuple[RunnerIdentity, str]] = []
        self.environments: dict[str, frozenset[str]] = {}

    async def runner_connected(self, runner: RunnerIdentity, hello: Hello) -> None:
        self.hellos.append((runner, hello))

    async def runner_disconnected(self, runner: RunnerIdentity, reason: str) -> None:
        self.disconnects.append((runner, reason))

    async def message_received(self, runner: RunnerIdentity, envelope: Envelope) -> None:
        self.received.append((runner, envelope))

    def environments_of(self, runner: RunnerIdentity) -> frozenset[str]:
        return self.environments.get(runner.name, frozenset())


@dataclass
class ControlPlane:
    directory: Path
    pki: ControlPlanePki
    clock: Clock
    recorder: Recorder
    server: TunnelServer
    registration_url: str
    settings: ServerSettings
    runners: list[TunnelClient] = field(default_factory=list)

    @property
    def tunnel_url(self) -> str:
        return f"wss://127.0.0.1:{self.server.port}/v1/tunnel"

    def server_context(self) -> object:
        cert, key = self.pki.ensure_server_certificate(self.directory, ["localhost", "127.0.0.1"])
        return tunnel_server_context(cert, key, self.pki.ca.cert_pem)

    async def register(self, name: str, base: Path) -> Path:
        data_dir = base / name
        token = self.pki.create_token(RunnerIdentity(ORG, name))
        await register_runner(self.registration_url, token, data_dir)
        return data_dir

    async def restart_server(self) -> None:
        await self.server.stop()
        cert, key = self.pki.ensure_server_certificate(self.directory, ["localhost", "127.0.0.1"])
        context = tunnel_server_context(cert, key, self.pki.ca.cert_pem)
        settings = ServerSettings(
            port=self.server.port, link=FAST_LINK, state_path=self.settings.state_path
        )
        self.server = TunnelServer(self.pki, self.recorder, context, settings)
        await self.server.start()

    def client(self, data_dir: Path, url: str | None = None, **kwargs: object) -> TunnelClient:
        settings = ClientSettings(
            link=FAST_LINK,
            backoff=FAST_BACKOFF,
            url=url or self.tunnel_url,
            **kwargs,  # type: ignore[arg-type]
        )
        client = TunnelClient(data_dir, settings)
        self.runners.append(client)
        return client


@pytest.fixture
async def control_plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    directory = tmp_path / "control-plane"
    directory.mkdir()
    clock = Clock()
    ca = CertificateAuthority.create(ORG, clock())
    store = SqlitePkiStore(directory / "pki.sqlite")
    pki = ControlPlanePki(ca, store, clock)
    cert, key = pki.ensure_server_certificate(directory, ["localhost", "127.0.0.1"])
    recorder = Recorder()
    settings = ServerSettings(port=0, link=FAST_LINK, state_path=directory / "sessions.sqlite")
    server = TunnelServer(pki, recorder, tunnel_server_context(cert, key, ca.cert_pem), settings)
    await server.start()
    app = registration_app(pki, f"wss://127.0.0.1:{server.port}/v1/tunnel")
    app_runner = web.AppRunner(app, access_log=None)
    await app_runner.setup()
    site = web.TCPSite(
        app_runner, "127.0.0.1", 0, ssl_context=registration_server_context(cert, key)
    )
    await site.start()
    port = app_runner.addresses[0][1]
    plane = ControlPlane(
        directory, pki, clock, recorder, server, f"https://127.0.0.1:{port}", settings
    )
    yield plane
    for client in plane.runners:
        await client.stop()
    await plane.server.stop()
    await app_runner.cleanup()
    store.close()


async def eventually(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll until `predicate()` holds; fail with a clear message otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


async def wait_for(awaitable: Awaitable[object], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        await awaitable


def copy_runner(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target

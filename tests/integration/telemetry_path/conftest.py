"""The real mTLS tunnel on loopback (the tunnel tests' control plane), with callbacks that
route telemetry and replay results the way `camelops serve` does, and a chDB store."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from contract.envelopes import Envelope
from reconciler.replay_waiter import TunnelReplaySender
from runner.forwarder import serve_relay
from telemetry.intake import TelemetryIntake
from telemetry.store import TelemetryStore
from tests.integration.reconciler.conftest import core, git_repo  # noqa: F401 (fixtures)
from tests.integration.telemetry.conftest import chdb_dsn
from tests.integration.tunnel.conftest import (  # noqa: F401 (fixtures)
    FAST_LINK,
    ControlPlane,
    Recorder,
    control_plane,
)
from tunnel.pki.identity import RunnerIdentity
from tunnel.server import ServerSettings, TunnelServer
from tunnel.tls import tunnel_server_context

_databases = itertools.count()


class RoutingCallbacks(Recorder):
    """What the lead adds to `ReconcilerCallbacks.message_received`: intake, then replays."""

    def __init__(self) -> None:
        super().__init__()
        self.intake: TelemetryIntake | None = None
        self.replays: TunnelReplaySender | None = None

    async def message_received(self, runner: RunnerIdentity, envelope: Envelope) -> None:
        if self.intake is not None and await self.intake.handle(runner, envelope):
            return
        if self.replays is not None and await self.replays.handle(runner, envelope):
            return
        await super().message_received(runner, envelope)


@pytest.fixture
async def routed(control_plane: ControlPlane) -> ControlPlane:  # noqa: F811
    """The same control plane, its tunnel server restarted with the routing callbacks."""
    control_plane.recorder = RoutingCallbacks()
    await control_plane.restart_server()
    return control_plane


def routing(plane: ControlPlane) -> RoutingCallbacks:
    assert isinstance(plane.recorder, RoutingCallbacks)
    return plane.recorder


async def start_server_again(plane: ControlPlane) -> None:
    """After `plane.server.stop()`: a new server on the same port and session state."""
    cert, key = plane.pki.ensure_server_certificate(plane.directory, ["localhost", "127.0.0.1"])
    context = tunnel_server_context(cert, key, plane.pki.ca.cert_pem)
    settings = ServerSettings(
        port=plane.server.port, link=FAST_LINK, state_path=plane.settings.state_path
    )
    plane.server = TunnelServer(plane.pki, plane.recorder, context, settings)
    await plane.server.start()


@pytest.fixture
def telemetry_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TelemetryStore]:
    store = TelemetryStore(
        chdb_dsn(tmp_path_factory), database=f"tpath{next(_databases)}", retention_days=3_650
    )
    store.migrate()
    yield store
    store.drop()


@pytest.fixture
async def loopback_apps() -> AsyncIterator[list[web.AppRunner]]:
    """aiohttp apps served on 127.0.0.1 for the test (relay, sidecar API); cleaned up after."""
    runners: list[web.AppRunner] = []
    yield runners
    for runner in runners:
        await runner.cleanup()


async def serve(apps: list[web.AppRunner], app: web.Application) -> str:
    runner = await serve_relay(app, "127.0.0.1", 0)
    apps.append(runner)
    return f"http://127.0.0.1:{runner.addresses[0][1]}"

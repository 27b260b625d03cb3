"""The proxy channel: only the runner's allow-listed local targets are reachable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from contract.envelopes import Channel
from contract.proxy import REQUEST
from tests.integration.tunnel.conftest import ORG, ControlPlane, wait_for
from tunnel.pki.identity import RunnerIdentity
from tunnel.proxy import RunnerProxy

RUNNER = RunnerIdentity(ORG, "edge-1")


@pytest.fixture
async def camel_health() -> AsyncIterator[str]:
    """A stand-in for a runner-local endpoint (plain HTTP on loopback), plus a secret one."""

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    async def secret(_: web.Request) -> web.Response:
        return web.Response(text="do not leak")

    app = web.Application()
    app.router.add_get("/observe/health", health)
    app.router.add_get("/observe/health/routes", health)
    app.router.add_get("/secret", secret)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def plane_with_proxy(
    control_plane: ControlPlane, tmp_path: Path, camel_health: str
) -> ControlPlane:
    client = control_plane.client(await control_plane.register("edge-1", tmp_path))
    proxy = RunnerProxy({"camel-health": f"{camel_health}/observe/health"}, client.send)
    client.on(Channel.PROXY, REQUEST, proxy.handle)
    await client.start()
    await wait_for(client.connected.wait())
    return control_plane


async def test_allowed_target_is_fetched(plane_with_proxy: ControlPlane) -> None:
    answer = await plane_with_proxy.server.proxy(RUNNER, "camel-health")
    assert answer.status == 200
    assert '"UP"' in answer.body
    nested = await plane_with_proxy.server.proxy(RUNNER, "camel-health", "routes")
    assert nested.status == 200


@pytest.mark.parametrize(
    ("target", "path", "reason"),
    [
        ("jolokia", "", "not allowed"),
        ("camel-health", "../../secret", "may not leave"),
        ("camel-health", "%2E%2E/%2e%2e/secret", "may not leave"),
        ("camel-health", "/secret", "relative"),
        ("camel-health", "http://127.0.0.1:1/secret", "relative"),
        ("camel-health", "//evil.example/x", "relative"),
    ],
)
async def test_anything_else_is_refused(
    plane_with_proxy: ControlPlane, target: str, path: str, reason: str
) -> None:
    answer = await plane_with_proxy.server.proxy(RUNNER, target, path)
    assert answer.status == 0
    assert reason in answer.error
    assert "do not leak" not in answer.body

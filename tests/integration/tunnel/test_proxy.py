"""The proxy channel: only the runner's allow-listed local targets are reachable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from contract.envelopes import Channel, Envelope
from contract.proxy import REQUEST, RESPONSE, ProxyRequest, ProxyResponse
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually, wait_for
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

    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPFound("/secret")  # a redirect out of the allowed target

    app = web.Application()
    app.router.add_get("/observe/health", health)
    app.router.add_get("/observe/health/routes", health)
    app.router.add_get("/secret", secret)
    app.router.add_get("/observe/health/moved", moved)
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


async def test_redirects_are_not_followed(plane_with_proxy: ControlPlane) -> None:
    answer = await plane_with_proxy.server.proxy(RUNNER, "camel-health", "moved")
    assert answer.status == 302
    assert "do not leak" not in answer.body


async def test_a_runner_cannot_answer_another_runners_proxy_request(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    asked = control_plane.client(await control_plane.register("edge-1", tmp_path))
    forger = control_plane.client(await control_plane.register("edge-2", tmp_path))
    requests: list[ProxyRequest] = []
    answer_now = asyncio.Event()

    async def slow_answer(envelope: Envelope) -> None:
        request = ProxyRequest.model_validate(envelope.payload)
        requests.append(request)
        await answer_now.wait()
        honest = ProxyResponse(request_id=request.request_id, status=200, body="honest")
        await asked.send(Channel.PROXY, RESPONSE, honest.model_dump())

    asked.on(Channel.PROXY, REQUEST, slow_answer)
    for client in (asked, forger):
        await client.start()
        await wait_for(client.connected.wait())
    call = asyncio.create_task(control_plane.server.proxy(RUNNER, "camel-health", timeout=10))
    await eventually(lambda: bool(requests))
    forged = ProxyResponse(request_id=requests[0].request_id, status=200, body="forged")
    await forger.send(Channel.PROXY, RESPONSE, forged.model_dump())
    await eventually(lambda: not forger.state.pending)  # the server has taken the forged answer
    assert not call.done()
    answer_now.set()
    answer = await call
    assert answer.body == "honest"

"""`camelops sidecar` as a real process stops promptly on SIGTERM even when its Camel JVM and
the runner's relay have stalled: a rollout waits for the retiring sidecar, and the round under
way (a Jolokia read with a 5-s timeout, then a relay post with a 10-s one) used to hold the
exit for about 15 s. The Jolokia agent here is the scripted stand-in of the capture tests (a
real JVM cannot be made to hold one request on cue); the relay is the runner's own app, its
tunnel stalled. What the ring holds at the stop still gets one last post."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

import aiohttp
from aiohttp import web

from camelops.commands.sidecar import capture_until
from contract.telemetry import TelemetryBatch
from runner.relay import relay_app
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.settings import SidecarSettings
from tests.e2e.camel.conftest import ROOT, free_port
from tests.integration.telemetry.test_capture_recovery import (
    ScriptedAgent,
    ServerFactory,
    corpus,
    start,
)

EXIT_BOUND = 10.0  # generous for a loaded machine; an idle sidecar exits well under 2 s


class Stall:
    """Once set, Jolokia and the relay take requests and never answer them."""

    def __init__(self) -> None:
        self.on = False
        self.jolokia_waiting = asyncio.Event()
        self._never = asyncio.Event()

    async def hold(self) -> None:
        await self._never.wait()


class StallingAgent(ScriptedAgent):
    def __init__(self, stall: Stall) -> None:
        super().__init__()
        self.stall = stall

    async def handle(self, request: web.Request) -> web.Response:
        if self.stall.on:
            self.stall.jolokia_waiting.set()
            await self.stall.hold()
        return await super().handle(request)


async def _connected(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(url) as response:
            status: dict[str, Any] = await response.json()
            return bool(status["connected"])
    except aiohttp.ClientError:
        return False


async def test_sigterm_ends_a_sidecar_whose_camel_and_relay_stalled_within_seconds(
    aiohttp_server: ServerFactory,
) -> None:
    stall = Stall()
    jolokia = await start(aiohttp_server, StallingAgent(stall))

    async def deliver(batch: TelemetryBatch) -> None:
        del batch
        if stall.on:
            await stall.hold()  # the runner's tunnel does not take the batch

    relay = await aiohttp_server(relay_app(deliver))
    api = free_port()
    command = [
        sys.executable, "-m", "camelops", "sidecar", "--integration", "greet",
        "--jolokia-url", jolokia, "--listen-port", str(api),
        "--relay-url", f"http://127.0.0.1:{relay.port}/v1/telemetry",
    ]  # fmt: skip
    env = {**os.environ, "CAMELOPS_SIDECAR_HANDOVER_TOKEN": "handover-token-of-the-test"}
    sidecar = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, env=env)
    try:
        # a keep-alive connection stays open to the sidecar's API, as the runner's session does
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while not await _connected(session, f"http://127.0.0.1:{api}/v1/status"):
                assert sidecar.poll() is None, sidecar.communicate()[1].decode()[-2000:]
                assert time.monotonic() < deadline, "the sidecar never connected to Jolokia"
                await asyncio.sleep(0.1)
            stall.on = True
            await asyncio.wait_for(stall.jolokia_waiting.wait(), 30)  # a poll in flight
            started = time.monotonic()
            sidecar.send_signal(signal.SIGTERM)
            while sidecar.poll() is None and time.monotonic() - started < 60:
                await asyncio.sleep(0.05)
            took = time.monotonic() - started
    finally:
        if sidecar.poll() is None:
            sidecar.kill()
        _, stderr = sidecar.communicate(timeout=30)
    assert took < EXIT_BOUND, f"the sidecar took {took:.1f}s to exit after SIGTERM"
    assert sidecar.returncode == 0, stderr.decode()[-2000:]


async def test_what_the_ring_holds_at_the_stop_gets_a_last_attempt(
    aiohttp_server: ServerFactory,
) -> None:
    """The exchanges captured since the last post (a failing call right before a rollout) are
    shipped on the way out, not dropped with the process."""
    agent = ScriptedAgent()
    agent.dumps = [corpus()]
    jolokia = await start(aiohttp_server, agent)
    received: list[TelemetryBatch] = []

    async def deliver(batch: TelemetryBatch) -> None:
        received.append(batch)

    relay = await aiohttp_server(relay_app(deliver))
    async with aiohttp.ClientSession() as session:
        sidecar = Sidecar(
            SidecarSettings(integration="o", jolokia_url=jolokia),
            session,
            relay_url=f"http://127.0.0.1:{relay.port}/v1/telemetry",
        )
        assert await sidecar.step()
        assert len(sidecar.capture.ring) == 2
        stop = asyncio.Event()
        stop.set()  # SIGTERM before the next post was due
        await asyncio.wait_for(capture_until(stop, sidecar), timeout=10)
    assert [len(b.exchanges) for b in received] == [2]
    assert len(sidecar.capture.ring) == 0

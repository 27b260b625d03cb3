"""Capture against a scripted Jolokia agent on a real socket: transient failures must not lose
half-assembled exchanges; a new agent id (JVM restart) resets the cursor and counts losses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from contract.telemetry import TelemetryBatch
from runner.relay import relay_app
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.settings import SidecarSettings

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
CORPUS = Path(__file__).parents[2] / "unit" / "telemetry" / "corpus" / "dump-camel-4.18.json"
TRACER = "org.apache.camel:context=c,name=BacklogTracer,type=tracer"
CONTEXT = 'org.apache.camel:context=c,name="c",type=context'


class ScriptedAgent:
    def __init__(self) -> None:
        self.agent_id = "7d6f77cc-jvm"  # host-derived: the same after a restart
        self.started = 1_000
        self.dumps: list[list[dict[str, Any]]] = []
        self.down = False
        self.writes: list[tuple[str, Any]] = []

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        kind = request["type"]
        if kind == "version":
            return {"status": 200, "value": {"id": self.agent_id}}
        if kind == "search" and "TraceDrain" in request["mbean"]:
            return {"status": 200, "value": []}  # a stock Camel image: no in-JVM drain
        if kind == "search":
            name = TRACER if "tracer" in request["mbean"] else CONTEXT
            return {"status": 200, "value": [name]}
        if kind == "write":
            self.writes.append((request["attribute"], request["value"]))
            return {"status": 200, "value": None}
        if kind == "exec" and request["mbean"] == TRACER:
            events = self.dumps.pop(0) if self.dumps else []
            return {"status": 200, "value": json.dumps({"traces": events})}
        if kind == "exec":  # Camel's health checks: as on a JVM without camel-health
            error = f"javax.management.InstanceNotFoundException: {request['mbean']}"
            return {"status": 404, "error_type": "InstanceNotFoundException", "error": error}
        if request["mbean"] == "java.lang:type=Runtime":
            return {"status": 200, "value": {"StartTime": self.started}}
        return {"status": 200, "value": {}}

    async def handle(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        return web.json_response([self.answer(r) for r in await request.json()])


async def start(aiohttp_server: ServerFactory, agent: ScriptedAgent) -> str:
    app = web.Application()
    app.router.add_post("/jolokia/", agent.handle)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}/jolokia/"


def corpus() -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = json.loads(CORPUS.read_text())["traces"]
    return traces


async def test_a_transient_failure_keeps_half_assembled_exchanges(
    aiohttp_server: ServerFactory,
) -> None:
    agent = ScriptedAgent()
    events = corpus()
    agent.dumps = [events[:4], events[4:8]]
    url = await start(aiohttp_server, agent)
    async with aiohttp.ClientSession() as session:
        sidecar = Sidecar(SidecarSettings(integration="o", jolokia_url=url), session, relay_url="")
        assert await sidecar.step()
        assert agent.writes[-1] == ("Enabled", True)
        assert sidecar.capture.assembler.pending == 1
        agent.down = True
        assert not await sidecar.step()
        agent.down = False
        assert await sidecar.step()
    assert sidecar.capture.counters.jolokia_failures == 1
    assert sidecar.capture.counters.exchanges_incomplete == 0
    (record,) = sidecar.capture.ring.peek(5)
    assert record.status == "completed"


async def test_a_new_jvm_resets_the_cursor_and_counts_what_was_in_flight(
    aiohttp_server: ServerFactory,
) -> None:
    agent = ScriptedAgent()
    events = corpus()
    agent.dumps = [events[:4]]
    url = await start(aiohttp_server, agent)
    async with aiohttp.ClientSession() as session:
        sidecar = Sidecar(SidecarSettings(integration="o", jolokia_url=url), session, relay_url="")
        assert await sidecar.step()
        agent.down = True
        assert not await sidecar.step()
        agent.down = False
        agent.started = 2_000  # restarted: its trace counter starts at 1 again
        restarted = [dict(event) for event in events[:8]]
        agent.dumps = [restarted]
        assert await sidecar.step()
    counters = sidecar.capture.counters
    assert counters.exchanges_incomplete == 1
    assert sidecar.capture.cursor == 8
    assert [r.status for r in sidecar.capture.ring.peek(5)] == ["incomplete", "completed"]


async def test_the_run_loop_captures_and_ships_until_stopped(aiohttp_server: ServerFactory) -> None:
    agent = ScriptedAgent()
    agent.dumps = [corpus()]
    url = await start(aiohttp_server, agent)
    stop = asyncio.Event()
    received: list[TelemetryBatch] = []

    async def deliver(batch: TelemetryBatch) -> None:
        received.append(batch)
        if batch.exchanges:
            stop.set()

    relay = await aiohttp_server(relay_app(deliver))
    settings = SidecarSettings(integration="o", jolokia_url=url, poll_interval_seconds=0.05)
    async with aiohttp.ClientSession() as session:
        sidecar = Sidecar(
            settings, session, relay_url=f"http://127.0.0.1:{relay.port}/v1/telemetry"
        )
        await asyncio.wait_for(sidecar.run(stop), timeout=20)
    shipped = [e.exchange_id for b in received for e in b.exchanges]
    assert len(shipped) == 2
    assert received[-1].counters.events_seen == 16
    assert len(sidecar.capture.ring) == 0

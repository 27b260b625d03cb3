"""Sidecar -> relay over real loopback HTTP: acks, refusals, outages keep data in the ring."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contract.telemetry import TelemetryBatch
from runner.relay import relay_app
from telemetry.sidecar.service import ShipError, Sidecar
from telemetry.sidecar.settings import SidecarSettings
from tests.e2e.camel.conftest import free_port
from tests.integration.telemetry.records import batch, exchange

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


class Sink:
    def __init__(self) -> None:
        self.batches: list[TelemetryBatch] = []
        self.fail = False

    async def deliver(self, received: TelemetryBatch) -> None:
        if self.fail:
            raise RuntimeError("tunnel down")
        self.batches.append(received)


async def test_relay_accepts_a_valid_batch(aiohttp_client: ClientFactory) -> None:
    sink = Sink()
    client = await aiohttp_client(relay_app(sink.deliver))
    body = batch("b1", [exchange(1)]).model_dump_json()
    response = await client.post(
        "/v1/telemetry", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 202
    assert await response.json() == {"batch_id": "b1", "accepted": 1}
    assert sink.batches[0].exchanges[0].exchange_id == "EX-00000001"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"batch_id": "b", "secret": "4111111111111111"}', "application/json", 400),
        ("{not json", "application/json", 400),
        ("{}", "text/plain", 415),
        ("x" * (33 * 1024 * 1024), "application/json", 413),
    ],
)
async def test_relay_refuses_broken_input(
    aiohttp_client: ClientFactory, body: str, content_type: str, status: int
) -> None:
    sink = Sink()
    client = await aiohttp_client(relay_app(sink.deliver))
    payload = io.BytesIO(body.encode())
    response = await client.post(
        "/v1/telemetry", data=payload, headers={"Content-Type": content_type}
    )
    assert response.status == status
    assert "4111111111111111" not in await response.text()
    assert sink.batches == []


async def sidecar_with(session: aiohttp.ClientSession, relay_url: str, items: int) -> Sidecar:
    settings = SidecarSettings(integration="orders", batch_max_exchanges=2)
    sidecar = Sidecar(settings, session, relay_url=relay_url, wall_ms=lambda: 1)
    for n in range(items):
        sidecar.capture.ring.push(exchange(n))
    return sidecar


async def test_only_acknowledged_exchanges_leave_the_ring(aiohttp_server: ServerFactory) -> None:
    sink = Sink()
    server = await aiohttp_server(relay_app(sink.deliver))
    url = f"http://127.0.0.1:{server.port}/v1/telemetry"
    async with aiohttp.ClientSession() as session:
        sidecar = await sidecar_with(session, url, items=3)
        sink.fail = True
        with pytest.raises(ShipError, match="500"):
            await sidecar.ship_once()
        assert len(sidecar.capture.ring) == 3
        sink.fail = False
        assert await sidecar.ship_once() == 2
        assert await sidecar.ship_once() == 1
        assert len(sidecar.capture.ring) == 0
    shipped = [e.exchange_id for b in sink.batches for e in b.exchanges]
    assert shipped == ["EX-00000000", "EX-00000001", "EX-00000002"]


async def test_relay_not_listening_keeps_everything() -> None:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{free_port()}/v1/telemetry"
        sidecar = await sidecar_with(session, url, items=2)
        with pytest.raises(ShipError, match="unreachable"):
            await sidecar.ship_once()
        assert len(sidecar.capture.ring) == 2


async def test_sidecar_without_camel_counts_failures_and_replay_says_unavailable() -> None:
    async with aiohttp.ClientSession() as session:
        settings = SidecarSettings(
            integration="orders", jolokia_url=f"http://127.0.0.1:{free_port()}/jolokia/"
        )
        sidecar = Sidecar(settings, session, relay_url="http://127.0.0.1:9/")
        assert await sidecar.step() is False
        assert await sidecar.step() is False
        assert sidecar.capture.counters.jolokia_failures == 2
        result = await sidecar.replay("EX-1")
        assert result.outcome.value == "unavailable"

"""Issue 7's "must show" against a real Camel JVM: HTTP traffic with failures -> sidecar
(capture, sampling, redaction) -> relay -> ingestor -> chDB store; replay; JVM restart.

The hop from the runner relay to the control plane is the tunnel (built separately): here the
relay delivers straight into the ingestor in the same process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contract.telemetry import TelemetryBatch
from runner.relay import relay_app
from telemetry.ingest import Ingestor
from telemetry.ingest_queue import CoalescingIngestor
from telemetry.sidecar.api import sidecar_api
from telemetry.sidecar.buffers import sampled_in
from telemetry.sidecar.replay import ReplayOutcome
from telemetry.sidecar.service import ShipError, Sidecar
from telemetry.sidecar.settings import SidecarSettings
from telemetry.store import TelemetryStore
from tests.e2e.camel.conftest import WITHOUT_DRAIN, CamelJvm, StartCamel
from tests.integration.telemetry.conftest import telemetry_store  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

ROUTES = """
- route:
    id: orders-http
    from:
      uri: platform-http:/orders
      steps:
        - to:
            id: to-orders
            uri: direct:orders
- route:
    id: orders
    from:
      uri: direct:orders
      steps:
        - convertBodyTo:
            id: as-text
            type: java.lang.String
        - choice:
            id: validate
            when:
              - simple: "${body} contains '\\"amount\\":-'"
                steps:
                  - throwException:
                      id: reject
                      exceptionType: java.lang.IllegalArgumentException
                      message: "amount must be positive"
        - removeHeaders:
            id: strip-http
            pattern: "CamelHttp*"
        - to:
            id: call-stock
            uri: "{{downstream.url}}"
        - setBody:
            id: reply
            constant: accepted
"""

EMAIL = "jane.roe@example.org"
CARD = "4111 1111 1111 1111"
TOKEN = "Bearer s3cr3t-t0ken.abc"
IBAN = "DE89370400440532013000"
ORG = "acme"
SAMPLE_RATE = 0.5


@dataclass
class Downstream:
    """The stock service the route calls: refuses BROKEN items until it is 'fixed'."""

    fixed: bool = False
    received: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        if "BROKEN" in body and not self.fixed:
            return web.Response(status=503, text="stock service down")
        self.received.append(body)
        return web.Response(text="ok")


@dataclass
class Relay:
    """Delivers into the (coalescing) ingestor in-process; can be switched off (an outage)."""

    ingestor: CoalescingIngestor
    up: bool = True
    delivered: list[TelemetryBatch] = field(default_factory=list)

    async def deliver(self, batch: TelemetryBatch) -> None:
        if not self.up:
            raise web.HTTPServiceUnavailable(text="tunnel down")
        await self.ingestor.submit(ORG, batch)
        self.delivered.append(batch)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def order(n: int, *, amount: int = 10, sku: str = "A-1") -> str:
    document = {"n": n, "sku": sku, "amount": amount, "email": EMAIL, "card": CARD}
    return json.dumps(document, separators=(",", ":"))


async def post_orders(jvm: CamelJvm, bodies: list[str]) -> list[int]:
    statuses = []
    async with aiohttp.ClientSession() as session:
        for body in bodies:
            headers = {"Authorization": TOKEN, "X-Iban": IBAN, "Content-Type": "application/json"}
            async with session.post(f"{jvm.http_url}/orders", data=body, headers=headers) as r:
                statuses.append(r.status)
    return statuses


async def ship_all(sidecar: Sidecar) -> None:
    while len(sidecar.capture.ring):
        await sidecar.ship_once()


@dataclass
class Scenario:
    jvm: CamelJvm
    sidecar: Sidecar
    store: TelemetryStore
    relay: Relay
    downstream: Downstream
    session: aiohttp.ClientSession
    clock: Clock
    replay_url: str


async def settle(sidecar: Sidecar, requests: int) -> list[str]:
    """Poll until the tracer gave ``requests`` more exchanges (>= 4 events each) and none is
    half-assembled; returns the ids waiting in the ring."""
    before = sidecar.capture.counters.events_seen
    deadline = time.monotonic() + 30
    while sidecar.capture.counters.events_seen < before + requests * 4 or (
        sidecar.capture.assembler.pending
    ):
        assert time.monotonic() < deadline, (
            "tracer events did not arrive",
            sidecar.capture.counters,
        )
        await sidecar.step()
        await asyncio.sleep(0.1)
    return [record.exchange_id for record in sidecar.capture.ring.peek(10_000)]


async def test_exchanges_reach_store_redacted_replay_and_restart(
    start_camel: StartCamel,
    aiohttp_server: ServerFactory,
    telemetry_store: TelemetryStore,  # noqa: F811
) -> None:
    downstream = Downstream()
    stock_app = web.Application()
    stock_app.router.add_post("/stock", downstream.handle)
    stock = await aiohttp_server(stock_app)
    relay = Relay(CoalescingIngestor(Ingestor(telemetry_store), max_delay_seconds=0.2))
    relay_server = await aiohttp_server(relay_app(relay.deliver))
    stock_url = f"http://127.0.0.1:{stock.port}/stock"
    jvm = await start_camel({"orders.camel.yaml": ROUTES}, {"downstream.url": stock_url})
    settings = SidecarSettings(
        integration="orders",
        jolokia_url=jvm.jolokia_url,
        sample_rate=SAMPLE_RATE,
        redaction_headers=("X-Iban",),
        replay_endpoint="direct:orders",
        replay_ttl_seconds=600,
        stats_interval_seconds=0,
    )
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        relay_url = f"http://127.0.0.1:{relay_server.port}/v1/telemetry"
        sidecar = Sidecar(settings, session, relay_url=relay_url, clock=clock)
        api = await aiohttp_server(sidecar_api(sidecar))
        scenario = Scenario(
            jvm, sidecar, telemetry_store, relay, downstream, session, clock,
            f"http://127.0.0.1:{api.port}/v1/replay",
        )  # fmt: skip
        target = await sidecar.capture.connect()
        assert target.drain_mbean is not None, "our runtime samples in the JVM"
        stock_down = await traffic_lands_in_the_store(scenario)
        await replay_after_the_fix_then_expired(scenario, stock_down)
        await relay_outage_and_camel_restart_lose_nothing(scenario)
    await relay.ingestor.close()


async def traffic_lands_in_the_store(sc: Scenario) -> list[str]:
    """30 orders: 20 good, 5 rejected by validation, 5 failing on the stock service."""
    bodies = [order(n) for n in range(20)]
    bodies += [order(n, amount=-1) for n in range(20, 25)]
    bodies += [order(n, sku="BROKEN") for n in range(25, 30)]
    statuses = await post_orders(sc.jvm, bodies)
    assert statuses[:20] == [200] * 20
    assert all(status >= 500 for status in statuses[20:]), statuses
    await settle(sc.sidecar, 30)
    await ship_all(sc.sidecar)

    stored = sc.store.search(ORG, integration="orders", limit=1000)
    failed = [e for e in stored if e.status == "failed"]
    completed = [e for e in stored if e.status == "completed"]
    assert len(failed) == 10, "failed exchanges are always kept"
    assert all(sampled_in(e.exchange_id, SAMPLE_RATE) for e in completed)
    assert 0 < len(completed) < 20, "sampling dropped some successful exchanges"
    assert sc.sidecar.capture.counters.exchanges_sampled_out == 20 - len(completed)
    assert {e.route_id for e in stored} == {"orders-http"}
    rejected = [e for e in failed if e.failed_node == "reject"]
    stock_down = [e for e in failed if e.failed_node == "call-stock"]
    assert len(rejected) == 5
    assert len(stock_down) == 5
    assert {e.exception_type for e in rejected} == {"java.lang.IllegalArgumentException"}
    assert {e.exception_message for e in rejected} == {"amount must be positive"}
    assert all("statusCode: 503" in e.exception_message for e in stock_down)
    assert_detail_and_statistics(sc.store, completed[0].exchange_id)
    return [e.exchange_id for e in stock_down]


def assert_detail_and_statistics(store: TelemetryStore, exchange_id: str) -> None:
    detail = store.detail(ORG, exchange_id)
    assert detail is not None
    path = [f"{n.route_id}/{n.node_id}" for n in detail.nodes]
    assert path == [
        "orders-http/to-orders", "orders/as-text", "orders/validate", "orders/strip-http",
        "orders/call-stock", "orders/reply",
    ]  # fmt: skip
    assert detail.summary.elapsed_ms >= max(n.elapsed_ms for n in detail.nodes) >= 0
    assert detail.headers["Authorization"] == "[REDACTED]"
    assert detail.headers["X-Iban"] == "[REDACTED]"
    assert '"sku":"A-1"' in detail.body
    assert "[REDACTED]" in detail.body
    # PII appears nowhere in the store, in no column of any table
    for raw in (EMAIL, CARD, "s3cr3t-t0ken", IBAN):
        assert store.count_text(raw) == 0, raw
    stats = store.latest_route_stats(ORG, "orders")
    assert any(s["route_id"] == "orders" and s["exchanges_total"] >= 30 for s in stats)
    node_stats = {(s.route_id, s.node_id): s for s in store.node_stats(ORG, "orders")}
    assert node_stats[("orders", "call-stock")].failed == 5


async def replay_after_the_fix_then_expired(sc: Scenario, stock_down: list[str]) -> None:
    """The stock service is fixed; the ORIGINAL (unredacted) message is replayed through the
    sidecar's API; past the replay window the original is gone and the refusal says so."""
    sc.downstream.fixed = True
    target = stock_down[0]
    async with sc.session.post(sc.replay_url, json={"exchange_id": target}) as response:
        result = await response.json()
    assert response.status == 200
    assert result["outcome"] == "succeeded", result
    assert EMAIL in sc.downstream.received[-1]
    assert '"sku":"BROKEN"' in sc.downstream.received[-1]
    await settle(sc.sidecar, 1)
    await ship_all(sc.sidecar)
    replayed = [
        e for e in sc.store.search(ORG, route="orders", limit=10)
        if (d := sc.store.detail(ORG, e.exchange_id)) is not None
        and d.headers.get("CamelopsReplayOf") == target
    ]  # fmt: skip
    assert [e.status for e in replayed] == ["completed"], (
        sc.sidecar.capture.counters,
        [(e.exchange_id, e.route_id, e.status) for e in sc.store.search(ORG, limit=5)],
    )

    sent = len(sc.downstream.received)
    sc.clock.offset += 601
    async with sc.session.post(sc.replay_url, json={"exchange_id": stock_down[1]}) as response:
        expired = await response.json()
    sc.clock.offset = 0
    assert response.status == 410
    assert expired["outcome"] == ReplayOutcome.EXPIRED.value
    assert "no longer held" in expired["reason"]
    assert len(sc.downstream.received) == sent, "an expired replay sends nothing"


async def relay_outage_and_camel_restart_lose_nothing(sc: Scenario) -> None:
    await post_orders(sc.jvm, [order(n, amount=-1) for n in range(100, 103)])
    waiting = set(await settle(sc.sidecar, 3))
    assert len(waiting) == 3
    sc.relay.up = False
    with pytest.raises(ShipError):
        await sc.sidecar.ship_once()
    assert len(sc.sidecar.capture.ring) == 3, "unacknowledged exchanges stay in the ring"

    # Camel restarts (Jolokia gone meanwhile): failures counted, then it reconnects
    await asyncio.to_thread(sc.jvm.stop)
    failures = sc.sidecar.capture.counters.jolokia_failures
    assert await sc.sidecar.step() is False
    assert sc.sidecar.capture.counters.jolokia_failures == failures + 1
    await sc.jvm.start()
    assert await sc.sidecar.step() is True
    await post_orders(sc.jvm, [order(n, amount=-5) for n in range(200, 202)])
    waiting |= set(await settle(sc.sidecar, 2))
    assert len(waiting) == 5
    sc.relay.up = True
    await ship_all(sc.sidecar)
    stored_ids = {e.exchange_id for e in sc.store.search(ORG, limit=1000)}
    assert waiting <= stored_ids
    assert len(sc.store.failures(ORG, "orders", limit=1000)) == 15


@pytest.mark.parametrize("in_jvm", [True, False], ids=["drained-in-jvm", "stock-tracer-dump"])
async def test_a_zero_sample_rate_keeps_every_failure_whole(
    start_camel: StartCamel, aiohttp_server: ServerFactory, in_jvm: bool
) -> None:
    """Against the real JVM: with sampling at 0 the successes are only counted, while each
    failure arrives complete (node path, failing node, exception, replayable input); the same
    through our runtime's in-JVM drain and through the tracer's own dump (a stock image)."""
    downstream = Downstream()
    stock_app = web.Application()
    stock_app.router.add_post("/stock", downstream.handle)
    stock = await aiohttp_server(stock_app)
    stock_url = f"http://127.0.0.1:{stock.port}/stock"
    jvm = await start_camel(
        {"orders.camel.yaml": ROUTES},
        {"downstream.url": stock_url},
        java_opts="" if in_jvm else WITHOUT_DRAIN,
    )
    settings = SidecarSettings(integration="orders", jolokia_url=jvm.jolokia_url, sample_rate=0.0)
    async with aiohttp.ClientSession() as session:
        sidecar = Sidecar(settings, session, relay_url="http://127.0.0.1:9/unused")
        target = await sidecar.capture.connect()
        assert (target.drain_mbean is not None) is in_jvm
        bodies = [order(n) for n in range(4)] + [order(n, amount=-1) for n in range(4, 6)]
        statuses = await post_orders(jvm, bodies)
        assert statuses[:4] == [200] * 4
        kept = await settle(sidecar, len(bodies))
    records = sidecar.capture.ring.peek(100)
    assert len(kept) == 2
    assert sidecar.capture.counters.exchanges_sampled_out == 4
    for record in records:
        assert record.status == "failed"
        assert record.failed_node == "reject"
        assert record.exception_message == "amount must be positive"
        assert [f"{n.route_id}/{n.node_id}" for n in record.nodes][:3] == [
            "orders-http/to-orders", "orders/as-text", "orders/validate",
        ]  # fmt: skip
        assert record.replayable
        assert '"amount":-1' in record.body
    assert len(sidecar.capture.replay) == 2, "only the kept exchanges are held for replay"

"""Sidecar batches posted to the runner's real relay travel the real mTLS tunnel into the
real ingestor and a real chDB store: exactly once, across a control-plane outage and a runner
restart, and nothing a broken or foreign message carries reaches the store."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web

from contract.envelopes import Channel
from contract.message_types import TELEMETRY_BATCH
from contract.telemetry import TelemetryBatch
from runner.forwarder import runner_relay_app
from telemetry.intake import ControlPlaneTelemetry
from telemetry.store import TelemetryStore
from tests.integration.telemetry.records import batch, exchange
from tests.integration.telemetry_path.conftest import routing, serve, start_server_again
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually
from tunnel.client import TunnelClient

RUNNER = "edge"


async def start_path(
    plane: ControlPlane, store: TelemetryStore, tmp_path: Path, apps: list[web.AppRunner]
) -> tuple[ControlPlaneTelemetry, TunnelClient, str]:
    callbacks = routing(plane)
    callbacks.environments[RUNNER] = frozenset({"prod"})
    telemetry = ControlPlaneTelemetry(store, callbacks.environments_of, max_delay_seconds=0.02)
    callbacks.intake = telemetry.intake
    data_dir = await plane.register(RUNNER, tmp_path)
    client = plane.client(data_dir)
    await client.start()
    relay = await serve(apps, runner_relay_app(client))
    return telemetry, client, relay + "/v1/telemetry"


async def post(session: aiohttp.ClientSession, url: str, sent: TelemetryBatch) -> int:
    async with session.post(
        url, data=sent.model_dump_json(), headers={"Content-Type": "application/json"}
    ) as response:
        return response.status


def stored_once(store: TelemetryStore, first: int, last: int) -> bool:
    """Every exchange id once, counted on raw rows (no FINAL: a duplicate would show)."""
    return all(store.count_text(f"EX-{n:08d}") == 1 for n in range(first, last + 1))


async def test_batches_arrive_exactly_once_across_an_outage_and_a_runner_restart(
    routed: ControlPlane,
    telemetry_store: TelemetryStore,
    tmp_path: Path,
    loopback_apps: list[web.AppRunner],
) -> None:
    store = telemetry_store
    telemetry, client, url = await start_path(routed, store, tmp_path, loopback_apps)
    async with aiohttp.ClientSession() as session:
        assert await post(session, url, batch("b1", [exchange(1), exchange(2, failed=True)])) == 202
        assert await post(session, url, batch("b2", [exchange(3)])) == 202
        await eventually(lambda: store.count_exchanges(ORG, "orders") == 3)
        # a sidecar that did not see the 202 sends the same batch again
        assert await post(session, url, batch("b1", [exchange(1), exchange(2, failed=True)])) == 202
        # the control plane goes away; the relay keeps answering from the tunnel outbox
        await routed.server.stop()
        await eventually(lambda: not client.connected.is_set())
        assert await post(session, url, batch("b3", [exchange(4), exchange(5)])) == 202
        # and the runner restarts while offline: its outbox was checkpointed on stop
        await client.stop()
        routed.runners.remove(client)
        again = routed.client(client.files.directory.parent)
        await again.start()
        url = await serve(loopback_apps, runner_relay_app(again)) + "/v1/telemetry"
        assert await post(session, url, batch("b4", [exchange(6)])) == 202
        await start_server_again(routed)
        await eventually(lambda: store.count_exchanges(ORG, "orders") == 6)
    await eventually(lambda: stored_once(store, 1, 6))
    failed = store.failures(ORG, "orders")
    assert [f.exchange_id for f in failed] == ["EX-00000002"]
    assert telemetry.intake.refused == 0
    assert telemetry.intake.lost == 0


async def test_broken_and_foreign_telemetry_is_refused_without_dropping_the_tunnel(
    routed: ControlPlane,
    telemetry_store: TelemetryStore,
    tmp_path: Path,
    loopback_apps: list[web.AppRunner],
) -> None:
    """Messages the relay would never produce, sent straight into the runner's tunnel client:
    a compromised runner can send anything its certificate allows."""
    store = telemetry_store
    telemetry, client, url = await start_path(routed, store, tmp_path, loopback_apps)
    await eventually(client.connected.is_set)
    good = batch("ok", [exchange(20)]).model_dump(mode="json")
    staging = batch("st", [exchange(21)]).model_dump(mode="json") | {"environment": "staging"}
    hostile: list[tuple[str, dict[str, object]]] = [
        ("other", {"batch": good}),  # unknown type
        (TELEMETRY_BATCH, {"batch": good, "org": "victim"}),  # extra keys: no org claims
        (TELEMETRY_BATCH, {"batch": {"batch_id": "x"}}),  # invalid batch
        (TELEMETRY_BATCH, {"batch": good | {"exchanges": "EX-00000022"}}),  # wrong types
        (TELEMETRY_BATCH, {"batch": staging}),  # an environment this runner does not serve
        (TELEMETRY_BATCH, {"batch": good | {"integration": "x" * 500}}),  # over the caps
    ]
    for kind, payload in hostile:
        await client.send(Channel.TELEMETRY, kind, payload)
    async with aiohttp.ClientSession() as session:
        assert await post(session, url, batch("after", [exchange(23)])) == 202
    await eventually(lambda: store.count_exchanges(ORG, "orders") == 1)
    assert telemetry.intake.refused == len(hostile)
    assert store.count_text("EX-00000020") == 0
    assert store.count_text("EX-00000021") == 0
    assert store.count_text("EX-00000023") == 1
    assert client.metrics.value("reconnects_total") == 0

"""In a cluster the runner learns where sidecars listen from the batches they post to its relay
(no Kubernetes API needed), and a replay asks the pods of the integration in turn until the one
holding the original answers. Real relay app, real sidecar replay APIs on two loopback
addresses (the pods), real HTTP; the Jolokia hop stands in as in replay_rig."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from contract.replay import ReplayCommand, ReplayOutcome
from contract.telemetry import TelemetryBatch
from runner.forwarder import serve_relay
from runner.relay import relay_app
from runner.replay import RunnerReplay, sidecars_by_integration
from runner.sidecar_directory import SidecarDirectory
from telemetry.sidecar.api import sidecar_api
from telemetry.sidecar.buffers import ReplayOriginal
from tests.integration.telemetry_path.replay_rig import SteppedClock, sidecar_with_originals

POD_A, POD_B = "127.0.0.2", "127.0.0.1"  # two pod addresses, both on loopback
TOKEN = "pod-token"


def port_free_on_both() -> int:
    for _ in range(50):
        with socket.socket() as one, socket.socket() as two:
            one.bind((POD_B, 0))
            port = int(one.getsockname()[1])
            try:
                two.bind((POD_A, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free on both loopback addresses")


@pytest.fixture
async def apps() -> AsyncIterator[list[web.AppRunner]]:
    started: list[web.AppRunner] = []
    yield started
    for runner in started:
        await runner.cleanup()


async def post_batch(relay: str, pod: str, source: str) -> None:
    batch = TelemetryBatch(
        batch_id=uuid.uuid4().hex, integration="orders", environment="prod", pod=pod,
        sent_at_ms=1,
    )  # fmt: skip
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = {"Content-Type": "application/json"}
        async with session.post(relay, data=batch.model_dump_json(), headers=headers) as r:
            assert r.status == 202


def command(exchange: str) -> ReplayCommand:
    return ReplayCommand(
        request_id=uuid.uuid4().hex, project="shop", environment="prod", integration="orders",
        exchange_id=exchange,
    )  # fmt: skip


async def test_replays_find_the_pod_holding_the_original(apps: list[web.AppRunner]) -> None:
    port = port_free_on_both()
    directory = SidecarDirectory(port=port)
    delivered: list[TelemetryBatch] = []

    async def deliver(batch: TelemetryBatch) -> None:
        delivered.append(batch)

    relay_runner = await serve_relay(relay_app(deliver, directory.seen), POD_B, 0)
    apps.append(relay_runner)
    relay = f"http://{POD_B}:{relay_runner.addresses[0][1]}/v1/telemetry"
    async with aiohttp.ClientSession() as session:
        clock = SteppedClock()
        holder, holder_jolokia = sidecar_with_originals(session, clock)
        holder.capture.replay.put(
            ReplayOriginal("EX-9", "orders", "direct:orders", "{}", (), clock())
        )
        other, other_jolokia = sidecar_with_originals(session, clock)
        apps.append(await serve_relay(sidecar_api(holder, token=TOKEN), POD_B, port))
        apps.append(await serve_relay(sidecar_api(other, token=TOKEN), POD_A, port))
        await post_batch(relay, "orders-b", POD_B)
        await post_batch(relay, "orders-a", POD_A)  # the newest: asked first
        assert len(delivered) == 2
        assert directory.urls(command("x")) == [f"http://{POD_A}:{port}", f"http://{POD_B}:{port}"]

        nowhere = sidecars_by_integration({})
        replay = RunnerReplay(
            None,  # type: ignore[arg-type]  # _replay never sends on the tunnel
            nowhere, session, token=TOKEN, discovered=directory.urls,
        )  # fmt: skip
        result = await replay._replay(command("EX-9"))
        assert result.outcome is ReplayOutcome.SUCCEEDED, result
        assert other_jolokia.sent == [], "the pod without the original sent nothing"
        assert len(holder_jolokia.sent) == 1
        assert replay.sidecar_calls == 2

        gone = await replay._replay(command("EX-404"))
        assert gone.outcome is ReplayOutcome.EXPIRED
        unknown = await replay._replay(command("EX-1").model_copy(update={"integration": "x"}))
        assert unknown.outcome is ReplayOutcome.REJECTED

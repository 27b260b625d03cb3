"""At-least-once delivery, applied once: >= 1,000 messages each way through injected faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from contract.envelopes import Channel, Envelope
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually, wait_for
from tunnel.client import TunnelClient
from tunnel.faultproxy import FaultProxy
from tunnel.pki.identity import RunnerIdentity

PER_ROUND = 150


class Harness:
    """A runner behind a fault proxy; counts what each side applied, by message number."""

    def __init__(self, plane: ControlPlane, data_dir: Path, proxy: FaultProxy) -> None:
        self.plane, self.data_dir, self.proxy = plane, data_dir, proxy
        self.runner = RunnerIdentity(ORG, "edge-1")
        self.at_runner: Counter[int] = Counter()
        self.client = self._new_client()

    def _new_client(self) -> TunnelClient:
        client = self.plane.client(
            self.data_dir, url=f"wss://127.0.0.1:{self.proxy.port}/v1/tunnel"
        )

        async def apply(envelope: Envelope) -> None:
            self.at_runner[int(envelope.payload["n"])] += 1

        client.on(Channel.CONTROL, "work", apply)
        return client

    def both_connected(self) -> bool:
        return self.client.connected.is_set() and self.plane.server.connected == {self.runner}

    def at_server(self) -> Counter[int]:
        return Counter(int(e.payload["n"]) for _, e in self.plane.recorder.received)

    async def restart_runner(self) -> None:
        await self.client.stop()
        self.plane.runners.remove(self.client)
        self.client = self._new_client()
        await self.client.start()

    async def send_pair(self, n: int) -> None:
        await self.client.send(Channel.STATUS, "progress", {"n": n})
        await self.plane.server.send(self.runner, Channel.CONTROL, "work", {"n": n})


async def _cut(h: Harness) -> None:
    h.proxy.cut()


async def _truncate(h: Harness) -> None:
    h.proxy.truncate()


async def _stall(h: Harness) -> None:
    h.proxy.stall()  # only heartbeats can tell: both ends must declare the peer dead


async def _restart_server(h: Harness) -> None:
    await h.plane.restart_server()


async def _restart_runner(h: Harness) -> None:
    await h.restart_runner()


FAULTS: list[Callable[[Harness], Awaitable[None]]] = [
    _cut,
    _truncate,
    _stall,
    _restart_server,
    _restart_runner,
    _cut,
    _truncate,
]
TOTAL = PER_ROUND * (len(FAULTS) + 1)


@pytest.mark.slow
async def test_no_loss_and_no_double_apply_through_faults(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    proxy = FaultProxy("127.0.0.1", control_plane.server.port)
    await proxy.start()
    h = Harness(control_plane, data_dir, proxy)
    await h.client.start()
    await wait_for(h.client.connected.wait())
    struck = 0
    try:
        for round_, fault in enumerate([*FAULTS, None]):
            # Each fault strikes a fresh, live connection with part of a burst still in flight.
            await eventually(lambda s=struck: proxy.accepted > s and h.both_connected())  # type: ignore[misc]
            struck = proxy.accepted
            for n in range(round_ * PER_ROUND, (round_ + 1) * PER_ROUND):
                await h.send_pair(n)
            for _ in range(3):
                await asyncio.sleep(0)
            if fault is not None:
                await fault(h)
        await eventually(
            lambda: len(h.at_server()) == TOTAL and len(h.at_runner) == TOTAL, timeout=60
        )
        await eventually(lambda: not h.client.state.pending, timeout=30)
    finally:
        await proxy.stop()
    assert set(h.at_server()) == set(range(TOTAL))  # zero lost
    assert set(h.at_runner) == set(range(TOTAL))
    assert max(h.at_server().values()) == 1  # zero applied twice
    assert max(h.at_runner.values()) == 1
    assert proxy.accepted >= len(FAULTS)  # every fault really forced a new connection
    resumed = h.client.metrics.value("resumed_pending_total")
    resumed += control_plane.server.metrics.value("resumed_pending_total")
    assert resumed > 0  # messages really were in flight (or queued) when the faults struck


async def test_messages_sent_while_disconnected_survive_a_runner_restart(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    await control_plane.server.stop()
    client = control_plane.client(data_dir)
    await client.start()
    for n in range(50):
        await client.send(Channel.STATUS, "progress", {"n": n})
    await client.stop()
    control_plane.runners.remove(client)
    await control_plane.restart_server()
    client = control_plane.client(data_dir)
    await client.start()
    await eventually(lambda: len(control_plane.recorder.received) == 50)
    assert [e.payload["n"] for _, e in control_plane.recorder.received] == list(range(50))

"""At-least-once delivery, applied once: >= 1,000 messages each way through injected faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from contract.envelopes import Channel, Envelope
from tests.integration.tunnel.conftest import (
    FAST_BACKOFF,
    ORG,
    ControlPlane,
    eventually,
    wait_for,
)
from tunnel.client import ClientSettings, TunnelClient
from tunnel.connection import LinkSettings
from tunnel.faultproxy import FaultProxy, Interception, Way
from tunnel.pki.identity import RunnerIdentity
from tunnel.registration import RunnerFiles
from tunnel.tls import runner_client_context

PER_ROUND = 150
WINDOW = 8
ON_THE_WIRE = 100  # sent before the fault strikes; the rest of the round right after it


def intercepting(plane: ControlPlane, data_dir: Path) -> Interception:
    """The proxy gets the runner's key to read the stream (only a test may do that)."""
    files = RunnerFiles.in_data_dir(data_dir)
    facing_server = runner_client_context(files.ca.read_bytes(), files.cert, files.key)
    return Interception(plane.server_context(), facing_server)  # type: ignore[arg-type]


class Harness:
    """A runner behind a fault proxy; counts what each side applied, by message number."""

    def __init__(self, plane: ControlPlane, data_dir: Path, proxy: FaultProxy) -> None:
        self.plane, self.data_dir, self.proxy = plane, data_dir, proxy
        self.runner = RunnerIdentity(ORG, "edge-1")
        self.at_runner: Counter[int] = Counter()
        self.round = range(0)
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

    def round_applied(self) -> bool:
        at_server, at_runner = self.at_server(), self.at_runner
        return all(at_server[n] and at_runner[n] for n in self.round)

    def duplicates(self) -> tuple[float, float]:
        """Repeats each receiver recognised: (at the runner, at the control plane)."""
        return (
            self.client.metrics.value("duplicates_total"),
            self.plane.server.metrics.value("duplicates_total"),
        )

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


async def _cut_after_apply(h: Harness) -> None:
    # Both receivers applied the whole round, its acks are held back: then the connection dies.
    await eventually(h.round_applied)
    assert h.client.state.pending, "the runner heard an ack the proxy should have held"
    h.proxy.cut()


async def _truncate(h: Harness) -> None:
    h.proxy.truncate()


async def _stall(h: Harness) -> None:
    h.proxy.stall()  # only heartbeats can tell: both ends must declare the peer dead


async def _restart_server(h: Harness) -> None:
    await h.plane.restart_server()


async def _restart_runner(h: Harness) -> None:
    await h.restart_runner()


async def _replay(h: Harness) -> None:
    """Duplicates on the wire: each side gets the last data frame again, on the same connection.

    The receivers applied the round but their acks were held, so the senders still hold every
    message; a receiver that sees a duplicate must re-ack it, which is what releases them.
    """
    await eventually(h.round_applied)
    h.proxy.hold_acks(False)
    before = h.duplicates()
    assert h.proxy.replay() == 2  # one data frame each way
    await eventually(lambda: all(a > b for a, b in zip(h.duplicates(), before, strict=True)))
    await eventually(
        lambda: not h.client.state.pending and not h.proxy.unacked(Way.TO_RUNNER), timeout=5
    )


# (fault, whether it forces a new connection)
FAULTS: list[tuple[Callable[[Harness], Awaitable[None]], bool]] = [
    (_cut_after_apply, True),
    (_truncate, True),
    (_stall, True),
    (_replay, False),
    (_restart_server, True),
    (_restart_runner, True),
    (_cut, True),
    (_replay, False),
    (_truncate, True),
]
TOTAL = PER_ROUND * (len(FAULTS) + 1)


@pytest.mark.slow
async def test_no_loss_and_no_double_apply_through_faults(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    proxy = FaultProxy(
        "127.0.0.1", control_plane.server.port, intercepting(control_plane, data_dir)
    )
    await proxy.start()
    h = Harness(control_plane, data_dir, proxy)
    await h.client.start()
    await wait_for(h.client.connected.wait())
    struck = 0
    on_the_wire: list[tuple[str, int, int]] = []
    duplicates = [0.0, 0.0]
    try:
        for round_, (fault, reconnects) in enumerate([*FAULTS, (None, True)]):
            # Each fault strikes a live connection with the first part of a burst on the wire:
            # sent, not acked. Acks are held for that: unheld, they come back within milliseconds
            # and the fault would find an idle link. The rest of the burst is sent right after the
            # fault, into a dying or dead connection: queued, then resent on the next one.
            await eventually(lambda s=struck: proxy.accepted > s and h.both_connected())  # type: ignore[misc]
            if reconnects:
                struck = proxy.accepted
            proxy.hold_acks()
            first = round_ * PER_ROUND
            h.round = range(first, first + ON_THE_WIRE)
            for n in h.round:
                await h.send_pair(n)
            await eventually(
                lambda: proxy.unacked(Way.TO_SERVER) > 0 and proxy.unacked(Way.TO_RUNNER) > 0
            )
            if fault is not None:
                name = fault.__name__
                on_the_wire.append(
                    (name, proxy.unacked(Way.TO_SERVER), proxy.unacked(Way.TO_RUNNER))
                )
                if fault is _restart_server:  # its metrics restart with it: keep what it counted
                    duplicates[1] += h.plane.server.metrics.value("duplicates_total")
                await fault(h)
            for n in range(first + ON_THE_WIRE, first + PER_ROUND):
                await h.send_pair(n)
        proxy.hold_acks(False)
        await eventually(
            lambda: len(h.at_server()) == TOTAL and len(h.at_runner) == TOTAL, timeout=60
        )
        await eventually(lambda: not h.client.state.pending, timeout=30)
    finally:
        await proxy.stop()
    assert set(h.at_server()) == set(range(TOTAL))  # zero lost
    assert set(h.at_runner) == set(range(TOTAL))
    assert max(h.at_server().values()) == 1  # zero applied twice, although...
    assert max(h.at_runner.values()) == 1
    duplicates[0] += h.client.metrics.value("duplicates_total")
    duplicates[1] += h.plane.server.metrics.value("duplicates_total")
    assert proxy.replayed == 4
    assert all(d >= 2 for d in duplicates), duplicates  # ...duplicates reached both receivers
    assert proxy.accepted >= sum(reconnects for _, reconnects in FAULTS)
    assert [name for name, _, _ in on_the_wire] == [f.__name__ for f, _ in FAULTS]
    for name, to_server, to_runner in on_the_wire:  # every fault hit messages on the wire
        assert to_server > 0, name
        assert to_runner > 0, name
    resumed = h.client.metrics.value("resumed_pending_total")  # since the last runner restart
    resumed += control_plane.server.metrics.value("resumed_pending_total")
    assert resumed > 0  # what was queued during a fault was sent on the next connection


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


PAD = "x" * 1000  # each message ~1.05 KB: 8 of them reach a byte window of 8,000


@pytest.mark.parametrize(
    "window",
    [
        {"window_count": (WINDOW, WINDOW // 2)},
        {"window_bytes": (WINDOW * 1000, WINDOW * 500)},
    ],
    ids=["by-count", "by-bytes"],
)
async def test_the_send_window_bounds_what_is_on_the_wire(
    control_plane: ControlPlane, tmp_path: Path, window: dict[str, tuple[int, int]]
) -> None:
    """At most a window of messages is sent and unacked; acks reopen exactly that much."""
    data_dir = await control_plane.register("edge-1", tmp_path)
    proxy = FaultProxy(
        "127.0.0.1", control_plane.server.port, intercepting(control_plane, data_dir)
    )
    await proxy.start()
    # one message per write, so the window (not the batch size) decides how many go out
    link = LinkSettings(heartbeat=0.5, hello_timeout=3.0, max_batch=1, **window)  # type: ignore[arg-type]
    url = f"wss://127.0.0.1:{proxy.port}/v1/tunnel"
    client = TunnelClient(data_dir, ClientSettings(link=link, backoff=FAST_BACKOFF, url=url))
    control_plane.runners.append(client)  # stopped by the fixture
    await client.start()
    await wait_for(client.connected.wait())
    await eventually(lambda: proxy.live == 1)
    try:
        for burst in range(2):
            proxy.hold_acks()
            for n in range(burst * 30, (burst + 1) * 30):
                await client.send(Channel.STATUS, "progress", {"n": n, "pad": PAD})
            await eventually(lambda: proxy.unacked(Way.TO_SERVER) == WINDOW)
            await asyncio.sleep(0.5)  # a window that leaks would let more out by now
            assert proxy.unacked(Way.TO_SERVER) == WINDOW
            # The receiver acked what it applied, but the proxy swallowed it: a duplicate makes
            # the receiver ack again, and that ack must reopen the window for the rest.
            proxy.hold_acks(False)
            assert proxy.replay() == 1
            await eventually(lambda b=burst: len(control_plane.recorder.received) == 30 * (b + 1))  # type: ignore[misc]
            await eventually(lambda: not client.state.pending)
    finally:
        await proxy.stop()
    assert [e.payload["n"] for _, e in control_plane.recorder.received] == list(range(60))
    assert client.metrics.value("connections_total") == 1

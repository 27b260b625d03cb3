"""Tunnel throughput and resync time against a raw aiohttp WebSocket on the same loopback.

Run: python -m bench.bench_tunnel [--quick]. Prints medians of several runs and the ratios.
Both sides run in this one process and event loop, over the same TLS 1.3 mTLS contexts, so the
ratio isolates the cost of our protocol (envelopes, sequencing, acks, flow control, chunking).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.results import figure
from bench.timing import load_average
from contract.envelopes import Channel, Envelope
from tunnel.backoff import Backoff
from tunnel.client import ClientSettings, TunnelClient
from tunnel.faultproxy import FaultProxy
from tunnel.pki.ca import CertificateAuthority
from tunnel.pki.identity import RunnerIdentity, new_key_and_csr
from tunnel.pki.service import ControlPlanePki, utcnow
from tunnel.pki.store import SqlitePkiStore
from tunnel.registration import RunnerFiles
from tunnel.server import ServerSettings, TunnelCallbacks, TunnelServer
from tunnel.tls import runner_client_context, tunnel_server_context

KIB, MIB = 1024, 1024 * 1024


@dataclass(frozen=True)
class Case:
    name: str
    size: int
    count: int


class Counting(TunnelCallbacks):
    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()

    async def message_received(self, runner: RunnerIdentity, envelope: Envelope) -> None:  # noqa: ARG002
        self.count += 1
        if self.count >= self.target:
            self.done.set()


class Rig:
    """A control plane, one registered runner and a raw WebSocket server, all on 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        ca = CertificateAuthority.create("bench", utcnow())
        self.pki = ControlPlanePki(ca, SqlitePkiStore(directory / "pki.sqlite"))
        cert, key = self.pki.ensure_server_certificate(directory, ["127.0.0.1"])
        self.server_context = tunnel_server_context(cert, key, ca.cert_pem)
        self.callbacks = Counting()
        self.server = TunnelServer(
            self.pki, self.callbacks, self.server_context, ServerSettings(port=0)
        )
        self.data_dir = directory / "runner"
        files = RunnerFiles.in_data_dir(self.data_dir)
        files.directory.mkdir(parents=True)
        key_pem, csr_pem = new_key_and_csr()
        token = self.pki.create_token(RunnerIdentity("bench", "runner-1"))
        issued = self.pki.register(token, csr_pem)
        files.save_credentials(key_pem, issued.certificate)
        files.ca.write_bytes(issued.ca)
        self.client_context = runner_client_context(issued.ca, files.cert, files.key)

    def client(self, url: str) -> TunnelClient:
        settings = ClientSettings(url=url, backoff=Backoff(base=0.2, cap=5.0))
        return TunnelClient(self.data_dir, settings)


async def run_ours(rig: Rig, client: TunnelClient, payload: dict[str, str], count: int) -> float:
    rig.callbacks.count, rig.callbacks.target = 0, count
    rig.callbacks.done.clear()
    start = time.perf_counter()
    for _ in range(count):
        await client.send(Channel.TELEMETRY, "spans", payload)
    await rig.callbacks.done.wait()
    return time.perf_counter() - start


class Raw:
    """The baseline: a bare aiohttp WebSocket (same TLS contexts), counting binary messages."""

    def __init__(self, runner: web.AppRunner, counter: Counting) -> None:
        self.runner, self.counter = runner, counter
        self.session = aiohttp.ClientSession()
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    @classmethod
    async def start(cls, rig: Rig) -> Raw:
        counter = Counting()

        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(max_msg_size=0, compress=False)
            await ws.prepare(request)
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    counter.count += 1
                    if counter.count >= counter.target:
                        counter.done.set()
            return ws

        app = web.Application()
        app.router.add_get("/raw", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=rig.server_context).start()
        raw = cls(runner, counter)
        url = f"wss://127.0.0.1:{runner.addresses[0][1]}/raw"
        raw.ws = await raw.session.ws_connect(
            url, ssl=rig.client_context, max_msg_size=0, compress=0
        )
        return raw

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.session.close()
        await self.runner.cleanup()


async def run_raw(raw: Raw, data: bytes, count: int) -> float:
    assert raw.ws is not None
    counter = raw.counter
    counter.count, counter.target = 0, count
    counter.done.clear()
    start = time.perf_counter()
    for _ in range(count):
        await raw.ws.send_bytes(data)
    await counter.done.wait()
    return time.perf_counter() - start


async def resync_time(rig: Rig, pending: int) -> float:
    """Seconds from a cut connection (with `pending` messages unacked) to everything acked again."""
    proxy = FaultProxy("127.0.0.1", rig.server.port)
    await proxy.start()
    client = rig.client(f"wss://127.0.0.1:{proxy.port}/v1/tunnel")
    await client.start()
    await client.connected.wait()
    while not rig.server.connected:
        await asyncio.sleep(0.002)
    for n in range(pending):
        await client.send(Channel.STATUS, "health", {"n": n})
    start = time.perf_counter()
    proxy.cut()
    while proxy.accepted < 2 or client.state.pending:
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    await client.stop()
    await proxy.stop()
    return elapsed


async def timed(run: Awaitable[float]) -> tuple[float, float]:
    """(wall, CPU) seconds; CPU covers both ends, as both run in this process."""
    cpu = time.process_time()
    wall = await run
    return wall, time.process_time() - cpu


async def compare(rig: Rig, client: TunnelClient, raw: Raw, case: Case, rounds: int) -> str:
    # Random base64: compresses only by a quarter, so we send it as is (no compression win).
    text = base64.b64encode(os.urandom(case.size))[: case.size]
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for _ in range(rounds):  # interleaved, so load from elsewhere hits both alike
        ours.append(await timed(run_ours(rig, client, {"d": text.decode()}, case.count)))
        theirs.append(await timed(run_raw(raw, text, case.count)))
    wall = statistics.median(w for w, _ in ours), statistics.median(w for w, _ in theirs)
    cpu = statistics.median(c for _, c in ours), statistics.median(c for _, c in theirs)
    rate, raw_rate = case.count / wall[0], case.count / wall[1]
    mb = case.size / 1e6
    figure(
        f"tunnel throughput, {case.name} messages (wall)",
        rate,
        "messages/s",
        baseline=raw_rate,
        baseline_name="raw aiohttp WebSocket, same TLS",
        goal=">= 0.5x baseline",
        met=rate >= 0.5 * raw_rate,
    )
    return (
        f"{case.name:6} {rate:9.0f} {raw_rate:9.0f} {rate * mb:8.1f} {raw_rate * mb:8.1f}"
        f" {rate / raw_rate:6.0%} {cpu[1] / cpu[0]:6.0%}"
    )


async def main(quick: bool) -> None:
    rounds = 3 if quick else 7
    cases = [Case("1 KiB", KIB, 2000 if quick else 10000), Case("1 MiB", MIB, 20 if quick else 60)]
    with tempfile.TemporaryDirectory() as tmp:
        rig = Rig(Path(tmp))
        await rig.server.start()
        raw = await Raw.start(rig)
        client = rig.client(f"wss://127.0.0.1:{rig.server.port}/v1/tunnel")
        await client.start()
        await client.connected.wait()
        print(f"tunnel vs raw aiohttp WebSocket, TLS 1.3 mTLS on 127.0.0.1, median of {rounds}"
              f" interleaved rounds; {load_average()}")  # fmt: skip
        print("case    ours m/s   raw m/s ours MB/s raw MB/s  ratio cpu-ratio")
        for case in cases:
            print(await compare(rig, client, raw, case, rounds), flush=True)
        await client.stop()
        await raw.stop()
        resyncs = [await resync_time(rig, 500) for _ in range(rounds)]
        resynced = statistics.median(resyncs)
        print(f"reconnect-to-resynced, cut with 500 unacked: {resynced:.3f} s ({load_average()})")
        figure(
            "reconnect -> resynced, 500 unacked",
            resynced,
            "s",
            goal="<= 2 s",
            met=resynced <= 2,
        )
        print("goals: ratio >= 50% of raw; reconnect-to-resynced <= 2 s")
        await rig.server.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer messages and runs")
    asyncio.run(main(parser.parse_args().quick))

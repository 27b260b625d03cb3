"""`camelops sidecar` as a real process next to a real Camel JVM: ships to a relay, answers
status and replay (to the runner's token only, as on a pod address), stops cleanly on
SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contract.telemetry import ExchangeRecord, TelemetryBatch
from runner.relay import relay_app
from tests.e2e.camel.conftest import ROOT, StartCamel, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
TOKEN = "runner-token-for-the-test"
RUNNER = {"Authorization": f"Bearer {TOKEN}"}

ROUTES = """
- route:
    id: greet-http
    from:
      uri: platform-http:/greet
      steps:
        - to:
            id: to-greet
            uri: direct:greet
- route:
    id: greet
    from:
      uri: direct:greet
      steps:
        - filter:
            id: only-bad
            simple: "${body} contains 'bad'"
            steps:
              - throwException:
                  id: boom
                  exceptionType: java.lang.IllegalStateException
                  message: "bad greeting"
        - setBody:
            id: answer
            simple: "hello ${body}"
"""


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_sidecar_process_ships_serves_status_and_replays(
    start_camel: StartCamel, aiohttp_server: ServerFactory
) -> None:
    received: list[TelemetryBatch] = []

    async def deliver(batch: TelemetryBatch) -> None:
        received.append(batch)

    relay = await aiohttp_server(relay_app(deliver))
    jvm = await start_camel({"greet.camel.yaml": ROUTES}, {})
    api_port = free_port()
    command = [
        sys.executable, "-m", "camelops", "sidecar", "--integration", "greet",
        "--jolokia-url", jvm.jolokia_url, "--listen-port", str(api_port),
        "--relay-url", f"http://127.0.0.1:{relay.port}/v1/telemetry",
        "--replay-endpoint", "direct:greet",
    ]  # fmt: skip
    env = {**os.environ, "CAMELOPS_SIDECAR_TOKEN": TOKEN}
    sidecar = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, env=env)
    try:
        async with aiohttp.ClientSession(headers=RUNNER) as session:
            status_url = f"http://127.0.0.1:{api_port}/v1/status"
            await wait_for(lambda: sidecar.poll() is None and bool(received), "first batch")
            await _wait_connected(session, status_url)
            await _refuses_without_the_token(api_port)
            for body in ("world", "bad one"):
                async with session.post(f"{jvm.http_url}/greet", data=body) as response:
                    await response.read()

            def exchanges() -> list[ExchangeRecord]:
                return [e for b in received for e in b.exchanges]

            await wait_for(lambda: len(exchanges()) == 2, "two exchanges shipped")
            failed = next(e for e in exchanges() if e.status == "failed")
            assert failed.failed_node == "boom"
            replay = f"http://127.0.0.1:{api_port}/v1/replay"
            async with session.post(replay, json={"exchange_id": failed.exchange_id}) as response:
                answer = await response.json()
            assert answer["outcome"] == "failed", "the cause is not fixed: the route throws again"
            # what the route threw, not Camel's CamelExecutionException around it
            assert answer["reason"] == "java.lang.IllegalStateException: bad greeting"
            async with session.post(replay, data=b"{not json") as response:
                assert response.status == 400
    finally:
        sidecar.send_signal(signal.SIGTERM)
        _, stderr = sidecar.communicate(timeout=20)
    assert sidecar.returncode == 0, stderr.decode()[-2000:]


async def _refuses_without_the_token(port: int) -> None:
    async with aiohttp.ClientSession() as stranger:
        for headers in ({}, {"Authorization": "Bearer not-the-token"}):
            replay = f"http://127.0.0.1:{port}/v1/replay"
            async with stranger.post(replay, json={"exchange_id": "x"}, headers=headers) as r:
                assert r.status == 401
            async with stranger.get(f"http://127.0.0.1:{port}/v1/status", headers=headers) as r:
                assert r.status == 401


async def _wait_connected(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            async with session.get(url) as response:
                if (await response.json())["connected"]:
                    return
        except aiohttp.ClientError:
            pass
        assert time.monotonic() < deadline, "sidecar never connected to Camel"
        await asyncio.sleep(0.1)

"""Real Jolokia answers for the sidecar bench: our Camel runtime (examples/camel-app, built by
tools/camel-app/build.sh into .cache/camel-app) on loopback, HTTP orders through one route, and
the raw bytes of each poll, through the tracer's own dump and through our in-JVM drain."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from telemetry.jolokia import JolokiaClient, JolokiaError
from telemetry.sidecar.capture import DRAIN_OPERATION, DUMP_OPERATION, CamelTarget, TracerCapture
from telemetry.sidecar.settings import SidecarSettings

ROOT = Path(__file__).resolve().parent.parent
APP_HOME = ROOT / ".cache" / "camel-app"
ROUTE = """
- route:
    id: orders
    from:
      uri: platform-http:/orders
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
        - setBody:
            id: reply
            constant: accepted
"""
HEADERS = {
    "Authorization": "Bearer s3cr3t-t0ken.abc",
    "X-Iban": "DE89370400440532013000",
    "Content-Type": "application/json",
}
CHUNK = 100  # exchanges between two polls: ~600 events, inside the tracer's 1,000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _order(n: int, failed: bool) -> str:
    return json.dumps(
        {"id": n, "customer": "jane.roe@example.org", "card": "4111 1111 1111 1111",
         "sku": "A-1", "amount": -1 if failed else 10},
        separators=(",", ":"),  # the route's check reads '"amount":-'
    )  # fmt: skip


@dataclass
class CamelRun:
    session: aiohttp.ClientSession
    client: JolokiaClient
    target: CamelTarget
    http_url: str

    async def answers(
        self, exchanges: int, fail_every: int, rate: float, *, drained: bool
    ) -> tuple[list[bytes], float]:
        """Send ``exchanges`` orders (one in ``fail_every`` failing) and return the raw bytes
        of every poll the sidecar would make meanwhile, and the JVM's CPU seconds for it all
        (HTTP, routes, tracer, answering the polls)."""
        cpu_before = await self._jvm_cpu_seconds()
        polls: list[bytes] = []
        for start in range(0, exchanges, CHUNK):
            numbers = range(start, min(start + CHUNK, exchanges))
            await asyncio.gather(
                *(self._post(n, n % fail_every == fail_every - 1) for n in numbers)
            )
            polls.append(await self._poll(rate, drained=drained))
        if drained:  # what the JVM still holds (it decides an exchange at its end)
            polls.append(await self._poll(rate, drained=True))
        return polls, await self._jvm_cpu_seconds() - cpu_before

    async def _jvm_cpu_seconds(self) -> float:
        value = await self.client.read("java.lang:type=OperatingSystem", ["ProcessCpuTime"])
        return float(value["ProcessCpuTime"]) / 1e9

    async def _post(self, n: int, failed: bool) -> None:
        url = f"{self.http_url}/orders"
        async with self.session.post(url, data=_order(n, failed), headers=HEADERS) as answer:
            await answer.read()

    async def _poll(self, rate: float, *, drained: bool) -> bytes:
        if drained:
            assert self.target.drain_mbean is not None
            request: dict[str, Any] = {
                "type": "exec", "mbean": self.target.drain_mbean,
                "operation": DRAIN_OPERATION, "arguments": [rate, "", 30_000],
            }  # fmt: skip
        else:
            request = {"type": "exec", "mbean": self.target.tracer_mbean,
                       "operation": DUMP_OPERATION, "arguments": []}  # fmt: skip
        async with self.session.post(self.client.url, json=[request]) as answer:
            return await answer.read()


def _ensure_built() -> None:
    if not (APP_HOME / ".stamp").exists():
        subprocess.run(["bash", str(ROOT / "tools/camel-app/build.sh"), str(APP_HOME)], check=True)


@asynccontextmanager
async def camel_run() -> AsyncIterator[CamelRun]:
    """One JVM for the whole bench, the tracer switched on as the sidecar does it."""
    _ensure_built()
    http_port, jolokia_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as directory:
        routes = Path(directory)
        (routes / "orders.camel.yaml").write_text(ROUTE)
        (routes / "application.properties").write_text(
            "camel.main.name = bench\ncamel.server.enabled = true\n"
            f"camel.server.host = 127.0.0.1\ncamel.server.port = {http_port}\n"
            "camel.main.streamCachingEnabled = true\n"
        )
        env = {**os.environ, "CAMEL_APP_JAVA_OPTS": "-Xmx192m -XX:TieredStopAtLevel=1"}
        process = subprocess.Popen(
            [str(APP_HOME / "bin/camel-app"), directory, str(jolokia_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            async with aiohttp.ClientSession() as session:
                client = JolokiaClient(f"http://127.0.0.1:{jolokia_port}/jolokia/", session)
                capture = TracerCapture(
                    client, SidecarSettings(integration="orders"), clock=time.monotonic
                )
                target = await _connected(capture, process)
                yield CamelRun(session, client, target, f"http://127.0.0.1:{http_port}")
        finally:
            process.terminate()
            process.wait(timeout=30)


async def _connected(capture: TracerCapture, process: subprocess.Popen[bytes]) -> CamelTarget:
    deadline = time.monotonic() + 120
    while True:
        try:
            states = await capture.client.read("org.apache.camel:type=routes,*", ["State"])
            if (
                isinstance(states, dict)
                and states
                and all(
                    isinstance(v, dict) and v.get("State") == "Started" for v in states.values()
                )
            ):
                return await capture.connect()
        except JolokiaError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the Camel runtime did not start")
        await asyncio.sleep(0.5)

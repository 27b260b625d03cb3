"""The whole telemetry and replay path with nothing standing in: a real Camel JVM, the real
`camelops sidecar` process, the runner's relay and replay handler on the real mTLS tunnel, the
control plane's ingestor into chDB, and the replay API with its audit records."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from reconciler.api.app import build_services, make_app
from reconciler.api.replays import install_replays
from reconciler.replay_waiter import TunnelReplaySender
from reconciler.store.records import Role
from runner.forwarder import runner_relay_app
from runner.replay import RunnerReplay, sidecars_by_integration
from telemetry.intake import ControlPlaneTelemetry
from telemetry.store import TelemetryStore
from tests.e2e.camel.conftest import ROOT, StartCamel, free_port
from tests.integration.reconciler.apiclient import issue
from tests.integration.reconciler.conftest import core, git_repo  # noqa: F401 (fixtures)
from tests.integration.reconciler.harness import Core
from tests.integration.telemetry_path.conftest import (  # noqa: F401 (fixtures)
    loopback_apps,
    routed,
    routing,
    serve,
    telemetry_store,
)
from tests.integration.tunnel.conftest import (  # noqa: F401 (fixtures)
    ORG,
    ControlPlane,
    control_plane,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ClientFactory = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]
REPLAYS = "/api/v1/projects/shop/environments/prod/replays"
EMAIL = "jane.roe@example.org"
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
        - removeHeaders:
            id: strip-http
            pattern: "CamelHttp*"
        - to:
            id: call-stock
            uri: "{{downstream.url}}"
"""


class Stock:
    """The downstream the route calls: down (503) until fixed; records what reached it."""

    def __init__(self) -> None:
        self.down = True
        self.received: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        if self.down:
            return web.Response(status=503, text="stock service down")
        self.received.append(body)
        return web.Response(text="ok")


async def test_camel_failures_reach_the_store_over_the_tunnel_and_replay_is_audited(
    start_camel: StartCamel,
    routed: ControlPlane,  # noqa: F811
    core: Core,  # noqa: F811
    telemetry_store: TelemetryStore,  # noqa: F811
    loopback_apps: list[web.AppRunner],  # noqa: F811
    aiohttp_client: ClientFactory,
    tmp_path: Path,
) -> None:
    store = telemetry_store
    stock = Stock()
    stock_app = web.Application()
    stock_app.router.add_post("/stock", stock.handle)
    stock_url = await serve(loopback_apps, stock_app)
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    callbacks = routing(routed)
    callbacks.environments["prod-runner"] = frozenset({"prod"})
    telemetry = ControlPlaneTelemetry(store, callbacks.environments_of, max_delay_seconds=0.05)
    sender = TunnelReplaySender(routed.server, core.store)
    callbacks.intake, callbacks.replays = telemetry.intake, sender
    client = routed.client(await routed.register("prod-runner", tmp_path))
    relay = await serve(loopback_apps, runner_relay_app(client))
    jvm = await start_camel({"orders.camel.yaml": ROUTES}, {"downstream.url": f"{stock_url}/stock"})
    api_port = free_port()
    command = [
        sys.executable, "-m", "camelops", "sidecar", "--integration", "orders",
        "--environment", "prod", "--jolokia-url", jvm.jolokia_url,
        "--listen-port", str(api_port), "--relay-url", f"{relay}/v1/telemetry",
        "--replay-endpoint", "direct:orders",
    ]  # fmt: skip
    sidecar = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE)
    try:
        async with aiohttp.ClientSession() as session:
            sidecar_url = f"http://127.0.0.1:{api_port}"
            handler = RunnerReplay(
                client, sidecars_by_integration({"orders": sidecar_url}), session
            )
            handler.install()
            await client.start()
            app = make_app(
                build_services(core.store, core.controller, core.controller.metrics),
                run_controller=False,
            )
            install_replays(app, sender, timeout=30)
            api = await aiohttp_client(app)
            await run_scenario(session, api, core, store, jvm.http_url, stock, sidecar_url)
    finally:
        sidecar.send_signal(signal.SIGTERM)
        _, stderr = sidecar.communicate(timeout=20)
    assert sidecar.returncode == 0, stderr.decode()[-2000:]
    assert telemetry.intake.refused == telemetry.intake.lost == 0


async def run_scenario(
    session: aiohttp.ClientSession,
    api: TestClient,  # type: ignore[type-arg]
    plane: Core,
    store: TelemetryStore,
    camel_url: str,
    stock: Stock,
    sidecar_url: str,
) -> None:
    await sidecar_connected(session, sidecar_url)
    bodies = [json.dumps({"order": n, "email": EMAIL}) for n in (1, 2)]
    for order in bodies:
        async with session.post(f"{camel_url}/orders", data=order) as response:
            assert response.status >= 500  # the downstream's 503 comes back through Camel
    await polled(lambda: len(store.failures(ORG, "orders")) == 2)
    assert store.count_text(EMAIL) == 0, "PII is redacted before it leaves the pod"
    failed = store.failures(ORG, "orders")[0]
    stock.down = False
    operator = issue(plane, "olivia", Role.OPERATOR)
    headers = {"Authorization": f"Bearer {operator}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"exchangeId": failed.exchange_id, "integration": "orders"}
    async with api.post(REPLAYS, json=body, headers=headers) as response:
        result = await response.json()
        assert response.status == 200, result
    assert result["state"] == "succeeded"
    assert len(stock.received) == 1
    assert EMAIL in stock.received[0], "the ORIGINAL message was replayed, not the redacted copy"
    # the replayed exchange is traced too, and reaches the store over the tunnel
    await polled(lambda: store.count_exchanges(ORG, "orders") == 3)
    headers["Idempotency-Key"] = uuid.uuid4().hex
    body["exchangeId"] = "never-captured-exchange"
    async with api.post(REPLAYS, json=body, headers=headers) as response:
        expired = await response.json()
        assert response.status == 410, expired
    assert "no longer held" in expired["reason"]
    actions = [r.action for r in plane.store.desired.audit_log(plane.org_id)]
    assert actions.count("replay.requested") == actions.count("replay.completed") == 2


async def polled(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """chDB queries block: ask in a worker thread, so the tunnel and relay keep running."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def sidecar_connected(session: aiohttp.ClientSession, base: str) -> None:
    async def connected() -> bool:
        try:
            async with session.get(f"{base}/v1/status") as response:
                return bool((await response.json())["connected"])
        except aiohttp.ClientError:
            return False

    deadline = time.monotonic() + 60
    while not await connected():
        assert time.monotonic() < deadline, "the sidecar never connected to Camel"
        await asyncio.sleep(0.1)

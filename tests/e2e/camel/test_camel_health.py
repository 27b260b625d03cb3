"""Camel-aware environment health against a real Camel JVM: the sidecar reads route states,
failure counts and Camel's own health checks over Jolokia, ships them with its telemetry through
the real relay to the control plane's intake, and the reconciler records the environment
Degraded, naming the route or the check, although the runner (the driver) reports it Healthy;
healthy again once the route (or the consumer's directory) is back.

What stands in: the runner -> control plane tunnel hop (the relay delivers into the intake in
this process; tests/e2e/camel/test_path_over_tunnel.py runs that hop)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from contract.envelopes import Channel, Envelope
from contract.message_types import STATUS, TELEMETRY_BATCH
from contract.status import Health, Phase, StatusReport
from contract.telemetry import TelemetryBatch
from reconciler.tunnel_callbacks import ReconcilerCallbacks
from runner.relay import relay_app
from telemetry.ingest import Ingestor
from telemetry.intake import CamelVerdict, TelemetryIntake
from telemetry.jolokia import JolokiaClient, JolokiaRequestError
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.settings import SidecarSettings
from telemetry.store import TelemetryStore
from tests.e2e.camel.conftest import StartCamel
from tests.integration.reconciler.conftest import core, git_repo  # noqa: F401 (fixtures)
from tests.integration.reconciler.harness import Core
from tests.integration.telemetry.conftest import telemetry_store  # noqa: F401 (fixture)
from tunnel.pki.identity import RunnerIdentity

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

ROUTES = """
- route:
    id: orders
    from:
      uri: direct:orders
      steps:
        - choice:
            when:
              - simple: "${body} contains 'bad'"
                steps:
                  - throwException:
                      exceptionType: java.lang.IllegalArgumentException
                      message: "rejected"
        - setBody:
            constant: accepted
- route:
    id: stock
    from:
      uri: direct:stock
      steps:
        - setBody:
            constant: in stock
"""
SEND = "sendBody(java.lang.String,java.lang.Object)"


class Plane:
    """The reconciler's callbacks over the real state store, fed by the real intake."""

    def __init__(self, made: Core, store: TelemetryStore) -> None:
        self.core = made
        self.runner = RunnerIdentity("acme", "prod-runner")
        self.callbacks = ReconcilerCallbacks()
        self.callbacks.bind(made.store)
        ingestor = Ingestor(store)
        self.intake = TelemetryIntake(
            ingestor.ingest_async, self.callbacks.environments_of, on_camel=self.camel
        )

    async def camel(self, runner: RunnerIdentity, verdict: CamelVerdict) -> None:
        # what `camelops serve` wires (camelops.wiring.control_plane._wire_telemetry)
        await self.callbacks.camel_health(
            runner, verdict.environment, verdict.integration, verdict.pod, verdict.problems
        )
        await self.callbacks.camel_writes_done()  # recorded in the background

    async def deliver(self, batch: TelemetryBatch) -> None:
        """The tunnel's telemetry channel, as `TunnelForwarder` wraps a batch."""
        payload = {"batch": batch.model_dump(mode="json")}
        envelope = Envelope(
            id=uuid.uuid4().hex, seq=1, channel=Channel.TELEMETRY, type=TELEMETRY_BATCH,
            payload=payload,
        )  # fmt: skip
        assert await self.intake.handle(self.runner, envelope)

    async def runner_reports(self, health: Health) -> None:
        digest = self.bundle_digest()
        report = StatusReport(
            project="shop", environment="prod", revision="r1", digest=digest,
            phase=Phase.SYNCED, health=health,
        )  # fmt: skip
        envelope = Envelope(
            id=uuid.uuid4().hex, seq=1, channel=Channel.STATUS, type=STATUS,
            payload=report.model_dump(mode="json"),
        )  # fmt: skip
        await self.callbacks.message_received(self.runner, envelope)

    def bundle_digest(self) -> str:
        desired = self.core.store.desired
        env = desired.environment(self.core.project.id, "prod")
        assert env is not None
        assert env.latest_bundle_id is not None
        bundle = desired.load_bundle(env.latest_bundle_id)
        assert bundle is not None
        return bundle.digest

    def shown(self) -> tuple[str, str]:
        latest = self.core.store.desired.deployments(self.core.project.id, "prod")[0]
        return str(latest["state"]), str(latest["detail"])


async def ship(sidecar: Sidecar) -> None:
    """One capture round with a health check, then one batch through the relay."""
    assert await sidecar.step()
    await sidecar.ship_once()


async def test_stopped_route_and_failure_rate_make_the_environment_degraded(
    core: Core,  # noqa: F811
    telemetry_store: TelemetryStore,  # noqa: F811
    start_camel: StartCamel,
    aiohttp_server: ServerFactory,
) -> None:
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    plane = Plane(core, telemetry_store)
    assert "prod" in await plane.callbacks.refresh(plane.runner)
    relay = await aiohttp_server(relay_app(plane.deliver))
    jvm = await start_camel({"orders.camel.yaml": ROUTES}, {})
    settings = SidecarSettings(
        integration="orders",
        environment="prod",
        pod="orders-0",
        jolokia_url=jvm.jolokia_url,
        failure_rate_threshold=0.5,
        failure_min_exchanges=4,
        failure_window_seconds=600,
        health_interval_seconds=0,
        stats_interval_seconds=600,
    )
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{relay.port}/v1/telemetry"
        sidecar = Sidecar(settings, session, relay_url=url)
        jolokia = JolokiaClient(jvm.jolokia_url, session)
        await sidecar.capture.connect()
        assert sidecar.capture.target is not None
        context = sidecar.capture.target.context_mbean
        stock = 'org.apache.camel:context=camel-e2e,type=routes,name="stock"'

        await plane.runner_reports(Health.HEALTHY)
        await ship(sidecar)
        assert plane.shown() == ("Synced/Healthy", "")

        await jolokia.execute(stock, "stop()")
        await ship(sidecar)
        state, detail = plane.shown()
        assert state == "Synced/Degraded"
        assert detail == "Camel: orders: route stock is Stopped"

        await jolokia.execute(stock, "start()")
        await ship(sidecar)
        assert plane.shown() == ("Synced/Healthy", "")

        # failures below the minimum count are not judged; above the threshold they are
        for body in ("bad-1", "ok-1", "bad-2"):
            await _send(jolokia, context, body)
        await ship(sidecar)
        assert plane.shown() == ("Synced/Healthy", "")
        for body in ("bad-3", "bad-4"):
            await _send(jolokia, context, body)
        await ship(sidecar)
        state, detail = plane.shown()
        assert state == "Synced/Degraded"
        assert detail.startswith("Camel: orders: route orders failed 4 of 5 exchanges in the last")
        assert "(80%, threshold 50%)" in detail

        # the runner's own verdict still counts: a worse one stays, with Camel's first
        await plane.runner_reports(Health.UNKNOWN)
        assert plane.shown()[0] == "Synced/Unknown"
    assert sidecar.camel_health is not None
    assert {r.route_id: r.state for r in sidecar.camel_health.routes} == {
        "orders": "Started",
        "stock": "Started",
    }


async def _send(jolokia: JolokiaClient, context: str, body: str) -> Any:
    with contextlib.suppress(JolokiaRequestError):  # a rejected order throws: wanted here
        return await jolokia.execute(context, SEND, "direct:orders", body)
    return None


INBOX_ROUTE = """
- route:
    id: inbox
    from:
      uri: file:{inbox}?autoCreate=false&directoryMustExist=true&delay=200
      steps:
        - log: got ${{header.CamelFileName}}
"""


async def test_a_down_health_check_makes_the_environment_degraded(
    core: Core,  # noqa: F811
    telemetry_store: TelemetryStore,  # noqa: F811
    start_camel: StartCamel,
    aiohttp_server: ServerFactory,
    tmp_path: Path,
) -> None:
    """Every route is Started, yet Camel's consumer check is DOWN: the file consumer cannot
    poll its missing directory. Only the health check sees it; creating the directory heals."""
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    plane = Plane(core, telemetry_store)
    assert "prod" in await plane.callbacks.refresh(plane.runner)
    relay = await aiohttp_server(relay_app(plane.deliver))
    inbox = tmp_path / "inbox"
    jvm = await start_camel({"inbox.camel.yaml": INBOX_ROUTE.format(inbox=inbox)}, {})
    settings = SidecarSettings(
        integration="orders", environment="prod", pod="orders-0",
        jolokia_url=jvm.jolokia_url, health_interval_seconds=0, stats_interval_seconds=600,
    )  # fmt: skip
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{relay.port}/v1/telemetry"
        sidecar = Sidecar(settings, session, relay_url=url)
        await sidecar.capture.connect()
        await plane.runner_reports(Health.HEALTHY)

        _, detail = await _shipped_until(sidecar, plane, "Synced/Degraded")
        assert detail.startswith(
            "Camel: orders: health check consumer:inbox is DOWN: Consumer failed polling"
        )
        assert f"route: inbox (file://{inbox})" in detail
        assert sidecar.camel_health is not None
        assert [(r.route_id, r.state) for r in sidecar.camel_health.routes] == [
            ("inbox", "Started")
        ]

        inbox.mkdir()
        assert await _shipped_until(sidecar, plane, "Synced/Healthy") == ("Synced/Healthy", "")


async def _shipped_until(sidecar: Sidecar, plane: Plane, state: str) -> tuple[str, str]:
    """Ship verdicts until the recorded state is `state`: the consumer polls every 200 ms, so
    its check turns within a few polls (bounded: a state that never comes fails the test)."""
    deadline = time.monotonic() + 30
    while True:
        await ship(sidecar)
        shown = plane.shown()
        if shown[0] == state or time.monotonic() > deadline:
            assert shown[0] == state, shown
            return shown
        await asyncio.sleep(0.2)  # the consumer's next poll

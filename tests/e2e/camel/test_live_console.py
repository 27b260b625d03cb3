"""The live console against a real Camel JVM: the real sidecar (its API and Jolokia reads) and
the runner's console handler read the routes with their processors, an exchange in flight and
Camel's health checks; targets outside the allow-list never reach the sidecar."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from contract.console import ConsoleHealth, ConsoleInflight, ConsoleRoutes
from contract.proxy import ProxyRequest
from runner.console import RunnerConsole
from runner.sidecar_ref import IntegrationRef
from telemetry.sidecar.api import sidecar_api
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.settings import SidecarSettings
from tests.e2e.camel.conftest import StartCamel

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLOW_ROUTE = """
- route:
    id: tick
    from:
      uri: timer:tick?period=200
      steps:
        - setBody:
            id: set-greeting
            constant: hi
        - delay:
            id: wait-a-bit
            constant: 1500
        - log:
            id: say-it
            message: "${body}"
"""


async def test_routes_inflight_and_health_from_the_real_runtime(start_camel: StartCamel) -> None:
    jvm = await start_camel({"tick.camel.yaml": SLOW_ROUTE}, {})
    async with aiohttp.ClientSession() as session:
        settings = SidecarSettings(integration="ticker", jolokia_url=jvm.jolokia_url)
        sidecar = Sidecar(settings, session, relay_url="http://127.0.0.1:9/v1/telemetry")
        api = web.AppRunner(sidecar_api(sidecar, token="runner-token"), access_log=None)
        await api.setup()
        await web.TCPSite(api, "127.0.0.1", 0).start()
        base = f"http://127.0.0.1:{api.addresses[0][1]}"

        def lookup(ref: IntegrationRef) -> str | None:
            return base if (ref.environment, ref.integration) == ("dev", "ticker") else None

        console = RunnerConsole(lookup, session, token="runner-token")

        async def read(target: str, path: str = "dev/ticker") -> str:
            request = ProxyRequest(request_id="req-00000001", target=target, path=path)
            answer = await console.answer(request)
            assert answer.status == 200, answer.error
            return answer.body

        try:
            await asyncio.sleep(2.0)  # a few ticks in, some still in their delay
            routes = ConsoleRoutes.model_validate_json(await read("console-routes"))
            (tick,) = routes.routes
            assert (tick.id, tick.state) == ("tick", "Started")
            assert [p.id for p in tick.processors] == ["set-greeting", "wait-a-bit", "say-it"]
            assert tick.processors[0].exchanges_total >= 1
            inflight = ConsoleInflight.model_validate_json(await read("console-inflight"))
            assert inflight.total >= 1
            assert {x.node_id for x in inflight.exchanges} == {"wait-a-bit"}
            health = ConsoleHealth.model_validate_json(await read("console-health"))
            assert health.healthy
            assert health.ready
            assert health.live
            assert "context" in {c.id for c in health.checks}
            refused = await console.answer(
                ProxyRequest(request_id="req-00000002", target="jolokia", path="dev/ticker")
            )
            assert refused.status == 0
            assert "not allowed" in refused.error
            # the sidecar itself: its token is required, unknown consoles are 404
            async with session.get(f"{base}/v1/console/routes") as unauthenticated:
                assert unauthenticated.status == 401
            headers = {"Authorization": "Bearer runner-token"}
            async with session.get(f"{base}/v1/console/trace", headers=headers) as unknown:
                assert unknown.status == 404
        finally:
            await api.cleanup()

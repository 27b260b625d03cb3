"""A replay that fails again reports what the route threw (Camel's root cause, redacted), not
the CamelExecutionException Camel wraps it in: against a real Camel JVM and Jolokia agent."""

from __future__ import annotations

import aiohttp
import pytest

from telemetry.sidecar.buffers import ReplayOriginal
from telemetry.sidecar.replay import ReplayOutcome
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.settings import SidecarSettings
from tests.e2e.camel.conftest import StartCamel, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROUTES = """
- route:
    id: orders
    from:
      uri: direct:orders
      steps:
        - throwException:
            id: reject
            exceptionType: java.lang.IllegalStateException
            message: "no stock for ${body}"
- route:
    id: stock
    from:
      uri: direct:stock
      steps:
        - to:
            id: call-stock
            uri: "http://127.0.0.1:{{closed.port}}/stock"
"""
CUSTOMER = "CUST-204816"


async def test_failed_replay_carries_the_root_cause_redacted(start_camel: StartCamel) -> None:
    jvm = await start_camel({"orders.camel.yaml": ROUTES}, {"closed.port": str(free_port())})
    settings = SidecarSettings(
        integration="orders", jolokia_url=jvm.jolokia_url, redaction_patterns=(r"CUST-\d{6}",)
    )
    async with aiohttp.ClientSession() as session:
        sidecar = Sidecar(settings, session, relay_url="http://127.0.0.1:9/v1/telemetry")
        await sidecar.capture.connect()
        for exchange, endpoint in (("EX-1", "direct:orders"), ("EX-2", "direct:stock")):
            # the original as the capture holds it after a failed exchange
            sidecar.capture.replay.put(
                ReplayOriginal(
                    exchange_id=exchange,
                    route_id=endpoint.removeprefix("direct:"),
                    endpoint_uri=endpoint,
                    body=f"order of {CUSTOMER}",
                    headers=(),
                    captured_at=sidecar.clock(),
                )
            )
        thrown = await sidecar.replay("EX-1")
        refused = await sidecar.replay("EX-2")
    assert thrown.outcome is ReplayOutcome.FAILED
    assert thrown.reason == "java.lang.IllegalStateException: no stock for order of [REDACTED]"
    assert refused.outcome is ReplayOutcome.FAILED
    assert refused.reason.startswith("org.apache.hc.client5.http.HttpHostConnectException: ")
    assert "Connection refused" in refused.reason
    for result in (thrown, refused):
        assert "CamelExecutionException" not in result.reason
        assert CUSTOMER not in result.reason

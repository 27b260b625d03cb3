"""The sidecar end of the replay tests: the sidecar's real replay HTTP API and buffer.

What stands in: only the Jolokia HTTP hop. The sidecar (`telemetry.sidecar.service.Sidecar`),
its replay buffer, its `ReplayExecutor` and its aiohttp API are the real ones; the executor's
Jolokia client records the `sendBodyAndHeaders` call instead of sending it to a JVM (or fails
the way a route that throws again makes Jolokia fail). tests/e2e/camel covers the JVM hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from telemetry.jolokia import JolokiaClient, JolokiaRequestError
from telemetry.sidecar.buffers import ReplayOriginal
from telemetry.sidecar.capture import CamelTarget
from telemetry.sidecar.replay import ReplayExecutor
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.settings import SidecarSettings

CONTEXT_MBEAN = 'org.apache.camel:context=orders,type=context,name="orders"'
TTL_SECONDS = 60.0


class RecordingJolokia(JolokiaClient):
    """Records what would have gone to the JVM; `fail_with` makes the route throw again."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        super().__init__("http://127.0.0.1:9/jolokia/", session)
        self.sent: list[tuple[str, str, tuple[Any, ...]]] = []
        self.fail_with = ""

    async def execute(
        self, mbean: str, operation: str, *arguments: Any, stack_trace: bool = False
    ) -> Any:
        if self.fail_with:
            # the shape Jolokia 2.3 answers with when Camel's sendBody throws (seen against
            # the real JVM): the wrapper in `error`, the cause chain only in the stack trace
            wrapper = "org.apache.camel.CamelExecutionException"
            raise JolokiaRequestError(
                f"{wrapper} : Exception occurred during execution on the exchange: Exchange[X-1]",
                error_type=wrapper,
                status=500,
                stack_trace=(
                    f"{wrapper}: Exception occurred during execution on the exchange\n"
                    "\tat org.apache.camel.support.ExchangeHelper.extractResultBody(x.java:1)\n"
                    f"Caused by: {self.fail_with}\n\t... 42 more\n"
                )
                if stack_trace
                else "",
            )
        self.sent.append((mbean, operation, arguments))
        return None


@dataclass
class SteppedClock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


def sidecar_with_originals(
    session: aiohttp.ClientSession, clock: SteppedClock, *, held: int = 3
) -> tuple[Sidecar, RecordingJolokia]:
    settings = SidecarSettings(
        integration="orders", replay_endpoint="direct:orders", replay_ttl_seconds=TTL_SECONDS
    )
    sidecar = Sidecar(settings, session, relay_url="http://127.0.0.1:9/v1/telemetry", clock=clock)
    jolokia = RecordingJolokia(session)
    sidecar.executor = ReplayExecutor(
        jolokia, sidecar.capture.replay, default_endpoint=settings.replay_endpoint
    )
    sidecar.capture.target = CamelTarget("agent-1", CONTEXT_MBEAN, "tracer")
    for n in range(1, held + 1):
        sidecar.capture.replay.put(
            ReplayOriginal(
                exchange_id=f"EX-{n}",
                route_id="orders-http",
                endpoint_uri="platform-http:/orders",
                body=f'{{"order":{n},"card":"4111111111111111"}}',
                headers=(("X-Customer", "CUST-000001"), ("CamelHttpUri", "/orders")),
                captured_at=clock(),
            )
        )
    return sidecar, jolokia

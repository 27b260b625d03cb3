"""Our runtime's in-JVM tracer drain (examples/camel-app, io.camelops.trace.TraceDrain) read
straight over Jolokia: it sends only failed and sampled exchanges, whole, and counts the rest;
its sample decision is the sidecar's, exchange by exchange."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from telemetry.jolokia import JolokiaClient
from telemetry.sidecar.buffers import sampled_in
from telemetry.sidecar.capture import DRAIN_OPERATION, TracerCapture
from telemetry.sidecar.events import DrainedDump, decode_drained
from telemetry.sidecar.replay import SEND_OPERATION
from telemetry.sidecar.settings import SidecarSettings
from tests.e2e.camel.conftest import WITHOUT_DRAIN, StartCamel

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROUTES = """
- route:
    id: orders
    from:
      uri: platform-http:/orders
      steps:
        - setHeader:
            id: tell-id
            name: X-Exchange-Id
            simple: "${exchangeId}"
        - to:
            id: to-checked
            uri: direct:checked
- route:
    id: checked
    from:
      uri: direct:checked
      steps:
        - convertBodyTo:
            id: as-text
            type: java.lang.String
        - choice:
            id: validate
            when:
              - simple: "${body} contains 'bad'"
                steps:
                  - throwException:
                      id: reject
                      exceptionType: java.lang.IllegalArgumentException
                      message: "bad order"
        - setBody:
            id: reply
            constant: accepted
"""
RATE = 0.5


async def post(session: aiohttp.ClientSession, url: str, body: str) -> tuple[int, str]:
    async with session.post(f"{url}/orders", data=body) as response:
        return response.status, response.headers.get("X-Exchange-Id", "")


async def drain_all(
    client: JolokiaClient, mbean: str, exchanges: int, *, rate: float = RATE, keep_header: str = ""
) -> DrainedDump:
    """Drain until the JVM has seen every event of ``exchanges`` exchanges and holds none."""
    total = DrainedDump()
    deadline = time.monotonic() + 30
    while True:
        answer = await client.execute(mbean, DRAIN_OPERATION, rate, keep_header, 30_000)
        drained = decode_drained(answer)
        total.traces.extend(drained.traces)
        total.events_seen += drained.events_seen
        total.exchanges_sampled_out += drained.exchanges_sampled_out
        pending = await client.read(mbean, ["PendingExchanges"])
        if total.events_seen >= exchanges * 3 and pending["PendingExchanges"] == 0:
            return total
        assert time.monotonic() < deadline, (total.events_seen, pending)


def events_by_exchange(traces: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for event in traces:
        grouped.setdefault(event.exchange_id, []).append(event)
    return grouped


async def test_the_jvm_sends_failed_and_sampled_exchanges_whole_and_counts_the_rest(
    start_camel: StartCamel,
) -> None:
    jvm = await start_camel({"orders.camel.yaml": ROUTES}, {})
    async with aiohttp.ClientSession() as session:
        client = JolokiaClient(jvm.jolokia_url, session)
        capture = TracerCapture(
            client,
            SidecarSettings(integration="orders", jolokia_url=jvm.jolokia_url),
            clock=time.monotonic,
        )
        target = await capture.connect()  # switches the tracer on, as the sidecar does
        assert target.drain_mbean is not None
        answers = [await post(session, jvm.http_url, f"good {n}") for n in range(24)]
        answers += [await post(session, jvm.http_url, f"bad {n}") for n in range(4)]
        drained = await drain_all(client, target.drain_mbean, len(answers))
        # nothing sampled, yet an input carrying the header the sidecar asks for is sent
        # (as its replays do: over Jolokia, since platform-http drops Camel* headers from HTTP)
        for headers in ({"CamelopsReplayOf": "EX-1"}, {}):
            await client.execute(
                target.context_mbean, SEND_OPERATION, "direct:checked", "good again", headers
            )
        by_header = await drain_all(
            client, target.drain_mbean, 2, rate=0.0, keep_header="CamelopsReplayOf"
        )
    (marked,) = events_by_exchange(by_header.traces).values()
    assert marked[0].route_id == "checked"
    assert marked[0].message is not None
    assert ("CamelopsReplayOf", "EX-1") in marked[0].message.headers
    assert by_header.exchanges_sampled_out == 1

    good_ids = {exchange_id for status, exchange_id in answers if status == 200}
    assert len(good_ids) == 24
    assert [status for status, _ in answers[24:]] == [500] * 4
    kept = events_by_exchange(drained.traces)
    failed = {key for key, events in kept.items() if any(e.failed for e in events)}
    assert len(failed) == 4, "every failure is sent"
    sampled = {exchange_id for exchange_id in good_ids if sampled_in(exchange_id, RATE)}
    assert 0 < len(sampled) < 24
    # the JVM's decision is the sidecar's, exchange by exchange; the rest are not sent
    assert set(kept) - failed == sampled
    assert drained.exchanges_sampled_out == 24 - len(sampled)
    for events in kept.values():
        # whole: the route's first event (with its input message) to its last
        assert events[0].first
        assert events[-1].last
        assert events[0].lazy_message is not None
        assert [e.node_id for e in events if not e.first and not e.last][:3] == [
            "tell-id", "to-checked", "as-text",
        ]  # fmt: skip


async def test_a_jvm_started_without_the_drain_is_read_through_the_tracer_dump(
    start_camel: StartCamel,
) -> None:
    jvm = await start_camel({"orders.camel.yaml": ROUTES}, {}, java_opts=WITHOUT_DRAIN)
    async with aiohttp.ClientSession() as session:
        client = JolokiaClient(jvm.jolokia_url, session)
        settings = SidecarSettings(integration="orders", jolokia_url=jvm.jolokia_url)
        capture = TracerCapture(client, settings, clock=time.monotonic)
        target = await capture.connect()
        assert target.drain_mbean is None
        status, _ = await post(session, jvm.http_url, "bad 1")
        assert status == 500
        deadline = time.monotonic() + 30
        while not len(capture.ring):
            await capture.poll_once()
            assert time.monotonic() < deadline, capture.counters
    (record,) = capture.ring.peek(5)
    assert record.failed_node == "reject"

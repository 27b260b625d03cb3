"""A retiring sidecar's replay originals reach its successor at a rollout (the local driver's
handover): the real sidecar APIs on loopback, the runner's real handover client; only the
Jolokia hop records instead of calling a JVM (replay_rig). tests/e2e/local runs it for real."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from runner.drivers.local.handover import HandoverFailed, export_from, hand_over, import_into
from telemetry.sidecar.api import sidecar_api
from telemetry.sidecar.service import Sidecar
from telemetry.sidecar.settings import SidecarSettings
from tests.integration.telemetry_path.conftest import serve
from tests.integration.telemetry_path.replay_rig import (
    TTL_SECONDS,
    RecordingJolokia,
    SteppedClock,
    sidecar_with_originals,
)

OLD_TOKEN, NEW_TOKEN = "old-" + "x" * 40, "new-" + "y" * 40


@dataclass
class Pair:
    old: Sidecar
    new: Sidecar
    new_jolokia: RecordingJolokia
    old_port: int
    new_port: int
    old_clock: SteppedClock
    new_clock: SteppedClock


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
async def pair(loopback_apps: list[web.AppRunner]) -> AsyncIterator[Pair]:
    async with aiohttp.ClientSession() as session:
        old_clock, new_clock = SteppedClock(1_000.0), SteppedClock(50.0)  # each its own clock
        old, _ = sidecar_with_originals(session, old_clock)
        # the successor: same settings, nothing held yet
        new, new_jolokia = sidecar_with_originals(session, new_clock, held=0)
        old_url = await serve(loopback_apps, sidecar_api(old, handover_token=OLD_TOKEN))
        new_url = await serve(loopback_apps, sidecar_api(new, handover_token=NEW_TOKEN))
        yield Pair(old, new, new_jolokia, port_of(old_url), port_of(new_url), old_clock, new_clock)


async def replay(port: int, exchange_id: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/v1/replay", json={"exchange_id": exchange_id}
        ) as answer,
    ):
        return answer.status, (await answer.json())["outcome"]


async def test_the_successor_replays_what_the_old_sidecar_held(pair: Pair) -> None:
    assert await replay(pair.new_port, "EX-2") == (410, "expired")  # the bug: nothing held
    pair.old_clock.now += 20  # captured 20 s before the handover
    taken = await asyncio.to_thread(
        hand_over, [(pair.old_port, OLD_TOKEN)], (pair.new_port, NEW_TOKEN)
    )
    assert taken == 3
    assert await replay(pair.new_port, "EX-2") == (200, "succeeded")
    (_, _, (endpoint, body, headers)) = pair.new_jolokia.sent[-1]
    # the original, unredacted message, as the old sidecar captured it
    assert (endpoint, body) == ("direct:orders", '{"order":2,"card":"4111111111111111"}')
    assert headers["X-Customer"] == "CUST-000001"
    assert headers["CamelopsReplayOf"] == "EX-2"
    # the replay window runs on from the capture, not from the handover
    pair.new_clock.now += TTL_SECONDS - 20 - 1
    assert await replay(pair.new_port, "EX-3") == (200, "succeeded")
    pair.new_clock.now += 1
    assert await replay(pair.new_port, "EX-1") == (410, "expired")


async def test_originals_past_their_window_are_not_taken(pair: Pair) -> None:
    pair.old_clock.now += TTL_SECONDS + 1
    assert await asyncio.to_thread(export_from, pair.old_port, OLD_TOKEN) == (
        b'{"originals":[],"replayed":[]}'
    )


def status_of(port: int, method: str, token: str | None, data: bytes | None = None) -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/originals", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


async def test_originals_leave_a_sidecar_only_for_its_own_token(pair: Pair) -> None:
    payload = await asyncio.to_thread(export_from, pair.old_port, OLD_TOKEN)
    for token in (None, "", NEW_TOKEN, OLD_TOKEN[:-1], OLD_TOKEN + "x"):
        assert await asyncio.to_thread(status_of, pair.old_port, "GET", token) == 401
    for token in (None, "", OLD_TOKEN, NEW_TOKEN[:-1]):
        assert await asyncio.to_thread(status_of, pair.new_port, "POST", token, payload) == 401
    with pytest.raises(HandoverFailed, match="answered 401"):
        await asyncio.to_thread(export_from, pair.old_port, NEW_TOKEN)
    assert len(pair.new.capture.replay) == 0


async def test_a_sidecar_without_a_token_has_no_handover(
    pair: Pair, loopback_apps: list[web.AppRunner]
) -> None:
    async with aiohttp.ClientSession() as session:
        plain = Sidecar(
            SidecarSettings(integration="orders"), session, relay_url="http://127.0.0.1:9/"
        )
        port = port_of(await serve(loopback_apps, sidecar_api(plain)))
        assert await asyncio.to_thread(status_of, port, "GET", "") == 404
        assert await asyncio.to_thread(status_of, port, "GET", OLD_TOKEN) == 404
    # an adopted sidecar (its token gone with the previous runner) is skipped, not guessed
    assert (
        await asyncio.to_thread(hand_over, [(pair.old_port, "")], (pair.new_port, NEW_TOKEN)) == 0
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"originals":[],"replayed":[],"extra":1}',
        b'{"originals":[{"exchange_id":"","route_id":"r","endpoint_uri":"direct:r",'
        b'"body":"b","headers":[],"age_seconds":1}],"replayed":[]}',
        b'{"originals":[{"exchange_id":"EX-9","route_id":"r","endpoint_uri":"direct:r",'
        b'"body":"b","headers":[],"age_seconds":-5}],"replayed":[]}',
    ],
)
async def test_a_malformed_handover_is_refused_whole(pair: Pair, payload: bytes) -> None:
    with pytest.raises(HandoverFailed, match="answered 400"):
        await asyncio.to_thread(import_into, pair.new_port, NEW_TOKEN, payload)
    assert len(pair.new.capture.replay) == 0


async def test_a_successor_not_listening_yet_is_waited_for_then_given_up(pair: Pair) -> None:
    payload = await asyncio.to_thread(export_from, pair.old_port, OLD_TOKEN)
    with pytest.raises(HandoverFailed, match="unreachable"):
        await asyncio.to_thread(import_into, 9, NEW_TOKEN, payload, wait=0.5)

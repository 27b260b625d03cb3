"""Replay as an audited API command: API -> real mTLS tunnel -> runner -> the sidecar's real
replay HTTP API (see replay_rig for the one hop that stands in: Jolokia) -> result back.

The sidecar is the real aiohttp app served on 127.0.0.1 in front of a Jolokia-less replay
executor (the real `ReplayExecutor` and buffer; its Jolokia client records instead of sending).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from contract.envelopes import Channel, Envelope
from contract.message_types import REPLAY, REPLAY_RESULT
from reconciler.api.app import build_services, make_app
from reconciler.api.replays import install_replays
from reconciler.replay_waiter import TunnelReplaySender
from reconciler.store.records import Role
from runner.replay import RunnerReplay, sidecars_by_integration
from runner.sidecar_ref import IntegrationRef
from telemetry.sidecar.api import sidecar_api
from tests.integration.reconciler.apiclient import issue
from tests.integration.reconciler.harness import Core
from tests.integration.telemetry_path.conftest import routing, serve
from tests.integration.telemetry_path.replay_rig import (
    CONTEXT_MBEAN,
    TTL_SECONDS,
    RecordingJolokia,
    SteppedClock,
    sidecar_with_originals,
)
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually
from tunnel.client import TunnelClient
from tunnel.pki.identity import RunnerIdentity

REPLAYS = "/api/v1/projects/shop/environments/prod/replays"
ClientFactory = Callable[[web.Application], Awaitable[TestClient]]  # type: ignore[type-arg]


@dataclass
class Rig:
    api: TestClient  # type: ignore[type-arg]
    core: Core
    operator: str
    viewer: str
    runner: TunnelClient
    handler: RunnerReplay
    jolokia: RecordingJolokia
    clock: SteppedClock

    async def replay(
        self, exchange: str, key: str | None = None, token: str | None = None, **extra: Any
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token or self.operator}"}
        headers["Idempotency-Key"] = key or uuid.uuid4().hex
        body = {"exchangeId": exchange, "integration": "orders", **extra}
        response = await self.api.post(REPLAYS, json=body, headers=headers)
        return response.status, await response.json()

    def audit(self) -> list[dict[str, Any]]:
        return [
            {**asdict(r), "detail": json.loads(r.detail)}
            for r in self.core.store.desired.audit_log(self.core.org_id)
            if r.action.startswith("replay.")
        ]


async def build_rig(
    routed: ControlPlane,
    core: Core,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    apps: list[web.AppRunner],
    session: aiohttp.ClientSession,
    *,
    timeout: float = 15.0,
    sidecar_token: str = "",
    runner_token: str = "",
) -> Rig:
    core.controller.request(core.project.id)
    await core.controller.wait_idle()  # environments dev and prod exist, prod -> prod-runner
    callbacks = routing(routed)
    callbacks.environments["prod-runner"] = frozenset({"prod"})
    sender = TunnelReplaySender(routed.server, core.store)
    callbacks.replays = sender
    clock = SteppedClock()
    sidecar, jolokia = sidecar_with_originals(session, clock)
    sidecar_url = await serve(apps, sidecar_api(sidecar, token=sidecar_token))
    client = routed.client(await routed.register("prod-runner", tmp_path))
    sidecars = sidecars_by_integration({"orders": sidecar_url})
    handler = RunnerReplay(client, sidecars, session, token=runner_token)
    handler.install()
    await client.start()
    app = make_app(
        build_services(core.store, core.controller, core.controller.metrics), run_controller=False
    )
    install_replays(app, sender, timeout=timeout)
    api = await aiohttp_client(app)
    operator = issue(core, "olivia", Role.OPERATOR)
    viewer = issue(core, "victor", Role.VIEWER)
    return Rig(api, core, operator, viewer, client, handler, jolokia, clock)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
async def rig(
    routed: ControlPlane,
    core: Core,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    loopback_apps: list[web.AppRunner],
    session: aiohttp.ClientSession,
) -> Rig:
    return await build_rig(routed, core, aiohttp_client, tmp_path, loopback_apps, session)


async def test_a_replay_is_audited_sent_to_the_sidecar_and_its_result_recorded(rig: Rig) -> None:
    status, first = await rig.replay("EX-1", key="replay-key-0001")
    assert status == 200, first
    assert first["state"] == "succeeded"
    assert first["endpoint"] == "direct:orders"
    assert first["runner"] == "prod-runner"
    assert first["requestedBy"] == "olivia"
    assert len(first["revision"]) == 40
    # the ORIGINAL message went in: unredacted body, its headers minus transport ones
    [(mbean, _operation, arguments)] = rig.jolokia.sent
    assert mbean == CONTEXT_MBEAN
    assert arguments[0] == "direct:orders"
    assert "4111111111111111" in arguments[1]
    assert arguments[2] == {"X-Customer": "CUST-000001", "CamelopsReplayOf": "EX-1"}
    requested, completed = sorted(rig.audit(), key=lambda r: r["id"])
    assert requested["action"] == "replay.requested"
    assert requested["actor"] == "olivia"
    assert requested["revision"] == first["revision"]
    assert requested["environment"] == "prod"
    assert requested["detail"] == {
        "exchange_id": "EX-1", "integration": "orders", "request_id": first["id"],
        "runner": "prod-runner",
    }  # fmt: skip
    assert completed["action"] == "replay.completed"
    assert completed["detail"]["outcome"] == "succeeded"
    # the same key again: the first result, and nothing sent a second time
    status, again = await rig.replay("EX-1", key="replay-key-0001")
    assert (status, again) == (200, first)
    assert len(rig.jolokia.sent) == 1
    assert rig.handler.sidecar_calls == 1
    assert len(rig.audit()) == 2
    status, reused = await rig.replay("EX-2", key="replay-key-0001")
    assert status == 422, reused


@pytest.mark.parametrize(
    ("runner_token", "state"),
    [("pod-token-1", "succeeded"), ("not-it", "rejected"), ("", "rejected")],
)
async def test_a_sidecar_on_a_pod_address_answers_the_runners_token_only(
    routed: ControlPlane,
    core: Core,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    loopback_apps: list[web.AppRunner],
    session: aiohttp.ClientSession,
    runner_token: str,
    state: str,
) -> None:
    rig = await build_rig(
        routed, core, aiohttp_client, tmp_path, loopback_apps, session,
        sidecar_token="pod-token-1", runner_token=runner_token,
    )  # fmt: skip
    status, answer = await rig.replay("EX-1")
    assert answer["state"] == state, answer
    if state == "rejected":
        assert status == 422
        assert "refused the runner's token" in answer["reason"]
        assert rig.jolokia.sent == [], "nothing replayed for a caller without the token"
    else:
        assert len(rig.jolokia.sent) == 1


async def test_the_sidecars_reasons_come_back_clearly(rig: Rig) -> None:
    rig.jolokia.fail_with = "java.net.ConnectException: stock service down"
    status, failed = await rig.replay("EX-2")
    assert (status, failed["state"]) == (200, "failed")
    # Camel's root cause, not the CamelExecutionException around it
    assert failed["reason"] == "java.net.ConnectException: stock service down"
    rig.jolokia.fail_with = ""
    rig.clock.now += TTL_SECONDS + 1
    status, expired = await rig.replay("EX-3")
    assert (status, expired["state"]) == (410, "expired")
    assert "no longer held" in expired["reason"]
    status, unknown = await rig.replay("EX-1", integration="billing")
    assert (status, unknown["state"]) == (422, "rejected")
    assert "billing" in unknown["reason"]
    outcomes = [
        r["detail"].get("outcome") for r in rig.audit() if r["action"] == "replay.completed"
    ]
    assert sorted(outcomes) == ["expired", "failed", "rejected"]


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, {"exchangeId": "EX-1", "integration": "orders"}, 400),  # no Idempotency-Key
        ({"Idempotency-Key": "short"}, {"exchangeId": "EX-1", "integration": "orders"}, 400),
        ({"Idempotency-Key": "k" * 201}, {"exchangeId": "EX-1", "integration": "orders"}, 400),
        (
            {"Idempotency-Key": "key\u00e9-0001"},
            {"exchangeId": "EX-1", "integration": "orders"},
            400,
        ),
        ({"Idempotency-Key": "valid-key-1"}, {"exchangeId": "EX-1"}, 400),
        ({"Idempotency-Key": "valid-key-2"}, {"exchangeId": "EX 1", "integration": "orders"}, 400),
        ({"Idempotency-Key": "valid-key-3"}, {"exchangeId": "", "integration": "orders"}, 400),
        ({"Idempotency-Key": "valid-key-4"}, {"exchangeId": "EX-1", "integration": "../x"}, 400),
        (
            {"Idempotency-Key": "valid-key-5"},
            {"exchangeId": "EX-1", "integration": "orders", "runner": "x"},
            400,
        ),
        ({"Idempotency-Key": "valid-key-6"}, ["EX-1"], 400),
    ],
)
async def test_broken_requests_are_refused_before_anything_is_recorded(
    rig: Rig, headers: dict[str, str], body: object, expected: int
) -> None:
    response = await rig.api.post(
        REPLAYS, json=body, headers={"Authorization": f"Bearer {rig.operator}", **headers}
    )
    assert response.status == expected, await response.text()
    assert rig.audit() == []
    assert rig.handler.sidecar_calls == 0


async def test_roles_and_scopes(rig: Rig) -> None:
    status, _ = await rig.replay("EX-1", token=rig.viewer)
    assert status == 403
    status, _ = await rig.replay("EX-1", token="cop_not-a-token")
    assert status == 401
    other = issue(rig.core, "mallory", Role.ADMIN, org=rig.core.store.accounts.ensure_org("evil"))
    status, _ = await rig.replay("EX-1", token=other)
    assert status == 404  # another org's project looks absent
    for path in (
        "/api/v1/projects/shop/environments/nope/replays",
        "/api/v1/projects/x/environments/prod/replays",
    ):
        response = await rig.api.post(
            path, json={"exchangeId": "EX-1", "integration": "orders"},
            headers={"Authorization": f"Bearer {rig.operator}", "Idempotency-Key": "valid-key-9"},
        )  # fmt: skip
        assert response.status == 404
    assert rig.audit() == []


async def test_an_offline_runner_gets_the_command_later_and_the_late_result_is_recorded(
    routed: ControlPlane,
    core: Core,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    loopback_apps: list[web.AppRunner],
    session: aiohttp.ClientSession,
) -> None:
    rig = await build_rig(
        routed, core, aiohttp_client, tmp_path, loopback_apps, session, timeout=0.3
    )
    await rig.runner.stop()
    routed.runners.remove(rig.runner)
    status, sent = await rig.replay("EX-1", key="offline-key-1")
    assert (status, sent["state"]) == (202, "sent")
    assert [r["action"] for r in rig.audit()] == ["replay.requested"]
    # the runner comes back: the queued command runs once and its answer is recorded late
    client = routed.client(rig.runner.files.directory.parent)
    handler = RunnerReplay(client, rig.handler.sidecar_url, session)
    handler.install()
    await client.start()
    await eventually(lambda: len(rig.audit()) == 2)
    status, done = await rig.replay("EX-1", key="offline-key-1")
    assert (status, done["state"], done["id"]) == (200, "succeeded", sent["id"])
    assert len(rig.jolokia.sent) == 1


async def test_forged_or_stray_results_change_nothing(
    routed: ControlPlane,
    core: Core,
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    loopback_apps: list[web.AppRunner],
    session: aiohttp.ClientSession,
) -> None:
    """Another runner (dev-runner) answers for a request it never got, and sends garbage on
    the result type: nothing is recorded, and its tunnel stays up."""
    rig = await build_rig(
        routed, core, aiohttp_client, tmp_path, loopback_apps, session, timeout=0.3
    )
    await rig.runner.stop()
    routed.runners.remove(rig.runner)
    status, sent = await rig.replay("EX-1", key="forged-key-1")
    assert (status, sent["state"]) == (202, "sent")
    callbacks = routing(routed)
    callbacks.environments["dev-runner"] = frozenset({"dev"})
    forger = routed.client(await routed.register("dev-runner", tmp_path / "dev"))
    await forger.start()
    forged = {"request_id": sent["id"], "environment": "dev", "outcome": "succeeded"}
    await forger.send(Channel.STATUS, REPLAY_RESULT, forged)
    await forger.send(Channel.STATUS, REPLAY_RESULT, {"request_id": "zz", "outcome": "nope"})
    await forger.send(Channel.STATUS, REPLAY_RESULT, {**forged, "request_id": "0" * 32})
    # one channel is applied in order: once this arrives, the three before it were handled
    await forger.send(Channel.STATUS, "barrier", {})
    await eventually(lambda: any(e.type == "barrier" for _, e in callbacks.received))
    status, still = await rig.replay("EX-1", key="forged-key-1")
    assert (status, still["state"]) == (202, "sent")
    assert [r["action"] for r in rig.audit()] == ["replay.requested"]
    assert forger.connected.is_set()


async def test_concurrent_repeats_and_redelivered_commands_replay_once(
    rig: Rig, routed: ControlPlane
) -> None:
    answers = await asyncio.gather(*(rig.replay("EX-1", key="same-key-0001") for _ in range(4)))
    assert {body["id"] for _, body in answers} == {answers[0][1]["id"]}
    assert {status for status, _ in answers} <= {200, 202}
    # the tunnel may deliver a command again (a runner crash between apply and checkpoint)
    command = {
        "request_id": answers[0][1]["id"], "project": "shop", "environment": "prod",
        "integration": "orders", "exchange_id": "EX-1",
    }  # fmt: skip
    handled = asyncio.Event()

    async def barrier(_envelope: Envelope) -> None:
        handled.set()

    rig.runner.on(Channel.CONTROL, "barrier", barrier)
    runner = RunnerIdentity(ORG, "prod-runner")
    await routed.server.send(runner, Channel.CONTROL, REPLAY, command)
    await routed.server.send(runner, Channel.CONTROL, REPLAY, {**command, "extra": 1})
    await routed.server.send(runner, Channel.CONTROL, "barrier", {})
    await asyncio.wait_for(handled.wait(), 15)  # one channel runs in order: both were handled
    assert rig.handler.sidecar_calls == 1
    assert len(rig.jolokia.sent) == 1
    assert sorted(r["action"] for r in rig.audit()) == ["replay.completed", "replay.requested"]


async def test_a_sidecar_lookup_that_waits_does_not_stall_the_runner(rig: Rig) -> None:
    """The local driver's lookup waits for a rollout's lock, and that rollout waits for its
    retiring sidecar, which flushes to the relay on the runner's own event loop: done on the
    loop, the lookup stalls the runner until the sidecar gives up (seen in the demo: a replay
    right after a fixing push answered nothing for 30 s). The lookup must run off the loop."""
    loop = asyncio.get_running_loop()
    lookup = rig.handler.sidecar_url
    released = threading.Event()

    def waiting_lookup(command: IntegrationRef) -> str | None:
        # released by the event loop: a loop blocked in this call can never release it
        loop.call_soon_threadsafe(released.set)
        return lookup(command) if released.wait(5) else None

    rig.handler.sidecar_url = waiting_lookup
    status, done = await rig.replay("EX-1", key="waiting-lookup-1")
    assert (status, done["state"]) == (200, "succeeded"), done

"""The runner's live-console handler: only allow-listed console targets of an integration the
runner has a sidecar for, answers bounded in size and time and checked against the target's
model. The sidecar is a stand-in aiohttp app on loopback (the real sidecar API is covered in
tests/unit/telemetry/test_sidecar_console.py and end to end in tests/e2e/local)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from contract.console import ConsoleHealth, ConsoleRoutes
from contract.proxy import ProxyRequest, ProxyResponse
from contract.telemetry import TelemetryBatch
from runner.console import RunnerConsole
from runner.sidecar_directory import SidecarDirectory
from runner.sidecar_ref import IntegrationRef

HEALTH = ConsoleHealth(healthy=True, ready=True, live=True).model_dump_json()
ROUTES = ConsoleRoutes(context="orders", state="Started").model_dump_json()


@dataclass
class StandInSidecar:
    """Answers /v1/console/<name> with what the test sets; records the calls it got."""

    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    delay: float = 0.0
    token: str = ""
    calls: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(request.path)
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "missing or wrong runner token"}, status=401)
        await asyncio.sleep(self.delay)
        status, body = self.answers.get(request.match_info["name"], (404, b"{}"))
        return web.Response(status=status, body=body, content_type="application/json")


@pytest.fixture
async def sidecar() -> AsyncIterator[tuple[StandInSidecar, str]]:
    stand_in = StandInSidecar(
        answers={"health": (200, HEALTH.encode()), "routes": (200, ROUTES.encode())}
    )
    app = web.Application()
    app.router.add_get("/v1/console/{name}", stand_in.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield stand_in, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def only(environment: str, integration: str, url: str) -> Callable[[IntegrationRef], str | None]:
    def lookup(ref: IntegrationRef) -> str | None:
        match = (ref.environment, ref.integration) == (environment, integration)
        return url if match else None

    return lookup


def ask(target: str, path: str = "prod/orders", **extra: object) -> ProxyRequest:
    return ProxyRequest.model_validate(
        {"request_id": "req-00000001", "target": target, "path": path, **extra}
    )


async def answer(
    base: str, request: ProxyRequest, *, token: str = "", timeout: float = 5.0, cap: int = 4096
) -> ProxyResponse:
    async with aiohttp.ClientSession() as session:
        console = RunnerConsole(
            only("prod", "orders", base), session, token=token, timeout=timeout, max_bytes=cap
        )
        return await console.answer(request)


async def test_an_allowed_target_is_read_from_the_integrations_sidecar(
    sidecar: tuple[StandInSidecar, str],
) -> None:
    stand_in, base = sidecar
    got = await answer(base, ask("console-health"))
    assert (got.status, got.error) == (200, "")
    assert ConsoleHealth.model_validate_json(got.body).healthy is True
    assert stand_in.calls == ["/v1/console/health"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("camel-health", "is not allowed"),
        ("console-trace", "is not allowed"),
        ("jolokia", "is not allowed"),
        ("console-", "is not allowed"),
    ],
)
async def test_a_target_outside_the_allow_list_is_refused_without_a_call(
    sidecar: tuple[StandInSidecar, str], target: str, reason: str
) -> None:
    stand_in, base = sidecar
    got = await answer(base, ask(target))
    assert got.status == 0
    assert reason in got.error
    assert "console-health" in got.error
    assert stand_in.calls == []


@pytest.mark.parametrize(
    "path",
    [
        "", "prod", "prod/", "/orders", "prod/orders/extra", "../orders", "prod/..",
        "prod/%2e%2e", "Prod/orders", "prod/orders?x=1", "prod/orders#f", "prod\\orders",
        "prod/orders\n", "prod/<script>", "prod/" + "a" * 64, "http://evil/x", "prod//orders",
        "prod/ord ers", "prod/-orders",
    ],
)  # fmt: skip
async def test_a_path_other_than_environment_and_integration_is_refused(
    sidecar: tuple[StandInSidecar, str], path: str
) -> None:
    stand_in, base = sidecar
    got = await answer(base, ask("console-routes", path))
    assert got.status == 0
    assert "<environment>/<integration>" in got.error
    assert stand_in.calls == []


async def test_a_write_is_refused(sidecar: tuple[StandInSidecar, str]) -> None:
    stand_in, base = sidecar
    got = await answer(base, ask("console-routes", method="POST", body="{}"))
    assert got.status == 0
    assert "read-only" in got.error
    assert stand_in.calls == []


async def test_an_integration_without_a_sidecar_here_is_refused(
    sidecar: tuple[StandInSidecar, str],
) -> None:
    stand_in, base = sidecar
    for path in ("prod/payments", "dev/orders"):
        got = await answer(base, ask("console-routes", path))
        assert got.status == 0
        assert "runs no integration" in got.error
    assert stand_in.calls == []


async def test_an_answer_over_the_size_bound_is_refused(
    sidecar: tuple[StandInSidecar, str],
) -> None:
    stand_in, base = sidecar
    huge = ConsoleRoutes(context="x" * 200).model_dump_json().encode()
    stand_in.answers["routes"] = (200, huge)
    got = await answer(base, ask("console-routes"), cap=len(huge) - 1)
    assert got.status == 0
    assert f"exceeds {len(huge) - 1} bytes" in got.error
    assert (await answer(base, ask("console-routes"), cap=len(huge))).status == 200


async def test_a_slow_sidecar_is_given_up_within_the_time_bound(
    sidecar: tuple[StandInSidecar, str],
) -> None:
    stand_in, base = sidecar
    stand_in.delay = 2.0
    started = asyncio.get_running_loop().time()
    got = await answer(base, ask("console-health"), timeout=0.2)
    assert got.status == 0
    assert "did not answer within 0.2 s" in got.error
    assert asyncio.get_running_loop().time() - started < 1.5


@pytest.mark.parametrize(
    "body",
    [b"<html>login</html>", b'{"routes": "not a list"}', b'{"secret": "x"}', b"[]", b""],
)
async def test_an_answer_that_is_not_the_targets_console_is_refused(
    sidecar: tuple[StandInSidecar, str], body: bytes
) -> None:
    stand_in, base = sidecar
    stand_in.answers["routes"] = (200, body)
    got = await answer(base, ask("console-routes"))
    assert got.status == 0
    assert "not a console-routes console" in got.error
    assert got.body == ""


async def test_sidecar_errors_and_tokens(sidecar: tuple[StandInSidecar, str]) -> None:
    stand_in, base = sidecar
    stand_in.answers["inflight"] = (503, b'{"error": "Camel is not reachable"}')
    got = await answer(base, ask("console-inflight"))
    assert got.status == 0
    assert "HTTP 503" in got.error
    assert "Camel is not reachable" in got.error
    stand_in.token = "s3cret-token"
    refused = await answer(base, ask("console-health"))
    assert refused.status == 0
    assert "refused the runner's token" in refused.error
    assert "s3cret-token" not in refused.error
    assert (await answer(base, ask("console-health"), token="s3cret-token")).status == 200


async def test_an_unreachable_sidecar_is_a_clear_refusal() -> None:
    got = await answer("http://127.0.0.1:9", ask("console-health"))
    assert got.status == 0
    assert "unreachable" in got.error


async def test_in_a_cluster_the_sidecar_is_found_on_its_pod_address_with_the_token(
    sidecar: tuple[StandInSidecar, str],
) -> None:
    """The kubernetes driver starts no sidecar itself: the console goes where the directory
    saw the integration's telemetry come from (newest pod), carrying the runner's token."""
    stand_in, base = sidecar
    stand_in.token = "cluster-token"
    port = int(base.rsplit(":", 1)[1])
    directory = SidecarDirectory(port=port)
    sent = {"batch_id": "b", "environment": "prod", "sent_at_ms": 0}
    directory.seen(TelemetryBatch(integration="orders", pod="orders-1", **sent), "127.0.0.1")
    directory.seen(TelemetryBatch(integration="billing", pod="billing-1", **sent), "127.0.0.2")

    def nothing_local(ref: IntegrationRef) -> str | None:
        return None

    async with aiohttp.ClientSession() as session:
        console = RunnerConsole(
            nothing_local, session, discovered=directory.urls, token="cluster-token"
        )
        got = await console.answer(ask("console-health"))
        assert got.status == 200, got.error
        missing = await console.answer(ask("console-health", "prod/payments"))
        assert missing.status == 0
        assert "runs no integration payments in prod" in missing.error
    assert stand_in.calls == ["/v1/console/health"]

"""The live console page: operators (and admins) only, org-isolated, audited, escaped, every
failure a clear page; the runner side stands in (RecordingConsoleReader: the tunnel, runner,
sidecar and JVM are covered in tests/e2e/local/test_live_console.py)."""

from __future__ import annotations

import json

from contract.console import (
    ConsoleCheck,
    ConsoleHealth,
    ConsoleInflight,
    ConsoleProcessor,
    ConsoleRoute,
    ConsoleRoutes,
    InflightExchange,
)
from contract.proxy import ProxyResponse
from reconciler.service.live_console import AUDIT_ACTION
from tests.integration.portal.harness import PortalWorld

URL = "/projects/shop/environments/prod/console/orders"
HOSTILE_ID = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def ok(body: str) -> ProxyResponse:
    return ProxyResponse(request_id="req-00000001", status=200, body=body)


def answers(route_id: str = "orders-http") -> dict[str, ProxyResponse | None]:
    routes = ConsoleRoutes(
        context="orders", state="Started", routes_total=1,
        routes=(ConsoleRoute(
            id=route_id, state="Started", exchanges_total=42, exchanges_failed=3,
            processors=(ConsoleProcessor(id="to-inventory", line=12, exchanges_total=40),),
            processors_total=1,
        ),),
    )  # fmt: skip
    inflight = ConsoleInflight(
        total=1,
        exchanges=(InflightExchange(exchange_id="X-7", route_id=route_id, node_id="to-inventory"),),
    )
    health = ConsoleHealth(
        healthy=False, ready=False, live=True,
        checks=(ConsoleCheck(id="consumer:orders", state="DOWN", message="no poll yet"),),
    )  # fmt: skip
    return {
        "console-routes": ok(routes.model_dump_json()),
        "console-inflight": ok(inflight.model_dump_json()),
        "console-health": ok(health.model_dump_json()),
    }


def console_audits(world: PortalWorld) -> list[dict[str, str]]:
    log = world.core.store.desired.audit_log(world.core.org_id)
    return [
        {"actor": a.actor, "environment": a.environment, **json.loads(a.detail or "{}")}
        for a in log
        if a.action == AUDIT_ACTION
    ]


async def test_operator_sees_routes_processors_inflight_and_health(world: PortalWorld) -> None:
    world.console.answers = answers()
    oscar = await world.login("oscar")
    status, page = await oscar.get(URL)
    assert status == 200, page
    for shown in ("orders-http", "to-inventory", "line 12", "X-7", "consumer:orders", "DOWN"):
        assert shown in page, shown
    asked = {(org, runner, target, path) for org, runner, target, path in world.console.asked}
    assert asked == {
        ("acme", "prod-runner", target, "prod/orders")
        for target in ("console-routes", "console-inflight", "console-health")
    }
    assert console_audits(world) == [
        {"actor": "oscar", "environment": "prod", "integration": "orders", "via": "portal"}
    ]
    # the refreshes of an open page are covered by that record, not one each
    assert (await oscar.get(URL))[0] == 200
    assert len(console_audits(world)) == 1
    _, env_page = await oscar.get("/projects/shop/environments/prod")
    assert 'href="/projects/shop/environments/prod/console"' in env_page
    status, index = await oscar.get("/projects/shop/environments/prod/console")
    assert status == 200
    assert 'href="/projects/shop/environments/prod/console/orders"' in index


async def test_role_matrix_viewer_refused_admin_allowed(world: PortalWorld) -> None:
    world.console.answers = answers()
    victor = await world.login("victor")
    for url in (URL, "/projects/shop/environments/prod/console"):
        assert (await victor.get(url))[0] == 403, url
    _, env_page = await victor.get("/projects/shop/environments/prod")
    assert "/console" not in env_page
    assert world.console.asked == []
    assert console_audits(world) == []
    alice = await world.login("alice")
    assert (await alice.get(URL))[0] == 200
    assert [a["actor"] for a in console_audits(world)] == ["alice"]


async def test_another_orgs_integration_is_not_found(world: PortalWorld) -> None:
    world.console.answers = answers()
    mallory = await world.login("mallory")
    for url in (URL, "/projects/shop/environments/prod/console",
                "/projects/shop/environments/nope/console/orders"):  # fmt: skip
        assert (await mallory.get(url))[0] == 404, url
    assert world.console.asked == []
    assert console_audits(world) == []


async def test_the_console_only_reads_a_post_is_refused(world: PortalWorld) -> None:
    oscar = await world.login("oscar")
    assert (await oscar.post(URL, {}))[0] in (403, 404, 405)
    assert (await oscar.post(URL, {}, csrf=False))[0] in (403, 404, 405)
    assert world.console.asked == []


async def test_runner_offline_timeout_and_refusal_are_clear(world: PortalWorld) -> None:
    oscar = await world.login("oscar")
    world.console.offline = {"prod-runner"}
    status, page = await oscar.get(URL)
    assert status == 503
    assert "runner prod-runner is offline" in page
    assert world.console.asked == []
    assert len(console_audits(world)) == 1  # the attempt is audited too

    world.console.offline = set()
    world.console.answers = {
        "console-routes": None,
        "console-inflight": ProxyResponse(
            request_id="req-00000001", status=0,
            error="this runner runs no integration orders in prod <b>x</b>",
        ),
        "console-health": ok("not json"),
    }  # fmt: skip
    status, page = await oscar.get(URL)
    assert status == 200
    assert "Routes not read: no answer within 8 s" in page
    assert "runs no integration orders in prod &lt;b&gt;x&lt;/b&gt;" in page
    assert "<b>x</b>" not in page
    assert "Health not read: the runner&#39;s answer is not a console" in page


async def test_values_from_the_runtime_render_inert(world: PortalWorld) -> None:
    world.console.answers = answers(route_id=HOSTILE_ID)
    oscar = await world.login("oscar")
    status, page = await oscar.get(URL)
    assert status == 200
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


HOSTILE_NAMES = (
    "%3Cscript%3E", "..", "%2e%2e", "orders%2Fx", "a" * 64, "Orders", "-orders", "orders-",
    "%00", "orders%0A", "%E2%80%AEsredro", "'%20OR%201=1", "orders.yaml", "%25",
)  # fmt: skip


async def test_hostile_integration_names_are_4xx_without_asking(world: PortalWorld) -> None:
    world.console.answers = answers()
    oscar = await world.login("oscar")
    for integration in HOSTILE_NAMES:  # one world for the corpus: a fixture is seconds
        url = f"/projects/shop/environments/prod/console/{integration}"
        status, page = await oscar.get(url)
        assert 400 <= status < 500, (integration, status, page[:300])
        assert "Traceback" not in page
    assert world.console.asked == []


async def test_an_unchanged_refresh_answers_204_a_changed_one_the_fragment(
    world: PortalWorld,
) -> None:
    world.console.answers = answers()
    oscar = await world.login("oscar")
    _, page = await oscar.get(URL)
    start = page.index('hx-get="') + len('hx-get="')
    poll = page[start : page.index('"', start)].replace("&amp;", "&")
    headers = {"HX-Request": "true", "HX-Target": "live"}
    status, body = await oscar.get(poll, headers=headers)
    assert (status, body) == (204, "")
    world.console.answers = answers(route_id="orders-renamed")
    status, fragment = await oscar.get(poll, headers=headers)
    assert status == 200
    assert "orders-renamed" in fragment
    assert "<html" not in fragment

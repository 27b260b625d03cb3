"""The live console as JSON: operator role, org scoping, the allow-list, audit, and a 409 (not
a 5xx) when it cannot be read now. The tunnel stands in (RecordingConsoleReader; the real
path is tests/e2e/local/test_live_console.py)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from reconciler.api.app import build_services, make_app
from reconciler.api.console import install_console
from reconciler.service.live_console import AUDIT_ACTION, LiveConsole
from reconciler.store.records import Role
from tests.integration.portal.harness import RecordingConsoleReader
from tests.integration.portal.test_console import answers
from tests.integration.reconciler.apiclient import Api, issue
from tests.integration.reconciler.test_api import reconciled

URL = "/api/v1/projects/shop/environments/prod/integrations/orders/console"


async def _client(api: Api, aiohttp_client: Any, reader: RecordingConsoleReader) -> TestClient:  # type: ignore[type-arg]
    core = api.core
    services = build_services(core.store, core.controller, core.controller.metrics)
    app = make_app(services, run_controller=False)
    install_console(app, LiveConsole(core.store, reader))
    client: TestClient = await aiohttp_client(app)  # type: ignore[type-arg]
    return client


async def test_operator_reads_the_console_as_json_and_it_is_audited(
    api: Api, aiohttp_client: Any
) -> None:
    await reconciled(api)
    reader = RecordingConsoleReader(answers=answers())
    client = await _client(api, aiohttp_client, reader)
    operator = issue(api.core, "oscar", Role.OPERATOR)
    response = await client.get(URL, headers=api.auth(operator))
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["runner"] == "prod-runner"
    assert [r["id"] for r in body["routes"]["routes"]] == ["orders-http"]
    assert body["health"]["checks"][0]["id"] == "consumer:orders"
    assert body["errors"] == {}
    only = await client.get(URL + "?target=console-health", headers=api.auth(operator))
    health_only = await only.json()
    assert health_only["routes"] is None
    assert health_only["health"]["live"] is True
    assert reader.asked[-1][2] == "console-health"
    log = api.core.store.desired.audit_log(api.core.org_id)
    assert [(a.actor, a.action) for a in log if a.action == AUDIT_ACTION] == [
        ("oscar", AUDIT_ACTION)
    ]


async def test_refusals_are_4xx(api: Api, aiohttp_client: Any) -> None:
    await reconciled(api)
    reader = RecordingConsoleReader(answers=answers())
    client = await _client(api, aiohttp_client, reader)
    viewer = await client.get(URL, headers=api.auth(api.viewer))
    assert viewer.status == 403
    stranger = issue(api.core, "mallory", Role.ADMIN, org=api.core.store.accounts.ensure_org("gx"))
    assert (await client.get(URL, headers=api.auth(stranger))).status == 404
    bad = await client.get(URL + "?target=jolokia", headers=api.auth())
    assert bad.status == 400
    assert "not allowed" in (await bad.json())["detail"]
    for name in ("Orders", "..", "%3Cx%3E", "a" * 64):
        path = URL.replace("/orders/", f"/{name}/")
        assert (await client.get(path, headers=api.auth())).status in (400, 404), name
    assert reader.asked == []
    reader.offline = {"prod-runner"}
    offline = await client.get(URL, headers=api.auth())
    assert offline.status == 409
    assert "offline" in (await offline.json())["detail"]


async def test_without_a_tunnel_the_console_is_409(api: Api) -> None:
    await reconciled(api)
    response = await api.client.get(URL, headers=api.auth())
    assert response.status == 409
    assert "not available" in (await response.json())["detail"]

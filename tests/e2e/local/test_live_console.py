"""The live console through the whole system: `camelops demo` (control plane, tunnel, runner on
the local driver, sidecar, Camel JVM); an operator opens the console of the running orders-api
in the portal and sees its real route ids, processors and Camel health, and the look is in the
audit log. Nothing but the runner's proxy channel reaches the JVM (Jolokia on loopback only)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local.conftest import wait_until
from tests.e2e.local.portal_client import PortalClient
from tests.e2e.local.test_demo import ROLLOUT_TIMEOUT, Demo, _serves

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CONSOLE = "/projects/shop/environments/local/console"
API = "/api/v1/projects/shop/environments/local/integrations/orders-api/console"


@pytest.fixture
def demo(tmp_path: Path, runtime_home: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "root", runtime_home)
    yield running
    if running.process is not None and running.process.poll() is None:
        running.interrupt()


def test_the_console_shows_the_running_routes_and_health(demo: Demo) -> None:
    demo.start()
    wait_until(lambda: _serves(demo.orders_url, 1, 200), ROLLOUT_TIMEOUT, "orders-api serving")
    portal = PortalClient(demo.portal_url)
    portal.login("admin", demo.portal_password())
    status, index = portal.get(CONSOLE)
    assert status == 200, index
    assert f'href="{CONSOLE}/orders-api"' in index
    status, page = portal.get(f"{CONSOLE}/orders-api")
    assert status == 200, page
    assert "not read" not in page, page  # every panel answered
    for route_id in ("orders-http", "create-order"):
        assert f"<code>{route_id}</code>" in page, route_id
    assert "<code>context</code>" in page  # Camel's own context health check
    assert "Started" in page
    status, audit = portal.get("/audit?action=integration.console_viewed")
    assert status == 200
    assert "orders-api" in audit
    # the same through the API, as JSON
    token = (demo.root / "control" / "admin-token").read_text().strip()
    request = urllib.request.Request(
        demo.portal_url.rstrip("/") + API,
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert {r["id"] for r in body["routes"]["routes"]} >= {"orders-http", "create-order"}
    assert body["health"]["live"] is True
    # a target outside the allow-list cannot be asked for through the portal at all
    status, _ = portal.get(f"{CONSOLE}/orders-api/jolokia")
    assert status == 404
    assert demo.interrupt() == 0

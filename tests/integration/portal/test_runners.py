"""Runner registration tokens and certificate revocation from the portal, over the real
control-plane CA and PKI store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from camelops.wiring.pki import close_pki, open_pki
from camelops.wiring.portal_mount import PkiRunnerCredentials
from portal.app import portal_app
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_views import PortalViews
from tests.integration.portal.harness import PortalWorld
from tunnel.pki.identity import RunnerIdentity
from tunnel.pki.service import ControlPlanePki
from tunnel.pki.tokens import parse_token


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[ControlPlanePki]:
    made = open_pki(tmp_path / "cp", "acme", None, generate_passphrase=True)
    yield made
    close_pki(made)


@pytest.fixture
async def with_pki(world: PortalWorld, pki: ControlPlanePki) -> PortalWorld:
    """The same world, its portal given the runner-credentials port."""
    app = portal_app(
        accounts=world.accounts,
        views=PortalViews(world.core.store),
        actions=PortalActions(world.core.store, world.core.controller.deployer, world.replays),
        traces=world.telemetry,
        credentials=PkiRunnerCredentials(pki),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    await world.server.close()
    world.server = server
    return world


async def test_admin_creates_a_token_shown_once_and_audited(
    with_pki: PortalWorld, pki: ControlPlanePki
) -> None:
    admin = await with_pki.login("alice")
    status, page = await admin.post("/runners/tokens", {"runner": "edge-1"})
    assert status == 200
    found = re.search(r'<pre class="box" id="token">([^<]+)</pre>', page)
    assert found is not None
    token = parse_token(found.group(1))
    record = pki.store.get_token(token.digest)
    assert record is not None
    assert record.identity == RunnerIdentity("acme", "edge-1")
    assert record.used_at is None
    _, runners = await admin.get("/runners")
    assert found.group(1) not in runners  # never shown again
    entry = with_pki.core.store.desired.audit_log(with_pki.core.org_id)[0]
    assert (entry.actor, entry.action) == ("alice", "runner.token_created")
    assert found.group(1) not in entry.detail  # the token never reaches the audit log
    assert (await admin.post("/runners/tokens", {"runner": "Bad_Name"}))[0] == 400


async def test_admin_revokes_a_runner_and_sees_expiry(
    with_pki: PortalWorld, pki: ControlPlanePki
) -> None:
    expiry = datetime.now(UTC) + timedelta(days=30)
    pki.store.record_certificate(0xABC123, RunnerIdentity("acme", "edge-1"), expiry)
    pki.store.record_certificate(0xDEF456, RunnerIdentity("globex", "theirs"), expiry)
    admin = await with_pki.login("alice")
    _, page = await admin.get("/runners")
    assert "abc123" in page
    assert expiry.strftime("%Y-%m-%d") in page
    assert "def456" not in page  # another org's runner
    assert (await admin.get("/runners/edge-1/revoke"))[0] == 200
    status, done = await admin.post("/runners/edge-1/revoke", {})
    assert status == 200
    assert "1 certificate(s) revoked" in done
    assert pki.store.is_revoked(0xABC123)
    assert not pki.store.is_revoked(0xDEF456)
    entry = with_pki.core.store.desired.audit_log(with_pki.core.org_id)[0]
    assert (entry.actor, entry.action) == ("alice", "runner.revoked")


@pytest.mark.parametrize("user", ["victor", "oscar"])
async def test_only_admins_manage_runner_credentials(
    with_pki: PortalWorld, pki: ControlPlanePki, user: str
) -> None:
    pki.store.record_certificate(0x1, RunnerIdentity("acme", "edge-1"), datetime.now(UTC))
    browser = await with_pki.login(user)
    status, page = await browser.get("/runners")
    assert status == 200
    assert "Create registration token" not in page
    assert "Revoke" not in page
    assert (await browser.post("/runners/tokens", {"runner": "edge-2"}))[0] == 403
    assert (await browser.get("/runners/edge-1/revoke"))[0] == 403
    assert (await browser.post("/runners/edge-1/revoke", {}))[0] == 403
    assert not pki.store.is_revoked(0x1)

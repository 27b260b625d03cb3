"""Fixtures: a reconciled project `shop` (envs dev, prod) in org `acme`, users of every role,
a second org `globex`, telemetry in chDB, and the portal served on 127.0.0.1."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from portal.app import portal_app
from reconciler.service.accounts import LoginSettings, PortalAccounts
from reconciler.service.live_console import LiveConsole
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_views import PortalViews
from reconciler.service.route_diagrams import RouteDiagrams, mirror_loader
from reconciler.store.records import Role
from telemetry.store import TelemetryStore
from tests.integration.portal.harness import (
    PASSWORD,
    PortalWorld,
    RecordingConsoleReader,
    RecordingReplaySender,
)
from tests.integration.reconciler.gitrepo import GitRepo, base_files
from tests.integration.reconciler.harness import make_core
from tests.integration.telemetry.conftest import chdb_dsn

_databases = itertools.count()
USERS = {"alice": Role.ADMIN, "oscar": Role.OPERATOR, "victor": Role.VIEWER}


@pytest.fixture
async def world(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PortalWorld]:
    repo = GitRepo(tmp_path / "git")
    repo.commit(base_files(), "first good revision")
    repo.push()
    core = make_core(tmp_path, repo)
    await core.controller.start(scheduler=False)
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    telemetry = TelemetryStore(
        chdb_dsn(tmp_path_factory), database=f"portal{next(_databases)}", retention_days=3_650
    )
    telemetry.migrate()
    accounts = PortalAccounts(core.store, LoginSettings(max_failures=5))
    for name, role in USERS.items():
        accounts.create_user("acme", name, role, PASSWORD)
    accounts.create_user("globex", "mallory", Role.ADMIN, PASSWORD)
    replays = RecordingReplaySender()
    console = RecordingConsoleReader()
    pipeline = core.controller.pipeline
    app = portal_app(
        accounts=accounts,
        views=PortalViews(core.store),
        actions=PortalActions(core.store, core.controller.deployer, replays),
        traces=telemetry,
        diagrams=RouteDiagrams(core.store, mirror_loader(pipeline.mirrors, pipeline.work_dir)),
        console=LiveConsole(core.store, console),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    made = PortalWorld(core, telemetry, server, replays, accounts, console=console)
    yield made
    for client in made.clients:
        await client.close()
    await server.close()
    telemetry.drop()
    await core.controller.stop()
    core.store.close()

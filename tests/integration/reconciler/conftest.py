"""Fixtures: a git repository with a first good commit, a running core, the API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.api.app import build_services, make_app
from reconciler.sources import SourcePolicy
from reconciler.store.records import Role
from tests.integration.reconciler.apiclient import Api, issue
from tests.integration.reconciler.gitrepo import GitRepo, base_files
from tests.integration.reconciler.harness import Core, make_core


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "git")
    repo.commit(base_files(), "first")
    repo.push()
    return repo


@pytest.fixture
async def core(tmp_path: Path, git_repo: GitRepo) -> AsyncIterator[Core]:
    made = make_core(tmp_path, git_repo, backoff_base_s=0.05, backoff_max_s=0.2)
    await made.controller.start(scheduler=False)
    yield made
    await made.controller.stop()
    made.store.close()


@pytest.fixture
async def api(core: Core, aiohttp_client: Any, tmp_path: Path) -> Api:
    sources = SourcePolicy(local_roots=(tmp_path,))  # the test's own repositories only
    services = build_services(core.store, core.controller, core.controller.metrics, sources=sources)
    client = await aiohttp_client(make_app(services, run_controller=False))
    return Api(client, core, issue(core, "alice", Role.ADMIN), issue(core, "victor", Role.VIEWER))

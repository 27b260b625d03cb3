"""A real control-plane core for reconciler tests: SQLite store, git mirrors, in-process sink."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from reconciler.controller import Controller, ControllerSettings
from reconciler.deploy import Deployer
from reconciler.dispatch import InProcessSink
from reconciler.git import ExportLimits, GitMirror, SourceLimits
from reconciler.metrics import Metrics
from reconciler.pipeline import Pipeline
from reconciler.previews import PreviewBuilder
from reconciler.store import StateStore
from reconciler.store.records import ProjectRecord, Role
from tests.integration.reconciler.gitrepo import GitRepo


class Clock:
    """A pinned, steppable clock for the store (TTL, windows, audit times)."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Core:
    store: StateStore
    sink: InProcessSink
    controller: Controller
    repo: GitRepo
    project: ProjectRecord
    org_id: int
    clock: Clock
    cache: Path


def make_core(
    tmp_path: Path,
    repo: GitRepo,
    *,
    hook_secret: str = "s3cret-hook-value",
    poll_interval_s: int = 0,
    **settings: float,
) -> Core:
    clock = Clock()
    store = StateStore(tmp_path / "state.db", secrets.token_bytes(32), clock=clock)
    org = store.accounts.ensure_org("acme")
    project = store.projects.create(
        org, "shop", url=str(repo.bare), poll_interval_s=poll_interval_s, webhook_secret=hook_secret
    )
    cache = tmp_path / "cache"

    limits = SourceLimits(
        max_fetch_bytes=int(settings.pop("max_fetch_bytes", 64 * 1024 * 1024)),
        export=ExportLimits(max_file_bytes=512 * 1024),
    )

    def mirrors(p: ProjectRecord) -> GitMirror:
        return GitMirror(cache / "mirrors", p.repository.name, p.repository.url, limits=limits)

    pipeline = Pipeline(store, mirrors, cache / "trees")
    sink = InProcessSink()
    metrics = Metrics()
    controller = Controller(
        store,
        pipeline,
        Deployer(store, sink, metrics),
        metrics,
        previews=PreviewBuilder(pipeline),
        settings=ControllerSettings(**settings),  # type: ignore[arg-type]
    )
    store.accounts.ensure_user(org, "ops", Role.ADMIN)
    return Core(store, sink, controller, repo, project, org, clock, cache)

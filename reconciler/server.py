"""Compose a control-plane core from a data directory: store, git source, pipeline, controller, API.

Layout of the data directory: `state.db` (SQLite, WAL), `kek` (the key-encryption key, mode
0600, unless the caller passes one), `cache/mirrors/` and `cache/trees/`. The composition root
reads the environment and passes credentials and keys in; nothing here reads it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from reconciler.api.app import build_services, make_app
from reconciler.controller import Controller, ControllerSettings
from reconciler.deploy import Deployer
from reconciler.dispatch import Dispatcher, InProcessSink
from reconciler.git import GitCredentials, GitMirror, SourceLimits, cleanup_stale_trees
from reconciler.metrics import Metrics
from reconciler.notify import Notifier
from reconciler.pipeline import Pipeline
from reconciler.previews import PreviewBuilder
from reconciler.secrets.envelope import load_or_create_kek
from reconciler.sources import SourcePolicy, default_policy
from reconciler.store import StateStore
from reconciler.store.accounts import BOOTSTRAP_ORG
from reconciler.store.records import ProjectRecord, Role
from renderers.local import LocalOptions
from tunnel.at_rest import private_dir

log = logging.getLogger(__name__)

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret


def load_kek(data_dir: Path) -> bytes:
    """The data dir's key-encryption key (created on first use), when settings hold none."""
    return load_or_create_kek(data_dir / "kek")


@dataclass(frozen=True, slots=True)
class ControlPlane:
    store: StateStore
    controller: Controller
    app: web.Application


def build_control_plane(
    data_dir: Path,
    *,
    dispatcher: Dispatcher | None = None,
    notifier: Notifier | None = None,
    limits: SourceLimits | None = None,
    settings: ControllerSettings | None = None,
    credentials: GitCredentials | None = None,
    kek: bytes | None = None,
    sources: SourcePolicy | None = None,
    local_runners: frozenset[str] = frozenset(),
    local_options: LocalOptions | None = None,
) -> ControlPlane:
    """Everything `camelops serve` runs; without a dispatcher bundles stay in memory.
    `credentials`: the operator's host-bound HTTPS token and SSH key (default: none);
    `kek`: the key-encryption key (default: `<data-dir>/kek`, created on first use);
    `sources`: where local repositories may be (default: `<data-dir>/repos`)."""
    private_dir(data_dir)  # 0700 whatever the umask: state, keys, caches and checkouts live here
    store = StateStore(data_dir / "state.db", kek or load_kek(data_dir))
    cache = data_dir / "cache"
    # nothing runs yet: every checkout left there was cut short by a crash
    cleanup_stale_trees(cache / "trees", max_age_s=0)
    source_limits = limits or SourceLimits()
    credentials = credentials or GitCredentials()
    policy = sources or default_policy(data_dir)

    def mirrors(project: ProjectRecord) -> GitMirror:
        repo = project.repository
        own = store.projects.credential(project)
        chosen = replace(credentials, https=(own, *credentials.https)) if own else credentials
        return GitMirror(
            cache / "mirrors",
            repo.name,
            repo.url,
            credentials=chosen,
            limits=source_limits,
            policy=policy,
        )

    pipeline = Pipeline(store, mirrors, cache / "trees", local_runners, local_options)
    metrics = Metrics()
    controller = Controller(
        store,
        pipeline,
        Deployer(store, dispatcher or InProcessSink(), metrics),
        metrics,
        previews=PreviewBuilder(pipeline),
        notifier=notifier,
        settings=settings,
    )
    app = make_app(build_services(store, controller, metrics, sources=policy))
    app.on_cleanup.append(lambda _app: _close(store))
    return ControlPlane(store, controller, app)


async def _close(store: StateStore) -> None:
    store.close()


def bootstrap_admin(store: StateStore, data_dir: Path) -> Path | None:
    """On an empty database: org `default`, user `admin`, and its token in a 0600 file."""
    if store.state.one("SELECT id FROM users LIMIT 1") is not None:
        return None
    org = store.accounts.ensure_org(BOOTSTRAP_ORG)
    user = store.accounts.ensure_user(org, "admin", Role.ADMIN)
    token = store.accounts.issue_token(user, "bootstrap")
    path = data_dir / ADMIN_TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return path

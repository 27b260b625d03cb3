"""Compose a control-plane core from a data directory: store, git source, pipeline, controller, API.

Layout of the data directory: `state.db` (SQLite, WAL), `kek` (the key-encryption key, mode
0600, unless CAMELOPS_KEK holds it in base64), `cache/mirrors/` and `cache/trees/`.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
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
from reconciler.store import StateStore
from reconciler.store.records import ProjectRecord, Role
from renderers.local import LocalOptions

log = logging.getLogger(__name__)

ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True, slots=True)
class ControlPlane:
    store: StateStore
    controller: Controller
    app: web.Application


def load_kek(data_dir: Path) -> bytes:
    encoded = os.environ.get("CAMELOPS_KEK")
    if encoded:
        key = base64.b64decode(encoded, validate=True)
        if len(key) != 32:
            raise ValueError("CAMELOPS_KEK must be base64 of 32 bytes")
        return key
    return load_or_create_kek(data_dir / "kek")


def credentials_from_env() -> GitCredentials:
    """One HTTPS token or SSH key for every repository (per-repository credentials: not yet)."""
    key = os.environ.get("CAMELOPS_GIT_SSH_KEY")
    return GitCredentials(
        https_token=os.environ.get("CAMELOPS_GIT_TOKEN") or None,
        https_username=os.environ.get("CAMELOPS_GIT_USERNAME", "git"),
        ssh_private_key=Path(key) if key else None,
        ssh_public_key=Path(key + ".pub") if key and Path(key + ".pub").exists() else None,
        ssh_passphrase=os.environ.get("CAMELOPS_GIT_SSH_PASSPHRASE", ""),
    )


def build_control_plane(
    data_dir: Path,
    *,
    dispatcher: Dispatcher | None = None,
    notifier: Notifier | None = None,
    limits: SourceLimits | None = None,
    settings: ControllerSettings | None = None,
    local_runners: frozenset[str] = frozenset(),
    local_options: LocalOptions | None = None,
) -> ControlPlane:
    """Everything `camelops serve` runs; without a dispatcher bundles stay in memory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = StateStore(data_dir / "state.db", load_kek(data_dir))
    cache = data_dir / "cache"
    cleanup_stale_trees(cache / "trees", max_age_s=3600)
    source_limits = limits or SourceLimits()
    credentials = credentials_from_env()

    def mirrors(project: ProjectRecord) -> GitMirror:
        repo = project.repository
        return GitMirror(
            cache / "mirrors", repo.name, repo.url, credentials=credentials, limits=source_limits
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
    app = make_app(build_services(store, controller, metrics))
    app.on_cleanup.append(lambda _app: _close(store))
    return ControlPlane(store, controller, app)


async def _close(store: StateStore) -> None:
    store.close()


def bootstrap_admin(store: StateStore, data_dir: Path) -> Path | None:
    """On an empty database: org `default`, user `admin`, and its token in a 0600 file."""
    if store.state.one("SELECT id FROM users LIMIT 1") is not None:
        return None
    org = store.accounts.ensure_org("default")
    user = store.accounts.ensure_user(org, "admin", Role.ADMIN)
    token = store.accounts.issue_token(user, "bootstrap")
    path = data_dir / ADMIN_TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return path

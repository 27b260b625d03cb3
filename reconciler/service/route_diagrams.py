"""The route definitions of a revision, per integration, for the portal's route diagram.

Only revisions the control plane knows for the caller's project are read (a recorded revision, a
bundle's commit, a preview's head or base): a commit id typed into a URL never makes the mirror
export an arbitrary object. Each revision is read once (a checkout of the cached mirror) and
kept in a small LRU: a revision never changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler import git
from reconciler.store import StateStore
from reconciler.store.records import Principal, ProjectRecord
from renderers.route_graph import RouteTree, integration_routes
from schema.loaded import LoadedProject
from schema.repository import load_repository

log = logging.getLogger(__name__)

RevisionLoader = Callable[[ProjectRecord, str], LoadedProject | None]
"""Blocking: the validated project at a commit, or None when it cannot be read."""


def mirror_loader(
    mirrors: Callable[[ProjectRecord], git.GitMirror], work_dir: Path
) -> RevisionLoader:
    """Reads a revision from the project's cached mirror (what the pipeline fetched)."""

    def load(project: ProjectRecord, commit: str) -> LoadedProject | None:
        try:
            with git.checked_out(mirrors(project), commit, work_dir) as tree:
                return load_repository(tree).project
        except git.GitSourceError as exc:
            log.warning("routes of %s at %s unavailable: %s", project.name, commit[:12], exc)
            return None

    return load


@dataclass(frozen=True, slots=True)
class RevisionRoutes:
    project: str
    commit: str
    integrations: dict[str, tuple[RouteTree, ...]]


class RouteDiagrams:
    def __init__(self, store: StateStore, load: RevisionLoader, *, cache_size: int = 32) -> None:
        self._store = store
        self._load = load
        self._cache: OrderedDict[tuple[int, str], dict[str, tuple[RouteTree, ...]] | None] = (
            OrderedDict()
        )
        self._size = cache_size
        self.reads = 0
        """Revisions read from the mirror (a cached one costs nothing)."""

    async def routes(self, who: Principal, project_name: str, commit: str) -> RevisionRoutes | None:
        """None: no such project for the caller, a commit it does not know, or unreadable."""
        return await asyncio.to_thread(self._routes, who, project_name, commit)

    def _routes(self, who: Principal, project_name: str, commit: str) -> RevisionRoutes | None:
        project = self._store.projects.by_name(who.org_id, project_name)
        if project is None or not self._known(project, commit):
            return None
        key = (project.id, commit)
        if key not in self._cache:
            self.reads += 1
            loaded = self._load(project, commit)
            self._cache[key] = (
                None
                if loaded is None
                else {i.name: integration_routes(i) for i in loaded.integrations}
            )
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        found = self._cache[key]
        return None if found is None else RevisionRoutes(project.name, commit, found)

    def _known(self, project: ProjectRecord, commit: str) -> bool:
        if not commit or len(commit) > 64 or any(c not in "0123456789abcdef" for c in commit):
            return False
        row = self._store.portal.revision(project.id, commit)
        if row is not None and row["commit_id"] == commit and row["state"] == "ready":
            return True
        previews = self._store.previews.list(project.id)
        return any(commit in (p.head_commit, p.base_commit) for p in previews)

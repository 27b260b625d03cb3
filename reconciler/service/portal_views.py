"""Read models of the portal's pages, every one scoped to the caller's org.

A project or environment of another org is simply not found (the portal answers 404), never
"forbidden": whether it exists is not the caller's business.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.service.live_objects import LiveObjects, live_objects
from reconciler.store import StateStore
from reconciler.store.portal_reads import SYNC_STATES
from reconciler.store.previews import PreviewRecord
from reconciler.store.records import EnvironmentRecord, Principal, ProjectRecord
from reconciler.windows import evaluate

RUNNER_ONLINE_S = 90.0
"""A runner whose last heartbeat is older than this shows as offline."""
RUNNER_STATES = ("online", "offline")
SYNC_FILTERS = SYNC_STATES
"""The overview's filter values (the page may not import the store)."""
_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\n]+?)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<text>.*)$", re.S
)


@dataclass(frozen=True, slots=True)
class EnvRow:
    project: str
    environment: str
    runner: str
    runner_online: bool
    runner_seen_at: float | None
    sync: str
    """Synced, OutOfSync, NotDeployed."""
    pinned: bool
    health: str
    """The runner's last report on this environment (applied, healthy, degraded...)."""
    ready: str
    commit: str
    author: str
    message: str


@dataclass(frozen=True, slots=True)
class OverviewFilter:
    text: str = ""
    """Part of the project or environment name."""
    sync: str = ""
    """Synced, OutOfSync or NotDeployed; anything else: every state."""
    runner: str = ""
    """online or offline; anything else: both."""


@dataclass(frozen=True, slots=True)
class OverviewPage:
    rows: tuple[EnvRow, ...]
    next_after: str | None
    """The keyset of the next page ("project/environment"), None on the last page."""


@dataclass(frozen=True, slots=True)
class BundleView:
    id: int
    revision: str
    digest: str
    created_at: float
    author: str
    message: str


@dataclass(frozen=True, slots=True)
class RunnerReport:
    bundle_id: int
    revision: str
    digest: str
    state: str
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class EnvironmentPage:
    project: ProjectRecord
    env: EnvironmentRecord
    desired: BundleView | None
    deployed: BundleView | None
    history: tuple[BundleView, ...]
    reports: tuple[RunnerReport, ...]
    runner_online: bool
    window_allows: bool
    window_manual: bool
    window_reason: str
    objects: LiveObjects | None = None

    @property
    def sync(self) -> str:
        return _sync_state(self.env.deployed_bundle_id, self.env.desired_bundle_id)

    @property
    def live(self) -> RunnerReport | None:
        return self.reports[0] if self.reports else None


@dataclass(frozen=True, slots=True)
class FileErrors:
    file: str
    errors: tuple[tuple[int, int, str], ...]
    """(line, column, message); 0 when the error has no position."""


@dataclass(frozen=True, slots=True)
class RevisionPage:
    project: str
    commit: str
    author: str
    message: str
    state: str
    recorded_at: float
    files: tuple[FileErrors, ...]


@dataclass(frozen=True, slots=True)
class RunnerRow:
    name: str
    created_at: float
    last_seen_at: float | None
    online: bool
    environments: str


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: float
    actor: str
    action: str
    project: str
    environment: str
    revision: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    project: str = ""


def _sync_state(deployed: int | None, desired: int | None) -> str:
    if deployed is None:
        return "NotDeployed"
    return "Synced" if deployed == desired else "OutOfSync"


def _online(seen: float | None, now: float) -> bool:
    return seen is not None and now - seen <= RUNNER_ONLINE_S


def group_errors(errors: tuple[str, ...]) -> tuple[FileErrors, ...]:
    """Diagnostics `file:line:col: severity: message` grouped by file, in order of position."""
    by_file: dict[str, list[tuple[int, int, str]]] = {}
    for error in errors:
        match = _DIAGNOSTIC.match(error)
        if match is None:
            by_file.setdefault("(revision)", []).append((0, 0, error))
            continue
        line, col = int(match["line"] or 0), int(match["col"] or 0)
        by_file.setdefault(match["file"], []).append((line, col, match["text"]))
    return tuple(FileErrors(f, tuple(sorted(e))) for f, e in sorted(by_file.items()))


class PortalViews:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def projects(self, who: Principal) -> list[ProjectRecord]:
        return await asyncio.to_thread(self._store.projects.all, who.org_id)

    async def project(self, who: Principal, name: str) -> ProjectRecord | None:
        return await asyncio.to_thread(self._store.projects.by_name, who.org_id, name)

    async def overview(
        self,
        who: Principal,
        *,
        after: str = "",
        wanted: OverviewFilter = OverviewFilter(),
        limit: int = 50,
    ) -> OverviewPage:
        """One page of the roll-up: a read of at most `limit + 1` precomputed rows."""
        keyset = tuple(after.split("/", 1)) if "/" in after else None
        now = self._store.state.clock()
        cutoff = now - RUNNER_ONLINE_S
        rows = await asyncio.to_thread(
            lambda: self._store.portal.overview(
                who.org_id,
                after=keyset,  # type: ignore[arg-type]
                text=wanted.text[:100],
                limit=limit + 1,
                sync=wanted.sync,
                online_since=cutoff if wanted.runner == "online" else None,
                offline_before=cutoff if wanted.runner == "offline" else None,
            )
        )
        views = tuple(
            EnvRow(
                project=r["project"],
                environment=r["environment"],
                runner=r["runner"],
                runner_online=_online(r["runner_seen_at"], now),
                runner_seen_at=r["runner_seen_at"],
                sync=r["sync"],
                pinned=bool(r["pinned"]),
                health=r["health"] or "Unknown",
                ready=r["ready"] or "Unknown",
                commit=r["last_commit"] or "",
                author=r["author"] or "",
                message=r["message"] or "",
            )
            for r in rows[:limit]
        )
        last = views[-1] if len(rows) > limit else None
        return OverviewPage(views, f"{last.project}/{last.environment}" if last else None)

    async def has_environment(self, who: Principal, project: str, env: str) -> bool:
        """The cheap check behind pages that only need the environment to be the caller's."""

        def lookup() -> bool:
            found = self._store.projects.by_name(who.org_id, project)
            return found is not None and (
                self._store.desired.environment(found.id, env) is not None
            )

        return await asyncio.to_thread(lookup)

    async def environment(self, who: Principal, project: str, env: str) -> EnvironmentPage | None:
        return await asyncio.to_thread(self._environment, who, project, env)

    def _environment(
        self, who: Principal, project_name: str, env_name: str
    ) -> EnvironmentPage | None:
        store = self._store
        project = store.projects.by_name(who.org_id, project_name)
        env = None if project is None else store.desired.environment(project.id, env_name)
        if project is None or env is None:
            return None

        def bundle(bundle_id: int | None) -> BundleView | None:
            row = store.portal.bundle(project.id, bundle_id)
            return None if row is None else _bundle(row)

        history = tuple(
            _bundle(row)
            for summary in store.desired.history_of(project.id, env.name)
            if (row := store.portal.bundle(project.id, summary.id)) is not None
        )
        reports = tuple(
            RunnerReport(
                int(r["bundle_id"]),
                r["revision"] or "",
                r["digest"] or "",
                r["state"],
                r["detail"] or "",
                float(r["at"]),
            )
            for r in store.portal.runner_reports(project.id, env.name)
        )
        seen = next(
            (
                r["last_seen_at"]
                for r in store.portal.runners(who.org_id)
                if r["name"] == env.runner
            ),
            None,
        )
        decision = evaluate(env.sync_windows, datetime.fromtimestamp(store.state.clock(), UTC))
        return EnvironmentPage(
            project,
            env,
            bundle(env.desired_bundle_id),
            bundle(env.deployed_bundle_id),
            history,
            reports,
            _online(seen, store.state.clock()),
            decision.automated,
            decision.manual,
            decision.reason,
            live_objects(store.portal.live_objects(project.id, env.name)),
        )

    async def revision(self, who: Principal, project_name: str, commit: str) -> RevisionPage | None:
        if not re.fullmatch(r"[0-9a-f]{4,64}", commit):
            return None
        project = await self.project(who, project_name)
        if project is None:
            return None
        row = await asyncio.to_thread(self._store.portal.revision, project.id, commit)
        if row is None:
            return None
        return RevisionPage(
            project.name,
            row["commit_id"],
            row["author"],
            row["message"],
            row["state"],
            float(row["recorded_at"]),
            group_errors(tuple(json.loads(row["errors"]))),
        )

    async def revisions(self, who: Principal, project_name: str) -> list[Any] | None:
        project = await self.project(who, project_name)
        if project is None:
            return None
        return await asyncio.to_thread(self._store.projects.revisions, project.id, 50)

    async def previews(self, who: Principal, project_name: str) -> list[PreviewRecord] | None:
        project = await self.project(who, project_name)
        if project is None:
            return None
        return await asyncio.to_thread(self._store.previews.list, project.id)

    async def preview(self, who: Principal, project_name: str, number: int) -> PreviewRecord | None:
        project = await self.project(who, project_name)
        if project is None:
            return None
        return await asyncio.to_thread(self._store.previews.get, project.id, number)

    async def runners(self, who: Principal) -> list[RunnerRow]:
        rows = await asyncio.to_thread(self._store.portal.runners, who.org_id)
        now = self._store.state.clock()
        return [
            RunnerRow(
                r["name"],
                float(r["created_at"]),
                r["last_seen_at"],
                _online(r["last_seen_at"], now),
                r["environments"] or "",
            )
            for r in rows
        ]

    async def audit(
        self, who: Principal, wanted: AuditFilter, *, before: int | None = None, limit: int = 50
    ) -> tuple[list[AuditRow], int | None]:
        rows = await asyncio.to_thread(
            lambda: self._store.portal.audit(
                who.org_id,
                actor=wanted.actor[:100],
                action=wanted.action[:100],
                project=wanted.project[:100],
                before=before,
                limit=limit + 1,
            )
        )
        views = [_audit(r) for r in rows[:limit]]
        return views, (views[-1].id if len(rows) > limit else None)

    async def audit_entry(self, who: Principal, entry_id: int) -> AuditRow | None:
        row = await asyncio.to_thread(self._store.portal.audit_entry, who.org_id, entry_id)
        return None if row is None else _audit(row)


def _bundle(row: dict[str, Any]) -> BundleView:
    return BundleView(
        int(row["id"]),
        row["revision"],
        row["digest"],
        float(row["created_at"]),
        row["author"] or "",
        row["message"] or "",
    )


def _audit(row: dict[str, Any]) -> AuditRow:
    try:
        detail = json.loads(row["detail"] or "{}")
    except ValueError:
        detail = {"raw": row["detail"]}
    return AuditRow(
        int(row["id"]),
        float(row["at"]),
        row["actor"],
        row["action"],
        row["project"] or "",
        row["environment"] or "",
        row["revision"] or "",
        detail if isinstance(detail, dict) else {"value": detail},
    )

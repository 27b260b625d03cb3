"""Rows of the state database as frozen values handed to the rest of the reconciler."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schema.models.project import SyncWindow


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling the API: every query is scoped to `org_id`."""

    user_id: int
    org_id: int
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    id: int
    org_id: int
    name: str
    url: str
    branch: str
    poll_interval_s: int


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: int
    org_id: int
    org: str
    name: str
    repository: RepositoryRecord


@dataclass(frozen=True, slots=True)
class ProjectStatus:
    ready: str
    """"True", "False" or "Unknown", like a Kubernetes condition."""
    reconciling: bool
    stalled: bool
    reason: str
    message: str
    last_commit: str
    last_attempt_at: float
    next_attempt_at: float
    failures: int


class RevisionState(StrEnum):
    READY = "ready"
    INVALID = "invalid"
    REJECTED = "rejected"
    """The checkout refused the tree (escaping symlink, huge file): never validated."""
    RENDER_FAILED = "render-failed"


@dataclass(frozen=True, slots=True)
class RevisionRecord:
    commit_id: str
    author: str
    message: str
    state: RevisionState
    errors: tuple[str, ...]
    recorded_at: float


@dataclass(frozen=True, slots=True)
class EnvironmentRecord:
    project_id: int
    name: str
    runner: str
    namespace: str
    auto_sync: bool
    sync_windows: tuple[SyncWindow, ...]
    pinned_bundle_id: int | None
    latest_bundle_id: int | None
    deployed_bundle_id: int | None

    @property
    def desired_bundle_id(self) -> int | None:
        """A pin (rollback) wins over the newest good bundle."""
        return self.pinned_bundle_id or self.latest_bundle_id


@dataclass(frozen=True, slots=True)
class BundleSummary:
    id: int
    environment: str
    revision: str
    digest: str
    created_at: float


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: float
    actor: str
    action: str
    project: str
    environment: str
    revision: str
    detail: str


@dataclass(frozen=True, slots=True)
class ServedEnvironment:
    """One environment a runner serves and the bundle it should run there (pinned or deployed)."""

    project: str
    environment: str
    bundle_id: int | None

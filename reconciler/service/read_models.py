"""Typed read models: what the API (and any other adapter) shows of the store's records.

Field names are Python's; `wire()` gives the API's camelCase JSON. Nothing here carries bundle
contents or secret material: repository URLs are redacted when the model is built. A field left
out when building a model (a preview's diff in a list, a project's environments in a list) is
left out of its JSON too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from reconciler.sources import redact_url
from reconciler.store.previews import PreviewRecord
from reconciler.store.records import (
    AuditRecord,
    BundleSummary,
    EnvironmentRecord,
    ProjectRecord,
    ProjectStatus,
    RevisionRecord,
)
from reconciler.store.replays import ReplayRecord


class ReadModel(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object the API answers: camelCase names, unset fields omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class RepositoryView(ReadModel):
    name: str
    url: str
    """Any credentials or query in it replaced by `***`."""
    branch: str
    poll_interval_seconds: int


class Condition(ReadModel):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None


class ProjectStatusView(ReadModel):
    conditions: tuple[Condition, ...]
    last_commit: str
    last_attempt_at: float
    next_attempt_at: float
    failures: int

    @classmethod
    def of(cls, status: ProjectStatus) -> ProjectStatusView:
        return cls(
            conditions=(
                Condition(
                    type="Ready", status=status.ready, reason=status.reason, message=status.message
                ),
                Condition(type="Reconciling", status=str(status.reconciling)),
                Condition(type="Stalled", status=str(status.stalled)),
            ),
            last_commit=status.last_commit,
            last_attempt_at=status.last_attempt_at,
            next_attempt_at=status.next_attempt_at,
            failures=status.failures,
        )


class ProjectView(ReadModel):
    name: str
    repository: RepositoryView
    status: ProjectStatusView
    environments: tuple[str, ...] = ()
    """Names of the environments (only when one project is shown)."""

    @classmethod
    def of(
        cls,
        project: ProjectRecord,
        status: ProjectStatus,
        environments: tuple[str, ...] | None = None,
    ) -> ProjectView:
        repo = project.repository
        fields: dict[str, Any] = {
            "name": project.name,
            "repository": RepositoryView(
                name=repo.name,
                url=redact_url(repo.url),
                branch=repo.branch,
                poll_interval_seconds=repo.poll_interval_s,
            ),
            "status": ProjectStatusView.of(status),
        }
        if environments is not None:
            fields["environments"] = environments
        return cls(**fields)


class RevisionView(ReadModel):
    commit: str
    author: str
    message: str
    state: str
    errors: tuple[str, ...]
    recorded_at: float

    @classmethod
    def of(cls, revision: RevisionRecord) -> RevisionView:
        return cls(
            commit=revision.commit_id,
            author=revision.author,
            message=revision.message,
            state=revision.state.value,
            errors=revision.errors,
            recorded_at=revision.recorded_at,
        )


class BundleView(ReadModel):
    id: int
    revision: str
    digest: str
    created_at: float

    @classmethod
    def of(cls, bundle: BundleSummary) -> BundleView:
        return cls.model_validate(bundle, from_attributes=True)  # same field names


class DeploymentView(ReadModel):
    """One deployment event of an environment: dispatched, applied, failed..."""

    bundle_id: int | None
    state: str
    detail: str | None
    actor: str | None
    at: float


class EnvironmentView(ReadModel):
    name: str
    runner: str
    namespace: str
    auto_sync: bool
    pinned_bundle_id: int | None
    latest_bundle_id: int | None
    deployed_bundle_id: int | None
    sync_windows: tuple[dict[str, Any], ...]
    history: tuple[BundleView, ...]
    deployments: tuple[DeploymentView, ...]

    @classmethod
    def of(
        cls,
        env: EnvironmentRecord,
        history: list[BundleSummary],
        deployments: list[dict[str, Any]],
    ) -> EnvironmentView:
        return cls(
            name=env.name,
            runner=env.runner,
            namespace=env.namespace,
            auto_sync=env.auto_sync,
            pinned_bundle_id=env.pinned_bundle_id,
            latest_bundle_id=env.latest_bundle_id,
            deployed_bundle_id=env.deployed_bundle_id,
            sync_windows=tuple(w.model_dump(mode="json", by_alias=True) for w in env.sync_windows),
            history=tuple(BundleView.of(b) for b in history),
            deployments=tuple(DeploymentView.model_validate(d) for d in deployments),
        )


class PreviewDeployment(ReadModel):
    """Where a deployed preview went: its runner, and what became of the bundle handed over
    (`Dispatched`, `Undeliverable` with the reason, or the runner's own `<phase>/<health>`)."""

    runner: str
    state: str
    detail: str


class PreviewView(ReadModel):
    number: int
    ref: str
    head: str
    base: str
    state: str
    expires_at: float
    updated_at: float
    errors: tuple[str, ...]
    deployment: PreviewDeployment | None = None
    """Only for a preview a runner deploys."""
    diff: dict[str, Any] | None = None
    """The object and Camel diff (only when one preview is shown)."""

    @classmethod
    def of(cls, preview: PreviewRecord, *, full: bool) -> PreviewView:
        fields: dict[str, Any] = {
            "number": preview.number,
            "ref": preview.ref,
            "head": preview.head_commit,
            "base": preview.base_commit,
            "state": preview.state,
            "expires_at": preview.expires_at,
            "updated_at": preview.updated_at,
            "errors": preview.errors,
        }
        if preview.runner:
            fields["deployment"] = PreviewDeployment(
                runner=preview.runner, state=preview.deploy_state, detail=preview.deploy_detail
            )
        if full:
            fields["diff"] = preview.summary
        return cls(**fields)


class AuditEntry(ReadModel):
    id: int
    at: float
    actor: str
    action: str
    project: str
    environment: str
    revision: str
    detail: str

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntry:
        return cls.model_validate(record, from_attributes=True)  # same field names


class RunnerView(ReadModel):
    name: str
    created_at: float | None
    last_seen_at: float | None


class UserView(ReadModel):
    name: str
    role: str
    created_at: float | None


class TokenView(ReadModel):
    """Names and dates of a user's API tokens; never the token (only its hash is kept)."""

    name: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None


class ReplayView(ReadModel):
    """A replay request and, once the runner answered, its outcome."""

    id: str
    project: str
    environment: str
    integration: str
    exchange_id: str
    runner: str
    revision: str
    requested_by: str
    state: str
    reason: str
    endpoint: str
    requested_at: float
    completed_at: float | None

    @classmethod
    def of(cls, record: ReplayRecord) -> ReplayView:
        return cls(
            id=record.request_id,
            project=record.project,
            environment=record.environment,
            integration=record.integration,
            exchange_id=record.exchange_id,
            runner=record.runner,
            revision=record.revision,
            requested_by=record.actor,
            state=record.state,
            reason=record.reason,
            endpoint=record.endpoint,
            requested_at=record.requested_at,
            completed_at=record.completed_at,
        )

"""What the API shows, read from the store as typed read models (`read_models`). Each method is
one blocking call of the store; the API runs them in a worker thread."""

from __future__ import annotations

from reconciler.service.read_models import (
    AuditEntry,
    EnvironmentView,
    PreviewView,
    ProjectView,
    RevisionView,
    RunnerView,
    TokenView,
    UserView,
)
from reconciler.store import StateStore
from reconciler.store.records import EnvironmentRecord, ProjectRecord


class ReadService:
    def __init__(self, store: StateStore) -> None:
        self.store = store

    def projects(self, org_id: int) -> list[ProjectView]:
        projects = self.store.projects
        return [ProjectView.of(p, projects.status(p.id)) for p in projects.all(org_id)]

    def project(self, project: ProjectRecord) -> ProjectView:
        """With the names of its environments."""
        envs = tuple(e.name for e in self.store.desired.environments(project.id))
        return ProjectView.of(project, self.store.projects.status(project.id), envs)

    def project_summary(self, project: ProjectRecord) -> ProjectView:
        return ProjectView.of(project, self.store.projects.status(project.id))

    def revisions(self, project: ProjectRecord) -> list[RevisionView]:
        return [RevisionView.of(r) for r in self.store.projects.revisions(project.id)]

    def environment(self, project: ProjectRecord, env: EnvironmentRecord) -> EnvironmentView:
        """With its bundle history and recent deployments."""
        desired = self.store.desired
        history = desired.history_of(project.id, env.name)
        return EnvironmentView.of(env, history, desired.deployments(project.id, env.name))

    def previews(self, project: ProjectRecord) -> list[PreviewView]:
        return [PreviewView.of(p, full=False) for p in self.store.previews.list(project.id)]

    def preview(self, project: ProjectRecord, number: int) -> PreviewView | None:
        """With its diff; None when the project has no preview of that number."""
        found = self.store.previews.get(project.id, number)
        return None if found is None else PreviewView.of(found, full=True)

    def audit(self, org_id: int) -> list[AuditEntry]:
        return [AuditEntry.of(r) for r in self.store.desired.audit_log(org_id)]

    def runners(self, org_id: int) -> list[RunnerView]:
        return [RunnerView.model_validate(r) for r in self.store.accounts.runners(org_id)]

    def users(self, org_id: int) -> list[UserView]:
        return [UserView.model_validate(u) for u in self.store.accounts.users(org_id)]

    def tokens(self, user_id: int) -> list[TokenView]:
        return [TokenView.model_validate(t) for t in self.store.accounts.tokens(user_id)]

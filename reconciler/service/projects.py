"""Project use cases: create (with its repository and audit record, then the first reconcile)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from reconciler.controller import Controller
from reconciler.sources import HostToken
from reconciler.store import StateStore
from reconciler.store.records import Principal, ProjectRecord


@dataclass(frozen=True, slots=True)
class NewProject:
    name: str
    url: str
    branch: str
    poll_interval_s: int
    webhook_secret: str
    credential: HostToken | None = None
    """The repository's own HTTPS token, bound to the URL's host."""


class ProjectService:
    def __init__(self, store: StateStore, controller: Controller) -> None:
        self.store, self.controller = store, controller

    async def create(self, principal: Principal, new: NewProject) -> ProjectRecord:
        """Raises `reconciler.store.ConflictError` when the name is taken."""
        project = await asyncio.to_thread(
            lambda: self.store.create_project(
                principal.org_id,
                principal.name,
                new.name,
                url=new.url,
                branch=new.branch,
                poll_interval_s=new.poll_interval_s,
                webhook_secret=new.webhook_secret,
                credential=new.credential,
            )
        )
        self.controller.schedule_polling(project)
        self.controller.request(project.id)
        return project

"""Environment use cases: manual sync, pin (roll back to a bundle of the history) and unpin."""

from __future__ import annotations

import asyncio

from reconciler.deploy import Deployer, SyncRequest
from reconciler.errors import ReconcilerError
from reconciler.store import StateStore
from reconciler.store.records import BundleSummary, EnvironmentRecord, Principal, ProjectRecord


class BundleNotFoundError(ReconcilerError, LookupError):
    """The environment's history holds no bundle with that id or revision."""


class EnvironmentService:
    def __init__(self, store: StateStore, deployer: Deployer) -> None:
        self.store, self.deployer = store, deployer

    async def sync(
        self, principal: Principal, project: ProjectRecord, env: str, *, override: bool
    ) -> list[str]:
        """Dispatch what the environment should run now; the environments dispatched.
        Raises `SyncBlockedError` (a sync window, unless `override`) or `ReconcileError`."""
        request = SyncRequest(actor=principal.name, manual=True, override=override, environment=env)
        return await self.deployer.deploy(project, request)

    async def pin(
        self,
        principal: Principal,
        project: ProjectRecord,
        env: EnvironmentRecord,
        *,
        bundle_id: int | None,
        revision: str | None,
        override: bool,
    ) -> list[str]:
        """Roll back: the environment runs this earlier bundle until unpinned; the pin and its
        audit record are one transaction, then the environment syncs."""
        history = await asyncio.to_thread(self.store.desired.history_of, project.id, env.name)
        target = _find(history, bundle_id, revision)
        await asyncio.to_thread(
            lambda: self.store.desired.pin(
                principal.org_id,
                principal.name,
                project.id,
                project.name,
                env.name,
                bundle=target,
            )
        )
        return await self.sync(principal, project, env.name, override=override)

    async def unpin(
        self, principal: Principal, project: ProjectRecord, env: EnvironmentRecord
    ) -> list[str]:
        await asyncio.to_thread(
            lambda: self.store.desired.pin(
                principal.org_id, principal.name, project.id, project.name, env.name, bundle=None
            )
        )
        return await self.sync(principal, project, env.name, override=False)


def _find(
    history: list[BundleSummary], bundle_id: int | None, revision: str | None
) -> BundleSummary:
    for bundle in history:
        if bundle.id == bundle_id or (revision and bundle.revision.startswith(revision)):
            return bundle
    raise BundleNotFoundError("bundle in this environment's history")

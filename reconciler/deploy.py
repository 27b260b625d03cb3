"""The dispatch half of a reconcile: which environment gets which bundle, and when.

Per environment the desired bundle is the pin (rollback) or else the newest good bundle. An
automated sync needs `autoSync` and an open sync window; a manual sync needs a window that
allows manual syncs, or an explicit override that is audited.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.dispatch import Dispatcher, DispatchError
from reconciler.errors import Reason, ReconcilerError, transient
from reconciler.metrics import Metrics
from reconciler.store import StateStore
from reconciler.store.records import EnvironmentRecord, ProjectRecord
from reconciler.windows import evaluate

log = logging.getLogger(__name__)

AUTOMATED = "reconciler"


class SyncBlockedError(ReconcilerError):
    """A manual sync asked for while a sync window blocks it (and no override was given)."""


@dataclass(frozen=True, slots=True)
class SyncRequest:
    actor: str = AUTOMATED
    manual: bool = False
    override: bool = False
    """Pass a blocking sync window anyway; audited."""
    environment: str | None = None
    """Only this environment (manual syncs); None means all."""


class Deployer:
    def __init__(self, store: StateStore, dispatcher: Dispatcher, metrics: Metrics) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.metrics = metrics

    async def deploy(self, project: ProjectRecord, request: SyncRequest) -> list[str]:
        """Dispatch what each environment should run; returns the environments dispatched."""
        envs = await asyncio.to_thread(self.store.desired.environments, project.id)
        dispatched = []
        for env in envs:
            if request.environment not in (None, env.name):
                continue
            if await self._deploy_one(project, env, request):
                dispatched.append(env.name)
        return dispatched

    async def _deploy_one(
        self, project: ProjectRecord, env: EnvironmentRecord, request: SyncRequest
    ) -> bool:
        desired = env.desired_bundle_id
        if desired is None:
            return False
        if not request.manual and (desired == env.deployed_bundle_id or not env.auto_sync):
            return False
        if not await self._window_allows(project, env, desired, request):
            return False
        bundle = await asyncio.to_thread(self.store.desired.load_bundle, desired)
        if bundle is None:
            return False
        try:
            await self.dispatcher.dispatch(project.org, env.runner, bundle)
        except DispatchError as exc:
            self.metrics.dispatched("failed")
            raise transient(Reason.DISPATCH_FAILED, f"{env.name}: {exc}") from exc
        self.metrics.dispatched("ok")
        await asyncio.to_thread(self._record, project, env, desired, bundle.revision, request)
        return True

    async def _window_allows(
        self, project: ProjectRecord, env: EnvironmentRecord, bundle_id: int, request: SyncRequest
    ) -> bool:
        decision = evaluate(env.sync_windows, datetime.fromtimestamp(self.store.state.clock(), UTC))
        if decision.automated or (request.manual and decision.manual):
            return True
        if request.manual and request.override:
            await asyncio.to_thread(
                self.store.desired.audit,
                project.org_id,
                request.actor,
                "sync.window-override",
                project=project.name,
                environment=env.name,
                detail={"reason": decision.reason},
            )
            return True
        if request.manual:
            raise SyncBlockedError(f"{env.name}: {decision.reason}")
        await asyncio.to_thread(self._note_blocked, project, env, bundle_id, decision.reason)
        return False

    def _note_blocked(
        self, project: ProjectRecord, env: EnvironmentRecord, bundle_id: int, reason: str
    ) -> None:
        last = self.store.desired.deployments(project.id, env.name, limit=1)
        if last and last[0]["bundle_id"] == bundle_id and last[0]["state"] == "blocked":
            return  # already recorded; the window check runs again later
        self.store.desired.record_deployment(
            project.id, env.name, bundle_id, state="blocked", detail=reason, actor=AUTOMATED
        )

    def _record(
        self,
        project: ProjectRecord,
        env: EnvironmentRecord,
        bundle_id: int,
        revision: str,
        request: SyncRequest,
    ) -> None:
        action = "sync.manual" if request.manual else "sync.automated"
        with self.store.state.transaction():
            self.store.desired.record_deployment(
                project.id,
                env.name,
                bundle_id,
                state="dispatched",
                detail=action,
                actor=request.actor,
            )
            self.store.desired.audit(
                project.org_id,
                request.actor,
                action,
                project=project.name,
                environment=env.name,
                revision=revision,
                detail={"bundle": bundle_id},
            )

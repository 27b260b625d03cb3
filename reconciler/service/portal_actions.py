"""What an operator may do from the portal: manual sync, pin (rollback), unpin, replay.

Each use case checks the role itself (the portal checks too), scopes every lookup to the
caller's org and leaves an audit record.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from reconciler.deploy import Deployer, SyncBlockedError, SyncRequest
from reconciler.errors import ReconcileError, ReconcilerError
from reconciler.service.replay_types import ReplaySender
from reconciler.service.replays import (
    KeyReusedError,
    NoRunnerError,
    ReplayAsk,
    ReplayService,
    ReplayTransport,
)
from reconciler.store import StateStore
from reconciler.store.records import EnvironmentRecord, Principal, ProjectRecord, Role
from reconciler.store.replays import ReplayRecord

RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class NotFoundError(ReconcilerError, LookupError):
    """Not there, or not the caller's org (the same answer either way)."""


class NotAllowedError(ReconcilerError, PermissionError):
    """The caller's role is too low for this action."""


class ConflictError(ReconcilerError, ValueError):
    """The action cannot run now (a sync window blocks it, an idempotency key was reused...)."""


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    dispatched: tuple[str, ...]
    message: str


@dataclass(frozen=True, slots=True)
class ReplayOutcomeView:
    record: ReplayRecord
    audit_ids: tuple[int, ...]
    repeated: bool
    """The idempotency key had been used already: this is the first request's record."""


def allowed(who: Principal, role: Role) -> bool:
    return RANK[who.role] >= RANK[role]


def _require(who: Principal, role: Role) -> None:
    if not allowed(who, role):
        raise NotAllowedError(f"needs the {role.value} role")


class PortalActions:
    def __init__(
        self,
        store: StateStore,
        deployer: Deployer,
        replays: ReplaySender | None = None,
        *,
        replay_timeout_s: float = 30.0,
    ) -> None:
        self._store = store
        self._deployer = deployer
        self._replays = replays
        self._replay_timeout_s = replay_timeout_s

    async def _target(
        self, who: Principal, project: str, env: str
    ) -> tuple[ProjectRecord, EnvironmentRecord]:
        found = await asyncio.to_thread(self._store.projects.by_name, who.org_id, project)
        record = None
        if found is not None:
            record = await asyncio.to_thread(self._store.desired.environment, found.id, env)
        if found is None or record is None:
            raise NotFoundError("no such environment")
        return found, record

    async def sync(self, who: Principal, project: str, env: str, *, override: bool) -> SyncOutcome:
        _require(who, Role.OPERATOR)
        found, record = await self._target(who, project, env)
        return await self._sync(who, found, record.name, override=override)

    async def _sync(
        self, who: Principal, project: ProjectRecord, env: str, *, override: bool
    ) -> SyncOutcome:
        request = SyncRequest(actor=who.name, manual=True, override=override, environment=env)
        try:
            dispatched = await self._deployer.deploy(project, request)
        except SyncBlockedError as exc:
            raise ConflictError(f"{exc}; tick 'override the sync window' to sync anyway") from exc
        except ReconcileError as exc:
            raise ConflictError(exc.message) from exc
        if dispatched:
            return SyncOutcome(tuple(dispatched), f"{env}: bundle dispatched to its runner")
        return SyncOutcome((), f"{env}: nothing to dispatch (already synced or no bundle)")

    async def pin(
        self, who: Principal, project: str, env: str, bundle_id: int, *, override: bool
    ) -> SyncOutcome:
        _require(who, Role.OPERATOR)
        found, record = await self._target(who, project, env)
        history = await asyncio.to_thread(self._store.desired.history_of, found.id, record.name)
        target = next((b for b in history if b.id == bundle_id), None)
        if target is None:
            raise NotFoundError("no such bundle in this environment's history")
        await asyncio.to_thread(self._store.desired.set_pin, found.id, record.name, target.id)
        await asyncio.to_thread(
            lambda: self._store.desired.audit(
                who.org_id, who.name, "environment.pinned", project=found.name,
                environment=record.name, revision=target.revision,
                detail={"bundle": target.id, "via": "portal"},
            )
        )  # fmt: skip
        return await self._sync(who, found, record.name, override=override)

    async def unpin(self, who: Principal, project: str, env: str) -> SyncOutcome:
        _require(who, Role.OPERATOR)
        found, record = await self._target(who, project, env)
        await asyncio.to_thread(self._store.desired.set_pin, found.id, record.name, None)
        await asyncio.to_thread(
            lambda: self._store.desired.audit(
                who.org_id, who.name, "environment.unpinned", project=found.name,
                environment=record.name, detail={"via": "portal"},
            )
        )  # fmt: skip
        return await self._sync(who, found, record.name, override=False)

    @property
    def can_replay(self) -> bool:
        return self._replays is not None

    async def replay(
        self,
        who: Principal,
        project: str,
        env: str,
        *,
        integration: str,
        exchange_id: str,
        idempotency_key: str,
    ) -> ReplayOutcomeView:
        """Audited replay; a repeated key returns the first request (one command, ever)."""
        _require(who, Role.OPERATOR)
        found, record = await self._target(who, project, env)
        if self._replays is None:
            raise ConflictError("replay is not available: no runner transport is configured")
        seen = await asyncio.to_thread(self._store.replays.by_key, who.org_id, idempotency_key)
        ask = ReplayAsk(key=idempotency_key, integration=integration, exchange_id=exchange_id)
        transport = ReplayTransport(self._replays, self._replay_timeout_s)
        try:
            done = await ReplayService(self._store).request(who, found, record, ask, transport)
        except KeyReusedError:
            raise ConflictError("this confirmation was already used for another replay") from None
        except NoRunnerError as exc:
            raise ConflictError(str(exc)) from None
        return await self._view(who, done.request_id, repeated=seen is not None)

    async def _view(self, who: Principal, request_id: str, *, repeated: bool) -> ReplayOutcomeView:
        final = await asyncio.to_thread(self._store.replays.by_request_id, request_id)
        assert final is not None
        audit = await asyncio.to_thread(self._store.portal.audit_of_replay, who.org_id, request_id)
        return ReplayOutcomeView(final, tuple(int(a["id"]) for a in audit), repeated)

    async def record(self, who: Principal, action: str, detail: dict[str, str]) -> None:
        """An audit record for an action whose effect lives outside the state store (runner
        tokens and certificates live in the tunnel PKI)."""
        await asyncio.to_thread(
            lambda: self._store.desired.audit(who.org_id, who.name, action, detail=detail)
        )

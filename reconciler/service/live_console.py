"""Live console of one running integration (operators): its routes with processors, inflight
exchanges and Camel health checks, read now from the runtime through the environment's runner
(the tunnel's proxy channel, allow-listed console targets only: `contract.console`).

The reconciler knows nothing of tunnels: the composition root hands in a `ConsoleReader`
(`reconciler.tunnel_console.TunnelConsoleReader`). Every look is audited; a page that refreshes
every few seconds leaves one audit record per viewer and integration per `AUDIT_EVERY_S`, not
one per refresh.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import ValidationError

from contract.console import (
    TARGETS,
    ConsoleHealth,
    ConsoleInflight,
    ConsoleRoutes,
    console_path,
)
from contract.names import NAME
from contract.proxy import ProxyResponse
from reconciler.errors import ReconcilerError
from reconciler.service.portal_actions import (
    ConflictError,
    NotAllowedError,
    NotFoundError,
    allowed,
)
from reconciler.store import StateStore
from reconciler.store.records import EnvironmentRecord, Principal, Role

AUDIT_EVERY_S = 300.0
AUDIT_ACTION = "integration.console_viewed"
_NAME = re.compile(NAME)
_REMEMBERED = 10_000  # (viewer, integration) pairs kept for the audit de-duplication


class ConsoleReader(Protocol):
    def online(self, org: str, runner: str) -> bool:
        """Whether the runner has a live tunnel now (no point in waiting for an answer)."""
        ...

    async def read(
        self, org: str, runner: str, target: str, path: str, timeout: float
    ) -> ProxyResponse | None:
        """The runner's answer to one console request; None when none came within `timeout`."""
        ...


class TargetNotAllowedError(ReconcilerError, ValueError):
    """A console target outside the allow-list."""


class RunnerOfflineError(ReconcilerError, ConnectionError):
    """The environment's runner has no tunnel now: nothing can be read live."""


@dataclass(frozen=True, slots=True)
class PanelError:
    kind: str
    """`timeout` (no answer in time) or `refused` (the runner said why: no such integration,
    sidecar unreachable, ...)."""
    message: str


@dataclass(frozen=True, slots=True)
class LiveConsoleView:
    project: str
    environment: str
    integration: str
    runner: str
    routes: ConsoleRoutes | None = None
    inflight: ConsoleInflight | None = None
    health: ConsoleHealth | None = None
    errors: dict[str, PanelError] = field(default_factory=dict)
    """Target -> why that panel is empty."""
    audited: bool = False
    """This look wrote an audit record (the first within AUDIT_EVERY_S)."""


class LiveConsole:
    def __init__(
        self,
        store: StateStore,
        reader: ConsoleReader | None,
        *,
        timeout_s: float = 8.0,
        audit_every_s: float = AUDIT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._reader = store, reader
        self.timeout_s, self._audit_every_s, self._clock = timeout_s, audit_every_s, clock
        self._last_audit: dict[tuple[int, str, str, str, str], float] = {}

    @property
    def available(self) -> bool:
        return self._reader is not None

    async def read(
        self,
        who: Principal,
        project: str,
        env: str,
        integration: str,
        targets: tuple[str, ...] = tuple(TARGETS),
    ) -> LiveConsoleView:
        if not allowed(who, Role.OPERATOR):
            raise NotAllowedError("needs the operator role")
        unknown = [t for t in targets if t not in TARGETS]
        if unknown or not targets:
            raise TargetNotAllowedError(
                f"console target {unknown[0][:40] if unknown else ''!r} is not allowed "
                f"(only {', '.join(TARGETS)})"
            )
        if len(integration) > 63 or not _NAME.fullmatch(integration):
            raise NotFoundError("no such integration")
        record = await self._environment(who, project, env)
        if self._reader is None:
            raise ConflictError("the live console is not available: no runner tunnel is set up")
        if not record.runner:
            raise ConflictError(f"environment {env} has no runner")
        org = await asyncio.to_thread(self._store.accounts.org_name, who.org_id)
        if org is None:
            raise NotFoundError("no such environment")
        audited = await self._audit(who, project, env, integration)
        if not self._reader.online(org, record.runner):
            raise RunnerOfflineError(f"runner {record.runner} is offline: nothing to read live")
        path = console_path(env, integration)
        answers = await asyncio.gather(
            *(self._reader.read(org, record.runner, t, path, self.timeout_s) for t in targets)
        )
        view = LiveConsoleView(project, env, integration, record.runner, audited=audited)
        return _filled(view, dict(zip(targets, answers, strict=True)), self.timeout_s)

    async def _environment(self, who: Principal, project: str, env: str) -> EnvironmentRecord:
        found = await asyncio.to_thread(self._store.projects.by_name, who.org_id, project)
        record = None
        if found is not None:
            record = await asyncio.to_thread(self._store.desired.environment, found.id, env)
        if found is None or record is None:
            raise NotFoundError("no such environment")
        return record

    async def _audit(self, who: Principal, project: str, env: str, integration: str) -> bool:
        key = (who.org_id, who.name, project, env, integration)
        now = self._clock()
        last = self._last_audit.get(key)
        if last is not None and now - last < self._audit_every_s:
            return False
        if len(self._last_audit) >= _REMEMBERED:
            self._last_audit = {
                k: at for k, at in self._last_audit.items() if now - at < self._audit_every_s
            }
        self._last_audit[key] = now
        await asyncio.to_thread(
            lambda: self._store.desired.audit(
                who.org_id, who.name, AUDIT_ACTION, project=project, environment=env,
                detail={"integration": integration, "via": "portal"},
            )
        )  # fmt: skip
        return True


def _filled(
    view: LiveConsoleView, answers: dict[str, ProxyResponse | None], timeout_s: float
) -> LiveConsoleView:
    parsed: dict[str, ConsoleRoutes | ConsoleInflight | ConsoleHealth] = {}
    errors: dict[str, PanelError] = {}
    for target, answer in answers.items():
        if answer is None:
            errors[target] = PanelError("timeout", f"no answer within {timeout_s:g} s")
        elif answer.status != 200 or answer.truncated:
            errors[target] = PanelError("refused", answer.error or f"status {answer.status}")
        else:
            try:
                parsed[target] = TARGETS[target].model_validate_json(answer.body)
            except ValidationError:
                errors[target] = PanelError("refused", "the runner's answer is not a console")
    routes, inflight, health = (
        parsed.get("console-routes"),
        parsed.get("console-inflight"),
        parsed.get("console-health"),
    )
    return LiveConsoleView(
        view.project,
        view.environment,
        view.integration,
        view.runner,
        routes=routes if isinstance(routes, ConsoleRoutes) else None,
        inflight=inflight if isinstance(inflight, ConsoleInflight) else None,
        health=health if isinstance(health, ConsoleHealth) else None,
        errors=errors,
        audited=view.audited,
    )

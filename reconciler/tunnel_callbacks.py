"""The control plane's side of the tunnel: who serves what comes from the reconciler's state,
what runners report is recorded through it (store methods), and a runner that lacks its
environment's bundle gets it again on connect (resync).

`TunnelServer` asks `environments_of` synchronously on the event loop, while the state store
must only be used from worker threads; so the answer is a cache per runner, refreshed from the
store on every connect and before every dispatch (`RefreshingDispatcher`).

A runner's `last_seen_at` is set when it connects, sends and disconnects, and every
`HEARTBEAT_S` while it is connected (the tunnel's own pings prove a connected runner alive: a
silent one is dropped by them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from pydantic import ValidationError

from contract.bundles import Bundle
from contract.envelopes import Channel, Envelope, Hello
from contract.message_types import STATUS
from contract.status import StatusReport
from reconciler.camel_health import CAMEL_PREFIX, CamelHealthBoard, combined
from reconciler.dispatch import Dispatcher, DispatchError
from reconciler.store import StateStore
from reconciler.store.records import ServedEnvironment
from tunnel.pki.identity import IdentityError, RunnerIdentity
from tunnel.server import TunnelCallbacks

log = logging.getLogger(__name__)
HEARTBEAT_S = 20.0  # well inside the portal's online window (RUNNER_ONLINE_S)
MessageHandler = Callable[[RunnerIdentity, Envelope], Awaitable[bool]]


class ReconcilerCallbacks(TunnelCallbacks):
    def __init__(self) -> None:
        self._store: StateStore | None = None
        self._served: dict[RunnerIdentity, frozenset[str]] = {}
        # environment name -> the projects where this runner serves an environment of that name
        self._projects: dict[RunnerIdentity, dict[str, frozenset[str]]] = {}
        # (runner, project/env) -> digest queued on the tunnel session and not yet reported on
        self.sent: dict[tuple[RunnerIdentity, str], str] = {}
        self.resend: Dispatcher | None = None  # set by the composition root
        self._handlers: list[MessageHandler] = []
        self._seen: dict[RunnerIdentity, float] = {}  # loop time a message last touched it
        self.camel = CamelHealthBoard()
        # the last report per (runner, environment): re-recorded when Camel's verdict changes
        self._reports: dict[tuple[RunnerIdentity, str], StatusReport] = {}
        self._camel_writes: set[asyncio.Task[bool]] = set()

    def bind(self, store: StateStore) -> None:
        """The store exists only once the control plane is built, after the tunnel server."""
        self._store = store

    @property
    def store(self) -> StateStore:
        if self._store is None:
            raise RuntimeError("callbacks used before the state store was bound")
        return self._store

    # ---- who serves what -----------------------------------------------------------------
    def environments_of(self, runner: RunnerIdentity) -> frozenset[str]:
        return self._served.get(runner, frozenset())

    def projects_of(self, runner: RunnerIdentity, environment: str) -> frozenset[str]:
        """The projects in which `runner` serves an environment named `environment`."""
        return self._projects.get(runner, {}).get(environment, frozenset())

    async def refresh(self, runner: RunnerIdentity) -> frozenset[str]:
        rows = await asyncio.to_thread(self._desired_of, runner)
        projects: dict[str, set[str]] = {}
        for row in rows:
            projects.setdefault(row.environment, set()).add(row.project)
        # previews (`pr-<n>`) it deploys are served too; their exchanges carry no project column
        served = frozenset(projects) | await asyncio.to_thread(self._previews_of, runner)
        self._served[runner] = served
        self._projects[runner] = {env: frozenset(names) for env, names in projects.items()}
        return served

    # ---- tunnel events -------------------------------------------------------------------
    async def runner_connected(self, runner: RunnerIdentity, hello: Hello) -> None:
        await self.refresh(runner)
        await asyncio.to_thread(self._note_runner, runner)
        await self.touch([runner])
        for served in await asyncio.to_thread(self._desired_of, runner):
            await self._resync(runner, served, hello.digests)

    def add_handler(self, handler: MessageHandler) -> None:
        """Another path's handler (telemetry, replay...): True when it took the message."""
        self._handlers.append(handler)

    async def runner_disconnected(self, runner: RunnerIdentity, reason: str) -> None:
        del reason
        self._seen.pop(runner, None)
        await self.touch([runner])

    async def touch(self, runners: list[RunnerIdentity]) -> None:
        pairs = [(r.org, r.name) for r in runners]
        try:
            await asyncio.to_thread(self.store.accounts.touch_runners, pairs)
        except Exception:  # a heartbeat is never worth a dropped message or connection
            log.exception("could not record runners as seen")

    async def heartbeat(
        self, connected: Callable[[], Iterable[RunnerIdentity]], every: float = HEARTBEAT_S
    ) -> None:
        """Keep `last_seen_at` of every connected runner current (runs until cancelled)."""
        while True:
            await asyncio.sleep(every)
            await self.touch(sorted(connected(), key=str))

    async def message_received(self, runner: RunnerIdentity, envelope: Envelope) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._seen.get(runner, float("-inf")) >= HEARTBEAT_S:
            self._seen[runner] = now
            await self.touch([runner])
        if envelope.channel == Channel.STATUS and envelope.type == STATUS:
            await self._status(runner, envelope)
            return
        for handler in self._handlers:
            if await handler(runner, envelope):
                return
        log.info(
            "ignored %s/%s message from runner %s",
            envelope.channel.value,
            envelope.type,
            runner,
        )

    async def _status(self, runner: RunnerIdentity, envelope: Envelope) -> None:
        try:
            report = StatusReport.model_validate(envelope.payload)
        except ValidationError as exc:
            log.warning("malformed status from runner %s: %d errors", runner, exc.error_count())
            return
        recorded = await asyncio.to_thread(self._record, runner, report)
        log.info(
            "runner %s: %s/%s %s (%s)",
            runner, report.project, report.environment, report.state,
            "recorded" if recorded else "ignored: not its environment or an unknown digest",
        )  # fmt: skip

    async def camel_health(
        self,
        runner: RunnerIdentity,
        environment: str,
        integration: str,
        pod: str,
        problems: tuple[str, ...],
    ) -> None:
        """A sidecar's Camel verdict (relayed by `runner` with its telemetry): when it changes
        the environment's problems, the runner's last report is recorded again, combined."""
        if environment not in self.environments_of(runner):
            return
        key = (runner.org, runner.name, environment)
        if not self.camel.note(key, integration, pod, problems):
            return
        # recorded off the message path: the runner's status and replay answers on the same
        # connection must never wait behind a health write
        report = self._reports.get((runner, environment))
        if report is not None:
            work = asyncio.to_thread(self._record, runner, report)
        else:  # none since this process started: build on what the store shows
            work = asyncio.to_thread(self._record_on_latest, runner, environment)
        task = asyncio.create_task(work)
        self._camel_writes.add(task)
        task.add_done_callback(self._camel_written)

    def _camel_written(self, task: asyncio.Task[bool]) -> None:
        self._camel_writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Camel health not recorded: %s", task.exception())

    async def camel_writes_done(self) -> None:
        """Wait for the health writes under way (tests; a stopping control plane)."""
        while self._camel_writes:
            await asyncio.gather(*self._camel_writes, return_exceptions=True)

    # ---- store work (worker threads) -----------------------------------------------------
    def _previews_of(self, runner: RunnerIdentity) -> frozenset[str]:
        """The previews (`pr-<n>`) it deploys."""
        return self.store.previews.environments_for_runner(runner.org, runner.name)

    def _record_on_latest(self, runner: RunnerIdentity, environment: str) -> bool:
        """Camel's problems on top of the latest recorded state of the environment (after a
        restart, before the runner reports again). Only to add problems: the runner's own
        health under an earlier combination is not known here, so clearing waits for its
        next report."""
        problems = self.camel.problems((runner.org, runner.name, environment))
        org_id = self.store.accounts.org_id(runner.org)
        if not problems or org_id is None:
            return False
        for served in self.store.desired.served_by_runner(runner.org, runner.name):
            project = self.store.projects.by_name(org_id, served.project)
            if served.environment != environment or project is None:
                continue
            latest = self.store.desired.deployments(project.id, environment, limit=1)
            # a runner's `<phase>/<health>`, not a dispatch in flight nor a combination
            if not latest or latest[0]["actor"] != "runner" or "/" not in str(latest[0]["state"]):
                continue
            if str(latest[0]["detail"]).startswith(CAMEL_PREFIX):
                continue
            state, detail = combined(str(latest[0]["state"]), str(latest[0]["detail"]), problems)
            self.store.desired.record_deployment(
                project.id, environment, int(latest[0]["bundle_id"]),
                state=state, detail=detail, actor="runner",
            )  # fmt: skip
            return True
        return False

    def _note_runner(self, runner: RunnerIdentity) -> None:
        self.store.accounts.register_runner(self.store.accounts.ensure_org(runner.org), runner.name)

    def _desired_of(self, runner: RunnerIdentity) -> list[ServedEnvironment]:
        return self.store.desired.served_by_runner(runner.org, runner.name)

    def _record(self, runner: RunnerIdentity, report: StatusReport) -> bool:
        # environments_of checks the environment's name only; the project must match too
        if not self.store.desired.runner_serves(
            runner.org, runner.name, report.project, report.environment
        ):
            return self._record_preview(runner, report)
        self._reports[(runner, report.environment)] = report
        problems = self.camel.problems((runner.org, runner.name, report.environment))
        state, detail = combined(report.state, report.detail(), problems)
        recorded = self.store.desired.report_status(
            runner.org, report.project, report.environment, report.digest,
            state=state, detail=detail,
            objects=report.objects, drifted=report.drifted,
        )  # fmt: skip
        key = (runner, f"{report.project}/{report.environment}")
        if recorded and self.sent.get(key) == report.digest:
            # delivered: from now on only the runner's hello says whether it still has it
            self.sent.pop(key, None)
        return recorded

    def _record_preview(self, runner: RunnerIdentity, report: StatusReport) -> bool:
        number = report.environment.removeprefix("pr-")
        if not (report.environment.startswith("pr-") and number.isdigit()):
            return False
        return self.store.previews.report(
            runner.org, runner.name, report.project, int(number), report.digest,
            state=report.state, detail=report.detail(),
        )  # fmt: skip

    async def _resync(
        self, runner: RunnerIdentity, served: ServedEnvironment, digests: dict[str, str]
    ) -> None:
        """Resync by digest: what the runner applied (its hello) against what it should run."""
        if served.bundle_id is None or self.resend is None:
            return
        bundle = await asyncio.to_thread(self.store.desired.load_bundle, served.bundle_id)
        key = f"{served.project}/{served.environment}"
        if bundle is None or digests.get(key) == bundle.digest:
            return
        if self.sent.get((runner, key)) == bundle.digest:
            return  # queued by this process: the tunnel session delivers it
        log.info("runner %s lacks %s at %s: sending it again", runner, key, bundle.revision)
        await self.resend.dispatch(runner.org, runner.name, bundle)


class RefreshingDispatcher:
    """The reconciler's `Dispatcher`: refreshes who serves what, then hands over to the
    tunnel (`reconciler.tunnel_dispatch.TunnelDispatcher`)."""

    def __init__(self, inner: Dispatcher, callbacks: ReconcilerCallbacks) -> None:
        self.inner, self.callbacks = inner, callbacks

    async def dispatch(self, org: str, runner: str, bundle: Bundle) -> None:
        try:
            identity = RunnerIdentity(org, runner)
        except IdentityError as exc:
            raise DispatchError(str(exc)) from exc
        await self.callbacks.refresh(identity)
        await self.inner.dispatch(org, runner, bundle)
        self.callbacks.sent[(identity, f"{bundle.project}/{bundle.environment}")] = bundle.digest

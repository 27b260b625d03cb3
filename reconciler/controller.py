"""The reconcile loop: a coalescing work queue per project, workers, retries and polling.

One place turns a step's error into the project's conditions and its requeue time (Flux's
pattern): transient -> exponential backoff, waiting -> the poll interval, stalled -> no retry
until the source changes (the next poll or webhook finds a new commit).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from contract.retry import ErrorKind
from reconciler.deploy import Deployer, SyncRequest
from reconciler.dispatch import DispatchError
from reconciler.errors import Reason, ReconcileError
from reconciler.metrics import Metrics
from reconciler.notify import Notifier
from reconciler.pipeline import Pipeline
from reconciler.previews import PreviewBuilder
from reconciler.store import StateStore
from reconciler.store.records import ProjectRecord, ProjectStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    workers: int = 2
    """Projects reconciled at the same time (each in a worker thread)."""
    backoff_base_s: float = 2.0
    """First retry delay after a transient error; doubles per failure."""
    backoff_max_s: float = 300.0
    poll_jitter_s: float = 60.0
    """Random extra delay per poll so many repositories do not fetch in lockstep."""
    window_check_s: float = 30.0
    """How often environments held back by a sync window are checked again."""
    waiting_requeue_s: float = 60.0
    """Requeue of a waiting error when the project does not poll (interval 0)."""


class Controller:
    def __init__(
        self,
        store: StateStore,
        pipeline: Pipeline,
        deployer: Deployer,
        metrics: Metrics,
        *,
        previews: PreviewBuilder | None = None,
        notifier: Notifier | None = None,
        settings: ControllerSettings | None = None,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.deployer = deployer
        self.metrics = metrics
        self.previews = previews
        self.notifier = notifier
        self.settings = settings or ControllerSettings()
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._pending: set[int] = set()
        self._busy: set[int] = set()
        self._again: set[int] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self, *, scheduler: bool = True) -> None:
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"reconcile-worker-{i}")
            for i in range(self.settings.workers)
        ]
        interrupted = await asyncio.to_thread(self.store.projects.reconciling)
        if interrupted:
            log.info("re-queueing %d reconcile(s) cut short by a restart", len(interrupted))
        for project_id in interrupted:
            self.request(project_id)
        if scheduler:
            self._scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
            self._scheduler.add_job(
                self.check_windows,
                IntervalTrigger(seconds=self.settings.window_check_s),
                id="sync-windows",
            )
            for project in await asyncio.to_thread(self.store.projects.all):
                self.schedule_polling(project)
            self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        for handle in self._retries.values():
            handle.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def schedule_polling(self, project: ProjectRecord) -> None:
        """Poll every `poll_interval_s` plus jitter; 0 means webhook-only."""
        if self._scheduler is None:
            return
        job_id = f"poll-{project.id}"
        if project.repository.poll_interval_s <= 0:
            if self._scheduler.get_job(job_id) is not None:
                self._scheduler.remove_job(job_id)
            return
        trigger = IntervalTrigger(
            seconds=project.repository.poll_interval_s, jitter=self.settings.poll_jitter_s
        )
        self._scheduler.add_job(
            self._poll, trigger, args=[project.id], id=job_id, replace_existing=True
        )

    def polling_jobs(self) -> list[str]:
        """Ids of the scheduled jobs (`poll-<project id>`, `sync-windows`)."""
        return [] if self._scheduler is None else [job.id for job in self._scheduler.get_jobs()]

    async def _poll(self, project_id: int) -> None:
        self.request(project_id)

    async def request_durably(self, project_id: int) -> None:
        """`request`, recorded first: a request acknowledged to a caller (a webhook's 202)
        survives a crash; the next start re-queues it."""
        await asyncio.to_thread(self.store.projects.mark_reconciling, project_id)
        self.request(project_id)

    def request(self, project_id: int) -> None:
        """Ask for a reconcile; requests for a queued project coalesce into one."""
        if project_id in self._busy:
            self._again.add(project_id)  # a push during a reconcile must not be lost
            return
        if project_id in self._pending:
            return
        self._pending.add(project_id)
        self._idle.clear()
        self._queue.put_nowait(project_id)
        self.metrics.queue_depth = self._queue.qsize()

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until nothing is queued or running (tests and benchmarks poll on this)."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    async def _worker(self) -> None:
        while True:
            project_id = await self._queue.get()
            self._pending.discard(project_id)
            self._busy.add(project_id)
            self.metrics.queue_depth = self._queue.qsize()
            try:
                await self.reconcile(project_id)
            except Exception:  # a bug in one project must not stop the worker
                log.exception("reconcile of project %s crashed", project_id)
            finally:
                self._busy.discard(project_id)
                if project_id in self._again:
                    self._again.discard(project_id)
                    self.request(project_id)
                if not self._pending and not self._busy:
                    self._idle.set()

    async def reconcile(self, project_id: int) -> None:
        project = await asyncio.to_thread(self.store.projects.by_id, project_id)
        if project is None:
            return
        started = time.monotonic()
        await asyncio.to_thread(self.store.projects.mark_reconciling, project.id)
        try:
            outcome = await asyncio.to_thread(self.pipeline.build, project)
            if outcome.fresh:
                await asyncio.to_thread(self._audit_revision, project, outcome.commit.id)
            await self.deployer.deploy(project, SyncRequest())
        except ReconcileError as err:
            await self._failed(project, err, time.monotonic() - started)
        else:
            await self._succeeded(project, outcome.commit.id, time.monotonic() - started)
        if self.previews is not None:
            await self._refresh_previews(self.previews, project)

    async def _refresh_previews(self, previews: PreviewBuilder, project: ProjectRecord) -> None:
        try:
            changes = await asyncio.to_thread(previews.refresh, project)
        except Exception:  # previews never block the project's own reconcile
            log.exception("preview refresh of %s failed", project.name)
            return
        for runner, bundle in changes.deliveries:
            state, detail = "Dispatched", ""
            try:
                await self.deployer.dispatcher.dispatch(project.org, runner, bundle)
            except DispatchError as exc:
                log.warning(
                    "preview %s/%s not dispatched: %s", project.name, bundle.environment, exc
                )
                state, detail = "Undeliverable", str(exc)
            # the preview's API state says what became of it, not only the log
            number = int(bundle.environment.removeprefix("pr-"))
            await asyncio.to_thread(
                self.store.previews.dispatched, project.id, number, bundle.digest,
                state=state, detail=detail,
            )  # fmt: skip
        for event in changes.events:
            await self._notify(event)

    async def _notify(self, event: dict[str, Any]) -> None:
        if self.notifier is not None:
            await self.notifier.notify(event)

    def _audit_revision(self, project: ProjectRecord, commit_id: str) -> None:
        self.store.desired.audit(
            project.org_id,
            "reconciler",
            "revision.built",
            project=project.name,
            revision=commit_id,
        )

    async def _succeeded(self, project: ProjectRecord, commit_id: str, seconds: float) -> None:
        self._cancel_retry(project.id)
        now = self.store.state.clock()
        status = ProjectStatus(
            "True",
            project.id in self._again,  # a request that came during this run is still owed
            False,
            Reason.SUCCEEDED.value,
            f"bundles for {commit_id[:12]} stored and dispatched",
            commit_id,
            now,
            0,
            0,
        )
        await asyncio.to_thread(self.store.projects.set_status, project.id, status)
        self.metrics.reconciled("success", Reason.SUCCEEDED.value, seconds)
        await self._notify(
            {
                "kind": "revision",
                "project": project.name,
                "commit": commit_id,
                "state": "success",
                "reason": Reason.SUCCEEDED.value,
            }
        )

    async def _failed(self, project: ProjectRecord, err: ReconcileError, seconds: float) -> None:
        previous = await asyncio.to_thread(self.store.projects.status, project.id)
        failures = previous.failures + 1
        delay = self._retry_delay(project, err.kind, failures)
        now = self.store.state.clock()
        status = ProjectStatus(
            "False",
            project.id in self._again,
            err.kind is ErrorKind.STALLED,
            err.reason.value,
            err.message,
            previous.last_commit,
            now,
            now + delay if delay is not None else 0,
            failures,
        )
        await asyncio.to_thread(self.store.projects.set_status, project.id, status)
        self.metrics.reconciled("failure", err.reason.value, seconds)
        if err.kind is ErrorKind.STALLED:
            await self._notify(
                {
                    "kind": "revision",
                    "project": project.name,
                    "state": "failure",
                    "reason": err.reason.value,
                    "message": err.message,
                    "errors": list(err.errors[:50]),
                }
            )
        log.warning("reconcile %s: %s (%s): %s", project.name, err.reason, err.kind, err.message)
        if delay is not None:
            self._schedule_retry(project.id, delay)

    def _retry_delay(self, project: ProjectRecord, kind: ErrorKind, failures: int) -> float | None:
        if kind is ErrorKind.STALLED:
            return None
        if kind is ErrorKind.WAITING:
            interval = project.repository.poll_interval_s
            return float(interval) if interval > 0 else self.settings.waiting_requeue_s
        base = self.settings.backoff_base_s * 2.0 ** min(failures - 1, 30)
        jitter = random.uniform(1.0, 1.1)  # noqa: S311 - spreading retries, not security
        return float(min(self.settings.backoff_max_s, base) * jitter)

    def _schedule_retry(self, project_id: int, delay: float) -> None:
        self._cancel_retry(project_id)
        loop = asyncio.get_running_loop()
        self._retries[project_id] = loop.call_later(delay, self.request, project_id)

    def _cancel_retry(self, project_id: int) -> None:
        handle = self._retries.pop(project_id, None)
        if handle is not None:
            handle.cancel()

    async def check_windows(self) -> None:
        """Environments held back by a sync window get their bundle once the window opens."""
        for project in await asyncio.to_thread(self.store.projects.all):
            try:
                await self.deployer.deploy(project, SyncRequest())
            except ReconcileError as err:
                log.warning("window check %s: %s", project.name, err.message)

"""The sync daemon: takes bundles and rollback commands from an in-process queue, keeps the
last N bundles in its own SQLite, and keeps enforcing the newest one (also while the control
plane is unreachable), retrying with exponential backoff when the API server is not.

An environment that is still Progressing (or Missing) is re-checked soon (`recheck`, doubling
up to `recheck_max`), so its health follows the cluster within seconds; a settled one every
`interval`. `stop` lets the sync under way finish (a wave wait gives up, and that sync runs
again at the next start) and records its status before the store may close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from contract.bundles import Bundle
from contract.message_types import STATUS
from contract.status import Health, Phase
from runner.driver import Driver, DriverError, Interrupted, WrongTargetError
from runner.errors import RunnerError
from runner.store import RunnerStore, env_key
from runner.sync_steps import SyncSettings, SyncStatus, enforce, errored, sync_bundle

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rollback:
    """Re-apply the stored bundle of `revision` (it stays current until a newer bundle arrives)."""

    project: str
    environment: str
    revision: str


_MOVING = (Health.PROGRESSING, Health.MISSING)  # states a re-check soon may see change


class RollbackError(RunnerError, LookupError):
    """The runner does not hold a bundle for that revision any more."""


Command = Bundle | Rollback


class SyncDaemon:
    def __init__(
        self,
        driver: Driver,
        store: RunnerStore,
        settings: SyncSettings | None = None,
        *,
        on_status: Callable[[SyncStatus], None] | None = None,
    ) -> None:
        self.driver, self.store = driver, store
        self.settings = settings or SyncSettings()
        self.commands: asyncio.Queue[Command] = asyncio.Queue()
        self.statuses: dict[str, SyncStatus] = {}
        self.history: list[SyncStatus] = []
        self._on_status = on_status
        self._current: dict[str, Bundle] = {}
        self._dirty: set[str] = set()  # environments that need a full sync, not just a check
        self._failures: dict[str, int] = {}
        self._unsettled: dict[str, int] = {}  # env -> re-checks in a row that found it moving
        self._changed = asyncio.Event()
        self._inflight: asyncio.Future[None] | None = None

    # ---- the loop ----------------------------------------------------------------------
    async def run(self) -> None:
        for bundle in await asyncio.to_thread(self.store.latest):
            # a restarted runner picks up where it was, control plane or not
            self._current[env_key(bundle)] = bundle
            self._dirty.add(env_key(bundle))
        while True:
            await self._sync_round()
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that races with its own timeout, and the daemon would never stop
                async with asyncio.timeout(self._next_delay()):
                    command = await self.commands.get()
            except TimeoutError:
                continue
            await self._accept(command)
            while not self.commands.empty():
                await self._accept(self.commands.get_nowait())

    async def _accept(self, command: Command) -> None:
        try:
            bundle = await asyncio.to_thread(self._resolve, command)
        except RollbackError as exc:
            log.error("rollback refused: %s", exc)
            return
        env = env_key(bundle)
        self._current[env] = bundle
        self._dirty.add(env)
        self._failures.pop(env, None)

    def _resolve(self, command: Command) -> Bundle:
        if isinstance(command, Rollback):
            env = f"{command.project}/{command.environment}"
            match = [b for b in self.store.bundles(env) if b.revision == command.revision]
            if not match:
                raise RollbackError(f"no stored bundle of {env} at {command.revision}")
            command = match[0]
        self.store.save_bundle(command)
        return command

    async def _sync_round(self) -> None:
        for env, bundle in list(self._current.items()):
            # shielded: a cancelled daemon still lets this sync finish and record (see stop)
            self._inflight = asyncio.ensure_future(self._sync_and_record(env, bundle))
            await asyncio.shield(self._inflight)

    async def stop(self, timeout: float) -> None:
        """The runner is stopping (after cancelling `run`): give up long waits, let the sync
        under way finish and record its status, at most `timeout` seconds."""
        self.driver.interrupt()
        if self._inflight is None or self._inflight.done():
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._inflight)
        except TimeoutError:
            log.warning(
                "the sync under way did not finish in %.0fs; it runs again at start", timeout
            )

    async def _sync_and_record(self, env: str, bundle: Bundle) -> None:
        full = env in self._dirty
        try:
            status = await asyncio.to_thread(self._sync_env, bundle, full=full)
        except Interrupted as exc:
            log.info("sync of %s given up: %s", env, exc)
            return  # still dirty: the stored bundle is synced again at the next start
        self._track(env, status)
        if self._note(status):
            # delivered by the tunnel client whenever the control plane is reachable
            await asyncio.to_thread(self.store.enqueue, STATUS, status.payload())
        self._changed.set()

    def _track(self, env: str, status: SyncStatus) -> None:
        if status.phase is Phase.SYNCED:
            self._dirty.discard(env)
            self._failures.pop(env, None)
        elif status.phase is not Phase.OUT_OF_SYNC:
            self._failures[env] = self._failures.get(env, 0) + 1
        if status.phase is Phase.SYNCED and status.health in _MOVING:
            self._unsettled[env] = self._unsettled.get(env, 0) + 1
        else:
            self._unsettled.pop(env, None)

    def _sync_env(self, bundle: Bundle, *, full: bool) -> SyncStatus:
        if bundle.target != self.driver.target:
            return errored(bundle, WrongTargetError(bundle, self.driver.target))
        try:
            if full:
                return sync_bundle(self.driver, self.store, bundle, self.settings)
            return enforce(self.driver, bundle, self.settings)
        except Interrupted:
            raise
        except DriverError as exc:
            log.warning("sync of %s failed, will retry: %s", env_key(bundle), exc)
            return errored(bundle, exc)
        except Exception as exc:  # our bug: keep enforcing the others, log everything
            log.exception("sync of %s crashed", env_key(bundle))
            return errored(bundle, DriverError(f"internal error: {type(exc).__name__}: {exc}"))

    def _note(self, status: SyncStatus) -> bool:
        """Keep the status; True when it says something new (worth queueing for the control
        plane; repeats of the same state are not)."""
        before = self.statuses.get(status.env)
        self.statuses[status.env] = status
        self.history.append(status)
        del self.history[:-200]
        if self._on_status is not None:
            self._on_status(status)
        return before is None or _reportable(before) != _reportable(status)

    def _next_delay(self) -> float:
        s = self.settings
        delay = s.interval
        if self._failures:
            worst = max(self._failures.values())
            delay = min(s.backoff_max, s.backoff_base * s.backoff_factor ** (worst - 1))
        if self._unsettled:
            # still moving: look again soon, less often the longer it takes
            longest = max(self._unsettled.values())
            delay = min(delay, s.recheck_max, s.recheck * 2 ** (longest - 1))
        return delay

    # ---- for callers and tests ---------------------------------------------------------
    def submit(self, command: Command) -> None:
        self.commands.put_nowait(command)

    async def wait_for(
        self, predicate: Callable[[SyncStatus], bool], env: str, timeout: float
    ) -> SyncStatus:
        """The first status of `env` (the current one included) that satisfies `predicate`."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._changed.clear()
                    current = self.statuses.get(env)
                    if current is not None and predicate(current):
                        return current
                    await self._changed.wait()
        except TimeoutError:
            last = self.statuses.get(env)
            raise TimeoutError(f"no matching status of {env} in {timeout}s; last: {last}") from None


def _reportable(status: SyncStatus) -> tuple[str, ...]:
    return (
        status.revision, status.phase, status.health, status.message, status.health_detail,
        *status.drifted,
    )  # fmt: skip

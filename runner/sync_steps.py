"""One synchronous sync of one environment (run in a worker thread by the daemon):
apply -> prune (only after a full success) -> inventory -> health; or, between bundles,
drift -> heal -> health."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contract.bundles import Bundle
from contract.status import Health, ObjectStatus, Outcome, Phase, StatusReport
from runner.driver import (
    ApplyOptions,
    ApplyResult,
    Driver,
    DriverError,
    EnvironmentHealth,
    Interrupted,
    InventoryError,
    ObjectResult,
)
from runner.objects import ObjectRef
from runner.store import RunnerStore, env_key

log = logging.getLogger(__name__)
# a preview environment's name (renderers.kubernetes.environment.PREVIEW_NAME)
_PREVIEW = re.compile(r"^pr-[1-9][0-9]{0,8}$")
_APPLIED = (Outcome.CREATED, Outcome.CONFIGURED, Outcome.UNCHANGED)


@dataclass(frozen=True, slots=True)
class SyncSettings:
    interval: float = 180.0
    """Seconds between drift checks (and re-enforcement) of the current bundle."""
    recheck: float = 2.0
    """Seconds before the first re-check of an environment that is Progressing (or Missing);
    doubled at each re-check that finds it so, up to `recheck_max`, then `interval` again
    once it settles."""
    recheck_max: float = 30.0
    self_heal: bool = True
    """Re-apply drifted objects; off: only report them (OutOfSync)."""
    prune: bool = True
    allow_empty: bool = False
    """Allow a bundle without objects to prune everything the environment owned."""
    backoff_base: float = 1.0
    backoff_factor: float = 2.0
    backoff_max: float = 60.0
    apply: ApplyOptions = field(default_factory=ApplyOptions)


@dataclass(frozen=True, slots=True)
class SyncStatus:
    project: str
    environment: str
    revision: str
    digest: str
    phase: Phase
    health: Health
    message: str = ""
    health_detail: str = ""
    objects: tuple[ObjectResult, ...] = ()
    drifted: tuple[str, ...] = ()
    at: float = 0.0
    transient: bool = False

    @property
    def env(self) -> str:
        return f"{self.project}/{self.environment}"

    def report(self) -> StatusReport:
        """The status report the control plane receives (object messages included, values
        never). Built unvalidated: the control plane validates it, and a runner must report
        even what the control plane will refuse (it logs the refusal)."""
        objects = [
            ObjectStatus.model_construct(key=r.ref.key, outcome=r.outcome, message=r.message)
            for r in self.objects
            if r.outcome is not Outcome.UNCHANGED
        ]
        return StatusReport.model_construct(
            project=self.project,
            environment=self.environment,
            revision=self.revision,
            digest=self.digest,
            phase=self.phase,
            health=self.health,
            message=self.message,
            health_detail=self.health_detail,
            objects=objects,
            drifted=list(self.drifted),
            at=self.at,
        )

    def payload(self) -> dict[str, Any]:
        """`report()` as the JSON that travels."""
        return self.report().model_dump(mode="json")


def _status(bundle: Bundle, phase: Phase, health: Health, **kw: Any) -> SyncStatus:
    return SyncStatus(
        bundle.project, bundle.environment, bundle.revision, bundle.digest, phase, health,
        at=time.time(), **kw,
    )  # fmt: skip


def previous_inventory(driver: Driver, store: RunnerStore, bundle: Bundle) -> tuple[ObjectRef, ...]:
    """The cluster's copy when readable, else the local one (a deleted ConfigMap loses nothing)."""
    try:
        found = driver.read_inventory(bundle)
    except InventoryError as exc:
        log.warning("in-cluster inventory unreadable, using the local copy: %s", exc)
        found = None
    return found if found is not None else (store.inventory(env_key(bundle)) or ())


def _save_inventory(
    driver: Driver, store: RunnerStore, bundle: Bundle, refs: Sequence[ObjectRef]
) -> None:
    unique = tuple({r.key: r for r in refs}.values())
    store.save_inventory(env_key(bundle), unique)
    driver.write_inventory(bundle, unique)


def _failure_message(result: ApplyResult) -> str:
    first = result.failed[0]
    more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
    stage = "dry-run" if result.dry_run_failed else "apply"
    return f"{stage} failed: {first.ref}: {first.message}{more}"


def sync_bundle(
    driver: Driver, store: RunnerStore, bundle: Bundle, settings: SyncSettings
) -> SyncStatus:
    previous = previous_inventory(driver, store, bundle)
    try:
        result = driver.apply(bundle, settings.apply)
    except Interrupted as exc:
        # resumed at the next start; until then the environment owns what it created
        _save_inventory(driver, store, bundle, [*previous, *exc.applied])
        raise
    applied = [r.ref for r in result.results if r.outcome in _APPLIED]
    if not result.ok:
        # never prune after a failure; keep owning what this attempt created
        _save_inventory(driver, store, bundle, [*previous, *applied])
        health = _health_after_failure(driver, bundle, result)
        return _status(
            bundle, Phase.FAILED, health.status, message=_failure_message(result),
            objects=result.results, health_detail=health.detail,
        )  # fmt: skip
    results = list(result.results)
    message = ""
    if settings.prune:
        # an empty preview bundle is the control plane closing it: everything goes
        allow_empty = settings.allow_empty or bool(_PREVIEW.match(bundle.environment))
        pruned = driver.prune(bundle, previous, allow_empty=allow_empty)
        results += pruned.results
        inventory: Sequence[ObjectRef] = pruned.inventory
        message = pruned.refused
    else:
        inventory = [*previous, *applied]
    _save_inventory(driver, store, bundle, inventory)
    health = driver.health(bundle)
    message = "; ".join(m for m in (*result.notes, message) if m)
    return _status(
        bundle, Phase.SYNCED, health.status, message=message, objects=tuple(results),
        health_detail=health.detail,
    )  # fmt: skip


def _health_after_failure(driver: Driver, bundle: Bundle, result: ApplyResult) -> EnvironmentHealth:
    """A sync held by a Degraded wave (a failed build) reports that health; a refused
    dry-run changed nothing, and a cluster that stopped answering says nothing."""
    if result.dry_run_failed:
        return EnvironmentHealth(Health.UNKNOWN)
    try:
        return driver.health(bundle)
    except Interrupted:
        raise
    except DriverError:
        return EnvironmentHealth(Health.UNKNOWN)


def enforce(driver: Driver, bundle: Bundle, settings: SyncSettings) -> SyncStatus:
    report = driver.drift(bundle, heal=settings.self_heal)
    healed = {r.key for r in report.healed}
    open_drift = tuple(d.ref.key for d in report.drifted if d.ref.key not in healed)
    health = driver.health(bundle)
    phase = Phase.OUT_OF_SYNC if open_drift else Phase.SYNCED
    message = f"healed {len(healed)} drifted object(s)" if healed else ""
    drifted = tuple(d.ref.key for d in report.drifted)
    return _status(
        bundle, phase, health.status, message=message, drifted=drifted,
        health_detail=health.detail,
    )  # fmt: skip


def errored(bundle: Bundle, error: DriverError) -> SyncStatus:
    """The sync stopped on an error outside any one object (API server down, forbidden...)."""
    phase = Phase.UNREACHABLE if error.transient else Phase.FAILED
    return _status(bundle, phase, Health.UNKNOWN, message=str(error), transient=error.transient)

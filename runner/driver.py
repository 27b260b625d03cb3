"""The driver interface the sync daemon drives (apply / prune / health / drift), and its results.

The `kubernetes` driver implements it against an API server; the embedded issue adds a `local`
driver for a single host. Results are plain values so the daemon can store and report them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from contract.bundles import Bundle, Target
from contract.retry import ErrorKind
from contract.status import Health, Outcome
from runner.errors import RunnerError
from runner.health import HealthReport, describe
from runner.objects import ObjectRef

_SEVERITY = {h: i for i, h in enumerate(Health)}
_DETAIL_OBJECTS = 3  # a detail stays one readable line; the count says how many more


class InventoryError(RunnerError, ValueError):
    """The stored inventory cannot be read; pruning must not trust it."""


class DriverError(RunnerError):
    """The driver could not do its work at all (not one object's refusal: those are results).
    Its `kind` says how to retry: transient errors (the API server unreachable, overloaded)
    with backoff, the others at the next sync interval."""

    kind = ErrorKind.WAITING

    @property
    def transient(self) -> bool:
        return self.kind is ErrorKind.TRANSIENT


class Interrupted(DriverError):
    """A sync given up because the runner is stopping (never reported: it is resumed).
    `applied`: what it created or changed before, which the environment owns from now on."""

    def __init__(self, message: str, applied: Sequence[ObjectRef] = ()) -> None:
        super().__init__(message)
        self.applied = tuple(applied)


class WrongTargetError(DriverError):
    """A bundle rendered for another target than this runner's driver runs: nothing of it is
    applied (a CamelProcess means nothing to a cluster, a Deployment nothing to a host)."""

    def __init__(self, bundle: Bundle, driver_target: Target) -> None:
        super().__init__(
            f"{bundle.project}/{bundle.environment}: the bundle is for the {bundle.target} "
            f"target, this runner's driver runs {driver_target}: set `target: {driver_target}` "
            f"on environment {bundle.environment} in camelops.yaml, or serve it from a "
            f"{bundle.target} runner"
        )


@dataclass(frozen=True, slots=True)
class ObjectResult:
    ref: ObjectRef
    outcome: Outcome
    message: str = ""


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    force_conflicts: bool = True
    """Take fields over from other managers (Git wins, like Argo CD and Flux server-side apply)."""
    concurrency: int = 8
    """Objects of the same wave and kind applied in parallel."""
    use_cache: bool = True
    """Skip objects whose manifest and live fingerprint match what this runner last applied."""
    wave_timeout: float = 300.0
    """Seconds a sync wave may take to become Healthy before the next wave is given up."""
    wave_poll: float = 0.5
    """Seconds between health checks while waiting for a wave."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    results: tuple[ObjectResult, ...]
    dry_run_failed: bool = False
    notes: tuple[str, ...] = ()
    """What the sync status should say beyond per-object outcomes (e.g. a build's image pin)."""

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> tuple[ObjectResult, ...]:
        return tuple(r for r in self.results if r.outcome is Outcome.FAILED)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


@dataclass(frozen=True, slots=True)
class PruneResult:
    results: tuple[ObjectResult, ...]
    inventory: tuple[ObjectRef, ...]
    """What the environment owns afterwards: the bundle's objects plus failed deletions."""
    refused: str = ""
    """Why nothing was pruned at all (empty when pruning ran)."""


@dataclass(frozen=True, slots=True)
class FieldDiff:
    path: str  # JSON pointer
    live: str  # rendered values; "<hidden>" for Secret data
    desired: str


@dataclass(frozen=True, slots=True)
class Drift:
    ref: ObjectRef
    diffs: tuple[FieldDiff, ...] = ()
    missing: bool = False
    error: str = ""


@dataclass(frozen=True, slots=True)
class DriftReport:
    drifted: tuple[Drift, ...]
    checked: int
    healed: tuple[ObjectRef, ...] = ()

    @property
    def in_sync(self) -> bool:
        return not self.drifted


@dataclass(frozen=True, slots=True)
class EnvironmentHealth:
    status: Health
    objects: tuple[tuple[ObjectRef, HealthReport], ...] = field(default=())

    def of(self, ref: ObjectRef) -> HealthReport | None:
        return next((h for r, h in self.objects if r == ref), None)

    @property
    def detail(self) -> str:
        """One line for a non-Healthy environment naming the objects that make it so, worst
        first: `Ingress shop-dev/orders-api has no load-balancer address yet`."""
        if self.status is Health.HEALTHY:
            return ""
        unwell = [(r, h) for r, h in self.objects if h.status is not Health.HEALTHY]
        if not unwell:
            return ""
        unwell.sort(key=lambda item: _SEVERITY[item[1].status], reverse=True)
        shown = [describe(r, h) for r, h in unwell[:_DETAIL_OBJECTS]]
        more = len(unwell) - len(shown)
        return "; ".join(shown) + (f" (and {more} more not Healthy)" if more else "")


class Driver(Protocol):
    """What the sync daemon needs from a place that runs integrations."""

    @property
    def target(self) -> Target:
        """The bundles this driver runs; the daemon refuses the others before any call."""

    def apply(self, bundle: Bundle, options: ApplyOptions) -> ApplyResult:
        """Dry-run everything, then apply in wave and kind order; stop at the first failed step."""

    def prune(
        self, bundle: Bundle, previous: Sequence[ObjectRef], *, allow_empty: bool = False
    ) -> PruneResult:
        """Delete what `previous` owned and `bundle` no longer does, in reverse order."""

    def health(self, bundle: Bundle) -> EnvironmentHealth:
        """Health of every object of the bundle and the worst of them."""

    def drift(self, bundle: Bundle, *, heal: bool) -> DriftReport:
        """Compare desired with live; re-apply drifted objects when `heal`."""

    def read_inventory(self, bundle: Bundle) -> tuple[ObjectRef, ...] | None:
        """The inventory stored with the environment, or None when there is none yet."""

    def write_inventory(self, bundle: Bundle, inventory: Sequence[ObjectRef]) -> None:
        """Record what the environment owns next to it (in-cluster for Kubernetes)."""

    def interrupt(self) -> None:
        """The runner is stopping: give up long waits (a sync wave's health) now by raising
        `Interrupted` from the sync under way; the stored bundle is synced again at start."""

    def close(self) -> None:
        """Release connections."""

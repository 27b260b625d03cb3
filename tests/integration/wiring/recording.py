"""`RecordingDriver`: a TEST DOUBLE standing in for Kubernetes in the wiring tests.

It implements `runner.driver.Driver` by recording every bundle it is asked to apply and
answering "created, healthy, no drift". The wiring tests use it to prove that bundles travel
control plane -> mTLS tunnel -> runner daemon and statuses travel back; what a real cluster
does with a bundle is tested with the `kubernetes` driver against a real kube-apiserver
(tests/e2e/k8s, and the `e2e` test in this folder).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from contract.bundles import Bundle, Target
from contract.status import Health, Outcome
from runner.driver import (
    ApplyOptions,
    ApplyResult,
    DriftReport,
    EnvironmentHealth,
    ObjectResult,
    PruneResult,
)
from runner.objects import ObjectRef


class RecordingDriver:
    target = Target.KUBERNETES  # it stands in for a cluster

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the sync daemon calls drivers from worker threads
        self.applied: list[Bundle] = []
        self.inventories: dict[str, tuple[ObjectRef, ...]] = {}
        self.closed = False

    def apply(self, bundle: Bundle, options: ApplyOptions) -> ApplyResult:
        del options
        with self._lock:
            self.applied.append(bundle)
        refs = [ObjectRef.of(m) for m in bundle.manifests]
        return ApplyResult(tuple(ObjectResult(r, Outcome.CREATED) for r in refs))

    def prune(
        self, bundle: Bundle, previous: Sequence[ObjectRef], *, allow_empty: bool = False
    ) -> PruneResult:
        del previous, allow_empty
        return PruneResult((), tuple(ObjectRef.of(m) for m in bundle.manifests))

    def health(self, bundle: Bundle) -> EnvironmentHealth:
        del bundle
        return EnvironmentHealth(Health.HEALTHY)

    def drift(self, bundle: Bundle, *, heal: bool) -> DriftReport:
        del heal
        return DriftReport((), checked=len(bundle.manifests))

    def read_inventory(self, bundle: Bundle) -> tuple[ObjectRef, ...] | None:
        with self._lock:
            return self.inventories.get(f"{bundle.project}/{bundle.environment}")

    def write_inventory(self, bundle: Bundle, inventory: Sequence[ObjectRef]) -> None:
        with self._lock:
            self.inventories[f"{bundle.project}/{bundle.environment}"] = tuple(inventory)

    def interrupt(self) -> None:
        """Nothing to give up: this driver never waits."""

    def close(self) -> None:
        self.closed = True

    def revisions(self, env: str) -> list[str]:
        with self._lock:
            return [b.revision for b in self.applied if f"{b.project}/{b.environment}" == env]

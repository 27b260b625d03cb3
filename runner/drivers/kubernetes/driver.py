"""The `kubernetes` driver: server-side apply, prune, health and drift against an API server."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

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
from runner.drivers.kubernetes.build import BuildJob, BuildTracker, build_job, pin_planned
from runner.drivers.kubernetes.client import ApiError, KubeClient, KubeError, UnknownKind
from runner.drivers.kubernetes.inventory import inventory_configmap, inventory_name, parse_inventory
from runner.drivers.kubernetes.live import LiveIndex, drift_of, fingerprint, live_index
from runner.drivers.kubernetes.plan import Invalid, Planned, plan, steps
from runner.drivers.kubernetes.prune import prune_orphans
from runner.health import health_of, worst_of
from runner.objects import ObjectRef

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _Applied:
    digest: str  # of the manifest we sent
    fingerprint: str  # of the object the server returned (kubernetes_live.fingerprint)


class KubernetesDriver:
    """One cluster. Remembers what it applied (manifest digest, object fingerprint) so a
    no-change resync costs a few LIST calls instead of two requests per object."""

    target = Target.KUBERNETES

    def __init__(self, kube: KubeClient, *, inventory_namespace: str = "camelops-system") -> None:
        self.kube = kube
        self.inventory_namespace = inventory_namespace
        self._applied: dict[str, _Applied] = {}
        self._builds = BuildTracker(kube)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="kube")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.kube.close()

    def _map(self, fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
        items = list(items)
        if concurrency <= 1 or len(items) <= 1:
            return [fn(i) for i in items]
        return list(self._pool.map(fn, items))

    # ---- apply -------------------------------------------------------------------------
    def apply(self, bundle: Bundle, options: ApplyOptions) -> ApplyResult:
        planned, invalid = plan(bundle)
        if invalid:
            return ApplyResult(_invalid_results(invalid, planned), dry_run_failed=True)
        builds = [b for b in map(build_job, planned) if b is not None]
        notes: dict[str, str] = {}
        planned = self._pin(planned, builds, notes)
        live = live_index(self.kube, [p.ref for p in planned])
        todo, unchanged = self._changed(planned, live, options)
        refused = self._dry_run(todo, planned, options)
        if refused:
            failed_keys = {r.ref.key for r in refused}
            skipped = [
                ObjectResult(p.ref, Outcome.SKIPPED, "not applied: the dry-run refused others")
                for p in planned
                if p.ref.key not in failed_keys
            ]
            return ApplyResult((*refused, *skipped), dry_run_failed=True)
        waves = _refs_by_wave(planned)
        applied = self._apply_steps(todo, waves, live, options, builds=builds, notes=notes)
        return ApplyResult((*unchanged, *applied), notes=tuple(notes[k] for k in sorted(notes)))

    def _pin(
        self, planned: list[Planned], builds: list[BuildJob], notes: dict[str, str]
    ) -> list[Planned]:
        """Deployments running a built image get the digest of its Complete build Job
        (runner/drivers/kubernetes/build.py); `notes` collects what the status says about each."""
        if not builds or not any(p.ref.kind == "Deployment" for p in planned):
            return planned
        digests = self._builds.digests(builds)
        out = []
        for p in planned:
            pinning = pin_planned(p, digests)
            if pinning.note:
                notes[p.ref.key] = pinning.note
            out.append(pinning.planned)
        return out

    def _changed(
        self, planned: list[Planned], live: LiveIndex, options: ApplyOptions
    ) -> tuple[list[Planned], list[ObjectResult]]:
        todo: list[Planned] = []
        unchanged: list[ObjectResult] = []
        for p in planned:
            known = self._applied.get(p.ref.key) if options.use_cache else None
            seen = live.fingerprint(p.ref, self.kube.field_manager)
            if known and seen and known == _Applied(p.digest, seen):
                unchanged.append(ObjectResult(p.ref, Outcome.UNCHANGED))
            else:
                todo.append(p)
        return todo, unchanged

    def _dry_run(
        self, todo: list[Planned], planned: list[Planned], options: ApplyOptions
    ) -> list[ObjectResult]:
        namespaces = {p.ref.name for p in planned if p.ref.kind == "Namespace"}
        crds = {
            (str(p.manifest.get("spec", {}).get("group")), str(p.manifest["spec"]["names"]["kind"]))
            for p in planned
            if p.ref.kind == "CustomResourceDefinition" and _has_crd_names(p.manifest)
        }

        def check(p: Planned) -> ObjectResult | None:
            try:
                self.kube.apply(p.manifest, force=options.force_conflicts, dry_run=True)
            except UnknownKind as exc:
                return None if (p.ref.group, p.ref.kind) in crds else _failed(p.ref, exc)
            except ApiError as exc:
                # a Namespace the bundle creates does not exist yet: the real apply will see it
                waiting = exc.status == 404 and p.ref.namespace in namespaces
                return None if waiting else _failed(p.ref, exc)
            return None

        results = self._map(check, todo, options.concurrency)
        return [r for r in results if r is not None]

    def _apply_steps(
        self,
        todo: list[Planned],
        waves: dict[int, list[ObjectRef]],
        live: LiveIndex,
        options: ApplyOptions,
        *,
        builds: list[BuildJob],
        notes: dict[str, str],
    ) -> list[ObjectResult]:
        results: list[ObjectResult] = []
        failed = False
        cleared: set[int] = set()
        for step in steps(todo):
            pending = list(step)
            if not failed:
                # like Argo CD: a wave starts only once every earlier wave is Healthy,
                # changed in this sync or not
                blocker = self._wait_for_waves_before(step[0].wave, waves, cleared, options)
                if blocker:
                    results.append(ObjectResult(pending.pop(0).ref, Outcome.FAILED, blocker))
                    failed = True
            if failed:
                skipped = "an earlier step failed"
                results += [ObjectResult(p.ref, Outcome.SKIPPED, skipped) for p in pending]
                continue
            # the builds of earlier waves are Complete now: their digests are known
            pending = self._pin(pending, builds, notes)
            done = self._map(
                lambda p: self._apply_one(p, live, options), pending, options.concurrency
            )
            results += done
            failed = any(r.outcome is Outcome.FAILED for r in done)
        return results

    def _wait_for_waves_before(
        self, wave: int, waves: dict[int, list[ObjectRef]], cleared: set[int], options: ApplyOptions
    ) -> str:
        for earlier in sorted(w for w in waves if w < wave and w not in cleared):
            blocker = self._wait_for_wave(earlier, waves[earlier], options)
            if blocker:
                return blocker
            cleared.add(earlier)
        return ""

    def _wait_for_wave(self, wave: int, refs: list[ObjectRef], options: ApplyOptions) -> str:
        """Empty when the wave is Healthy (or Suspended); else why the next wave must not go."""
        deadline = time.monotonic() + options.wave_timeout
        while True:
            live = live_index(self.kube, refs)
            reports = [(r, self._builds.health(r, live.get(r))) for r in refs]
            worst = worst_of(h.status for _, h in reports)
            if worst in (Health.HEALTHY, Health.SUSPENDED):
                return ""
            if worst is Health.DEGRADED or time.monotonic() >= deadline:
                ref, report = next((r, h) for r, h in reports if h.status is worst)
                return f"sync wave {wave} is {worst} ({ref}: {report.message}); not applied"
            time.sleep(options.wave_poll)

    def _apply_one(self, p: Planned, live: LiveIndex, options: ApplyOptions) -> ObjectResult:
        try:
            created, obj = self.kube.apply(p.manifest, force=options.force_conflicts)
        except KubeError as exc:
            self._applied.pop(p.ref.key, None)
            return _failed(p.ref, exc)
        rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        self._applied[p.ref.key] = _Applied(p.digest, fingerprint(obj, self.kube.field_manager))
        if created:
            return ObjectResult(p.ref, Outcome.CREATED)
        same = rv == live.resource_version(p.ref)
        return ObjectResult(p.ref, Outcome.UNCHANGED if same else Outcome.CONFIGURED)

    # ---- prune -------------------------------------------------------------------------
    def prune(
        self, bundle: Bundle, previous: Sequence[ObjectRef], *, allow_empty: bool = False
    ) -> PruneResult:
        planned, _ = plan(bundle)
        result = prune_orphans(
            self.kube, bundle, [p.ref for p in planned], previous, allow_empty=allow_empty
        )
        for r in result.results:
            if r.outcome is Outcome.PRUNED:
                self._applied.pop(r.ref.key, None)
        return result

    # ---- health and drift --------------------------------------------------------------
    def health(self, bundle: Bundle) -> EnvironmentHealth:
        planned, _ = plan(bundle)
        live = live_index(self.kube, [p.ref for p in planned])
        reports = tuple((p.ref, health_of(live.get(p.ref))) for p in planned)
        return EnvironmentHealth(worst_of(h.status for _, h in reports), reports)

    def drift(self, bundle: Bundle, *, heal: bool) -> DriftReport:
        planned, _ = plan(bundle)
        # compare with what apply sent: a pinned image is not drift from the rendered tag
        planned = self._pin(planned, [b for b in map(build_job, planned) if b is not None], {})
        live = live_index(self.kube, [p.ref for p in planned])
        suspects = [
            p
            for p in planned
            if self._applied.get(p.ref.key)
            != _Applied(p.digest, live.fingerprint(p.ref, self.kube.field_manager))
        ]
        found = self._map(lambda p: drift_of(self.kube, p, live.get(p.ref)), suspects, 8)
        drifted = tuple(d for d in found if d is not None)
        healed: list[ObjectRef] = []
        if heal and drifted:
            by_key = {p.ref.key: p for p in planned}
            fixes = [by_key[d.ref.key] for d in drifted if not d.error]
            forced = ApplyOptions(force_conflicts=True)
            done = self._map(lambda p: self._apply_one(p, live, forced), fixes, 8)
            healed = [r.ref for r in done if r.outcome is not Outcome.FAILED]
        drifted_keys = {d.ref.key for d in drifted}
        self._remember([p for p in suspects if p.ref.key not in drifted_keys], live)
        return DriftReport(drifted, len(planned), tuple(healed))

    def _remember(self, in_sync: list[Planned], live: LiveIndex) -> None:
        """Objects just proven in sync need no dry-run until they change again."""
        for p in in_sync:
            seen = live.fingerprint(p.ref, self.kube.field_manager)
            if seen:
                self._applied[p.ref.key] = _Applied(p.digest, seen)

    # ---- inventory ---------------------------------------------------------------------
    def read_inventory(self, bundle: Bundle) -> tuple[ObjectRef, ...] | None:
        ref = ObjectRef("", "v1", "ConfigMap", self.inventory_namespace, inventory_name(bundle))
        found = self.kube.get(ref)
        return None if found is None else parse_inventory(found)

    def write_inventory(self, bundle: Bundle, inventory: Sequence[ObjectRef]) -> None:
        self.kube.apply(
            inventory_configmap(bundle, inventory, self.inventory_namespace), force=True
        )


def _refs_by_wave(planned: list[Planned]) -> dict[int, list[ObjectRef]]:
    waves: dict[int, list[ObjectRef]] = {}
    for p in planned:
        waves.setdefault(p.wave, []).append(p.ref)
    return waves


def _failed(ref: ObjectRef, exc: Exception) -> ObjectResult:
    return ObjectResult(ref, Outcome.FAILED, str(exc))


def _has_crd_names(manifest: dict[str, Any]) -> bool:
    spec = manifest.get("spec")
    return (
        isinstance(spec, dict) and isinstance(spec.get("names"), dict) and "kind" in spec["names"]
    )


def _invalid_results(invalid: list[Invalid], planned: list[Planned]) -> tuple[ObjectResult, ...]:
    failed = []
    for item in invalid:
        ref = item.ref or ObjectRef("", "", "?", "", f"manifests[{item.index}]")
        failed.append(ObjectResult(ref, Outcome.FAILED, item.message))
    skipped = [ObjectResult(p.ref, Outcome.SKIPPED, "bundle has invalid objects") for p in planned]
    return (*failed, *skipped)

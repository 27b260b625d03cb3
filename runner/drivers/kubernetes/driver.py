"""The `kubernetes` driver: server-side apply, prune, health and drift against an API server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from contract.bundles import Bundle, Target
from contract.status import Health, Outcome
from runner.driver import (
    ApplyOptions,
    ApplyResult,
    Drift,
    DriftReport,
    EnvironmentHealth,
    Interrupted,
    ObjectResult,
    PruneResult,
)
from runner.drivers.kubernetes.build import BuildJob, BuildTracker, build_job, pin_planned
from runner.drivers.kubernetes.client import ApiError, KubeClient, KubeError, UnknownKind
from runner.drivers.kubernetes.inventory import inventory_configmap, inventory_name, parse_inventory
from runner.drivers.kubernetes.live import (
    Fingerprints,
    ListAnswers,
    LiveIndex,
    drift_of,
    live_index,
    rbac_refusal,
)
from runner.drivers.kubernetes.plan import Invalid, Planned, plan, steps, tracking_id
from runner.drivers.kubernetes.prune import prune_orphans
from runner.health import HealthReport, HealthRules, health_of, worst_of
from runner.objects import ObjectRef, in_order

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


_Applied = tuple[str, str]
"""(digest of the manifest we sent, fingerprint of the object the server returned)."""
SWEEP_REUSE_SECONDS = 30.0  # a sweep older than this (a sync that stopped early) is not reused
LIST_CONCURRENCY = 8
_APPLIED = (
    Outcome.CREATED,
    Outcome.CONFIGURED,
    Outcome.UNCHANGED,
)  # parallel LISTs of one sweep: enough to hide latency, not a stampede


class AppliedMemory(Protocol):
    """Where the driver keeps what it applied across restarts (the runner's SQLite)."""

    def applied_state(self) -> dict[str, tuple[str, str]]: ...

    def save_applied_state(self, state: dict[str, tuple[str, str]]) -> None: ...


class KubernetesDriver:
    """One cluster. Remembers what it applied (manifest digest, object fingerprint) so a
    no-change resync costs one sweep of parallel LISTs instead of two requests per object;
    with `use_memory`, a restarted runner still remembers. The sweep a sync takes for apply
    or drift also answers that sync's health (updated with what the sync applied)."""

    target = Target.KUBERNETES

    def __init__(
        self,
        kube: KubeClient,
        *,
        inventory_namespace: str = "camelops-system",
        rules: HealthRules | None = None,
    ) -> None:
        self.kube = kube
        self.inventory_namespace = inventory_namespace
        self.rules = rules or HealthRules()
        self._applied: dict[str, _Applied] = {}
        self._fingerprints = Fingerprints(kube.field_manager)
        self._answers = ListAnswers()
        self._memory: AppliedMemory | None = None
        self._saved: dict[str, _Applied] = {}
        self._builds = BuildTracker(kube)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="kube")
        self._lists = ThreadPoolExecutor(max_workers=LIST_CONCURRENCY, thread_name_prefix="list")
        # env -> (when, this sync's sweep), for its health
        self._swept: dict[str, tuple[float, LiveIndex]] = {}
        self._plans: dict[str, tuple[str, list[Planned], list[Invalid]]] = {}
        self._stopping = threading.Event()
        self._inventory_written: dict[str, _WrittenInventory] = {}  # by ConfigMap name
        self._inventory_found: dict[str, Any] = {}  # ConfigMap name -> data this sync read

    def use_memory(self, memory: AppliedMemory) -> None:
        """Load what this runner applied before a restart, and keep it there from now on."""
        self._memory = memory
        self._saved = dict(memory.applied_state())
        self._applied = {**self._saved, **self._applied}

    def _persist(self) -> None:
        if self._memory is not None and self._applied != self._saved:
            snapshot = dict(self._applied)
            self._memory.save_applied_state(snapshot)
            self._saved = snapshot

    def interrupt(self) -> None:
        self._stopping.set()

    def close(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=True)
        self._lists.shutdown(wait=True)
        self.kube.close()

    def _plan(self, bundle: Bundle) -> tuple[list[Planned], list[Invalid]]:
        """plan() once per bundle (it copies and hashes every manifest), not once per step."""
        env = tracking_id(bundle)
        cached = self._plans.get(env)
        if cached is None or cached[0] != bundle.digest:
            cached = (bundle.digest, *plan(bundle))
            self._plans[env] = cached
        return list(cached[1]), list(cached[2])

    def _sweep(self, refs: list[ObjectRef]) -> LiveIndex:
        return live_index(self.kube, refs, self._lists, self._answers)

    def _map(self, fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
        items = list(items)
        if concurrency <= 1 or len(items) <= 1:
            return [fn(i) for i in items]
        return list(self._pool.map(fn, items))

    # ---- apply -------------------------------------------------------------------------
    def apply(self, bundle: Bundle, options: ApplyOptions) -> ApplyResult:
        planned, invalid = self._plan(bundle)
        if invalid:
            return ApplyResult(_invalid_results(invalid, planned), dry_run_failed=True)
        builds = [b for b in map(build_job, planned) if b is not None]
        notes: dict[str, str] = {}
        planned = self._pin(planned, builds, notes)
        # without the cache every object is applied: the apply answers are the sweep
        live = self._sweep([p.ref for p in planned]) if options.use_cache else LiveIndex({})
        todo, unchanged = self._changed(planned, live, options)
        refused = self._dry_run(self._unproven(todo), planned, options)
        if refused:
            failed_keys = {r.ref.key for r in refused}
            skipped = [
                ObjectResult(p.ref, Outcome.SKIPPED, "not applied: the dry-run refused others")
                for p in planned
                if p.ref.key not in failed_keys
            ]
            return ApplyResult((*refused, *skipped), dry_run_failed=True)
        waves = _refs_by_wave(planned)
        try:
            applied = self._apply_steps(todo, waves, live, options, builds=builds, notes=notes)
        finally:
            self._persist()
        if options.use_cache or all(p.ref.key in live.objects for p in planned):
            # the sync's health reads this sweep, updated by every apply of this sync
            self._swept[tracking_id(bundle)] = (time.monotonic(), live)
        return ApplyResult((*unchanged, *applied), notes=tuple(notes[k] for k in sorted(notes)))

    def _unproven(self, todo: list[Planned]) -> list[Planned]:
        """What the dry-run must check: manifests the server has not accepted from us before
        (an object we applied as it is and that changed since is re-applied as accepted)."""
        return [p for p in todo if (self._applied.get(p.ref.key) or ("", ""))[0] != p.digest]

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
            seen = self._fingerprints.of(p.ref.key, live.get(p.ref))
            if known and seen and known == (p.digest, seen):
                unchanged.append(ObjectResult(p.ref, Outcome.UNCHANGED))
            else:
                todo.append(p)
        return todo, unchanged

    def _dry_run(
        self, todo: list[Planned], planned: list[Planned], options: ApplyOptions
    ) -> list[ObjectResult]:
        namespaces = {p.ref.name for p in planned if p.ref.kind == "Namespace"}
        # a preview namespace's RoleBinding grants us its objects only once applied (wave -2)
        bound = {p.ref.namespace for p in planned if p.ref.kind == "RoleBinding"} & namespaces
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
                waiting = (exc.status == 404 and p.ref.namespace in namespaces) or (
                    exc.status == 403 and p.ref.namespace in bound and p.ref.kind != "RoleBinding"
                )
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
        try:
            self._apply_in_order(
                todo, waves, live, options, builds=builds, notes=notes, results=results
            )
        except Interrupted as exc:
            applied = [r.ref for r in results if r.outcome in _APPLIED]
            raise Interrupted(str(exc), applied) from None
        return results

    def _apply_in_order(
        self,
        todo: list[Planned],
        waves: dict[int, list[ObjectRef]],
        live: LiveIndex,
        options: ApplyOptions,
        *,
        builds: list[BuildJob],
        notes: dict[str, str],
        results: list[ObjectResult],
    ) -> None:
        failed = False
        cleared: set[int] = set()
        for step in steps(todo):
            if self._stopping.is_set():
                raise Interrupted("the runner is stopping; this sync resumes at its next start")
            pending = list(step)
            if not failed:
                # like Argo CD: a wave starts only once every earlier wave is Healthy,
                # changed in this sync or not
                blocker = self._wait_for_waves_before(step[0].wave, waves, cleared, options, live)
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

    def _wait_for_waves_before(
        self,
        wave: int,
        waves: dict[int, list[ObjectRef]],
        cleared: set[int],
        options: ApplyOptions,
        live: LiveIndex,
    ) -> str:
        for earlier in sorted(w for w in waves if w < wave and w not in cleared):
            blocker = self._wait_for_wave(earlier, waves[earlier], options, live)
            if blocker:
                return blocker
            cleared.add(earlier)
        return ""

    def _wait_for_wave(
        self, wave: int, refs: list[ObjectRef], options: ApplyOptions, synced: LiveIndex
    ) -> str:
        """Empty when the wave is Healthy (or Suspended); else why the next wave must not go.
        What each look finds updates the sync's own sweep (its health is read from it)."""
        deadline = time.monotonic() + options.wave_timeout
        while True:
            live = self._sweep(refs)
            for ref in refs:
                found = live.get(ref)
                if found is None:
                    synced.objects.pop(ref.key, None)
                else:
                    synced.objects[ref.key] = found
                if live.denied(ref):
                    synced.forbidden[ref.key] = live.denied(ref)
            reports = [(r, self._health_of(r, live)) for r in refs]
            worst = worst_of(h.status for _, h in reports)
            if worst in (Health.HEALTHY, Health.SUSPENDED):
                return ""
            # waiting cannot grant a missing permission: say so at once
            hopeless = worst is Health.DEGRADED or any(live.denied(r) for r in refs)
            if hopeless or time.monotonic() >= deadline:
                ref, report = next((r, h) for r, h in reports if h.status is worst)
                return f"sync wave {wave} is {worst} ({ref}: {report.message}); not applied"
            if self._stopping.wait(options.wave_poll):
                raise Interrupted(f"the runner is stopping while sync wave {wave} is {worst}")

    def _apply_one(self, p: Planned, live: LiveIndex, options: ApplyOptions) -> ObjectResult:
        try:
            created, obj = self.kube.apply(p.manifest, force=options.force_conflicts)
        except KubeError as exc:
            self._applied.pop(p.ref.key, None)
            return _failed(p.ref, exc)
        rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        known = self._applied.get(p.ref.key)
        self._applied[p.ref.key] = (p.digest, self._fingerprints.of(p.ref.key, obj))
        before = live.resource_version(p.ref)
        # the sync's health reads this sweep: it must see what was just applied
        live.objects[p.ref.key] = {"apiVersion": p.ref.api_version, "kind": p.ref.kind, **obj}
        if created:
            return ObjectResult(p.ref, Outcome.CREATED)
        # not swept (a full apply): unchanged when the server's answer is what we applied last
        same = rv == before if before else known == self._applied[p.ref.key]
        return ObjectResult(p.ref, Outcome.UNCHANGED if same else Outcome.CONFIGURED)

    # ---- prune -------------------------------------------------------------------------
    def prune(
        self, bundle: Bundle, previous: Sequence[ObjectRef], *, allow_empty: bool = False
    ) -> PruneResult:
        planned, _ = self._plan(bundle)
        result = prune_orphans(
            self.kube, bundle, [p.ref for p in planned], previous, allow_empty=allow_empty
        )
        for r in result.results:
            if r.outcome is Outcome.PRUNED:
                self._applied.pop(r.ref.key, None)
                self._fingerprints.forget(r.ref.key)
        self._persist()
        return result

    # ---- health and drift --------------------------------------------------------------
    def health(self, bundle: Bundle) -> EnvironmentHealth:
        """From the sweep the same sync took for apply or drift, else a sweep of its own."""
        planned, _ = self._plan(bundle)
        swept = self._swept.pop(tracking_id(bundle), None)
        fresh = swept is not None and time.monotonic() - swept[0] < SWEEP_REUSE_SECONDS
        live = swept[1] if swept and fresh else self._sweep([p.ref for p in planned])
        reports = tuple((p.ref, self._health_of(p.ref, live, builds=False)) for p in planned)
        return EnvironmentHealth(worst_of(h.status for _, h in reports), reports)

    def _health_of(self, ref: ObjectRef, live: LiveIndex, *, builds: bool = True) -> HealthReport:
        """An object the identity may not read is Unknown with the rule to add, never Missing."""
        denied = live.denied(ref)
        if denied:
            return HealthReport(Health.UNKNOWN, denied)
        found = live.get(ref)
        return (
            self._builds.health(ref, found, self.rules) if builds else health_of(found, self.rules)
        )

    def drift(self, bundle: Bundle, *, heal: bool) -> DriftReport:
        planned, _ = self._plan(bundle)
        # compare with what apply sent: a pinned image is not drift from the rendered tag
        planned = self._pin(planned, [b for b in map(build_job, planned) if b is not None], {})
        live = self._sweep([p.ref for p in planned])
        suspects = [
            p
            for p in planned
            if self._applied.get(p.ref.key)
            != (p.digest, self._fingerprints.of(p.ref.key, live.get(p.ref)))
        ]
        found = self._map(lambda p: _drift(self.kube, p, live), suspects, 8)
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
        self._persist()
        self._swept[tracking_id(bundle)] = (time.monotonic(), live)
        return DriftReport(drifted, len(planned), tuple(healed))

    def _remember(self, in_sync: list[Planned], live: LiveIndex) -> None:
        """Objects just proven in sync need no dry-run until they change again."""
        for p in in_sync:
            seen = self._fingerprints.of(p.ref.key, live.get(p.ref))
            if seen:
                self._applied[p.ref.key] = (p.digest, seen)

    # ---- inventory ---------------------------------------------------------------------
    def read_inventory(self, bundle: Bundle) -> tuple[ObjectRef, ...] | None:
        name = inventory_name(bundle)
        found = self.kube.get(ObjectRef("", "v1", "ConfigMap", self.inventory_namespace, name))
        written = self._inventory_written.get(name)
        if found is None:
            self._inventory_found.pop(name, None)
            return None
        self._inventory_found[name] = found.get("data")
        # still as we wrote it: its entries need no parsing
        if written is not None and found.get("data") == written.data:
            return written.refs
        return parse_inventory(found)

    def write_inventory(self, bundle: Bundle, inventory: Sequence[ObjectRef]) -> None:
        """Not written again when this sync's read found it holding the same (a large object
        on a no-change resync, also the first one of a restarted runner)."""
        name = inventory_name(bundle)
        source = _inventory_source(bundle, inventory)
        found = self._inventory_found.pop(name, None)
        written = self._inventory_written.get(name)
        if found is not None and written and written.source == source and found == written.data:
            return
        manifest = inventory_configmap(bundle, inventory, self.inventory_namespace)
        if found != manifest["data"]:
            self._inventory_written.pop(name, None)  # unknown until the server took it
            self.kube.apply(manifest, force=True)
        self._inventory_written[name] = _WrittenInventory(
            manifest["data"], source, tuple(in_order(inventory))
        )


@dataclass(frozen=True, slots=True)
class _WrittenInventory:
    """The inventory ConfigMap's data as the server took it from us, what it was made of,
    and its entries as parsing them back would give."""

    data: dict[str, Any]
    source: tuple[str, str, str, str, frozenset[ObjectRef]]
    refs: tuple[ObjectRef, ...]


def _inventory_source(
    bundle: Bundle, inventory: Sequence[ObjectRef]
) -> tuple[str, str, str, str, frozenset[ObjectRef]]:
    """Everything inventory_configmap() reads: equal sources make equal data."""
    return (
        bundle.project,
        bundle.environment,
        bundle.revision,
        bundle.digest,
        frozenset(inventory),
    )


def _drift(kube: KubeClient, planned: Planned, live: LiveIndex) -> Drift | None:
    denied = live.denied(planned.ref)
    return (
        Drift(planned.ref, error=denied)
        if denied
        else drift_of(kube, planned, live.get(planned.ref))
    )


def _refs_by_wave(planned: list[Planned]) -> dict[int, list[ObjectRef]]:
    waves: dict[int, list[ObjectRef]] = {}
    for p in planned:
        waves.setdefault(p.wave, []).append(p.ref)
    return waves


def _failed(ref: ObjectRef, exc: Exception) -> ObjectResult:
    refused = rbac_refusal(ref, exc) if isinstance(exc, ApiError) else ""
    return ObjectResult(ref, Outcome.FAILED, refused or str(exc))


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

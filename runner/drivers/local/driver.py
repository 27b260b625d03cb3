"""LocalDriver: the Driver interface over processes on this host (see integration.py)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from contract.bundles import Bundle, Target
from contract.status import Health, Outcome
from runner.driver import (
    ApplyOptions,
    ApplyResult,
    Drift,
    DriftReport,
    DriverError,
    EnvironmentHealth,
    FieldDiff,
    ObjectResult,
    PruneResult,
)
from runner.drivers.local.cds import ClassDataSharing
from runner.drivers.local.integration import LocalIntegration, StartFailed
from runner.drivers.local.proxy import ProxyLoop
from runner.drivers.local.settings import LocalSettings
from runner.drivers.local.spec import (
    PROCESS_KIND,
    SECRET_KIND,
    SpecError,
    process_spec,
    secret_data,
)
from runner.health import HealthReport, worst_of
from runner.objects import Manifest, ObjectRef

log = logging.getLogger(__name__)
ENVS = "envs"
SECRETS = "_secrets"
INVENTORIES = "inventories"

__all__ = ["LocalDriver", "LocalSettings"]


class LocalDriver:
    target = Target.LOCAL

    def __init__(self, settings: LocalSettings) -> None:
        if not (settings.runtime_home / "lib").is_dir():
            raise DriverError(
                f"no Camel runtime in {settings.runtime_home} (expected lib/*.jar; build it with "
                "`make camel-app`)"
            )
        self.settings = settings
        self._proxies = ProxyLoop()
        self._guard = threading.Lock()
        self._integrations: dict[str, LocalIntegration] = {}
        self._stop = threading.Event()
        self._cds = (
            ClassDataSharing(settings.state_dir / "cds", settings.runtime_home)
            if settings.class_data_sharing
            else None
        )
        (settings.state_dir / ENVS).mkdir(parents=True, exist_ok=True)
        self._adopt_all()
        self._supervisor = threading.Thread(
            target=self._supervise, name="local-supervisor", daemon=True
        )
        self._supervisor.start()

    # ---- integrations by key -------------------------------------------------------------
    def _integration(self, namespace: str, name: str) -> LocalIntegration:
        key = f"{namespace}/{name}"
        with self._guard:
            found = self._integrations.get(key)
            if found is None:
                env_dir = self.settings.state_dir / ENVS / namespace
                found = LocalIntegration(
                    self.settings, env_dir / name, env_dir / SECRETS, self._proxies, self._cds
                )
                self._integrations[key] = found
            return found

    def _adopt_all(self) -> None:
        for current in sorted((self.settings.state_dir / ENVS).glob("*/*/current.json")):
            integration = self._integration(current.parent.parent.name, current.parent.name)
            integration.adopt()

    def running(self, namespace: str, name: str) -> LocalIntegration | None:
        with self._guard:
            return self._integrations.get(f"{namespace}/{name}")

    def sidecar_url(self, environment: str, integration: str) -> str | None:
        """Where a replay for `integration` in `environment` goes (see RunnerReplay)."""
        with self._guard:
            candidates = list(self._integrations.values())
        for candidate in candidates:
            spec = candidate.spec
            if (
                spec is not None
                and spec.integration == integration
                and spec.environment == environment
            ):
                return candidate.sidecar_url()
        return None

    # ---- Driver --------------------------------------------------------------------------
    def apply(self, bundle: Bundle, options: ApplyOptions) -> ApplyResult:
        del options  # waves, caches and server-side apply are Kubernetes notions
        objects = list(bundle.manifests)
        results: list[ObjectResult] = []
        invalid = [r for r in (_check(obj) for obj in objects) if r is not None]
        if invalid:
            return ApplyResult(tuple(invalid), dry_run_failed=True)
        ordered = sorted(objects, key=lambda o: o["kind"] != SECRET_KIND)  # secrets first
        for obj in ordered:
            ref = ObjectRef.of(obj)
            if results and results[-1].outcome is Outcome.FAILED:
                results.append(ObjectResult(ref, Outcome.SKIPPED, "an earlier object failed"))
                continue
            results.append(self._apply_one(obj, ref))
        return ApplyResult(tuple(results))

    def _apply_one(self, obj: Manifest, ref: ObjectRef) -> ObjectResult:
        if obj["kind"] == SECRET_KIND:
            return self._write_secret(obj, ref)
        spec = process_spec(obj)
        integration = self._integration(ref.namespace, spec.integration)
        existed = integration.spec is not None
        try:
            changed = integration.rollout(spec)
        except StartFailed as exc:
            return ObjectResult(ref, Outcome.FAILED, f"new revision failed to start: {exc}")
        except OSError as exc:
            return ObjectResult(ref, Outcome.FAILED, f"could not start: {exc}")
        if not changed:
            return ObjectResult(ref, Outcome.UNCHANGED)
        return ObjectResult(ref, Outcome.CONFIGURED if existed else Outcome.CREATED)

    def _secret_dir(self, ref: ObjectRef) -> Path:
        return self.settings.state_dir / ENVS / ref.namespace / SECRETS / ref.name

    def _write_secret(self, obj: Manifest, ref: ObjectRef) -> ObjectResult:
        """One file per key, 0600 in a 0700 directory, written atomically."""
        data = secret_data(obj)
        folder = self._secret_dir(ref)
        existed = folder.is_dir()
        if existed and _secret_files(folder) == data:
            return ObjectResult(ref, Outcome.UNCHANGED)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.parent.chmod(0o700)
        for key, value in data.items():
            tmp = folder / f".{key}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(value)
            tmp.replace(folder / key)
        for stale in set(_secret_files(folder)) - set(data):
            (folder / stale).unlink()
        return ObjectResult(ref, Outcome.CONFIGURED if existed else Outcome.CREATED)

    def prune(
        self, bundle: Bundle, previous: Sequence[ObjectRef], *, allow_empty: bool = False
    ) -> PruneResult:
        desired = tuple(ObjectRef.of(obj) for obj in bundle.manifests)
        if not desired and previous and not allow_empty:
            return PruneResult(
                (), tuple(previous), refused="the bundle is empty: not pruning everything"
            )
        keep = set(desired)
        results = []
        for ref in sorted(set(previous) - keep, key=lambda r: r.kind == SECRET_KIND):
            if ref.kind == PROCESS_KIND:
                integration = self.running(ref.namespace, ref.name)
                if integration is not None:
                    integration.stop_all(remove=True)
                    with self._guard:
                        self._integrations.pop(f"{ref.namespace}/{ref.name}", None)
            elif ref.kind == SECRET_KIND:
                shutil.rmtree(self._secret_dir(ref), ignore_errors=True)
            results.append(ObjectResult(ref, Outcome.PRUNED))
        return PruneResult(tuple(results), desired)

    def health(self, bundle: Bundle) -> EnvironmentHealth:
        reports: list[tuple[ObjectRef, HealthReport]] = []
        for obj in bundle.manifests:
            ref = ObjectRef.of(obj)
            if obj["kind"] == SECRET_KIND:
                present = self._secret_dir(ref).is_dir()
                reports.append((ref, HealthReport(Health.HEALTHY if present else Health.MISSING)))
                continue
            spec = process_spec(obj)
            integration = self.running(ref.namespace, spec.integration)
            if integration is None:
                reports.append((ref, HealthReport(Health.MISSING, "not started")))
            else:
                reports.append((ref, integration.health(spec)))
        return EnvironmentHealth(worst_of(h.status for _, h in reports), tuple(reports))

    def drift(self, bundle: Bundle, *, heal: bool) -> DriftReport:
        drifted: list[Drift] = []
        healed: list[ObjectRef] = []
        for obj in bundle.manifests:
            ref = ObjectRef.of(obj)
            found = self._drift_of(obj, ref)
            if found is None:
                continue
            drifted.append(found)
            if heal and self._apply_one(obj, ref).outcome is not Outcome.FAILED:
                healed.append(ref)
        return DriftReport(tuple(drifted), len(bundle.manifests), tuple(healed))

    def _secret_drift(self, obj: Manifest, ref: ObjectRef) -> Drift | None:
        folder = self._secret_dir(ref)
        if not folder.is_dir():
            return Drift(ref, missing=True)
        if _secret_files(folder) != secret_data(obj):
            return Drift(ref, (FieldDiff("/data", "<hidden>", "<hidden>"),))
        return None

    def _drift_of(self, obj: Manifest, ref: ObjectRef) -> Drift | None:
        if obj["kind"] == SECRET_KIND:
            return self._secret_drift(obj, ref)
        spec = process_spec(obj)
        integration = self.running(ref.namespace, spec.integration)
        if integration is None or integration.spec is None:
            return Drift(ref, missing=True)
        live = integration.spec
        if live.checksum != spec.checksum:
            return Drift(ref, (FieldDiff("/spec/checksum", live.checksum, spec.checksum),))
        if len(integration.instances) != spec.replicas:
            return Drift(
                ref,
                (FieldDiff("/spec/replicas", str(len(integration.instances)), str(spec.replicas)),),
            )
        return None

    def _inventory_path(self, bundle: Bundle) -> Path:
        return self.settings.state_dir / INVENTORIES / f"{bundle.project}.{bundle.environment}.json"

    def read_inventory(self, bundle: Bundle) -> tuple[ObjectRef, ...] | None:
        try:
            rows = json.loads(self._inventory_path(bundle).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise DriverError(f"inventory of {bundle.project}/{bundle.environment}: {exc}") from exc
        return tuple(ObjectRef(*row) for row in rows)

    def write_inventory(self, bundle: Bundle, inventory: Sequence[ObjectRef]) -> None:
        path = self._inventory_path(bundle)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [[r.group, r.version, r.kind, r.namespace, r.name] for r in inventory]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows))
        tmp.replace(path)

    def interrupt(self) -> None:
        """Nothing to give up: a local sync waits for no health."""

    def close(self) -> None:
        """The runner stops: supervision and stable ports end, processes keep running (a
        restarted runner adopts them), unless the settings say to stop them."""
        if self.settings.stop_on_close:
            self.shutdown()
            return
        self._stop.set()
        self._supervisor.join(timeout=5)
        with self._guard:
            integrations = list(self._integrations.values())
        for integration in integrations:
            integration.release()
        self._proxies.close()

    def shutdown(self) -> None:
        """Stop every process too (a single-host demo ending): nothing is left running."""
        self._stop.set()
        self._supervisor.join(timeout=5)
        with self._guard:
            integrations = list(self._integrations.values())
        for integration in integrations:
            integration.stop_all(remove=False)
        self._proxies.close()

    # ---- supervision ---------------------------------------------------------------------
    def _supervise(self) -> None:
        while not self._stop.wait(self.settings.check_interval):
            with self._guard:
                integrations = list(self._integrations.values())
            for integration in integrations:
                try:
                    integration.supervise(time.monotonic())
                except Exception:  # one integration's trouble must not end supervision of all
                    log.exception("supervising %s failed", integration.directory)


def _check(obj: Manifest) -> ObjectResult | None:
    """Only what this driver can run; anything else (a bundle rendered for Kubernetes) fails
    before anything is started."""
    try:
        ref = ObjectRef.of(obj)
    except ValueError as exc:
        raise DriverError(f"malformed object in bundle: {exc}") from exc
    if obj.get("kind") not in (PROCESS_KIND, SECRET_KIND):
        return ObjectResult(
            ref,
            Outcome.FAILED,
            f"the local driver runs CamelProcess and Secret objects, not {ref.kind}: render this "
            "environment for the local target",
        )
    try:
        if obj["kind"] == PROCESS_KIND:
            process_spec(obj)
        else:
            secret_data(obj)
    except SpecError as exc:
        return ObjectResult(ref, Outcome.FAILED, str(exc))
    return None


def _secret_files(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".")
    }

"""One integration on this host: its processes, its stable port, rollouts and crash restarts.

State on disk (under the driver's state directory), so a restarted runner adopts the processes
instead of starting duplicates: `current.json` (the spec running and its instances) and per
instance a directory with the properties, routes, log and `instance.json` (pid + start time).
"""

from __future__ import annotations

import json
import logging
import secrets as random
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from contract.status import Health
from contract.telemetry import HANDOVER_TOKEN_ENV
from runner.drivers.local.cds import ClassDataSharing
from runner.drivers.local.handover import hand_over
from runner.drivers.local.logs import camel_error, rotate
from runner.drivers.local.process import (
    HEALTH_PATH,
    READY_PATH,
    Instance,
    Ports,
    probe,
    process_env,
)
from runner.drivers.local.proxy import ProxyLoop, StablePort
from runner.drivers.local.settings import LocalSettings
from runner.drivers.local.spec import ProcessSpec
from runner.errors import RunnerError
from runner.health import HealthReport

log = logging.getLogger(__name__)
CURRENT = "current.json"
INSTANCES = "instances"
FAILED_LOG = "failed-start.log"


class StartFailed(RunnerError):
    """A new revision's processes did not become ready; the message carries Camel's error."""


@dataclass
class Failure:
    """The last revision that did not start, and when to try it again (every sync round would
    otherwise start a doomed JVM)."""

    checksum: str
    message: str
    attempts: int
    delay: float
    retry_at: float


@dataclass
class Crash:
    restarts: int = 0
    down_since: float | None = None
    next_at: float = 0.0
    last_exit: str = ""
    up_since: float | None = None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _describe_exit(instance: Instance) -> str:
    code = instance.exit_code
    if code is None:
        return "exited (adopted process: exit code unknown)"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


class LocalIntegration:
    def __init__(
        self,
        settings: LocalSettings,
        directory: Path,
        secrets_dir: Path,
        proxies: ProxyLoop,
        cds: ClassDataSharing | None = None,
    ) -> None:
        self.settings = settings
        self._cds = cds
        self.directory = directory
        self.secrets_dir = secrets_dir
        self._proxies = proxies
        self.lock = threading.RLock()
        self.spec: ProcessSpec | None = None
        self.instances: list[Instance] = []
        self.stable: StablePort | None = None
        self.failure: Failure | None = None
        self.crashes: dict[str, Crash] = {}
        self.log_problem = ""

    # ---- rollout -------------------------------------------------------------------------
    def rollout(self, spec: ProcessSpec) -> bool:
        """Run `spec`; True when something changed. Raises StartFailed and keeps the old
        processes serving when the new ones do not become ready."""
        retired: list[Instance] = []
        try:
            return self._roll(spec, retired)
        finally:
            # Outside the lock: stopping what was replaced (a sidecar's last flush, up to the
            # grace period) must not hold up a replay's sidecar lookup, which takes the lock.
            self._discard(retired, keep_log=False)

    def _roll(self, spec: ProcessSpec, retired: list[Instance]) -> bool:
        with self.lock:
            if (
                self.spec is not None
                and self.spec.checksum == spec.checksum
                and self._complete(spec)
            ):
                self._ensure_stable(spec)
                return False
            if spec.replicas == 0:
                retired.extend(self._replace([], spec))
                return True
            failed = self.failure
            retrying_later = (
                failed is not None
                and failed.checksum == spec.checksum
                and time.monotonic() < failed.retry_at
            )
            if failed is not None and retrying_later:
                # a stable text: a countdown would make every sync round a new status
                raise StartFailed(f"{failed.message} (retried {failed.delay:.0f}s after)")
            new: list[Instance] = []
            try:
                for n in range(spec.replicas):
                    new.append(self._launch(spec, n))
                self._wait_ready(new)
            except (StartFailed, OSError) as exc:
                # nothing of a failed revision stays behind; the old processes keep serving
                self._discard(new, keep_log=True)
                self._record_failure(spec.checksum, str(exc))
                raise
            retired.extend(self._replace(new, spec))
            return True

    def _record_failure(self, checksum: str, message: str) -> None:
        attempts = (
            self.failure.attempts + 1 if self.failure and self.failure.checksum == checksum else 1
        )
        delay = min(self.settings.retry_initial * 2 ** (attempts - 1), self.settings.retry_max)
        self.failure = Failure(checksum, message, attempts, delay, time.monotonic() + delay)

    def _complete(self, spec: ProcessSpec) -> bool:
        return len(self.instances) == spec.replicas

    def _replace(self, new: list[Instance], spec: ProcessSpec) -> list[Instance]:
        """Serve `new`; the replaced instances, their originals handed over, for the caller to
        stop once it has let go of the lock."""
        self._ensure_stable(spec)
        if self.stable is not None:
            self.stable.switch([i.ports.http for i in new])
        old, self.instances, self.spec = self.instances, new, spec
        self.failure, self.crashes = None, {}
        self.save()
        self._hand_over(old, new)
        return old

    def _hand_over(self, old: list[Instance], new: list[Instance]) -> None:
        """The replaced sidecars' replay originals go to the first new sidecar (under the lock:
        a replay waits for them), so a replay after a fixing push finds the failed message."""
        successor = next((i for i in new if i.sidecar_token and i.sidecar.alive()), None)
        handing = [i for i in old if i.sidecar.alive()]
        if successor is not None and handing:
            for instance in handing:
                # Camel first: its in-flight exchanges end before the originals are read; its
                # exit is awaited once the lock is free (a replay's lookup waits for the lock)
                instance.quiesce(self.settings.stop_grace)
            taken = hand_over(
                [(i.ports.sidecar, i.sidecar_token) for i in handing],
                (successor.ports.sidecar, successor.sidecar_token),
            )
            log.info("%s: %d replay originals handed to %s", self._name, taken, successor.id)

    def _ensure_stable(self, spec: ProcessSpec) -> None:
        if self.stable is not None and self.stable.port != spec.port:
            self.stable.close()
            self.stable = None
        if self.stable is None and spec.port is not None:
            stable = StablePort(self._proxies, self.settings.host, spec.port)
            stable.open()
            stable.switch([i.ports.http for i in self.instances])
            self.stable = stable

    def _launch(self, spec: ProcessSpec, n: int) -> Instance:
        instance_id = f"{spec.checksum.removeprefix('sha256:')[:10]}-{n}-{random.token_hex(3)}"
        directory = self.directory / INSTANCES / instance_id
        (directory / "routes").mkdir(parents=True)
        for key, content in spec.routes:
            (directory / "routes" / key).write_text(content)
        ports = Ports(free_port(), free_port(), free_port(), free_port())
        (directory / "application.properties").write_text(
            spec.properties + _runtime_properties(ports)
        )
        instance = Instance(instance_id, directory, ports)
        try:
            self._start(instance, spec)
        except (StartFailed, OSError):
            instance.stop(self.settings.stop_grace)  # a started JVM when its sidecar failed
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return instance

    def _start(self, instance: Instance, spec: ProcessSpec) -> None:
        fill = {
            "{runtime}": str(self.settings.runtime_home),
            "{jolokia_port}": str(instance.ports.jolokia),
        }
        command = [_fill(arg, fill) for arg in spec.command]
        if self._cds is not None:
            command[1:1] = self._cds.options(instance.directory)
        instance.start(command, process_env(dict(spec.env) | self._secret_env(spec)))
        log.info("%s: started process %s (pid %s)", spec.key, instance.id, instance.camel.pid)
        self._start_sidecar(instance, spec)

    def _start_sidecar(self, instance: Instance, spec: ProcessSpec) -> None:
        """The sidecar shares the instance's loopback ports, as it shares a pod's."""
        if spec.sidecar is None or self.settings.relay_url is None:
            return
        camelops = list(self.settings.sidecar_command) or [sys.executable, "-m", "camelops"]
        instance.sidecar_token = random.token_urlsafe(32)
        argv = [
            *camelops,
            *spec.sidecar,
            f"--jolokia-url=http://127.0.0.1:{instance.ports.jolokia}/jolokia/",
            f"--relay-url={self.settings.relay_url}",
            f"--listen-port={instance.ports.sidecar}",
        ]
        # the token in the environment: a command line is readable by every local user
        env = {"PYTHONUNBUFFERED": "1", HANDOVER_TOKEN_ENV: instance.sidecar_token}
        instance.start_sidecar(argv, process_env(env))

    def sidecar_url(self) -> str | None:
        """A running sidecar's API (replays go to any instance's: each holds what it saw)."""
        with self.lock:
            for instance in self.instances:
                if instance.sidecar.pid is not None and instance.sidecar.alive():
                    return f"http://127.0.0.1:{instance.ports.sidecar}"
        return None

    def _secret_env(self, spec: ProcessSpec) -> dict[str, str]:
        """Secrets reach the JVM as environment read from the 0600 files, never as argv."""
        env: dict[str, str] = {}
        for name in spec.secret_env_from:
            folder = self.secrets_dir / name
            for path in sorted(folder.iterdir()) if folder.is_dir() else []:
                env[path.name] = path.read_text()
        for ref in spec.secret_env:
            path = self.secrets_dir / ref.secret / ref.key
            try:
                env[ref.name] = path.read_text()
            except OSError as exc:
                raise StartFailed(f"secret {ref.secret} has no key {ref.key}") from exc
        return env

    def _wait_ready(self, new: list[Instance]) -> None:
        deadline = time.monotonic() + self.settings.start_timeout
        waiting = list(new)
        while waiting:
            for instance in list(waiting):
                if not instance.alive():
                    raise StartFailed(
                        f"process {_describe_exit(instance)}: {camel_error(instance.log_path)}"
                    )
                if instance.ready():
                    waiting.remove(instance)
            if waiting and time.monotonic() > deadline:
                _, health = probe(waiting[0].ports.management, HEALTH_PATH, 2.0)
                raise StartFailed(
                    f"not ready after {self.settings.start_timeout:.0f}s ({health[:300]}): "
                    f"{camel_error(waiting[0].log_path)}"
                )
            if waiting:
                time.sleep(self.settings.probe_interval)  # a readiness probe's period

    def _discard(self, instances: list[Instance], *, keep_log: bool) -> None:
        for instance in instances:
            instance.stop(self.settings.stop_grace)
            if self._cds is not None:
                self._cds.collect(instance.directory)
            if keep_log and instance.log_path.exists():
                shutil.copyfile(instance.log_path, self.directory / FAILED_LOG)
            shutil.rmtree(instance.directory, ignore_errors=True)

    # ---- supervision ---------------------------------------------------------------------
    def supervise(self, now: float) -> None:
        """One round: notice exits, restart with exponential backoff, rotate logs."""
        if not self.lock.acquire(blocking=False):
            return  # a rollout holds it; the next round looks again
        try:
            for instance in self.instances:
                self._watch(instance, now)
            self._rotate_logs()
        finally:
            self.lock.release()

    def _watch(self, instance: Instance, now: float) -> None:
        crash = self.crashes.get(instance.id)
        if instance.alive():
            if (
                crash
                and crash.up_since is not None
                and now - crash.up_since > self.settings.stable_after
            ):
                del self.crashes[instance.id]
            return
        if crash is None:
            crash = self.crashes[instance.id] = Crash()
        if crash.down_since is None:
            delay = min(
                self.settings.backoff_initial * 2**crash.restarts, self.settings.backoff_max
            )
            crash.down_since, crash.next_at = now, now + delay
            crash.last_exit, crash.up_since = _describe_exit(instance), None
            log.warning(
                "%s: process %s %s; restart in %.1fs",
                self._name,
                instance.id,
                crash.last_exit,
                delay,
            )
        elif now >= crash.next_at and self.spec is not None:
            crash.restarts += 1
            crash.down_since, crash.up_since = None, now
            instance.sidecar.stop(self.settings.stop_grace)
            try:
                self._start(instance, self.spec)
            except (OSError, StartFailed) as exc:
                crash.down_since = now
                crash.last_exit = f"could not restart: {exc}"

    def _rotate_logs(self) -> None:
        problems = []
        for instance in self.instances:
            try:
                for path in (instance.camel.log_path, instance.sidecar.log_path):
                    rotate(path, self.settings.log_max_bytes, self.settings.log_keep)
            except OSError as exc:
                problems.append(f"log of {instance.id} cannot rotate: {exc.strerror or exc}")
        self.log_problem = "; ".join(problems)

    @property
    def _name(self) -> str:
        return self.spec.key if self.spec else self.directory.name

    # ---- health --------------------------------------------------------------------------
    def health(self, desired: ProcessSpec) -> HealthReport:
        with self.lock:
            return self._health(desired)

    def _health(self, desired: ProcessSpec) -> HealthReport:
        revision = self._revision_health(desired)
        if revision is not None:
            return revision
        notes = []
        for instance in self.instances:
            crash = self.crashes.get(instance.id)
            if crash is not None and crash.down_since is not None:
                wait = max(0.0, crash.next_at - time.monotonic())
                return HealthReport(
                    Health.DEGRADED,
                    f"process {instance.id} {crash.last_exit}; restart #{crash.restarts + 1} in "
                    f"{wait:.1f}s: {camel_error(instance.log_path)}",
                )
            if not instance.alive():
                return HealthReport(
                    Health.DEGRADED,
                    f"process {instance.id} {_describe_exit(instance)}: the supervisor restarts it",
                )
            if crash is not None:
                notes.append(
                    f"process {instance.id} restarted {crash.restarts}x (last {crash.last_exit})"
                )
            status, body = probe(instance.ports.management, READY_PATH, 2.0)
            if status != 200:
                return HealthReport(
                    Health.DEGRADED, f"process {instance.id} not ready: {_down_checks(body)}"
                )
        if self.log_problem:
            return HealthReport(Health.DEGRADED, f"running, but {self.log_problem}")
        ready = f"{len(self.instances)}/{desired.replicas} processes ready"
        return HealthReport(Health.HEALTHY, "; ".join([ready, *notes]))

    def _revision_health(self, desired: ProcessSpec) -> HealthReport | None:
        """Whether the desired revision is the one running at all; None when it is."""
        if self.failure is not None and self.failure.checksum == desired.checksum:
            serving = "the previous revision keeps serving" if self.instances else "nothing runs"
            return HealthReport(
                Health.DEGRADED,
                f"new revision failed to start {self.failure.attempts}x ({serving}): "
                f"{self.failure.message}",
            )
        if self.spec is None:
            return HealthReport(Health.MISSING, "not started")
        if self.spec.checksum != desired.checksum:
            return HealthReport(Health.PROGRESSING, "an older revision is running")
        if desired.replicas == 0:
            return HealthReport(Health.SUSPENDED, "scaled to zero")
        return None

    # ---- state ---------------------------------------------------------------------------
    def save(self) -> None:
        record = {
            "spec": self.spec.to_json() if self.spec else None,
            "instances": [i.id for i in self.instances],
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".{CURRENT}.tmp"
        tmp.write_text(json.dumps(record))
        tmp.replace(self.directory / CURRENT)

    def adopt(self) -> None:
        """After a runner restart: take the recorded processes back when they are still ours,
        schedule a restart for those that died, stop strays of an interrupted rollout."""
        try:
            record = json.loads((self.directory / CURRENT).read_text())
        except (OSError, ValueError):
            record = {"spec": None, "instances": []}
        if record.get("spec"):
            self.spec = ProcessSpec.from_json(record["spec"])
        listed = set(record.get("instances", []))
        now = time.monotonic()
        for folder in sorted((self.directory / INSTANCES).glob("*")):
            instance = Instance.load(folder)
            if instance is None or instance.id not in listed:
                if instance is not None:
                    instance.stop(self.settings.stop_grace)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            self.instances.append(instance)
            if not instance.alive():
                self.crashes[instance.id] = Crash(
                    down_since=now, next_at=now, last_exit=_describe_exit(instance)
                )
        if self.spec is not None:
            self._ensure_stable(self.spec)
        log.info(
            "%s: adopted %d of %d processes",
            self._name,
            sum(i.alive() for i in self.instances),
            len(listed),
        )

    def stop_all(self, *, remove: bool) -> None:
        with self.lock:
            self._discard(self.instances, keep_log=False)
            self.instances = []
            if self.stable is not None:
                self.stable.close()
                self.stable = None
            if remove:
                shutil.rmtree(self.directory, ignore_errors=True)

    def release(self) -> None:
        """The runner stops: close the stable port, leave the processes running for adoption."""
        with self.lock:
            for instance in self.instances:
                instance.detach()
            if self.stable is not None:
                self.stable.close()
                self.stable = None


def _fill(arg: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        arg = arg.replace(placeholder, value)
    return arg


def _runtime_properties(ports: Ports) -> str:
    return (
        "# camelops local driver: this process's ports (last, so they apply)\n"
        "camel.server.host=127.0.0.1\n"
        f"camel.server.port={ports.http}\n"
        "camel.management.enabled=true\n"
        "camel.management.host=127.0.0.1\n"
        f"camel.management.port={ports.management}\n"
        "camel.management.healthCheckEnabled=true\n"
        "camel.management.healthPath=/observe/health\n"
    )


def _down_checks(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:300] or "no answer"
    checks = data.get("checks", []) if isinstance(data, dict) else []
    down = [
        f"{c.get('name')}: {c.get('status')}"
        for c in checks
        if isinstance(c, dict) and c.get("status") != "UP"
    ]
    return ", ".join(down) or str(data.get("status", "?"))

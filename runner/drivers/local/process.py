"""One instance of an integration: its Camel Main process and, when asked for, its sidecar.

Each process runs in its own session so it outlives a runner restart; the runner adopts it
again from the instance's pid file after checking that the pid is still the one it started
(same start time in /proc, same marker on its command line)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOG_FILE = "camel.log"
SIDECAR_LOG = "sidecar.log"
PID_FILE = "instance.json"
log = logging.getLogger(__name__)
MARKER = "-Dcamelops.instance="
READY_PATH = "/observe/health/ready"
HEALTH_PATH = "/observe/health"
# what a child needs from the runner's environment; nothing else is passed on (the runner's own
# credentials must never reach an integration)
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "JAVA_HOME", "TMPDIR", "VIRTUAL_ENV")


@dataclass(frozen=True, slots=True)
class Ports:
    http: int
    management: int
    jolokia: int
    sidecar: int = 0


@dataclass
class Proc:
    """A child process we may have started ourselves (`popen`) or adopted (pid only)."""

    marker: str
    """A command-line argument only this process carries."""
    log_path: Path
    pid: int | None = None
    start_ticks: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    exit_code: int | None = None

    def start(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        with self.log_path.open("ab") as log:  # O_APPEND: copy-truncate rotation stays safe
            self.popen = subprocess.Popen(  # noqa: S603 - argv from the rendered bundle
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.pid, self.exit_code = self.popen.pid, None
        self.start_ticks = start_ticks(self.pid)

    def alive(self) -> bool:
        if self.popen is not None:
            code = self.popen.poll()
            if code is not None:
                self.exit_code = code
                return False
            return True
        return self.pid is not None and is_ours(self.pid, self.start_ticks, self.marker)

    def terminate(self) -> None:
        """SIGTERM to the process group, not waiting for the exit (see `stop`)."""
        if self.pid is not None and self.alive():
            _signal_group(self.pid, signal.SIGTERM)

    def stop(self, grace: float) -> None:
        """SIGTERM to the process group (Camel shuts down gracefully), SIGKILL after `grace`."""
        if self.pid is None or not self.alive():
            return
        _signal_group(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not self.alive():
                return
            time.sleep(0.1)  # polling the exit of a process that may not be our child
        log.warning("pid %s did not stop %.0fs after SIGTERM: killed", self.pid, grace)
        _signal_group(self.pid, signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)
        else:
            while is_ours(self.pid, self.start_ticks, self.marker):
                time.sleep(0.05)

    def detach(self) -> None:
        """This runner lets go of a process that keeps running (a later runner adopts it by the
        pid file): marked finished for Popen so it neither warns nor waits for it."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.returncode = 0
        self.popen = None

    def record(self) -> dict[str, Any]:
        return {"pid": self.pid, "startTicks": self.start_ticks}


@dataclass
class Instance:
    """One process of an integration; `directory` holds its properties, routes, logs, pids."""

    id: str
    directory: Path
    ports: Ports
    camel: Proc = field(init=False)
    sidecar: Proc = field(init=False)
    sidecar_token: str = field(default="", repr=False)
    """The sidecar's handover token: in this runner's memory only, never in instance.json (an
    adopted instance has none and cannot hand its replay originals over)."""

    def __post_init__(self) -> None:
        self.camel = Proc(f"{MARKER}{self.id}", self.directory / LOG_FILE)
        self.sidecar = Proc(f"--pod={self.id}", self.directory / SIDECAR_LOG)

    @property
    def log_path(self) -> Path:
        return self.camel.log_path

    @property
    def exit_code(self) -> int | None:
        return self.camel.exit_code

    def start(self, command: list[str], env: dict[str, str]) -> None:
        """`command` has its placeholders filled; `env` carries the secrets (never argv)."""
        self.camel.start([command[0], self.camel.marker, *command[1:]], env, self.directory)
        self.save()

    def start_sidecar(self, argv: list[str], env: dict[str, str]) -> None:
        self.sidecar.start([*argv, self.sidecar.marker], env, self.directory)
        self.save()

    def alive(self) -> bool:
        return self.camel.alive()

    def ready(self, timeout: float = 2.0) -> bool:
        return probe(self.ports.management, READY_PATH, timeout)[0] == 200

    def quiesce(self, grace: float) -> None:
        """SIGTERM to Camel, then wait (at most `grace`) until it no longer serves: its
        management port refuses connections once the context has stopped, in-flight exchanges
        done. Not for the exit: the JVM that records the class-data archive writes it after
        that (seconds on a loaded machine); `stop` waits for the exit later."""
        self.camel.terminate()
        deadline = time.monotonic() + grace
        while self.camel.alive() and time.monotonic() < deadline:
            if not listening(self.ports.management):
                return
            time.sleep(0.05)  # polling another process's shutdown

    def stop(self, grace: float) -> None:
        self.camel.stop(grace)
        self.sidecar.stop(grace)

    def detach(self) -> None:
        self.camel.detach()
        self.sidecar.detach()

    def save(self) -> None:
        record = {
            "id": self.id,
            "ports": [
                self.ports.http,
                self.ports.management,
                self.ports.jolokia,
                self.ports.sidecar,
            ],
            "camel": self.camel.record(),
            "sidecar": self.sidecar.record(),
        }
        tmp = self.directory / f".{PID_FILE}.tmp"
        tmp.write_text(json.dumps(record))
        tmp.replace(self.directory / PID_FILE)

    @classmethod
    def load(cls, directory: Path) -> Instance | None:
        try:
            record = json.loads((directory / PID_FILE).read_text())
            instance = cls(str(record["id"]), directory, Ports(*(int(p) for p in record["ports"])))
            for proc, saved in (
                (instance.camel, record["camel"]),
                (instance.sidecar, record["sidecar"]),
            ):
                proc.pid, proc.start_ticks = saved.get("pid"), saved.get("startTicks")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return instance


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)  # the process leads its own session and group
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, signum)


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: when the process started; a reused pid has another one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 else None


def is_ours(pid: int, ticks: int | None, marker: str) -> bool:
    """The pid is alive (not a zombie), started when we recorded, and carries our marker."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[0] == "Z":
        return False
    if ticks is not None and start_ticks(pid) != ticks:
        return False
    return marker.encode() in cmdline


def listening(port: int) -> bool:
    """Something accepts connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def probe(port: int, path: str, timeout: float) -> tuple[int, str]:
    """HTTP GET on loopback; (0, reason) when nothing answers."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read(65536).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(65536).decode(errors="replace")
    except (OSError, ValueError) as exc:
        return 0, str(exc)


def process_env(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in _INHERITED}
    return {**base, **extra}

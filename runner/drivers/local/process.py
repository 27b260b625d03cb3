"""One Camel Main process: its directory, start, identity (is this pid still ours?), readiness
and graceful stop. A process runs in its own session so it outlives a runner restart and the
runner can adopt it again from its pid file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LOG_FILE = "camel.log"
PID_FILE = "instance.json"
MARKER = "-Dcamelops.instance="
READY_PATH = "/observe/health/ready"
HEALTH_PATH = "/observe/health"
# what a JVM needs from the runner's environment; nothing else is passed on (the runner's own
# credentials must never reach an integration)
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "JAVA_HOME", "TMPDIR")


@dataclass(frozen=True, slots=True)
class Ports:
    http: int
    management: int
    jolokia: int


@dataclass
class Instance:
    """One process of an integration; `directory` holds its properties, routes, log and pid."""

    id: str
    directory: Path
    ports: Ports
    pid: int | None = None
    start_ticks: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    exit_code: int | None = None

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_FILE

    def start(self, command: list[str], env: dict[str, str]) -> None:
        """`command` has its placeholders filled; `env` carries the secrets (never argv)."""
        argv = [command[0], f"{MARKER}{self.id}", *command[1:]]
        with self.log_path.open("ab") as log:  # O_APPEND: copy-truncate rotation stays safe
            self.popen = subprocess.Popen(  # noqa: S603 - argv from the rendered bundle
                argv,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.pid, self.exit_code = self.popen.pid, None
        self.start_ticks = start_ticks(self.pid)
        self.save()

    def save(self) -> None:
        record = {
            "id": self.id,
            "pid": self.pid,
            "startTicks": self.start_ticks,
            "ports": [self.ports.http, self.ports.management, self.ports.jolokia],
        }
        tmp = self.directory / f".{PID_FILE}.tmp"
        tmp.write_text(json.dumps(record))
        tmp.replace(self.directory / PID_FILE)

    @classmethod
    def load(cls, directory: Path) -> Instance | None:
        try:
            record = json.loads((directory / PID_FILE).read_text())
            http, management, jolokia = record["ports"]
            return cls(
                id=str(record["id"]),
                directory=directory,
                ports=Ports(int(http), int(management), int(jolokia)),
                pid=record.get("pid"),
                start_ticks=record.get("startTicks"),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def alive(self) -> bool:
        if self.popen is not None:
            code = self.popen.poll()
            if code is not None:
                self.exit_code = code
                return False
            return True
        return self.pid is not None and is_ours(self.pid, self.start_ticks, self.id)

    def ready(self, timeout: float = 2.0) -> bool:
        return probe(self.ports.management, READY_PATH, timeout)[0] == 200

    def stop(self, grace: float) -> None:
        """SIGTERM to the process group (Camel shuts down gracefully), SIGKILL after `grace`."""
        if self.pid is None or not self.alive():
            return
        _signal_group(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not self.alive():
                return
            time.sleep(0.1)  # polling the exit of a process that is not our child
        _signal_group(self.pid, signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)
        else:
            while is_ours(self.pid, self.start_ticks, self.id):
                time.sleep(0.05)

    def detach(self) -> None:
        """This runner lets go of a process that keeps running (a later runner adopts it by its
        pid file): marked finished for Popen so it neither warns nor waits for it."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.returncode = 0
        self.popen = None

    def kill(self) -> None:
        if self.pid is not None and self.alive():
            _signal_group(self.pid, signal.SIGKILL)
            if self.popen is not None:
                self.popen.wait(timeout=10)


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


def is_ours(pid: int, ticks: int | None, instance_id: str) -> bool:
    """The pid is alive, started when we recorded, and carries our instance marker."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[0] == "Z":
        return False
    if ticks is not None and start_ticks(pid) != ticks:
        return False
    return f"{MARKER}{instance_id}".encode() in cmdline


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

"""A user at a shell: documented commands as subprocesses in one working directory, with the
installed `camelops` and kubectl on PATH and the cluster admin's kubeconfig in KUBECONFIG.

Nothing here reaches into camelops' Python modules: what the user can do is what the docs say.
HTTPS calls trust only the control plane's CA file, as `curl --cacert` would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = REPO / ".venv" / "bin"
PEERS_BIN = REPO / ".cache" / "peers" / "bin"
T = TypeVar("T")


class CommandFailed(AssertionError):
    pass


def doc_block(doc: Path, marker: str) -> list[str]:
    """The `sh` block of `doc` whose first line contains `marker`, as shell commands (a
    trailing backslash joins lines), so the suite runs what the reader copies."""
    blocks = re.findall(r"```sh\n(.*?)```", doc.read_text(), flags=re.S)
    found = [b for b in blocks if marker in b.splitlines()[0]]
    assert len(found) == 1, f"{doc.name}: {len(found)} sh blocks start with {marker!r}"
    return [line for line in found[0].replace("\\\n", " ").splitlines() if line.strip()]


@dataclass
class User:
    cwd: Path
    kubeconfig: Path
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CAMELOPS_", "KUBE"))}
        home = self.cwd / "home"
        home.mkdir(exist_ok=True)
        return {
            **base,
            "PATH": f"{VENV_BIN}:{PEERS_BIN}:{base.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "KUBECONFIG": str(self.kubeconfig),
            "GIT_AUTHOR_NAME": "Dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
            "PYTHONUNBUFFERED": "1",
        }

    def sh(self, command: str, *, stdin: str = "", ok: bool = True, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command], cwd=cwd or self.cwd, env=self.env,
            input=stdin.encode(), capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        out = done.stdout.decode()
        if ok and done.returncode != 0:
            raise CommandFailed(f"$ {command}\nexit {done.returncode}\n{out}{done.stderr.decode()}")
        return out

    def start(self, command: str, log: str) -> subprocess.Popen[bytes]:
        """A long-running command (`exec`: signals reach it, not a shell)."""
        with (self.cwd / log).open("ab") as out:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=self.cwd, env=self.env,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.background.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.background):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.cwd / name
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@dataclass
class Api:
    """`curl --cacert .camelops/pki/ca.crt.pem -H "Authorization: Bearer $(cat
    .camelops/admin-token)" https://127.0.0.1:PORT/api/v1/...`."""

    base: str
    ca_file: Path
    token_file: Path

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token_file.read_text().strip()}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def get(self, path: str) -> Any:
        status, answer = self.call("GET", path)
        assert status == 200, f"GET {path}: {status} {answer}"
        return answer


def eventually(probe: Callable[[], T | None], what: str, timeout: float, poll: float = 0.3) -> T:
    """Poll another process until `probe` answers (nothing to await on across processes)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last is not None:
            return last
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")

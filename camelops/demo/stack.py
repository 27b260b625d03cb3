"""The demo's processes: `camelops serve`, a bare Git repository with the post-receive hook, and
one `camelops runner --driver local` registered through the one-time token -> CSR -> mTLS flow.

Every step is idempotent: a second start finds the project, the repository and the runner's
credentials and only starts the processes again (the runner re-applies its stored bundles).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from camelops.client.sealed_file import open_sealed_file
from camelops.demo.state import DEMO_ORG, PORTAL_USER, PROJECT, RUNNER, DemoState
from reconciler.api.hooks import POST_RECEIVE_SCRIPT
from reconciler.secrets.sealing import load_public_pem, seal_value

DEMO_SECRETS = {"username": "demo", "password": "demo-password"}
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "camelops demo",
    "GIT_AUTHOR_EMAIL": "demo@camelops.invalid",
    "GIT_COMMITTER_NAME": "camelops demo",
    "GIT_COMMITTER_EMAIL": "demo@camelops.invalid",
}
STOP_TIMEOUT = 60.0


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and where its log is."""


def camelops_env() -> dict[str, str]:
    """This environment without camelops settings (the data dirs decide), unbuffered logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMELOPS_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, **GIT_IDENTITY}
    argv = ["git", *args]  # git from PATH, as the user runs it
    done = subprocess.run(  # noqa: S603 - fixed git sub-commands
        argv, cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return str(done.stdout).strip()


class DemoStack:
    def __init__(
        self,
        state: DemoState,
        camel_home: Path,
        example: Path,
        *,
        say: Callable[[str], None] = print,
    ) -> None:
        self.state = state
        self.camel_home = camel_home.resolve()
        self.example = example
        self.say = say
        self.serve: subprocess.Popen[bytes] | None = None
        self.runner: subprocess.Popen[bytes] | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        for folder in (self.state.logs, self.state.control_dir, self.state.runner_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.say(f"starting the control plane on {self.state.api_url} (SQLite + chDB)")
        # the demo's own bare repository is the one local repository this control plane reads
        repo_roots = {"CAMELOPS_LOCAL_REPO_ROOTS": str(self.state.bare_repo.parent)}
        self.serve = self._spawn("serve", self._serve_args(), repo_roots)
        self._wait(self._api_up, 120, "the control plane", self.serve)
        self._ensure_bare_repository()
        self._ensure_project()
        self._ensure_seeded()
        self._ensure_registered()
        self._ensure_portal_login()
        self.say("starting the runner (local driver)")
        self.runner = self._spawn("runner", self._runner_args())

    def wait_serving(self, timeout: float = 300.0) -> None:
        """Until orders-api answers on its stable port (its JVM started and reported ready)."""
        self.say("waiting for the example's integrations (first JVM start takes a while)")
        url = self.state.orders_url
        self._wait(lambda: orders_answer(url) is not None, timeout, "orders-api", self.runner)

    def stop(self) -> None:
        """The runner first (it stops the integrations' processes), then the control plane."""
        for name, process in (("runner", self.runner), ("serve", self.serve)):
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.say(f"{name} did not stop in {STOP_TIMEOUT:.0f}s: killing it")
                process.kill()
                process.wait(timeout=10)

    def failed(self) -> str | None:
        """Which process ended on its own, if any."""
        for name, process in (("runner", self.runner), ("serve", self.serve)):
            if process is not None and process.poll() is not None:
                return f"{name} exited ({process.returncode}); see {self._log(name)}"
        return None

    # ---- processes -------------------------------------------------------------------------
    def _log(self, name: str) -> Path:
        return self.state.logs / f"{name}.log"

    def _spawn(
        self, name: str, args: list[str], extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with self._log(name).open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - our own CLI
                [sys.executable, "-m", "camelops", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**camelops_env(), **(extra_env or {})},
                start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
            )

    def _serve_args(self) -> list[str]:
        s = self.state
        return [
            "serve", "--data-dir", str(s.control_dir), "--port", str(s.api_port),
            "--tunnel-port", str(s.tunnel_port), "--public-host", "127.0.0.1",
            "--local-runner", RUNNER, "--local-port-base", str(s.port_base),
        ]  # fmt: skip

    def _runner_args(self) -> list[str]:
        s = self.state
        return [
            "runner", "--driver", "local", "--data-dir", str(s.runner_dir),
            "--camel-home", str(self.camel_home), "--relay", f"127.0.0.1:{s.relay_port}",
            "--stop-processes",
        ]  # fmt: skip

    def _wait(
        self,
        ready: Callable[[], bool],
        timeout: float,
        what: str,
        process: subprocess.Popen[bytes] | None,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if process is not None and process.poll() is not None:
                raise DemoError(f"{what}: a process exited early. {self.failed()}")
            if time.monotonic() > deadline:
                raise DemoError(f"{what} not ready after {timeout:.0f}s; logs in {self.state.logs}")
            time.sleep(0.25)  # polling other processes: nothing to await on

    # ---- control plane ---------------------------------------------------------------------
    def api(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - our loopback API
            self.state.api_url + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.state.admin_token()}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return int(response.status), _json(response.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), _json(exc.read())

    def _api_up(self) -> bool:
        try:
            with urllib.request.urlopen(self.state.api_url + "/api/v1/healthz", timeout=2):  # noqa: S310
                return (self.state.control_dir / "admin-token").exists()
        except (OSError, ValueError):
            return False

    def _ensure_project(self) -> None:
        status, _ = self.api("GET", f"/api/v1/projects/{PROJECT}")
        if status == 200:
            return
        self.say(f"registering project {PROJECT} -> {self.state.bare_repo}")
        body = {
            "name": PROJECT,
            "url": str(self.state.bare_repo.resolve()),
            "branch": "main",
            "pollIntervalSeconds": 300,  # the post-receive hook is the fast path
            "webhookSecret": self.state.webhook_secret,
        }
        status, answer = self.api("POST", "/api/v1/projects", body)
        if status not in (200, 201):
            raise DemoError(f"creating project {PROJECT}: HTTP {status} {answer}")

    def _ensure_portal_login(self) -> None:
        """An admin who logs in to the portal; its random password lives only in a 0600 file
        (never on a command line or in the demo's output), so a resumed demo keeps the login."""
        path = self.state.portal_login_file
        if path.exists():
            return
        password = secrets.token_urlsafe(18)
        self.say(f"creating the portal login {PORTAL_USER} (password in {path})")
        self._camelops(
            "user", "login", "--data-dir", str(self.state.control_dir), "--org", DEMO_ORG,
            "--name", PORTAL_USER, "--role", "admin", stdin=password + "\n",
        )  # fmt: skip
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")

    # ---- Git -------------------------------------------------------------------------------
    def _ensure_bare_repository(self) -> None:
        bare = self.state.bare_repo
        if (bare / "HEAD").exists():
            return
        bare.parent.mkdir(parents=True, exist_ok=True)
        git("init", "-q", "--bare", "-b", "main", str(bare))
        hook = bare / "hooks" / "post-receive"
        shutil.copyfile(POST_RECEIVE_SCRIPT, hook)
        hook.chmod(0o755)
        git("config", "camelops.url", self.state.hook_url, cwd=bare)
        git("config", "camelops.secret", self.state.webhook_secret, cwd=bare)

    def _ensure_seeded(self) -> None:
        bare = self.state.bare_repo
        if git("for-each-ref", "refs/heads", cwd=bare):
            return
        self.say(f"seeding {bare} from {self.example}")
        status, key = self.api("GET", f"/api/v1/projects/{PROJECT}/public-key")
        if status != 200:
            raise DemoError(f"public key of {PROJECT}: HTTP {status}")
        pem = key["publicKey"] if isinstance(key, dict) else str(key)
        with tempfile.TemporaryDirectory(prefix="camelops-seed-") as tmp:
            work = Path(tmp) / "work"
            shutil.copytree(self.example, work)
            self._reseal(work, pem.encode())
            git("init", "-q", "-b", "main", str(work))
            git("add", "-A", cwd=work)
            git("commit", "-q", "-m", "the example repository", cwd=work)
            git("push", "-q", str(bare), "main", cwd=work)

    @staticmethod
    def _reseal(work: Path, public_pem: bytes) -> None:
        """The example's sealed values belong to another key: seal demo values to ours, as
        `camelops secret seal --into FILE --key K` does (the files' comments stay)."""
        key = load_public_pem(public_pem)
        for path in sorted((work / "secrets").glob("*.sealed.yaml")):
            for name, value in DEMO_SECRETS.items():
                sealed_file = open_sealed_file(path)  # again per key: each write changes it
                if name in sealed_file.key_names():
                    sealed_file.write_value(name, seal_value(key, PROJECT, value))

    # ---- runner ----------------------------------------------------------------------------
    def _ensure_registered(self) -> None:
        if (self.state.runner_dir / "tunnel").is_dir():
            return
        self.say(f"registering runner {RUNNER}: one-time token -> CSR -> certificate")
        token = self._camelops(
            "token", "create", "--runner", RUNNER, "--ttl", "10m",
            "--data-dir", str(self.state.control_dir),
        )  # fmt: skip
        self._camelops(
            "runner", "register", "--server", self.state.api_url, "--token", token,
            "--data-dir", str(self.state.runner_dir),
        )  # fmt: skip

    def _camelops(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "camelops", *args],
            env=camelops_env(),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise DemoError(f"camelops {args[0]} {args[1]}: {done.stderr.strip()[-500:]}")
        return done.stdout.strip()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


def orders_answer(url: str, items: int = 1) -> tuple[int, str] | None:
    """POST an order to orders-api's stable port: (status, body), or None when nothing answers."""
    order = json.dumps({"items": [{"sku": f"sku-{n}"} for n in range(items)]}).encode()
    request = urllib.request.Request(  # noqa: S310 - the demo's loopback URL
        url,
        data=order,
        method="POST",
        headers={"Content-Type": "application/json", "X-Request-Id": f"demo-{time.time_ns()}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")
    except (OSError, ValueError):
        return None

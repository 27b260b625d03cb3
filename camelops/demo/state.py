"""What a demo keeps across runs under its root (`.camelops/` by default): ports and the
webhook secret, so a second `make run` resumes with the same URLs and data."""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "demo.json"
PROJECT = "shop"
DEMO_ORG = "default"  # the org `camelops serve` creates with its first admin
PORTAL_USER = "admin"
RUNNER = "local"  # the example's `local` environment names this runner
DEFAULT_PORTS = {"api": 8080, "tunnel": 8443, "relay": 8790, "integrations": 18080}


@dataclass(frozen=True, slots=True)
class DemoState:
    root: Path
    api_port: int
    tunnel_port: int
    relay_port: int
    port_base: int
    """Stable port of the first exposed integration (orders-api: the example's only one)."""
    webhook_secret: str

    @property
    def control_dir(self) -> Path:
        return self.root / "control"

    @property
    def runner_dir(self) -> Path:
        return self.root / "runner"

    @property
    def bare_repo(self) -> Path:
        return self.root / "git" / f"{PROJECT}.git"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def orders_url(self) -> str:
        return f"http://127.0.0.1:{self.port_base}/orders"

    @property
    def portal_url(self) -> str:
        return f"{self.api_url}/"

    @property
    def portal_login_file(self) -> Path:
        """The portal admin's password (mode 0600)."""
        return self.root / "portal-password"

    @property
    def hook_url(self) -> str:
        return f"{self.api_url}/api/v1/hooks/git/{PROJECT}"

    def admin_token(self) -> str:
        return (self.control_dir / "admin-token").read_text().strip()


def load_or_create(root: Path) -> DemoState:
    """The saved state, or a new one on ports that are free now (the defaults when they are)."""
    path = root / STATE_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        return DemoState(root=root, **{k: v for k, v in saved.items() if k != "root"})
    root.mkdir(parents=True, exist_ok=True)
    state = DemoState(
        root=root,
        api_port=_free_or_any(DEFAULT_PORTS["api"]),
        tunnel_port=_free_or_any(DEFAULT_PORTS["tunnel"]),
        relay_port=_free_or_any(DEFAULT_PORTS["relay"]),
        port_base=_free_or_any(DEFAULT_PORTS["integrations"]),
        webhook_secret=secrets.token_urlsafe(24),
    )
    record = {k: v for k, v in asdict(state).items() if k != "root"}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the hook secret
    with os.fdopen(fd, "w") as out:
        json.dump(record, out)
    return state


def _free_or_any(port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

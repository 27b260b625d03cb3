"""Settings of the local driver."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class LocalSettings:
    state_dir: Path
    """Integrations' processes, logs, secrets (0600) and pid files; survives runner restarts."""
    runtime_home: Path
    """The Camel Main runtime: lib/*.jar and jolokia-agent.jar (see tools/camel-app/build.sh)."""
    relay_url: str | None = None
    """Where sidecars post telemetry (the runner's relay); None: no sidecars are started."""
    sidecar_command: tuple[str, ...] = ()
    """How to run `camelops` here (default: this Python with `-m camelops`)."""
    stop_on_close: bool = False
    """Stop the processes when the runner stops (a demo ending), instead of leaving them for
    the next runner to adopt."""
    class_data_sharing: bool = True
    """Archive the runtime's classes once and map them into every later JVM (faster start)."""
    host: str = "127.0.0.1"
    """Where stable ports listen."""
    start_timeout: float = 120.0
    """Seconds a new process may take to report ready before its revision counts as failed."""
    stop_grace: float = 20.0
    """Seconds between SIGTERM and SIGKILL."""
    log_max_bytes: int = 10 * 1024 * 1024
    log_keep: int = 3
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    retry_initial: float = 30.0
    retry_max: float = 600.0
    """Seconds before a revision that failed to start is tried again, doubling per failure."""
    stable_after: float = 60.0
    """Seconds a restarted process must stay up before its backoff starts from the beginning."""
    check_interval: float = 0.5
    """Seconds between the supervisor's rounds (exits, restarts, log rotation)."""
    probe_interval: float = 0.2
    """Seconds between readiness probes while a new process starts."""

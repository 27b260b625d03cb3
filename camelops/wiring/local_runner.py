"""The runner daemon on the `local` driver: integrations as supervised processes on this host."""

from __future__ import annotations

from pathlib import Path

from camelops.wiring.runner_daemon import RunnerDaemon, SidecarPaths, run_until_signalled
from runner.drivers.local import LocalDriver, LocalSettings

PROCESSES_DIR = "local"


def local_daemon(
    data_dir: Path, runtime_home: Path, paths: SidecarPaths | None = None
) -> RunnerDaemon:
    """Processes, logs and secrets live under `data_dir/local`, next to the runner's store."""
    driver = LocalDriver(LocalSettings(data_dir / PROCESSES_DIR, runtime_home))
    return RunnerDaemon(data_dir, driver, paths=paths)


async def run_local_runner(
    data_dir: Path, runtime_home: Path, paths: SidecarPaths | None = None
) -> None:
    await run_until_signalled(local_daemon(data_dir, runtime_home, paths))

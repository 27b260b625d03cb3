"""The runner daemon on the `local` driver: integrations as supervised processes on this host,
each with its `camelops sidecar` posting to the runner's relay and answering its replays."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from camelops.settings import RunnerSettings
from camelops.wiring.kube_runner import run_until_signalled, sync_settings
from runner.daemon import RunnerDaemon, SidecarPaths
from runner.drivers.local import LocalDriver, LocalSettings
from runner.sidecar_ref import IntegrationRef

PROCESSES_DIR = "local"


def local_daemon(
    data_dir: Path,
    runtime_home: Path,
    paths: SidecarPaths | None = None,
    *,
    stop_processes: bool = False,
    settings: RunnerSettings | None = None,
) -> RunnerDaemon:
    """Processes, logs and secrets live under `data_dir/local`, next to the runner's store.
    `stop_processes`: stopping the runner stops them too (otherwise they keep running and the
    next runner adopts them). `settings`: the sync daemon's interval and re-checks, as on the
    kubernetes driver (ingress health has no meaning here: no Ingress objects)."""
    paths = paths or SidecarPaths()
    relay = None
    if paths.relay is not None:
        host, port = paths.relay
        relay = f"http://{host}:{port}/v1/telemetry"
    local = LocalSettings(
        data_dir / PROCESSES_DIR,
        runtime_home.resolve(),
        relay_url=relay,
        stop_on_close=stop_processes,
    )
    driver = LocalDriver(local)

    def lookup(command: IntegrationRef) -> str | None:
        return driver.sidecar_url(command.environment, command.integration)

    sync = sync_settings(settings or RunnerSettings())
    return RunnerDaemon(
        data_dir, driver, sync=sync, paths=dataclasses.replace(paths, lookup=lookup)
    )


async def run_local_runner(
    data_dir: Path,
    runtime_home: Path,
    paths: SidecarPaths | None = None,
    *,
    stop_processes: bool = False,
    settings: RunnerSettings | None = None,
) -> None:
    daemon = local_daemon(
        data_dir, runtime_home, paths, stop_processes=stop_processes, settings=settings
    )
    await run_until_signalled(daemon)

"""The runner daemon on the `kubernetes` driver (the default `camelops runner`)."""

from __future__ import annotations

import logging
from pathlib import Path

from camelops.settings import IngressHealth, RunnerSettings
from camelops.signals import stop_requested
from runner.daemon import RunnerDaemon, SidecarPaths
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.health import HealthRules
from runner.sync_steps import SyncSettings

log = logging.getLogger(__name__)


def kubernetes_daemon(
    data_dir: Path,
    kubeconfig: Path | None,
    inventory_namespace: str,
    paths: SidecarPaths | None = None,
    settings: RunnerSettings | None = None,
) -> RunnerDaemon:
    """`kubeconfig=None`: in-cluster credentials (the runner's ServiceAccount)."""
    chosen = settings or RunnerSettings()
    rules = HealthRules(ingress_address=chosen.ingress_health is IngressHealth.ADDRESS)
    driver = KubernetesDriver(
        KubeClient(kubeconfig), inventory_namespace=inventory_namespace, rules=rules
    )
    daemon = RunnerDaemon(data_dir, driver, sync=sync_settings(chosen), paths=paths)
    driver.use_memory(daemon.store)  # a restart does not force a full apply
    return daemon


def sync_settings(chosen: RunnerSettings) -> SyncSettings:
    """The sync daemon's timing from the runner's settings: the same on every driver."""
    return SyncSettings(
        interval=chosen.interval, recheck=chosen.recheck, recheck_max=chosen.recheck_max
    )


async def run_kubernetes_runner(
    data_dir: Path,
    kubeconfig: Path | None,
    inventory_namespace: str,
    paths: SidecarPaths | None = None,
    settings: RunnerSettings | None = None,
) -> None:
    daemon = kubernetes_daemon(data_dir, kubeconfig, inventory_namespace, paths, settings)
    await run_until_signalled(daemon)


async def run_until_signalled(daemon: RunnerDaemon) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (outbox checkpointed, store closed)."""
    stop = stop_requested()
    await daemon.start()
    log.info("runner %s started; tunnel %s", daemon.client.identity, daemon.client.url)
    try:
        await stop.wait()
    finally:
        log.info("runner stopping")
        await daemon.stop()

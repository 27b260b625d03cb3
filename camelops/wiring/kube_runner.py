"""The runner daemon on the `kubernetes` driver (the default `camelops runner`)."""

from __future__ import annotations

import logging
from pathlib import Path

from camelops.signals import stop_requested
from runner.daemon import RunnerDaemon, SidecarPaths
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver

log = logging.getLogger(__name__)


def kubernetes_daemon(
    data_dir: Path,
    kubeconfig: Path | None,
    inventory_namespace: str,
    paths: SidecarPaths | None = None,
) -> RunnerDaemon:
    """`kubeconfig=None`: in-cluster credentials (the runner's ServiceAccount)."""
    driver = KubernetesDriver(KubeClient(kubeconfig), inventory_namespace=inventory_namespace)
    return RunnerDaemon(data_dir, driver, paths=paths)


async def run_kubernetes_runner(
    data_dir: Path,
    kubeconfig: Path | None,
    inventory_namespace: str,
    paths: SidecarPaths | None = None,
) -> None:
    await run_until_signalled(kubernetes_daemon(data_dir, kubeconfig, inventory_namespace, paths))


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

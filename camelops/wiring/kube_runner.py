"""The runner daemon on the `kubernetes` driver (the default `camelops runner`)."""

from __future__ import annotations

from pathlib import Path

from camelops.wiring.runner_daemon import RunnerDaemon, SidecarPaths, run_until_signalled
from runner.kube import KubeClient
from runner.kubernetes_driver import KubernetesDriver


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

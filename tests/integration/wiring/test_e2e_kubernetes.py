"""The processes as wired, all real: `camelops serve`, `camelops runner` on the kubernetes
driver against a real kube-apiserver (tests/e2e/k8s), a push deployed into the cluster and
its status on the control plane's API. Needs `make k8s`."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.manifests import runner_manifests
from runner.objects import ObjectRef
from tests.e2e.k8s.conftest import RUNNER_NAMESPACE
from tests.integration.wiring.stack import Api, Served, clean_env, eventually
from tests.integration.wiring.test_serve_runner import (
    PROJECT,
    push_and_reconcile,
    register_runner,
    setup_project,
)
from tools.k8s.controlplane import ControlPlane

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
NAMESPACE = "shop-dev"  # the example project's dev environment


async def synced_status(api: Api, revision: str) -> dict[str, Any] | None:
    status, env = await api.call("GET", f"/api/v1/projects/{PROJECT}/environments/dev")
    if status == 404:
        return None  # the first revision is not reconciled yet
    assert status == 200, env
    ids = {h["id"] for h in env["history"] if h["revision"] == revision}
    for deployment in env["deployments"]:
        ours = deployment["actor"] == "runner" and deployment["bundleId"] in ids
        if ours and str(deployment["state"]).startswith("Synced/"):
            return dict(deployment)
    return None


async def last_runner_report(api: Api) -> str:
    status, env = await api.call("GET", f"/api/v1/projects/{PROJECT}/environments/dev")
    if status != 200:
        return f"environment dev: HTTP {status} {env}"
    reports = [d for d in env["deployments"] if d["actor"] == "runner"]
    return str(reports[:1])


def runner_identity(admin: KubeClient, control_plane: ControlPlane) -> Path:
    """`runner manifests --manage shop-dev` as the admin applies it (the install's RBAC and
    namespaces), and a kubeconfig with its ServiceAccount's token."""
    for obj in runner_manifests(namespace=RUNNER_NAMESPACE, managed=[NAMESPACE]):
        if obj["kind"] not in ("PersistentVolumeClaim", "Deployment"):
            admin.apply(obj, force=True)
    review = admin.request(
        "POST",
        f"/api/v1/namespaces/{RUNNER_NAMESPACE}/serviceaccounts/camelops-runner/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
              "spec": {"expirationSeconds": 3600}},
    )  # fmt: skip
    return control_plane.write_kubeconfig("wiring-runner", token=review["status"]["token"])


async def test_push_is_applied_to_a_real_cluster(
    served: Served, admin: KubeClient, control_plane: ControlPlane, tmp_path: Path
) -> None:
    # the runner's own least-privileged identity, installed for shop-dev: the rendered bundle
    # carries its Namespace, which that identity reads and patches by name only
    kubeconfig = runner_identity(admin, control_plane)
    runner_dir = tmp_path / "runner"
    async with aiohttp.ClientSession() as session:
        api = Api(served, session)
        repo = await setup_project(api, tmp_path)
        await register_runner(served, runner_dir)
        # no relay: port 8790 may be taken on a shared machine, and no sidecar posts here
        args = ["--data-dir", str(runner_dir), "--kubeconfig", str(kubeconfig), "--relay", "off"]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "camelops", "runner", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=clean_env(),
        )  # fmt: skip
        try:
            first = await push_and_reconcile(api, repo, "\nwiring.step=1\n")
            try:
                await eventually(lambda: synced_status(api, first), "first sync", 120)
            except AssertionError as exc:
                raise AssertionError(await last_runner_report(api)) from exc
            assert admin.get(ObjectRef("apps", "v1", "Deployment", NAMESPACE, "orders-api"))
            second = await push_and_reconcile(api, repo, "wiring.step=2\n")
            await eventually(lambda: synced_status(api, second), "second sync", 120)
            config = admin.get(ObjectRef("", "v1", "ConfigMap", NAMESPACE, "orders-api"))
            assert config is not None
            assert "wiring.step=2" in str(config.get("data"))
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, output.decode()[-4000:]

"""`camelops runner` as a user runs it (a subprocess, the kubernetes driver, a real
kube-apiserver): SIGTERM in the middle of a sync stops it in under 5 s and the sync resumes at
the next start; health is re-checked within seconds while Progressing, with a detail naming the
object; `last_seen_at` is current while it is connected. Needs `make k8s`."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from runner.drivers.kubernetes.client import KubeClient
from runner.objects import ObjectRef
from tests.integration.wiring.stack import Api, Served, clean_env, eventually
from tests.integration.wiring.test_serve_runner import (
    PROJECT,
    RUNNER,
    push_and_reconcile,
    register_runner,
    setup_project,
)
from tools.k8s.controlplane import ControlPlane

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
NAMESPACE = "shop-lifecycle"  # not the example's shop-dev: other modules deploy there
INGRESS = ObjectRef("networking.k8s.io", "v1", "Ingress", NAMESPACE, "orders-api")
DEPLOYMENT = ObjectRef("apps", "v1", "Deployment", NAMESPACE, "orders-api")
NO_PODS = {
    "apiVersion": "v1", "kind": "ResourceQuota",
    "metadata": {"name": "no-pods", "namespace": NAMESPACE}, "spec": {"hard": {"pods": "0"}},
}  # fmt: skip


async def start_runner(runner_dir: Path, kubeconfig: Path) -> asyncio.subprocess.Process:
    args = ["--data-dir", str(runner_dir), "--kubeconfig", str(kubeconfig)]
    args += ["--relay", "off"]  # no sidecars here; the default port may be taken on this host
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camelops", "runner", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=clean_env(),
    )  # fmt: skip


async def terminate(process: asyncio.subprocess.Process) -> tuple[float, str]:
    """SIGTERM; seconds until the process exited, and its output."""
    start = time.monotonic()
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
    return time.monotonic() - start, output.decode(errors="replace")


async def runner_report(api: Api, revision: str, state: str, detail: str) -> dict[str, Any] | None:
    _, env = await api.call("GET", f"/api/v1/projects/{PROJECT}/environments/dev")
    ids = {h["id"] for h in env.get("history", []) if h["revision"] == revision}
    for deployment in env.get("deployments", []):
        if (
            deployment["actor"] == "runner"
            and deployment["bundleId"] in ids
            and deployment["state"] == state
            and detail in deployment["detail"]
        ):
            return dict(deployment)
    return None


async def runner_seen(api: Api, after: float) -> float | None:
    _, answer = await api.call("GET", "/api/v1/runners")
    seen = next(r["lastSeenAt"] for r in answer["runners"] if r["name"] == RUNNER)
    return seen if seen is not None and seen > after else None


async def test_sigterm_mid_sync_then_health_followed_within_seconds(
    served: Served, admin: KubeClient, control_plane: ControlPlane, tmp_path: Path
) -> None:
    # cluster-admin: the bundle carries its Namespace (least privilege is another suite's)
    kubeconfig = control_plane.admin_kubeconfig
    runner_dir = tmp_path / "runner"
    # no pod may start: wave 0's Deployments stay Progressing, so the first sync waits in
    # front of wave 1 (the Ingress) for as long as a sync wave may take (minutes)
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    admin.apply(NO_PODS, force=True)
    async with aiohttp.ClientSession() as session:
        api = Api(served, session)
        repo = await setup_project(api, tmp_path)
        project = repo.work / "camelops.yaml"
        repo.commit({"camelops.yaml": project.read_text().replace("shop-dev", NAMESPACE)})
        await register_runner(served, runner_dir)
        process = await start_runner(runner_dir, kubeconfig)
        try:
            revision = await push_and_reconcile(api, repo, "\nlifecycle.step=1\n")

            async def waiting_in_front_of_wave_1() -> bool | None:
                return True if admin.get(DEPLOYMENT) is not None else None

            try:
                await eventually(waiting_in_front_of_wave_1, "wave 0 applied", 120)
            except AssertionError as exc:
                _, output = await terminate(process)
                raise AssertionError(output[-4000:]) from exc
            await asyncio.sleep(1.0)  # well inside the wave wait
            assert admin.get(INGRESS) is None
        finally:
            took, output = await terminate(process)
        assert process.returncode == 0, output[-4000:]
        assert took < 5.0, f"SIGTERM took {took:.1f}s: {output[-4000:]}"
        assert "closed database" not in output, output[-4000:]
        assert "Traceback" not in output, output[-4000:]
        # what the given-up sync created is owned (inventory) until the resumed sync ends
        inventory = admin.get(
            ObjectRef("", "v1", "ConfigMap", "camelops-system", "camelops-inventory-shop-dev")
        )
        assert inventory is not None
        entries = inventory["data"]["entries"]
        assert f'"name":"orders-api","namespace":"{NAMESPACE}"' in entries

        # the sync given up is resumed: the stored bundle is synced at the next start
        admin.delete(ObjectRef("", "v1", "ResourceQuota", NAMESPACE, "no-pods"))
        started = time.time()
        process = await start_runner(runner_dir, kubeconfig)
        try:
            await eventually(lambda: runner_seen(api, started), "the runner's last_seen_at", 60)
            detail = f"Ingress {NAMESPACE}/orders-api has no load-balancer address yet"
            progressing = await eventually(
                lambda: runner_report(api, revision, "Synced/Progressing", detail),
                "Progressing with a detail naming the Ingress", 120,
            )  # fmt: skip
            assert admin.get(INGRESS) is not None
            # an ingress controller publishes the address: seen in seconds, not 180 s
            admin.request(
                "PATCH", admin.object_path(INGRESS) + "/status",
                body={"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.7"}]}}},
                content_type="application/merge-patch+json",
            )  # fmt: skip
            published = time.monotonic()
            healthy = await eventually(
                lambda: runner_report(api, revision, "Synced/Healthy", ""), "Healthy", 60
            )
            assert time.monotonic() - published < 40  # re-checks back off to 30 s at most
            assert healthy["detail"] == "" or "Ingress" not in healthy["detail"]
            assert progressing["detail"]
        finally:
            took, output = await terminate(process)
        assert process.returncode == 0, output[-4000:]
        assert took < 5.0, f"SIGTERM took {took:.1f}s"

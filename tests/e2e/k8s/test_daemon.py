"""The sync daemon against a real API server: outage mid-sync, restart while disconnected,
rollback; and the limits of the runner's least-privileged identity."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from contract.status import Phase
from runner.drivers.kubernetes.client import ApiError, KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync import Rollback, SyncDaemon
from runner.sync_steps import SyncSettings, SyncStatus
from tests.e2e.k8s.helpers import bundle, configmap, integration
from tools.k8s.controlplane import ControlPlane

pytestmark = pytest.mark.e2e
ENV = "shop/dev"
FAST = SyncSettings(interval=0.5, backoff_base=0.25, backoff_factor=2.0, backoff_max=2.0)


@contextlib.asynccontextmanager
async def running(daemon: SyncDaemon) -> AsyncIterator[SyncDaemon]:
    task = asyncio.create_task(daemon.run())
    try:
        yield daemon
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(30):  # a daemon that ignores cancellation fails here
                await task


def synced(revision: str) -> Callable[[SyncStatus], bool]:
    return lambda s: s.revision == revision and s.phase is Phase.SYNCED


def outages(daemon: SyncDaemon) -> list[float]:
    return [s.at for s in daemon.history if s.phase is Phase.UNREACHABLE]


async def test_api_server_stopped_mid_sync_retries_with_backoff_and_converges(
    control_plane: ControlPlane, runner_kubeconfig: Path, admin: KubeClient, namespace: str,
    store: RunnerStore,
) -> None:  # fmt: skip
    driver = KubernetesDriver(KubeClient(runner_kubeconfig, timeout=5.0))
    daemon = SyncDaemon(driver, store, FAST)
    manifests = [configmap(namespace, f"cm-{i:03d}", {"i": str(i)}) for i in range(600)]
    async with running(daemon):
        daemon.submit(bundle(manifests, "r1"))

        def started() -> bool:  # the apply is under way: some objects exist
            return len(admin.list("v1", "ConfigMap", namespace)) > 0

        while not await asyncio.to_thread(started):
            await asyncio.sleep(0.02)
        await asyncio.to_thread(control_plane.stop_apiserver)
        try:  # let a few retries happen while it is down
            await daemon.wait_for(lambda _: len(outages(daemon)) >= 4, ENV, timeout=60)
        finally:
            await asyncio.to_thread(control_plane.start_apiserver)
        final = await daemon.wait_for(synced("r1"), ENV, timeout=90)
    first_outage = next(i for i, s in enumerate(daemon.history) if s.phase is Phase.UNREACHABLE)
    assert not any(s.phase is Phase.SYNCED for s in daemon.history[:first_outage])  # mid-sync
    failures = outages(daemon)
    gaps = [b - a for a, b in itertools.pairwise(failures)]
    assert len(failures) >= 4
    assert gaps[-1] > gaps[0]  # backing off, not hammering
    assert final.phase is Phase.SYNCED
    names = {cm["metadata"]["name"] for cm in admin.list("v1", "ConfigMap", namespace)}
    assert {m["metadata"]["name"] for m in manifests} <= names
    driver.close()


async def test_restarted_runner_keeps_enforcing_its_last_bundle_while_disconnected(
    runner_kubeconfig: Path, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    db = tmp_path / "runner.db"
    manifests = integration(namespace, "orders")
    first = SyncDaemon(KubernetesDriver(KubeClient(runner_kubeconfig)), RunnerStore(db), FAST)
    async with running(first):
        first.submit(bundle(manifests, "r1"))
        await first.wait_for(synced("r1"), ENV, timeout=30)
    first.driver.close()
    first.store.close()

    # while the runner is down and cut off from the control plane, someone changes the cluster
    cm = ObjectRef("", "v1", "ConfigMap", namespace, "orders-config")
    admin.delete(cm)
    deploy = ObjectRef("apps", "v1", "Deployment", namespace, "orders")
    admin.request("PATCH", admin.object_path(deploy), query=[("fieldManager", "someone")],
                  body={"spec": {"replicas": 4}},
                  content_type="application/merge-patch+json")  # fmt: skip

    store = RunnerStore(db)
    second = SyncDaemon(KubernetesDriver(KubeClient(runner_kubeconfig)), store, FAST)
    async with running(second):  # nothing submitted: it has only its own SQLite
        await second.wait_for(synced("r1"), ENV, timeout=30)

        def restored() -> bool:
            replicas = (admin.get(deploy) or {}).get("spec", {}).get("replicas")
            return admin.get(cm) is not None and replicas == 1

        while not await asyncio.to_thread(restored):
            await asyncio.sleep(0.1)
    queued = [q.payload for q in store.pending()]
    assert {p["revision"] for p in queued} == {"r1"}  # kept for the control plane
    assert any(p["phase"] == "Synced" for p in queued)
    second.driver.close()
    store.close()


async def test_rollback_reapplies_a_previous_bundle(
    runner_kubeconfig: Path, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    daemon = SyncDaemon(KubernetesDriver(KubeClient(runner_kubeconfig)), store, FAST)
    async with running(daemon):
        daemon.submit(bundle(integration(namespace, "orders", greeting="v1"), "r1"))
        await daemon.wait_for(synced("r1"), ENV, timeout=30)
        daemon.submit(bundle(integration(namespace, "orders", greeting="v2")
                             + integration(namespace, "billing"), "r2"))  # fmt: skip
        await daemon.wait_for(synced("r2"), ENV, timeout=30)
        daemon.submit(Rollback("shop", "dev", "r1"))
        await daemon.wait_for(synced("r1"), ENV, timeout=30)
        daemon.submit(Rollback("shop", "dev", "no-such-revision"))  # refused, changes nothing
        await asyncio.sleep(0)
    cm = admin.get(ObjectRef("", "v1", "ConfigMap", namespace, "orders-config")) or {}
    assert cm["data"]["application.properties"] == "greeting=v1\n"
    assert admin.get(ObjectRef("apps", "v1", "Deployment", namespace, "billing")) is None
    assert daemon.statuses[ENV].revision == "r1"
    daemon.driver.close()


def test_least_privileged_identity_cannot_reach_beyond_its_namespaces(
    runner_kube: KubeClient, namespace: str
) -> None:
    runner_kube.apply(configmap(namespace, "allowed", {"a": "b"}))
    refused: list[Callable[[], object]] = [
        lambda: runner_kube.apply(configmap("kube-system", "nope", {"a": "b"})),
        lambda: runner_kube.list("v1", "Secret", "kube-system"),
        lambda: runner_kube.apply({"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": "runner-made"}}),
        lambda: runner_kube.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                   "metadata": {"name": "escalate", "namespace": namespace},
                                   "rules": [{"apiGroups": ["*"], "resources": ["*"],
                                              "verbs": ["*"]}]}),
        lambda: runner_kube.list("v1", "Node"),
    ]  # fmt: skip
    for attempt in refused:
        with pytest.raises(ApiError) as info:
            attempt()
        assert info.value.status == 403


def test_least_privileged_identity_may_label_only_its_own_namespaces(
    runner_kube: KubeClient, admin: KubeClient, namespace: str
) -> None:
    """Bundles carry their Namespace (e.g. pod-security labels); the runner may patch exactly the
    namespaces it was installed for, and never create or touch another one."""
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    labelled = {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": namespace, "labels": labels}}  # fmt: skip
    created, _ = runner_kube.apply(labelled)
    assert created is False
    live = admin.get(ObjectRef("", "v1", "Namespace", "", namespace)) or {}
    assert live["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    other = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "kube-system", "labels": {"owned": "no"}}}  # fmt: skip
    with pytest.raises(ApiError) as info:
        runner_kube.apply(other)
    assert info.value.status == 403

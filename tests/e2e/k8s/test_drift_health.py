"""Drift from another field manager, self-heal, and rollout health through kwok."""

from __future__ import annotations

import pytest

from contract.status import Health, Outcome, Phase
from runner.driver import ApplyOptions
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, enforce, sync_bundle
from tests.e2e.k8s.helpers import bundle, configmap, deployment, integration
from tools.k8s.controlplane import wait_until

pytestmark = pytest.mark.e2e


def edit_as_someone_else(admin: KubeClient, ref: ObjectRef, patch: dict) -> None:  # type: ignore[type-arg]
    """What `kubectl edit` does: a merge patch under another field manager."""
    admin.request(
        "PATCH",
        admin.object_path(ref),
        query=[("fieldManager", "kubectl-edit")],
        body=patch,
        content_type="application/merge-patch+json",
    )


def test_edit_by_another_manager_is_reported_as_drift_and_healed(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    b = bundle(integration(namespace, "orders"), "r1")
    assert sync_bundle(driver, store, b, SyncSettings()).phase is Phase.SYNCED
    cm = ObjectRef("", "v1", "ConfigMap", namespace, "orders-config")
    deploy = ObjectRef("apps", "v1", "Deployment", namespace, "orders")
    edit_as_someone_else(admin, cm, {"data": {"application.properties": "greeting=hacked\n"},
                                     "metadata": {"labels": {"team": "ops"}}})  # fmt: skip
    edit_as_someone_else(admin, deploy, {"spec": {"replicas": 3}})

    report = driver.drift(b, heal=False)
    by_key = {d.ref.key: d for d in report.drifted}
    assert set(by_key) == {cm.key, deploy.key}
    assert [(d.path, d.live, d.desired) for d in by_key[cm.key].diffs] == [
        ("/data/application.properties", '"greeting=hacked\\n"', '"greeting=hello\\n"')
    ]  # the label only another manager set is not drift
    assert [d.path for d in by_key[deploy.key].diffs] == ["/spec/replicas"]

    reported = enforce(driver, b, SyncSettings(self_heal=False))
    assert reported.phase is Phase.OUT_OF_SYNC
    assert set(reported.drifted) == {cm.key, deploy.key}

    healed = enforce(driver, b, SyncSettings(self_heal=True))
    assert healed.phase is Phase.SYNCED
    assert "healed 2" in healed.message
    live_cm = admin.get(cm) or {}
    assert live_cm["data"]["application.properties"] == "greeting=hello\n"
    assert live_cm["metadata"]["labels"] == {"team": "ops"}  # someone else's field survives
    assert (admin.get(deploy) or {})["spec"]["replicas"] == 1
    assert driver.drift(b, heal=False).in_sync
    driver.close()


def test_rollout_goes_progressing_to_healthy_and_missed_deadline_is_degraded(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    # pods can only land once the node carries this label: the rollout is held in Progressing
    # for as long as the test needs, then released (kwok rolls out in milliseconds otherwise)
    gate = {"camelops.io/e2e-gate": namespace}
    b = bundle([deployment(namespace, "orders", replicas=2, node_selector=gate)], "r1")
    status = sync_bundle(driver, store, b, SyncSettings())
    assert status.health is Health.PROGRESSING
    ref = ObjectRef("apps", "v1", "Deployment", namespace, "orders")
    wait_until(lambda: (runner_kube.get(ref) or {}).get("status", {}).get("updatedReplicas") == 2,
               30, "the controller to create the new pods")  # fmt: skip
    report = driver.health(b).of(ref)
    assert report is not None
    assert report.status is Health.PROGRESSING
    assert "available" in report.message

    admin.request("PATCH", "/api/v1/nodes/kwok-node-0", body={"metadata": {"labels": gate}},
                  content_type="application/merge-patch+json")  # fmt: skip
    wait_until(lambda: driver.health(b).status is Health.HEALTHY, 90,
               "the Deployment to roll out through kwok")  # fmt: skip
    live = runner_kube.get(ref) or {}
    assert live["status"]["availableReplicas"] == 2  # pods really Ready (simulated by kwok)

    stuck = deployment(namespace, "orders", replicas=2, deadline=2, node_selector={"type": "none"})
    b2 = bundle([stuck], "r2")
    sync_bundle(driver, store, b2, SyncSettings(apply=ApplyOptions()))
    wait_until(lambda: driver.health(b2).status is Health.DEGRADED, 90,
               "the rollout to miss its progress deadline")  # fmt: skip
    report = driver.health(b2).of(ref)
    assert report is not None
    assert "deadline" in report.message
    driver.close()


def test_a_later_sync_wave_waits_until_the_earlier_one_is_healthy(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    gate = {"camelops.io/e2e-wave-gate": namespace}
    early = deployment(namespace, "schema-migration", node_selector=gate)
    early["metadata"]["annotations"] = {"camelops.io/sync-wave": "-1"}
    later = configmap(namespace, "app-config", {"ready": "yes"})
    b = bundle([later, early], "r1")
    quick = SyncSettings(apply=ApplyOptions(wave_timeout=3, wave_poll=0.2))

    held = sync_bundle(driver, store, b, quick)
    assert held.phase is Phase.FAILED
    outcomes = {r.ref.name: (r.outcome, r.message) for r in held.objects}
    assert outcomes["schema-migration"][0] is Outcome.CREATED
    assert outcomes["app-config"][0] is Outcome.FAILED
    assert "sync wave -1 is Progressing" in outcomes["app-config"][1]
    assert admin.get(ObjectRef.of(later)) is None
    again = sync_bundle(driver, store, b, quick)  # the early wave is unchanged now: still held
    assert again.phase is Phase.FAILED
    assert admin.get(ObjectRef.of(later)) is None

    admin.request("PATCH", "/api/v1/nodes/kwok-node-0", body={"metadata": {"labels": gate}},
                  content_type="application/merge-patch+json")  # fmt: skip
    done = sync_bundle(driver, store, b, SyncSettings())
    assert done.phase is Phase.SYNCED, done.message
    assert admin.get(ObjectRef.of(later)) is not None
    driver.close()

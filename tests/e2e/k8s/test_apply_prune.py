"""Apply, re-apply, roll, prune and refuse: the kubernetes driver against a real API server,
as the runner's least-privileged ServiceAccount."""

from __future__ import annotations

import pytest

from contract.status import Health, Outcome, Phase
from runner.driver import ApplyOptions
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, sync_bundle
from tests.e2e.k8s.helpers import bundle, configmap, integration
from tools.k8s.controlplane import wait_until

pytestmark = pytest.mark.e2e


# an environment of its own: the session's control plane keeps other tests' shop/dev inventory,
# whose leftovers a first sync of shop/dev would rightly prune
ENV = "first-apply"


def versions(admin: KubeClient, refs: list[ObjectRef]) -> dict[str, str]:
    return {r.key: (admin.get(r) or {})["metadata"]["resourceVersion"] for r in refs}


def refs_of(manifests: list[dict]) -> list[ObjectRef]:  # type: ignore[type-arg]
    return [ObjectRef.of(m) for m in manifests]


def test_first_apply_creates_all_and_reapply_changes_no_resource_version(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    manifests = [*integration(namespace, "orders"), configmap(namespace, "shared", {"a": "1"})]
    first = sync_bundle(driver, store, bundle(manifests, "r1", ENV), SyncSettings())
    assert first.phase is Phase.SYNCED, first.message
    assert {r.outcome for r in first.objects} == {Outcome.CREATED}
    assert len(first.objects) == 4
    # wait until the controllers stop writing status, then prove our re-apply writes nothing
    wait_until(lambda: driver.health(bundle(manifests, "r1", ENV)).status is Health.HEALTHY, 60,
               "the Deployment to become Healthy")  # fmt: skip
    before = versions(admin, refs_of(manifests))
    for options in (ApplyOptions(), ApplyOptions(use_cache=False)):  # cached and real SSA
        again = sync_bundle(
            driver, store, bundle(manifests, "r1", ENV), SyncSettings(apply=options)
        )
        assert again.phase is Phase.SYNCED
        assert {r.outcome for r in again.objects} == {Outcome.UNCHANGED}
        assert versions(admin, refs_of(manifests)) == before
    inventory = driver.read_inventory(bundle(manifests, "r1", ENV))
    assert inventory is not None
    assert sorted(r.key for r in inventory) == sorted(r.key for r in refs_of(manifests))
    assert store.inventory(f"shop/{ENV}") == tuple(sorted(inventory))
    driver.close()


def test_changed_configmap_rolls_deployment_and_removed_integration_is_pruned(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    keep = configmap(namespace, "keep-me", {"x": "1"}, **{"camelops.io/prune": "false"})
    v1 = integration(namespace, "orders") + integration(namespace, "billing") + [keep]
    assert sync_bundle(driver, store, bundle(v1, "r1"), SyncSettings()).phase is Phase.SYNCED
    deploy = ObjectRef("apps", "v1", "Deployment", namespace, "orders")
    wait_until(lambda: (admin.get(deploy) or {}).get("status", {}).get("observedGeneration") == 1,
               30, "the first rollout to be observed")  # fmt: skip

    v2 = integration(namespace, "orders", greeting="bonjour") + integration(namespace, "billing")
    v2.append(keep)
    status = sync_bundle(driver, store, bundle(v2, "r2"), SyncSettings())
    outcomes = {r.ref.key: r.outcome for r in status.objects}
    assert outcomes[f"/ConfigMap:{namespace}/orders-config"] is Outcome.CONFIGURED
    assert outcomes[f"apps/Deployment:{namespace}/orders"] is Outcome.CONFIGURED
    assert outcomes[f"apps/Deployment:{namespace}/billing"] is Outcome.UNCHANGED
    assert admin.get(deploy)["metadata"]["generation"] == 2  # type: ignore[index]
    wait_until(lambda: len(admin.list("apps/v1", "ReplicaSet", namespace,
                                      label_selector="app=orders")) == 2,
               30, "a second ReplicaSet for the rolled Deployment")  # fmt: skip

    v3 = integration(namespace, "billing")  # orders removed, keep-me dropped too
    status = sync_bundle(driver, store, bundle(v3, "r3"), SyncSettings())
    assert status.phase is Phase.SYNCED
    pruned = {r.ref.key for r in status.objects if r.outcome is Outcome.PRUNED}
    assert pruned == {r.key for r in refs_of(integration(namespace, "orders"))}
    skipped = [r for r in status.objects if r.outcome is Outcome.PRUNE_SKIPPED]
    assert [r.ref.name for r in skipped] == ["keep-me"]
    for ref in refs_of(integration(namespace, "orders")):
        assert admin.get(ref) is None
    assert admin.get(ObjectRef.of(keep)) is not None  # opted out: left alone, and not ours
    inventory = driver.read_inventory(bundle(v3, "r3")) or ()
    assert sorted(r.name for r in inventory) == ["billing", "billing", "billing-config"]
    driver.close()


def test_invalid_object_prunes_nothing_and_reports_each_error(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    v1 = integration(namespace, "orders") + integration(namespace, "billing")
    assert sync_bundle(driver, store, bundle(v1, "r1"), SyncSettings()).phase is Phase.SYNCED

    broken = integration(namespace, "orders", greeting="changed")
    broken[1]["spec"]["replicas"] = -3  # the API server's validation refuses it
    bad_name = configmap(namespace, "Not_A_Name", {"a": "b"})
    status = sync_bundle(driver, store, bundle([*broken, bad_name], "r2"), SyncSettings())
    assert status.phase is Phase.FAILED
    assert status.message.startswith("dry-run failed")
    failed = {r.ref.key: r.message for r in status.objects if r.outcome is Outcome.FAILED}
    assert set(failed) == {
        f"apps/Deployment:{namespace}/orders",
        f"/ConfigMap:{namespace}/Not_A_Name",
    }
    assert "spec.replicas" in failed[f"apps/Deployment:{namespace}/orders"]
    assert not any(r.outcome is Outcome.PRUNED for r in status.objects)
    for ref in refs_of(integration(namespace, "billing")):  # left the bundle, but not pruned
        assert admin.get(ref) is not None
    cm = admin.get(ObjectRef("", "v1", "ConfigMap", namespace, "orders-config")) or {}
    assert cm["data"]["application.properties"] == "greeting=hello\n"  # nothing half-applied
    payload = status.payload()
    assert {o["key"] for o in payload["objects"] if o["outcome"] == "failed"} == set(failed)
    driver.close()


def test_empty_bundle_never_prunes_everything_unless_allowed(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    v1 = [configmap(namespace, "a", {"k": "v"})]
    sync_bundle(driver, store, bundle(v1, "r1"), SyncSettings())
    refused = sync_bundle(driver, store, bundle([], "r2"), SyncSettings())
    assert "refusing to prune everything" in refused.message
    assert admin.get(ObjectRef.of(v1[0])) is not None
    allowed = sync_bundle(driver, store, bundle([], "r3"), SyncSettings(allow_empty=True))
    assert [r.outcome for r in allowed.objects] == [Outcome.PRUNED]
    assert admin.get(ObjectRef.of(v1[0])) is None
    driver.close()

"""The installed least-privileged identity syncs what integrations render, Namespace included,
and a read it is not granted is reported as forbidden with the rule to add, never as Missing."""

from __future__ import annotations

import pytest

from contract.status import Health, Phase
from runner.driver import ApplyOptions
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, sync_bundle
from tests.e2e.k8s.helpers import bundle, configmap, integration
from tools.k8s.controlplane import wait_until

pytestmark = pytest.mark.e2e


def _namespace_object(name: str) -> dict:  # type: ignore[type-arg]
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"pod-security.kubernetes.io/enforce": "baseline"},
            "annotations": {"camelops.io/sync-wave": "-2"},
        },
    }


def test_bundle_with_its_namespace_syncs_as_the_installed_identity(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    # the identity may GET and PATCH its namespace by name but not LIST namespaces
    driver = KubernetesDriver(runner_kube)
    manifests = [_namespace_object(namespace), *integration(namespace, "orders")]
    owned = bundle(manifests, "r1", env="ns-owned")  # an environment no other test uses
    report = sync_bundle(driver, store, owned, SyncSettings())
    assert report.phase is Phase.SYNCED, report.message
    live = admin.get(ObjectRef("", "v1", "Namespace", "", namespace))
    assert live is not None
    assert live["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    wait_until(lambda: driver.health(owned).status is Health.HEALTHY, 60,
               "the environment to become Healthy")  # fmt: skip
    ns_health = driver.health(owned).of(ObjectRef.of(manifests[0]))
    assert ns_health is not None
    assert ns_health.status is Health.HEALTHY
    assert driver.drift(owned, heal=False).in_sync
    driver.close()


def test_an_unreadable_object_is_forbidden_with_the_rule_not_missing(
    runner_kube: KubeClient, admin: KubeClient, namespace: str
) -> None:
    # a namespace the runner was not installed for: no RoleBinding there, not in resourceNames
    foreign = f"{namespace}-x"[:63]
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": foreign}})
    driver = KubernetesDriver(runner_kube)
    cm = configmap(foreign, "settings", {"a": "1"})
    manifests = [_namespace_object(foreign), cm]
    owned = bundle(manifests, "r1", env="ns-owned")
    health = driver.health(owned)
    assert health.status is Health.UNKNOWN
    ns_report = health.of(ObjectRef.of(manifests[0]))
    cm_report = health.of(ObjectRef.of(cm))
    assert ns_report is not None
    assert cm_report is not None
    assert ns_report.message.startswith(f"forbidden: get namespaces {foreign};")
    assert 'resources: ["namespaces"]' in ns_report.message
    assert "ClusterRoleBinding" in ns_report.message
    assert cm_report.message.startswith(f"forbidden: get configmaps {foreign}/settings;")
    assert f"a Role in namespace {foreign}" in cm_report.message
    drift = driver.drift(owned, heal=False)
    assert {d.error.split(";")[0] for d in drift.drifted} == {
        f"forbidden: get namespaces {foreign}",
        f"forbidden: get configmaps {foreign}/settings",
    }
    assert not any(d.missing for d in drift.drifted)
    # a write that RBAC refuses is reported the same way: the verb, the object, the rule
    [result] = driver.apply(bundle([cm], "r1", env="ns-owned"), ApplyOptions()).results
    assert result.message.startswith(f"forbidden: patch configmaps {foreign}/settings; add to")
    assert 'verbs: ["patch"]' in result.message
    driver.close()

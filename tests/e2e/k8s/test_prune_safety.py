"""Pruning never deletes what another environment took over, and a deletion the API server
refuses stays in the inventory and is retried by the next sync (against a real API server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.status import Outcome, Phase
from runner.drivers.kubernetes.client import ApiError, KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, sync_bundle
from tests.e2e.k8s.helpers import Manifest, bundle, configmap
from tools.k8s.controlplane import wait_until

pytestmark = pytest.mark.e2e


def outcome_of(status_objects: tuple[object, ...], ref: ObjectRef) -> tuple[Outcome, str]:
    [result] = [r for r in status_objects if r.ref == ref]  # type: ignore[attr-defined]
    return result.outcome, result.message  # type: ignore[attr-defined]


def test_an_object_another_environment_took_over_is_not_pruned(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    driver = KubernetesDriver(runner_kube)
    shared = configmap(namespace, "shared", {"k": "v"})
    mine = configmap(namespace, "mine", {"k": "v"})
    dev_store, prod_store = RunnerStore(tmp_path / "dev.db"), RunnerStore(tmp_path / "prod.db")
    # environments of their own: the in-cluster inventory of shop/dev is shared by other tests
    dev_v1 = bundle([shared, mine], "r1", env="takeover-dev")
    assert sync_bundle(driver, dev_store, dev_v1, SyncSettings()).phase is Phase.SYNCED
    # prod now manages the same object: its tracking id names prod
    prod = bundle([shared], "r1", env="takeover-prod")
    assert sync_bundle(driver, prod_store, prod, SyncSettings()).phase is Phase.SYNCED
    annotations = (admin.get(ObjectRef.of(shared)) or {})["metadata"]["annotations"]
    assert annotations["camelops.io/tracking-id"] == "shop/takeover-prod"

    dev_v2 = bundle([mine], "r2", env="takeover-dev")  # dev drops `shared` from its bundle
    status = sync_bundle(driver, dev_store, dev_v2, SyncSettings())
    assert status.phase is Phase.SYNCED
    assert outcome_of(status.objects, ObjectRef.of(shared)) == (
        Outcome.PRUNE_SKIPPED,
        "now owned by shop/takeover-prod",
    )
    assert admin.get(ObjectRef.of(shared)) is not None
    assert [r.name for r in driver.read_inventory(dev_v2) or ()] == ["mine"]  # no longer dev's
    dev_store.close()
    prod_store.close()
    driver.close()


def test_an_object_someone_else_deleted_is_pruned_as_already_gone(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    driver = KubernetesDriver(runner_kube)
    gone = configmap(namespace, "gone", {"k": "v"})
    mine = configmap(namespace, "mine", {"k": "v"})
    store = RunnerStore(tmp_path / "runner.db")
    v1 = bundle([gone, mine], "r1", env="gone-dev")
    assert sync_bundle(driver, store, v1, SyncSettings()).phase is Phase.SYNCED
    admin.delete(ObjectRef.of(gone))  # by hand, between two syncs
    wait_until(lambda: admin.get(ObjectRef.of(gone)) is None, 30, "the ConfigMap to be deleted")

    v2 = bundle([mine], "r2", env="gone-dev")
    status = sync_bundle(driver, store, v2, SyncSettings())
    assert status.phase is Phase.SYNCED
    assert outcome_of(status.objects, ObjectRef.of(gone)) == (Outcome.PRUNED, "already gone")
    assert [r.name for r in driver.read_inventory(v2) or ()] == ["mine"]
    store.close()
    driver.close()


@pytest.fixture
def undeletable(admin: KubeClient, namespace: str) -> Iterator[str]:
    """A ValidatingAdmissionPolicy that refuses to delete ConfigMaps labelled `undeletable`
    in this namespace: a real API server refusal (like a policy engine or a webhook would)."""
    name = f"no-delete-{namespace}"[:63]
    policy: Manifest = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["DELETE"],
                     "resources": ["configmaps"]}
                ]
            },
            "validations": [
                {"expression": "!has(oldObject.metadata.labels) || "
                               "!('undeletable' in oldObject.metadata.labels)",
                 "message": "this ConfigMap may not be deleted now"}
            ],
        },
    }  # fmt: skip
    binding: Manifest = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    for obj in (policy, binding):
        admin.apply(obj, force=True)
    wait_until(lambda: not _deletable(admin, namespace), 60, "the policy to refuse deletions")
    yield name
    lift(admin, name, namespace)


def lift(admin: KubeClient, name: str, namespace: str) -> None:
    """Remove the policy and wait until deletions go through again."""
    for kind in ("ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"):
        admin.delete(ObjectRef("admissionregistration.k8s.io", "v1", kind, "", name))
    wait_until(lambda: _deletable(admin, namespace), 60, "deletions to be allowed again")


def _deletable(admin: KubeClient, namespace: str) -> bool:
    """Whether the API server lets a labelled probe ConfigMap be deleted right now."""
    probe = configmap(namespace, "probe", {})
    probe["metadata"]["labels"] = {"undeletable": "true"}
    admin.apply(probe, force=True)
    try:
        admin.delete(ObjectRef.of(probe))
    except ApiError as exc:
        if "may not be deleted now" not in exc.message:
            raise
        return False
    return True


def test_a_refused_deletion_stays_in_the_inventory_and_is_retried(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore, undeletable: str
) -> None:
    driver = KubernetesDriver(runner_kube)
    keep = configmap(namespace, "keep", {"k": "v"})
    stuck = configmap(namespace, "stuck", {"k": "v"})
    stuck["metadata"]["labels"] = {"undeletable": "true"}
    v1 = bundle([keep, stuck], "r1", env="refused")
    assert sync_bundle(driver, store, v1, SyncSettings()).phase is Phase.SYNCED

    v2 = bundle([keep], "r2", env="refused")
    status = sync_bundle(driver, store, v2, SyncSettings())
    outcome, message = outcome_of(status.objects, ObjectRef.of(stuck))
    assert outcome is Outcome.DELETE_FAILED
    assert "may not be deleted now" in message
    assert admin.get(ObjectRef.of(stuck)) is not None
    owned = sorted(r.name for r in driver.read_inventory(v2) or ())
    assert owned == ["keep", "stuck"]  # still ours: the next sync must try again
    assert sorted(r.name for r in store.inventory("shop/refused") or ()) == ["keep", "stuck"]

    lift(admin, undeletable, namespace)
    status = sync_bundle(driver, store, v2, SyncSettings())  # the same bundle, synced again
    assert outcome_of(status.objects, ObjectRef.of(stuck))[0] is Outcome.PRUNED
    assert admin.get(ObjectRef.of(stuck)) is None
    assert [r.name for r in driver.read_inventory(v2) or ()] == ["keep"]
    driver.close()

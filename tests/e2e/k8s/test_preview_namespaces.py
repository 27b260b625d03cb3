"""Previews as the least-privileged runner: `runner manifests --previews` lets it create and
delete `pr-<n>` namespaces labelled as previews, bind its own role there, and nothing else. The
bound is a ValidatingAdmissionPolicy, enforced here by the real API server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contract.status import Phase
from runner.drivers.kubernetes.client import ApiError, KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.drivers.kubernetes.manifests import NAME, runner_manifests
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, sync_bundle
from tests.e2e.k8s.conftest import RUNNER_NAMESPACE
from tests.e2e.k8s.helpers import bundle, configmap
from tools.k8s.controlplane import wait_until

pytestmark = pytest.mark.e2e
PREVIEW = "pr-777"
Manifest = dict[str, Any]


def _namespace(name: str, preview: bool = True) -> Manifest:
    labels = {"camelops.io/preview": "true"} if preview else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels,
            "annotations": {"camelops.io/sync-wave": "-2"}}}  # fmt: skip


def _binding(namespace: str, role: str = f"{NAME}-apply") -> Manifest:
    """What the renderer adds to a preview (golden: tests/golden/cases/preview)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{NAME}-apply", "namespace": namespace,
                     "annotations": {"camelops.io/sync-wave": "-2"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": RUNNER_NAMESPACE}],
    }  # fmt: skip


def _refused(kube: KubeClient, method: str, obj: Manifest) -> str:
    """The API server's answer to a dry-run request as the runner: '' when it was allowed."""
    try:
        if method == "DELETE":
            kube.request("DELETE", kube.object_path(ObjectRef.of(obj)), query=[("dryRun", "All")])
        else:
            kube.apply(obj, dry_run=True)
    except ApiError as exc:
        return exc.message
    return ""


@pytest.fixture
def previews_installed(admin: KubeClient, runner_kube: KubeClient) -> Iterator[None]:
    """The --previews part of the install manifests (the rest is the conftest's identity)."""
    installed = runner_manifests(namespace=RUNNER_NAMESPACE, managed=["default"], previews=True)
    bounded = [o for o in installed if o["metadata"]["name"] == f"{NAME}-previews"]
    assert {o["kind"] for o in bounded} == {"ClusterRole", "ClusterRoleBinding",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}  # fmt: skip
    for obj in bounded:
        admin.apply(obj, force=True)
    # policies take effect asynchronously: wait until the API server enforces this one
    wait_until(lambda: bool(_refused(runner_kube, "POST", _namespace("not-a-preview"))), 60,
               "the admission policy to be enforced")  # fmt: skip
    yield
    for obj in reversed(bounded):
        admin.delete(ObjectRef.of(obj))


def test_preview_namespace_created_bound_and_pruned_as_the_runner(
    previews_installed: None, runner_kube: KubeClient, admin: KubeClient, store: RunnerStore
) -> None:
    driver = KubernetesDriver(runner_kube)
    manifests = [_namespace(PREVIEW), _binding(PREVIEW), configmap(PREVIEW, "orders", {"a": "1"})]
    opened = bundle(manifests, "r1", env=PREVIEW)
    # the RBAC authorizer learns of the new binding a moment later: the daemon retries
    last: list[str] = []

    def synced() -> bool:
        status = sync_bundle(driver, store, opened, SyncSettings())
        last.extend([status.message, *(f"{o.ref}: {o.message}" for o in status.objects)])
        return status.phase is Phase.SYNCED

    try:
        wait_until(synced, 30, "the preview to sync")
    except TimeoutError as exc:
        raise AssertionError("\n".join(last)) from exc
    assert admin.get(ObjectRef.of(manifests[2])) is not None
    closed = bundle([], "r2", env=PREVIEW)  # what the control plane sends when it closes
    status = sync_bundle(driver, store, closed, SyncSettings())
    assert status.phase is Phase.SYNCED, status.message
    gone = admin.get(ObjectRef.of(manifests[0]))
    assert gone is None or gone["metadata"].get("deletionTimestamp"), gone
    driver.close()


def test_the_runner_may_touch_no_other_namespace_or_binding(
    previews_installed: None, runner_kube: KubeClient, admin: KubeClient
) -> None:
    bystander = _namespace("bystander", preview=False)
    admin.apply(bystander, force=True)
    assert "only namespaces named pr-<n>" in _refused(runner_kube, "POST", _namespace("sneaky"))
    unlabelled = _refused(runner_kube, "POST", _namespace("pr-778", preview=False))
    assert "only namespaces named pr-<n>" in unlabelled
    # RBAC grants delete of every namespace: the policy is what keeps the others standing
    assert "only namespaces named pr-<n>" in _refused(runner_kube, "DELETE", bystander)
    assert _refused(admin, "DELETE", bystander) == ""  # (the admin may)
    assert "only in a preview namespace" in _refused(runner_kube, "POST", _binding("default"))
    assert _refused(runner_kube, "POST", _namespace("pr-779")) == ""  # the one thing allowed

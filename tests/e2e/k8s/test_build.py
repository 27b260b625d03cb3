"""The build controller on a real API server, with the renderers' own output for a `build:`
integration: the Kaniko Job runs first, the Deployment only after it is Complete, and a failed
build leaves the running Deployment alone.

kwok completes a Job's pods (its `pod-complete` stage) but cannot write a termination message,
so no digest ever reaches the runner here: these tests see the tag-reference path and its
status note. Digest pinning is unit-tested on real Job/Pod shapes (tests/unit/runner/test_build.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from contract.bundles import Bundle, manifests_digest
from contract.status import Health, Outcome, Phase
from renderers import RenderOptions, render_environment
from runner.driver import ApplyOptions
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, SyncStatus, sync_bundle
from schema.repository import load_repository
from tools.k8s.controlplane import wait_until

pytestmark = pytest.mark.e2e

REV_A = "a" * 40
REV_B = "b" * 40
DIGEST = "sha256:" + "5e" * 32
PROJECT = """\
apiVersion: camelops.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  camel:
    version: "4.18.4"
  environments:
    - name: dev
      runner: dev-cluster
      namespace: {namespace}
"""
FILES = {
    "integrations/custom/integration.yaml": (
        "apiVersion: camelops.io/v1alpha1\nkind: Integration\n"
        "metadata:\n  name: custom\nspec:\n  build:\n    context: .\n"
    ),
    "integrations/custom/Dockerfile": "FROM ghcr.io/camelops/camel-main:4.18.4\n",
    "integrations/custom/routes/custom.camel.yaml": (
        "- route:\n    id: custom\n    from:\n      uri: timer:custom\n"
        "      steps:\n        - to: log:custom\n"
    ),
}
QUICK = SyncSettings(apply=ApplyOptions(wave_timeout=4, wave_poll=0.2))
PATIENT = SyncSettings(apply=ApplyOptions(wave_timeout=90, wave_poll=0.2))


def rendered_bundle(root: Path, namespace: str, revision: str) -> Bundle:
    """The real renderer's objects for one `build:` integration, bundled as the control plane
    does. The namespace exists already (the runner identity cannot create one)."""
    for rel, text in {"camelops.yaml": PROJECT.format(namespace=namespace), **FILES}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    report = load_repository(root)
    assert report.project is not None, [d.format_text() for d in report.errors]
    options = RenderOptions(
        revision=revision, source_url="https://git.example.com/shop/config.git",
        namespace_object=False,
    )  # fmt: skip
    manifests = render_environment(report.project, "dev", options=options)
    return Bundle.of(project="shop", environment="dev", revision=revision, manifests=manifests)


def the(b: Bundle, kind: str) -> ObjectRef:
    return next(ObjectRef.of(m) for m in b.manifests if m["kind"] == kind)


def image_of(live: dict[str, Any]) -> str:
    containers = live["spec"]["template"]["spec"]["containers"]
    return str(next(c["image"] for c in containers if c["name"] == "camel"))


def hold_pods(admin: KubeClient, namespace: str) -> ObjectRef:
    """A quota of zero pods: the Job controller cannot start the build until it goes."""
    quota = {
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "no-pods", "namespace": namespace}, "spec": {"hard": {"pods": "0"}},
    }  # fmt: skip
    admin.apply(quota, force=True)
    return ObjectRef.of(quota)


def test_deployment_rolls_only_after_the_build_job_completes(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore, tmp_path: Path
) -> None:
    driver = KubernetesDriver(runner_kube)
    b = rendered_bundle(tmp_path, namespace, REV_A)
    job, deploy = the(b, "Job"), the(b, "Deployment")
    quota = hold_pods(admin, namespace)

    held = sync_bundle(driver, store, b, QUICK)
    assert held.phase is Phase.FAILED
    assert held.health is Health.MISSING  # the Deployment was never sent
    outcomes = {r.ref.key: (r.outcome, r.message) for r in held.objects}
    assert outcomes[job.key][0] is Outcome.CREATED
    assert outcomes[deploy.key][0] is Outcome.FAILED
    assert "sync wave -1 is Progressing" in outcomes[deploy.key][1]
    assert admin.get(deploy) is None
    assert (admin.get(job) or {}).get("status", {}).get("succeeded") is None

    admin.delete(quota)
    done = sync_bundle(driver, store, b, PATIENT)
    assert done.phase is Phase.SYNCED, done.message
    live_job, live_deploy = admin.get(job) or {}, admin.get(deploy) or {}
    assert live_job["status"]["succeeded"] == 1  # completed through kwok and the Job controller
    assert image_of(live_deploy) == f"registry.camelops-system.svc:5000/shop/custom:{REV_A[:12]}"
    # no digest (kwok writes no termination message): the tag stays and the status says so
    assert "build reported no image digest" in done.message
    assert driver.health(b).of(job) is not None
    driver.close()


def kubelet_reports(admin: KubeClient, namespace: str, job: str, **terminated: Any) -> str:
    """Play the kubelet for a build pod kwok never sees (it fits no node): its Kaniko
    container ends as `terminated` says; the real Job controller takes it from there."""
    pods: list[dict[str, Any]] = []

    def created() -> bool:
        pods[:] = admin.list("v1", "Pod", namespace, label_selector=f"job-name={job}")
        return bool(pods)

    wait_until(created, 30, "the build pod")
    name = str(pods[0]["metadata"]["name"])
    status = {
        "phase": "Succeeded" if terminated["exitCode"] == 0 else "Failed",
        "containerStatuses": [{
            "name": "kaniko", "image": pods[0]["spec"]["containers"][0]["image"],
            "imageID": "", "ready": False, "restartCount": 0,
            "state": {"terminated": terminated},
        }],
    }  # fmt: skip
    admin.request("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}/status",
                  body={"status": status}, content_type="application/merge-patch+json")  # fmt: skip
    return name


def _unschedulable(job: dict[str, Any]) -> dict[str, Any]:
    spec = {**job["spec"], "backoffLimit": 0}
    pod = {**spec["template"]["spec"], "nodeSelector": {"camelops.io/e2e": "no-node"}}
    spec["template"] = {**spec["template"], "spec": pod}
    return {**job, "spec": spec}


def kubelet_decides(b: Bundle) -> Bundle:
    """The bundle with its Job's pod fitting no node, so kwok's pod-complete stage never
    matches it and the test ends it (kubelet_reports); no retries, so one failure fails."""
    manifests = [_unschedulable(m) if m["kind"] == "Job" else m for m in b.manifests]
    return b.model_copy(
        update={"manifests": tuple(manifests), "digest": manifests_digest(manifests)}
    )


def sync_while_kubelet_reports(
    driver: KubernetesDriver, store: RunnerStore, b: Bundle, admin: KubeClient, **end: Any
) -> tuple[SyncStatus, str]:
    job = the(b, "Job")
    with ThreadPoolExecutor(1) as pool:
        syncing = pool.submit(sync_bundle, driver, store, b, PATIENT)
        pod = kubelet_reports(admin, job.namespace, job.name, **end)
        return syncing.result(timeout=120), pod


def test_a_reported_digest_pins_the_deployment_and_stays_pinned(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore, tmp_path: Path
) -> None:
    driver = KubernetesDriver(runner_kube)
    b = kubelet_decides(rendered_bundle(tmp_path, namespace, REV_A))
    deploy = the(b, "Deployment")
    done, _ = sync_while_kubelet_reports(
        driver, store, b, admin, exitCode=0, reason="Completed", message=DIGEST
    )
    assert done.phase is Phase.SYNCED, done.message
    pinned = f"registry.camelops-system.svc:5000/shop/custom@{DIGEST}"
    assert image_of(admin.get(deploy) or {}) == pinned
    assert f"image pinned to {pinned}" in done.message
    assert driver.drift(b, heal=False).in_sync  # the pin is what we applied, not drift
    generation = (admin.get(deploy) or {})["metadata"]["generation"]

    restarted = KubernetesDriver(runner_kube)  # no memory: the digest is read from the pod again
    again = sync_bundle(restarted, store, b, PATIENT)
    assert again.phase is Phase.SYNCED, again.message
    assert (admin.get(deploy) or {})["metadata"]["generation"] == generation
    assert image_of(admin.get(deploy) or {}) == pinned
    restarted.close()
    driver.close()


def test_failed_build_leaves_the_running_deployment_and_prunes_nothing(
    runner_kube: KubeClient, admin: KubeClient, namespace: str, store: RunnerStore, tmp_path: Path
) -> None:
    driver = KubernetesDriver(runner_kube)
    a = rendered_bundle(tmp_path / "a", namespace, REV_A)
    assert sync_bundle(driver, store, a, PATIENT).phase is Phase.SYNCED
    deploy, old_job = the(a, "Deployment"), the(a, "Job")
    before = admin.get(deploy) or {}

    b = kubelet_decides(rendered_bundle(tmp_path / "b", namespace, REV_B))
    assert the(b, "Job") != old_job  # a new revision is a new Job
    failed, pod = sync_while_kubelet_reports(
        driver, store, b, admin, exitCode=1, reason="Error",
        message="error building image: COPY failed",
    )  # fmt: skip

    assert failed.phase is Phase.FAILED
    assert failed.health is Health.DEGRADED
    assert "sync wave -1 is Degraded" in failed.message
    assert "backoff limit" in failed.message  # the Job's reason ...
    assert f"pod {pod}: Error (exit code 1): error building image: COPY failed" in failed.message
    after = admin.get(deploy) or {}
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert image_of(after).endswith(f":{REV_A[:12]}")
    assert admin.get(old_job) is not None  # nothing pruned
    assert not [r for r in failed.objects if r.outcome is Outcome.PRUNED]
    driver.close()

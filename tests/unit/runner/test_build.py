"""The build controller's pure parts on real object shapes: the renderer's Kaniko Job and
Deployment (the golden case `build-job`) and Pod statuses as the kubelet writes them.

Digest pinning is tested here and not end to end: kwok completes a Job's pods but cannot write
a container's termination message, which is where Kaniko (`--digest-file=/dev/termination-log`)
leaves the digest. tests/e2e/k8s/test_build.py plays the kubelet for that one field instead.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract.bundles import Bundle
from runner.drivers.kubernetes.build import (
    BuildJob,
    build_job,
    digest_of,
    failure_reason,
    pin_planned,
    pod_failure,
    repository_of,
)
from runner.drivers.kubernetes.plan import Planned, plan
from runner.objects import ObjectRef

GOLDEN = Path(__file__).parents[2] / "golden/cases/build-job/expected/dev"
DIGEST = "sha256:" + "0f" * 32
BUILT = "registry.camelops-system.svc:5000/shop/custom:0123456789ab"


def rendered() -> dict[str, Planned]:
    manifests = [yaml.safe_load(p.read_text()) for p in sorted(GOLDEN.glob("*.yaml"))]
    b = Bundle.of(project="shop", environment="dev", revision="r", manifests=manifests)
    planned, invalid = plan(b)
    assert not invalid
    return {p.ref.kind: p for p in planned}


def kaniko_pod(
    phase: str, terminated: dict[str, Any] | None = None, **status: Any
) -> dict[str, Any]:
    """A build pod as the API server returns it once the kubelet reported."""
    container: dict[str, Any] = {
        "name": "kaniko", "image": "gcr.io/kaniko-project/executor:v1.23.2",
        "imageID": "gcr.io/kaniko-project/executor@sha256:" + "ab" * 32,
        "ready": False, "restartCount": 0, "started": False,
        "state": {"terminated": {"startedAt": "2026-11-23T21:00:00Z",
                                 "finishedAt": "2026-11-23T21:01:00Z", **(terminated or {})}},
    }  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "custom-build-0123456789ab-x7k2p", "namespace": "shop-dev",
                     "creationTimestamp": "2026-11-23T21:00:00Z",
                     "labels": {"batch.kubernetes.io/job-name": "custom-build-0123456789ab"}},
        "status": {"phase": phase, "containerStatuses": [container], **status},
    }  # fmt: skip


def test_the_rendered_kaniko_job_is_a_build_of_the_deployments_image() -> None:
    planned = rendered()
    found = build_job(planned["Job"])
    assert found == BuildJob(planned["Job"].ref, "kaniko", BUILT)
    deployment_images = [
        c["image"] for c in planned["Deployment"].manifest["spec"]["template"]["spec"]["containers"]
    ]
    assert BUILT in deployment_images  # what pinning keys on


@pytest.mark.parametrize(
    "mutate",
    [
        lambda j: j["spec"]["template"]["metadata"]["labels"].pop("camelops.io/role"),
        lambda j: j["spec"]["template"]["spec"]["containers"][0].update(args=["--no-push"]),
        lambda j: j["spec"]["template"]["spec"]["containers"][0].update(args=[7, None]),
        lambda j: j["spec"]["template"].update(metadata=None, spec=None),
        lambda j: j.update(spec=None),
    ],
)
def test_jobs_that_are_not_kaniko_builds_are_left_alone(mutate: Any) -> None:
    job = rendered()["Job"]
    manifest = copy.deepcopy(job.manifest)
    mutate(manifest)
    assert build_job(Planned(job.ref, manifest, job.wave, job.digest)) is None


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        (BUILT, "registry.camelops-system.svc:5000/shop/custom"),
        ("registry:5000/custom", "registry:5000/custom"),  # a port is not a tag
        ("custom:1", "custom"),
        (f"reg/app:1@{DIGEST}", "reg/app"),
        (f"reg/app@{DIGEST}", "reg/app"),
    ],
)
def test_repository_of_drops_tag_and_digest(reference: str, repository: str) -> None:
    assert repository_of(reference) == repository


def test_digest_of_a_succeeded_kaniko_pod() -> None:
    pod = kaniko_pod("Succeeded", {"exitCode": 0, "reason": "Completed", "message": DIGEST + "\n"})
    assert digest_of(pod, "kaniko") == DIGEST
    assert digest_of(pod, "other-container") is None


@pytest.mark.parametrize(
    ("phase", "terminated"),
    [
        ("Succeeded", {"exitCode": 0, "reason": "Completed"}),  # no --digest-file
        ("Succeeded", {"exitCode": 0, "message": "sha256:xyz"}),
        ("Succeeded", {"exitCode": 0, "message": DIGEST + "; rm -rf /"}),
        ("Succeeded", {"exitCode": 0, "message": "sha512:" + "0f" * 64}),
        ("Succeeded", {"exitCode": 0, "message": "x" * 10_000}),
        ("Succeeded", {"exitCode": 0, "message": 42}),
        ("Failed", {"exitCode": 1, "message": DIGEST}),
        ("Running", {"exitCode": 0, "message": DIGEST}),
    ],
)
def test_no_digest_unless_a_succeeded_pod_wrote_exactly_one(
    phase: str, terminated: dict[str, Any]
) -> None:
    assert digest_of(kaniko_pod(phase, terminated), "kaniko") is None


@pytest.mark.parametrize(
    "status", [{}, {"phase": "Succeeded", "containerStatuses": None},
               {"phase": "Succeeded", "containerStatuses": ["junk", {"name": "kaniko"}]}],
)  # fmt: skip
def test_digest_of_survives_odd_pod_status(status: dict[str, Any]) -> None:
    assert digest_of({"status": status}, "kaniko") is None


def test_pinning_replaces_only_the_built_image() -> None:
    deployment = rendered()["Deployment"]
    before = copy.deepcopy(deployment.manifest)
    pinning = pin_planned(deployment, {BUILT: DIGEST})
    containers = pinning.planned.manifest["spec"]["template"]["spec"]["containers"]
    images = {c["name"]: c["image"] for c in containers}
    assert images == {
        "camel": f"registry.camelops-system.svc:5000/shop/custom@{DIGEST}",
        "camelops-sidecar": "ghcr.io/camelops/camelops:0.1.0",
    }
    assert pinning.planned.digest != deployment.digest  # the apply cache sees the pinned object
    assert "image pinned to" in pinning.note
    assert deployment.manifest == before  # the bundle's own object is not touched


def test_without_a_digest_the_tag_stays_and_the_note_says_so() -> None:
    deployment = rendered()["Deployment"]
    pinning = pin_planned(deployment, {BUILT: None})
    assert pinning.planned == deployment
    assert pinning.note == (
        f"Deployment shop-dev/custom: build reported no image digest, running tag {BUILT}"
    )


def test_objects_that_run_no_built_image_are_not_pinned() -> None:
    planned = rendered()
    assert pin_planned(planned["Deployment"], {"other/image:1": DIGEST}).note == ""
    assert pin_planned(planned["ConfigMap"], {BUILT: DIGEST}).planned == planned["ConfigMap"]
    odd = Planned(ObjectRef("apps", "v1", "Deployment", "ns", "x"),
                  {"spec": {"template": {"spec": {"containers": ["junk", {"image": 3}]}}}},
                  0, "d")  # fmt: skip
    assert pin_planned(odd, {BUILT: DIGEST}).planned == odd


@pytest.mark.parametrize(
    ("pod", "reason"),
    [
        (kaniko_pod("Failed", {"exitCode": 1, "reason": "Error", "message": "COPY failed\n"}),
         "Error (exit code 1): COPY failed"),
        (kaniko_pod("Failed", {"exitCode": 137, "reason": "OOMKilled"}),
         "OOMKilled (exit code 137)"),
        ({"metadata": {"name": "p"}, "status": {"phase": "Pending", "containerStatuses": [
            {"name": "kaniko", "state": {"waiting": {"reason": "ImagePullBackOff",
                                                     "message": "pull access denied"}}}]}},
         "ImagePullBackOff: pull access denied"),
        ({"metadata": {"name": "p"}, "status": {"phase": "Failed", "reason": "DeadlineExceeded",
                                                "message": "Pod was active too long"}},
         "DeadlineExceeded: Pod was active too long"),
        ({"metadata": {"name": "p"}, "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
             "message": "0/1 nodes are available"}]}},
         "Unschedulable: 0/1 nodes are available"),
    ],
)  # fmt: skip
def test_pod_failure_says_why(pod: dict[str, Any], reason: str) -> None:
    assert reason in pod_failure(pod)


@pytest.mark.parametrize(
    "pod",
    [{}, {"status": None}, {"status": {"containerStatuses": ["junk", None], "conditions": ["x"]}},
     {"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 0}}}]}}],
)  # fmt: skip
def test_pod_failure_of_odd_or_healthy_pods_is_empty(pod: dict[str, Any]) -> None:
    assert pod_failure(pod) == ""


def test_a_huge_termination_message_is_cut() -> None:
    pod = kaniko_pod("Failed", {"exitCode": 1, "reason": "Error", "message": "x" * 50_000})
    assert len(pod_failure(pod)) < 400


def test_failure_reason_prefers_the_newest_failed_pod() -> None:
    old = kaniko_pod("Failed", {"exitCode": 1, "reason": "Error", "message": "first"})
    new = kaniko_pod("Failed", {"exitCode": 2, "reason": "Error", "message": "second"})
    new["metadata"] = {
        **new["metadata"],
        "name": "new",
        "creationTimestamp": "2026-11-23T22:00:00Z",
    }
    running = {"metadata": {"name": "r", "creationTimestamp": "2026-11-23T23:00:00Z"},
               "status": {"phase": "Running"}}  # fmt: skip
    assert failure_reason([old, running, new]) == "pod new: Error (exit code 2): second"
    assert failure_reason([running, {}]) == ""

"""The build controller: follows the Kaniko Jobs rendered for `build:` integrations and pins the
Deployments that run a built image to the digest the Job's pod reported.

The ordering itself (the Job's wave Healthy before the Deployment's wave goes) is the driver's
wave rule; this module only reads the build's outcome and rewrites image references.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from contract.status import Health
from runner.drivers.kubernetes.client import KubeClient, KubeError
from runner.drivers.kubernetes.plan import Planned
from runner.health import HealthReport, HealthRules, health_of
from runner.objects import Manifest, ObjectRef

Live = dict[str, Any]

ROLE_LABEL = "camelops.io/role"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
_DESTINATION_FLAG = "--destination="
# what Kaniko writes with --digest-file: the manifest digest of the pushed image
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_MESSAGE_LIMIT = 300  # a failing build's termination message can be a whole log tail


@dataclass(frozen=True, slots=True)
class BuildJob:
    """A Kaniko Job of the bundle and the image reference it pushes."""

    ref: ObjectRef
    container: str
    destination: str


def build_job(planned: Planned) -> BuildJob | None:
    """A Job whose pod template is labelled `camelops.io/role: build` and whose container
    passes `--destination=`; anything else (a user's own Job) is not a build."""
    if planned.ref.kind != "Job" or planned.ref.group != "batch":
        return None
    template = (planned.manifest.get("spec") or {}).get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if labels.get(ROLE_LABEL) != "build":
        return None
    for container in (template.get("spec") or {}).get("containers") or []:
        for arg in container.get("args") or []:
            if isinstance(arg, str) and arg.startswith(_DESTINATION_FLAG):
                destination = arg.removeprefix(_DESTINATION_FLAG)
                return BuildJob(planned.ref, str(container.get("name", "")), destination)
    return None


def repository_of(reference: str) -> str:
    """`host:5000/shop/app:tag` -> `host:5000/shop/app` (a port is not a tag; a digest goes)."""
    reference = reference.partition("@")[0]
    head, slash, last = reference.rpartition("/")
    return f"{head}{slash}{last.partition(':')[0]}"


def pinned(destination: str, digest: str) -> str:
    return f"{repository_of(destination)}@{digest}"


def digest_of(pod: Live, container: str) -> str | None:
    """The digest a Succeeded build pod's container left in its termination message (Kaniko's
    `--digest-file=/dev/termination-log`); None when there is none or it is not a digest."""
    status = pod.get("status") or {}
    if status.get("phase") != "Succeeded":
        return None
    for cs in status.get("containerStatuses") or []:
        if not isinstance(cs, dict) or cs.get("name") != container:
            continue
        terminated = (cs.get("state") or {}).get("terminated") or {}
        message = str(terminated.get("message") or "").strip()
        if terminated.get("exitCode") == 0 and _DIGEST.match(message):
            return message
    return None


def pod_failure(pod: Live) -> str:
    """Why one build pod did not succeed, from the most specific field the kubelet (or the
    scheduler) filled in; empty when it says nothing."""
    name = str((pod.get("metadata") or {}).get("name", "?"))
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        state = (cs.get("state") if isinstance(cs, dict) else None) or {}
        if (t := state.get("terminated")) and t.get("exitCode") not in (0, None):
            detail = str(t.get("message") or "").strip()[:_MESSAGE_LIMIT]
            why = f"{t.get('reason') or 'Error'} (exit code {t.get('exitCode')})"
            return f"pod {name}: {why}" + (f": {detail}" if detail else "")
        if (w := state.get("waiting")) and w.get("reason") not in (None, "ContainerCreating"):
            return f"pod {name}: {w.get('reason')}: {str(w.get('message') or '')[:_MESSAGE_LIMIT]}"
    if status.get("reason"):
        return (
            f"pod {name}: {status['reason']}: {str(status.get('message') or '')[:_MESSAGE_LIMIT]}"
        )
    for cond in status.get("conditions") or []:
        if not isinstance(cond, dict):
            continue
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"pod {name}: {cond.get('reason')}: {cond.get('message', '')}"
    return ""


def failure_reason(pods: Sequence[Live]) -> str:
    """The newest pod that says why; Failed pods first (the Job counts those against backoff)."""
    ordered = sorted(
        pods,
        key=lambda p: (
            (p.get("status") or {}).get("phase") == "Failed",
            str((p.get("metadata") or {}).get("creationTimestamp", "")),
        ),
        reverse=True,
    )
    return next((why for why in map(pod_failure, ordered) if why), "")


@dataclass(frozen=True, slots=True)
class Pinning:
    """A Deployment's planned object after pinning, and what the status should say about it."""

    planned: Planned
    note: str = ""


def pin_planned(p: Planned, digests: Mapping[str, str | None]) -> Pinning:
    """Replace every container image equal to a build's destination by `<repository>@<digest>`;
    a destination whose build reported no digest keeps its tag, and the note says so."""
    if p.ref.kind != "Deployment":
        return Pinning(p)
    manifest = copy.deepcopy(p.manifest)
    pod = ((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}
    notes: list[str] = []
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        image = container.get("image") if isinstance(container, dict) else None
        if not isinstance(image, str) or image not in digests:
            continue
        digest = digests[image]
        if digest is None:
            notes.append(f"{p.ref}: build reported no image digest, running tag {image}")
            continue
        container["image"] = pinned(image, digest)
        notes.append(f"{p.ref}: image pinned to {container['image']}")
    if not notes:
        return Pinning(p)
    return Pinning(
        replace(p, manifest=manifest, digest=_manifest_digest(manifest)), "; ".join(notes)
    )


def _manifest_digest(obj: Manifest) -> str:
    # same canonical form as plan.py, so the apply cache compares like with like
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(slots=True)
class BuildTracker:
    """Reads builds' outcomes from the cluster for one driver. Digests are remembered by Job
    uid: a Job's pods can be garbage-collected long before the Job, and a pin must not fall
    back to the tag then (that would roll the Deployment for nothing)."""

    kube: KubeClient
    _digests: dict[str, str] = field(default_factory=dict)

    def digests(self, builds: Sequence[BuildJob]) -> dict[str, str | None]:
        """destination -> digest of each Complete build (None: Complete without a digest);
        builds not Complete yet are absent, so their Deployments are left as rendered."""
        found: dict[str, str | None] = {}
        for build in builds:
            job = self.kube.get(build.ref)
            if job is None or health_of(job).status is not Health.HEALTHY:
                continue
            found[build.destination] = self._digest(job, build)
        return found

    def _digest(self, job: Live, build: BuildJob) -> str | None:
        uid = str((job.get("metadata") or {}).get("uid", ""))
        if uid in self._digests:
            return self._digests[uid]
        for pod in self._pods(build.ref.namespace, uid):
            digest = digest_of(pod, build.container)
            if digest is not None:
                self._digests[uid] = digest
                return digest
        return None

    def _pods(self, namespace: str, uid: str) -> list[Live]:
        # the controller-uid label, not the Job name: a re-created Job of the same name is
        # another build
        return self.kube.list(
            "v1", "Pod", namespace, label_selector=f"{CONTROLLER_UID_LABEL}={uid}"
        )

    def health(
        self, ref: ObjectRef, live: Live | None, rules: HealthRules | None = None
    ) -> HealthReport:
        """health_of, plus the build pod's own reason when a build Job failed."""
        report = health_of(live, rules)
        if live is None or ref.kind != "Job" or report.status is not Health.DEGRADED:
            return report
        labels = (((live.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "labels"
        ) or {}
        if labels.get(ROLE_LABEL) != "build":
            return report
        uid = str((live.get("metadata") or {}).get("uid", ""))
        try:
            why = failure_reason(self._pods(ref.namespace, uid))
        except KubeError as exc:  # the Job's own reason still stands
            why = f"build pods unreadable: {exc}"
        message = f"build failed: {report.message}" + (f"; {why}" if why else "")
        return HealthReport(Health.DEGRADED, message)

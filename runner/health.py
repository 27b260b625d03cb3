"""Health of live objects, with gitops-engine's rules and worst-of aggregation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from contract.status import Health

Live = dict[str, Any]


# gitops-engine's aggregation order: the worst status of the parts is the status of the whole.
_SEVERITY = {h: i for i, h in enumerate(Health)}


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: Health
    message: str = ""


def worst_of(statuses: Iterable[Health]) -> Health:
    return max(statuses, key=_SEVERITY.__getitem__, default=Health.HEALTHY)


def _condition(live: Live, kind: str) -> dict[str, Any] | None:
    for cond in (live.get("status") or {}).get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def _rolled_out(live: Live) -> bool:
    meta, status = live.get("metadata") or {}, live.get("status") or {}
    return int(meta.get("generation", 0)) <= int(status.get("observedGeneration", 0))


def deployment_health(live: Live) -> HealthReport:
    spec, status = live.get("spec") or {}, live.get("status") or {}
    if spec.get("paused"):
        return HealthReport(Health.SUSPENDED, "Deployment is paused")
    if not _rolled_out(live):
        return HealthReport(Health.PROGRESSING, "waiting for the controller to observe the spec")
    progressing = _condition(live, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return HealthReport(Health.DEGRADED, f"rollout exceeded its deadline: {live_name(live)}")
    return _replica_counts(int(spec.get("replicas", 1)), status)


def _replica_counts(wanted: int, status: dict[str, Any]) -> HealthReport:
    updated = int(status.get("updatedReplicas", 0))
    if updated < wanted:
        return HealthReport(Health.PROGRESSING, f"{updated} of {wanted} new replicas updated")
    if int(status.get("replicas", 0)) > updated:
        return HealthReport(Health.PROGRESSING, "old replicas are pending termination")
    available = int(status.get("availableReplicas", 0))
    if available < updated:
        return HealthReport(
            Health.PROGRESSING, f"{available} of {updated} updated replicas available"
        )
    return HealthReport(Health.HEALTHY)


def statefulset_health(live: Live) -> HealthReport:
    spec, status = live.get("spec") or {}, live.get("status") or {}
    if not status.get("observedGeneration") or not _rolled_out(live):
        return HealthReport(Health.PROGRESSING, "waiting for the controller to observe the spec")
    wanted, ready = int(spec.get("replicas", 1)), int(status.get("readyReplicas", 0))
    if ready < wanted:
        return HealthReport(Health.PROGRESSING, f"{ready} of {wanted} pods ready")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return HealthReport(Health.HEALTHY)
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    if int(status.get("updatedReplicas", 0)) < wanted - partition:
        return HealthReport(Health.PROGRESSING, "partitioned roll out in progress")
    if partition == 0 and status.get("updateRevision") != status.get("currentRevision"):
        return HealthReport(Health.PROGRESSING, "waiting for the roll out to finish")
    return HealthReport(Health.HEALTHY)


def job_health(live: Live) -> HealthReport:
    for kind, health in (("Failed", Health.DEGRADED), ("Complete", Health.HEALTHY)):
        cond = _condition(live, kind)
        if cond and cond.get("status") == "True":
            return HealthReport(health, str(cond.get("message") or cond.get("reason") or ""))
    if (live.get("spec") or {}).get("suspend"):
        return HealthReport(Health.SUSPENDED, "Job is suspended")
    return HealthReport(Health.PROGRESSING, "Job is running")


def _has_load_balancer(live: Live) -> bool:
    return bool(((live.get("status") or {}).get("loadBalancer") or {}).get("ingress"))


def service_health(live: Live) -> HealthReport:
    if (live.get("spec") or {}).get("type") == "LoadBalancer" and not _has_load_balancer(live):
        return HealthReport(Health.PROGRESSING, "waiting for a load balancer address")
    return HealthReport(Health.HEALTHY)


def ingress_health(live: Live) -> HealthReport:
    if not _has_load_balancer(live):
        return HealthReport(Health.PROGRESSING, "waiting for an ingress address")
    return HealthReport(Health.HEALTHY)


def hpa_health(live: Live) -> HealthReport:
    for kind in ("AbleToScale", "ScalingActive"):
        cond = _condition(live, kind)
        if (
            cond
            and cond.get("status") == "False"
            and str(cond.get("reason", "")).startswith("Fail")
        ):
            return HealthReport(Health.DEGRADED, str(cond.get("message") or cond.get("reason")))
    able = _condition(live, "AbleToScale")
    if able and able.get("status") == "True":
        return HealthReport(Health.HEALTHY)
    return HealthReport(Health.PROGRESSING, "waiting for the autoscaler")


def pvc_health(live: Live) -> HealthReport:
    phase = (live.get("status") or {}).get("phase")
    if phase == "Lost":
        return HealthReport(Health.DEGRADED, "claim lost its volume")
    if phase == "Bound":
        return HealthReport(Health.HEALTHY)
    return HealthReport(Health.PROGRESSING, "claim is pending")


_CHECKS: dict[str, Callable[[Live], HealthReport]] = {
    "Deployment": deployment_health,
    "StatefulSet": statefulset_health,
    "Job": job_health,
    "Service": service_health,
    "Ingress": ingress_health,
    "HorizontalPodAutoscaler": hpa_health,
    "PersistentVolumeClaim": pvc_health,
}


def live_name(live: Live) -> str:
    return str((live.get("metadata") or {}).get("name", "?"))


def health_of(live: Live | None) -> HealthReport:
    """Health of one live object; None (not found) is Missing; kinds without rules are Healthy."""
    if live is None:
        return HealthReport(Health.MISSING, "object not found")
    check = _CHECKS.get(str(live.get("kind", "")))
    return check(live) if check else HealthReport(Health.HEALTHY)


@dataclass(frozen=True, slots=True)
class CamelReport:
    """What a sidecar reports about one Camel context."""

    routes_total: int
    routes_started: int
    health_up: bool


def with_camel(report: HealthReport, camel: CamelReport | None) -> HealthReport:
    """Camel-aware health on top: a rolled-out workload with routes down is not Healthy."""
    if camel is None or report.status != Health.HEALTHY:
        return report
    if not camel.health_up:
        return HealthReport(Health.DEGRADED, "Camel health check is DOWN")
    if camel.routes_started < camel.routes_total:
        started = f"{camel.routes_started} of {camel.routes_total}"
        return HealthReport(Health.PROGRESSING, f"{started} Camel routes started")
    return report

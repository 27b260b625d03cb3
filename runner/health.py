"""Health of live objects, with gitops-engine's rules and worst-of aggregation.

Every message is a predicate about the object ("has no load-balancer address yet"), so
`describe` makes it a one-line detail naming the object: "Ingress shop-dev/orders-api has no
load-balancer address yet"."""

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
        return HealthReport(Health.SUSPENDED, "is paused")
    if not _rolled_out(live):
        return HealthReport(Health.PROGRESSING, _unobserved(live))
    progressing = _condition(live, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return HealthReport(Health.DEGRADED, "exceeded its progress deadline")
    return _replica_counts(int(spec.get("replicas", 1)), status)


def _replica_counts(wanted: int, status: dict[str, Any]) -> HealthReport:
    updated = int(status.get("updatedReplicas", 0))
    if updated < wanted:
        return HealthReport(Health.PROGRESSING, f"has {updated} of {wanted} new replicas updated")
    if int(status.get("replicas", 0)) > updated:
        return HealthReport(Health.PROGRESSING, "has old replicas pending termination")
    available = int(status.get("availableReplicas", 0))
    if available < updated:
        return HealthReport(
            Health.PROGRESSING, f"has {available} of {updated} updated replicas available"
        )
    return HealthReport(Health.HEALTHY)


def statefulset_health(live: Live) -> HealthReport:
    spec, status = live.get("spec") or {}, live.get("status") or {}
    if not status.get("observedGeneration") or not _rolled_out(live):
        return HealthReport(Health.PROGRESSING, _unobserved(live))
    wanted, ready = int(spec.get("replicas", 1)), int(status.get("readyReplicas", 0))
    if ready < wanted:
        return HealthReport(Health.PROGRESSING, f"has {ready} of {wanted} pods ready")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return HealthReport(Health.HEALTHY)
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    if int(status.get("updatedReplicas", 0)) < wanted - partition:
        return HealthReport(Health.PROGRESSING, "is in a partitioned roll-out")
    if partition == 0 and status.get("updateRevision") != status.get("currentRevision"):
        return HealthReport(Health.PROGRESSING, "is waiting for its roll-out to finish")
    return HealthReport(Health.HEALTHY)


def job_health(live: Live) -> HealthReport:
    for kind, health in (("Failed", Health.DEGRADED), ("Complete", Health.HEALTHY)):
        cond = _condition(live, kind)
        if cond and cond.get("status") == "True":
            why = str(cond.get("message") or cond.get("reason") or "")
            if health is Health.DEGRADED:
                return HealthReport(health, f"failed: {why}" if why else "failed")
            return HealthReport(health, why)
    if (live.get("spec") or {}).get("suspend"):
        return HealthReport(Health.SUSPENDED, "is suspended")
    return HealthReport(Health.PROGRESSING, "is still running")


_NO_ADDRESS = "has no load-balancer address yet"


def _unobserved(live: Live) -> str:
    generation = (live.get("metadata") or {}).get("generation", "?")
    return f"is waiting for its controller to observe generation {generation}"


def _has_load_balancer(live: Live) -> bool:
    return bool(((live.get("status") or {}).get("loadBalancer") or {}).get("ingress"))


def service_health(live: Live) -> HealthReport:
    if (live.get("spec") or {}).get("type") == "LoadBalancer" and not _has_load_balancer(live):
        return HealthReport(Health.PROGRESSING, _NO_ADDRESS)
    return HealthReport(Health.HEALTHY)


def ingress_health(live: Live) -> HealthReport:
    if not _has_load_balancer(live):
        return HealthReport(Health.PROGRESSING, _NO_ADDRESS)
    return HealthReport(Health.HEALTHY)


def ingress_exists(live: Live) -> HealthReport:  # noqa: ARG001
    """For clusters without a controller that publishes Ingress addresses: admitted is enough."""
    return HealthReport(Health.HEALTHY)


def hpa_health(live: Live) -> HealthReport:
    for kind in ("AbleToScale", "ScalingActive"):
        cond = _condition(live, kind)
        if (
            cond
            and cond.get("status") == "False"
            and str(cond.get("reason", "")).startswith("Fail")
        ):
            why = cond.get("message") or cond.get("reason")
            return HealthReport(Health.DEGRADED, f"cannot scale: {why}")
    able = _condition(live, "AbleToScale")
    if able and able.get("status") == "True":
        return HealthReport(Health.HEALTHY)
    return HealthReport(Health.PROGRESSING, "is waiting for the autoscaler")


def pvc_health(live: Live) -> HealthReport:
    phase = (live.get("status") or {}).get("phase")
    if phase == "Lost":
        return HealthReport(Health.DEGRADED, "lost its volume")
    if phase == "Bound":
        return HealthReport(Health.HEALTHY)
    return HealthReport(Health.PROGRESSING, "is pending")


_CHECKS: dict[str, Callable[[Live], HealthReport]] = {
    "Deployment": deployment_health,
    "StatefulSet": statefulset_health,
    "Job": job_health,
    "Service": service_health,
    "Ingress": ingress_health,
    "HorizontalPodAutoscaler": hpa_health,
    "PersistentVolumeClaim": pvc_health,
}


@dataclass(frozen=True, slots=True)
class HealthRules:
    """The runner's choices where clusters differ (settings group `runner`)."""

    ingress_address: bool = True
    """An Ingress is Healthy once a controller published its load-balancer address; off for
    clusters whose ingress controller publishes none (it is Healthy once admitted)."""


def health_of(live: Live | None, rules: HealthRules | None = None) -> HealthReport:
    """Health of one live object; None (not found) is Missing; kinds without rules are Healthy."""
    if live is None:
        return HealthReport(Health.MISSING, "does not exist")
    kind = str(live.get("kind", ""))
    if kind == "Ingress" and rules is not None and not rules.ingress_address:
        return ingress_exists(live)
    check = _CHECKS.get(kind)
    return check(live) if check else HealthReport(Health.HEALTHY)


def describe(subject: object, report: HealthReport) -> str:
    """One line naming the object and the reason: `Ingress shop-dev/orders-api has no
    load-balancer address yet`."""
    reason = report.message or f"is {report.status}"
    return f"{subject} {reason}"


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

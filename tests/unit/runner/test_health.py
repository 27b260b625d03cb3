"""Health rules as gitops-engine applies them, and worst-of aggregation."""

from __future__ import annotations

from typing import Any

import pytest

from contract.status import Health
from runner.health import CamelReport, HealthReport, health_of, with_camel, worst_of


def deployment(
    *, generation: int = 2, observed: int = 2, replicas: int = 2, **status: Any
) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": observed, **status},
    }


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (deployment(updatedReplicas=2, replicas=2, availableReplicas=2), Health.HEALTHY),
        (deployment(generation=3, updatedReplicas=2, availableReplicas=2), Health.PROGRESSING),
        (deployment(updatedReplicas=1, availableReplicas=1), Health.PROGRESSING),
        ({**deployment(updatedReplicas=2, availableReplicas=2), "status": {
            "observedGeneration": 2, "updatedReplicas": 2, "replicas": 3, "availableReplicas": 2}},
         Health.PROGRESSING),
        (deployment(updatedReplicas=2, availableReplicas=1), Health.PROGRESSING),
        (deployment(conditions=[{"type": "Progressing", "status": "False",
                                 "reason": "ProgressDeadlineExceeded"}]), Health.DEGRADED),
        ({**deployment(), "spec": {"paused": True}}, Health.SUSPENDED),
        (None, Health.MISSING),
        ({"kind": "ConfigMap"}, Health.HEALTHY),
        ({"kind": "Service", "spec": {"type": "LoadBalancer"}}, Health.PROGRESSING),
        ({"kind": "Service", "spec": {"type": "LoadBalancer"},
          "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}}, Health.HEALTHY),
        ({"kind": "Ingress"}, Health.PROGRESSING),
        ({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}}, Health.HEALTHY),
        ({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}, Health.PROGRESSING),
        ({"kind": "PersistentVolumeClaim", "status": {"phase": "Lost"}}, Health.DEGRADED),
        ({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}},
         Health.HEALTHY),
        ({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True"}]}},
         Health.DEGRADED),
        ({"kind": "Job", "spec": {"suspend": True}}, Health.SUSPENDED),
        ({"kind": "Job"}, Health.PROGRESSING),
        ({"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 1},
          "status": {"observedGeneration": 1, "readyReplicas": 1, "updatedReplicas": 1,
                     "currentRevision": "a", "updateRevision": "a"}}, Health.HEALTHY),
        ({"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 2},
          "status": {"observedGeneration": 1, "readyReplicas": 1}}, Health.PROGRESSING),
        ({"kind": "HorizontalPodAutoscaler", "status": {"conditions": [
            {"type": "AbleToScale", "status": "True"}]}}, Health.HEALTHY),
        ({"kind": "HorizontalPodAutoscaler", "status": {"conditions": [
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric"}]}},
         Health.DEGRADED),
    ],
)  # fmt: skip
def test_health_rules(live: dict[str, Any] | None, expected: Health) -> None:
    assert health_of(live).status is expected


def test_hostile_status_shapes_do_not_crash() -> None:
    assert health_of({"kind": "Deployment", "status": None, "spec": None}).status
    assert (
        health_of({"kind": "Job", "status": {"conditions": ["x", None]}}).status
        is Health.PROGRESSING
    )


def test_worst_of_follows_gitops_engine_order() -> None:
    assert worst_of([]) is Health.HEALTHY
    assert worst_of([Health.HEALTHY, Health.SUSPENDED]) is Health.SUSPENDED
    assert worst_of([Health.PROGRESSING, Health.MISSING, Health.HEALTHY]) is Health.MISSING
    assert worst_of([Health.DEGRADED, Health.MISSING]) is Health.DEGRADED
    assert worst_of([Health.DEGRADED, Health.UNKNOWN]) is Health.UNKNOWN


def test_camel_awareness_only_lowers_a_healthy_workload() -> None:
    healthy = HealthReport(Health.HEALTHY)
    assert with_camel(healthy, None) == healthy
    assert with_camel(healthy, CamelReport(3, 3, health_up=True)) == healthy
    assert with_camel(healthy, CamelReport(3, 2, health_up=True)).status is Health.PROGRESSING
    assert with_camel(healthy, CamelReport(3, 3, health_up=False)).status is Health.DEGRADED
    progressing = HealthReport(Health.PROGRESSING, "rolling")
    assert with_camel(progressing, CamelReport(1, 0, health_up=False)) == progressing

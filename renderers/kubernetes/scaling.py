"""HorizontalPodAutoscaler (autoscaling/v2) and PodDisruptionBudget."""

from __future__ import annotations

from renderers.context import EnvContext, Manifest, new_object, selector_labels
from schema.effective import EffectiveIntegration

SCALING_WAVE = 0


def autoscaler(ctx: EnvContext, effective: EffectiveIntegration) -> Manifest | None:
    scaling = effective.autoscaling
    if scaling is None or effective.suspended:
        return None
    name = effective.integration.name
    obj = new_object(
        ctx, "autoscaling/v2", "HorizontalPodAutoscaler", name, integration=name, wave=SCALING_WAVE
    )
    obj["spec"] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": scaling.target_cpu_utilization,
                    },
                },
            }
        ],
    }
    return obj


def lowest_replicas(effective: EffectiveIntegration) -> int:
    if effective.suspended:
        return 0
    if effective.autoscaling is not None:
        return effective.autoscaling.min_replicas
    return effective.replicas


def disruption_budget(ctx: EnvContext, effective: EffectiveIntegration) -> Manifest | None:
    """Only with more than one replica: a budget on a single pod would block every node drain."""
    if lowest_replicas(effective) <= 1:
        return None
    name = effective.integration.name
    obj = new_object(
        ctx, "policy/v1", "PodDisruptionBudget", name, integration=name, wave=SCALING_WAVE
    )
    obj["spec"] = {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(name)}}
    return obj

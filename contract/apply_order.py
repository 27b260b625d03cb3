"""The order a target applies a bundle's objects in: sync wave, then kind, then namespace and
name. The renderer sorts a bundle by it and the runner applies by it: defined here once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contract.errors import ContractError

SYNC_WAVE_ANNOTATION = "camelops.io/sync-wave"

# Kinds that others depend on go first (like Argo CD's kind order): namespaces and CRDs, then
# identities and RBAC, then configuration, then services, then workloads, then what routes to them.
KIND_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "ResourceQuota",
    "LimitRange",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "Secret",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Service",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}


class SyncWaveError(ContractError):
    """The sync-wave annotation is not an integer."""


def kind_rank(kind: str) -> int:
    """Known kinds by dependency; unknown kinds (custom resources) after all of them."""
    return _KIND_RANK.get(kind, len(KIND_ORDER))


def sync_wave(obj: Mapping[str, Any]) -> int:
    """The object's wave (default 0, negatives allowed)."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    raw = annotations.get(SYNC_WAVE_ANNOTATION) if isinstance(annotations, Mapping) else None
    if not isinstance(raw, str):
        return 0
    try:
        return int(raw.strip())
    except ValueError:
        raise SyncWaveError(f"{SYNC_WAVE_ANNOTATION} must be an integer, got {raw!r}") from None


def apply_order(obj: Mapping[str, Any]) -> tuple[int, int, str, str]:
    """Sort key of a well-formed object (kind and metadata.name present)."""
    meta = obj["metadata"]
    return (sync_wave(obj), kind_rank(obj["kind"]), meta.get("namespace", ""), meta["name"])

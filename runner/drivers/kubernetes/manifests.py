"""The runner's own install manifests: least-privilege RBAC, ServiceAccount, PVC, Deployment.

The runner may only touch the kinds integrations are rendered to, only in the namespaces it
is installed for; it cannot create namespaces, RBAC objects or anything cluster-wide, so a
bundle cannot escalate. Its inventory ConfigMaps live in its own namespace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from runner.drivers.kubernetes.preview_access import preview_access
from runner.errors import RunnerError

Manifest = dict[str, Any]

NAME = "camelops-runner"
# the release's image, the same reference rendered sidecars run (renderers/context.py)
DEFAULT_IMAGE = "ghcr.io/camelops/camelops:0.1.0"
RELAY = "camelops-relay"
RELAY_PORT = 9470  # RenderOptions.relay_port: rendered sidecars post to camelops-relay:9470
_VERBS = ["get", "list", "watch", "create", "patch", "update", "delete"]
# (apiGroup, resources) an integration's objects can be: nothing that grants or escalates.
MANAGED_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims")),
    ("apps", ("deployments", "statefulsets")),
    ("batch", ("jobs", "cronjobs")),
    ("networking.k8s.io", ("ingresses", "networkpolicies")),
    ("autoscaling", ("horizontalpodautoscalers",)),
    ("policy", ("poddisruptionbudgets",)),
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class ManifestOptionError(RunnerError, ValueError):
    """An install option that cannot produce valid Kubernetes objects."""


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "camelops"}


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": _labels()}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _check(namespace: str, managed: Sequence[str], image: str) -> None:
    for ns in (namespace, *managed):
        if not _DNS_LABEL.match(ns):
            raise ManifestOptionError(f"not a valid namespace name: {ns!r}")
    if not managed:
        raise ManifestOptionError("at least one managed namespace is needed")
    if not image or any(c.isspace() for c in image):
        raise ManifestOptionError(f"not a valid image reference: {image!r}")


def rbac(namespace: str, managed: Sequence[str]) -> list[Manifest]:
    subject = {"kind": "ServiceAccount", "name": NAME, "namespace": namespace}
    rules = [
        {"apiGroups": [g], "resources": list(r), "verbs": _VERBS} for g, r in MANAGED_RESOURCES
    ]
    # read-only: the build controller reads its Kaniko pods' outcome (digest or failure)
    rules.append({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]})
    objs: list[Manifest] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, namespace)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta(f"{NAME}-apply"),
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(f"{NAME}-inventory", namespace),
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": _VERBS}],
        },
        _binding("Role", f"{NAME}-inventory", namespace, subject),
    ]
    objs += [_binding("ClusterRole", f"{NAME}-apply", ns, subject) for ns in sorted(set(managed))]
    return objs + _namespace_access(sorted(set(managed)), subject)


def _namespace_access(managed: list[str], subject: dict[str, str]) -> list[Manifest]:
    """Bundles carry their Namespace (labels such as pod-security enforcement are GitOps-managed).

    Namespaces are cluster-scoped, so only a ClusterRoleBinding can grant them; `resourceNames`
    limits it to reading and patching the namespaces installed here. Creating or deleting a
    namespace stays with the admin who installs the runner.
    """
    role = f"{NAME}-namespaces"
    rule = {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": managed,
            "verbs": ["get", "patch"]}  # fmt: skip
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": _meta(role), "rules": [rule]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": _meta(role),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
         "subjects": [subject]},
    ]  # fmt: skip


def _binding(kind: str, role: str, namespace: str, subject: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(role, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": [subject],
    }


def _relay_service(namespace: str) -> Manifest:
    """The address rendered sidecars post telemetry to (workload.relay_url) and the rendered
    NetworkPolicies allow: the runner pod's relay port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(RELAY, namespace),
        "spec": {
            "selector": {"app.kubernetes.io/name": NAME},
            "ports": [{"name": "relay", "port": RELAY_PORT, "targetPort": "relay",
                       "protocol": "TCP"}],
        },
    }  # fmt: skip


def _deployment(namespace: str, image: str) -> Manifest:
    args = ["runner", "--data-dir", "/var/lib/camelops", "--inventory-namespace", namespace,
            "--relay", f"0.0.0.0:{RELAY_PORT}"]  # fmt: skip
    container = {
        "name": "runner",
        "image": image,
        "args": args,
        "ports": [{"name": "relay", "containerPort": RELAY_PORT, "protocol": "TCP"}],
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/camelops"}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, namespace),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},  # one writer for the SQLite on the volume
            "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "template": {
                "metadata": {"labels": _labels()},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "containers": [container],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": NAME}}],
                },
            },
        },
    }


def runner_manifests(
    *,
    namespace: str = "camelops-system",
    managed: Sequence[str],
    image: str = DEFAULT_IMAGE,
    storage: str = "1Gi",
    previews: bool = False,
) -> list[Manifest]:
    """Everything an admin applies once (`kubectl apply -f -`), in dependency order."""
    _check(namespace, managed, image)
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns)}
        for ns in dict.fromkeys([namespace, *sorted(set(managed))])
    ]
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(NAME, namespace),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
    }
    bounded = preview_access(namespace, NAME, managed, _labels()) if previews else []
    return [
        *namespaces,
        *rbac(namespace, managed),
        *bounded,
        pvc,
        _relay_service(namespace),
        _deployment(namespace, image),
    ]

"""Small hand-written manifests and bundles for the e2e tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from contract.bundles import Bundle

Manifest = dict[str, Any]


def bundle(manifests: list[Manifest], revision: str, env: str = "dev") -> Bundle:
    return Bundle.of(project="shop", environment=env, revision=revision, manifests=manifests)


def configmap(ns: str, name: str, data: dict[str, str], **annotations: str) -> Manifest:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def config_hash(cm: Manifest) -> str:
    return hashlib.sha256(json.dumps(cm["data"], sort_keys=True).encode()).hexdigest()[:16]


def deployment(
    ns: str,
    name: str,
    *,
    config: Manifest | None = None,
    replicas: int = 1,
    deadline: int = 600,
    node_selector: dict[str, str] | None = None,
) -> Manifest:
    labels = {"app": name}
    annotations = {"camelops.io/config-hash": config_hash(config)} if config else {}
    pod: dict[str, Any] = {
        "containers": [{"name": "camel", "image": "registry.local/camel-app:1"}],
        "nodeSelector": node_selector or {"type": "kwok"},
        "tolerations": [
            {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": deadline,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels, "annotations": annotations}, "spec": pod},
        },
    }


def service(ns: str, name: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"port": 8080, "targetPort": 8080}]},
    }


def integration(ns: str, name: str, greeting: str = "hello", **kw: Any) -> list[Manifest]:
    """What a renderer makes of one integration: config, workload, service."""
    cm = configmap(ns, f"{name}-config", {"application.properties": f"greeting={greeting}\n"})
    return [cm, deployment(ns, name, config=cm, **kw), service(ns, name)]

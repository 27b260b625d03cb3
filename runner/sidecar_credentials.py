"""The runner's token for the sidecars, delivered with the bundle it applies: a Secret
`camelops-sidecar` (key `token`) in every namespace where the bundle runs a camelops sidecar.

The rendered sidecar reads it through an optional `secretKeyRef` and then accepts only calls
carrying it; the runner sends the same value ($CAMELOPS_SIDECAR_TOKEN). The control plane
never sees the token: the Secret is added here, on the runner, after the bundle arrived. It
joins the bundle's inventory, so it is applied before the workloads (config wave) and pruned
with the environment; the bundle keeps the control plane's digest (what the runner reports
and the control plane compares).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any

from contract.apply_order import SYNC_WAVE_ANNOTATION, apply_order
from contract.bundles import Bundle, Target, inventory_of

CREDENTIALS_NAME = "camelops-sidecar"
SIDECAR_CONTAINER = "camelops-sidecar"
_CONFIG_WAVE = "-1"  # with the ConfigMaps and Secrets: before the workloads that read it


def with_sidecar_credentials(bundle: Bundle, token: str) -> Bundle:
    """`bundle` plus the token Secret where it runs sidecars; unchanged without a token, for a
    target other than Kubernetes, or where the repository already has such a Secret."""
    if not token or bundle.target is not Target.KUBERNETES:
        return bundle
    taken = {
        _meta(o).get("namespace", "")
        for o in bundle.manifests
        if o.get("kind") == "Secret" and _meta(o).get("name") == CREDENTIALS_NAME
    }
    namespaces = sorted(set(_sidecar_namespaces(bundle.manifests)) - taken)
    if not namespaces:
        return bundle
    added = [_secret(bundle, namespace, token) for namespace in namespaces]
    manifests = tuple(sorted([*bundle.manifests, *added], key=apply_order))
    return bundle.model_copy(update={"manifests": manifests, "inventory": inventory_of(manifests)})


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _sidecar_namespaces(manifests: tuple[dict[str, Any], ...]) -> Iterator[str]:
    for obj in manifests:
        template = (obj.get("spec") or {}).get("template") or {}
        containers = (template.get("spec") or {}).get("containers") or []
        if any(isinstance(c, dict) and c.get("name") == SIDECAR_CONTAINER for c in containers):
            namespace = _meta(obj).get("namespace")
            if isinstance(namespace, str) and namespace:
                yield namespace


def _secret(bundle: Bundle, namespace: str, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": CREDENTIALS_NAME,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "camelops",
                "app.kubernetes.io/component": "sidecar-credentials",
                "camelops.io/project": bundle.project,
                "camelops.io/environment": bundle.environment,
            },
            "annotations": {SYNC_WAVE_ANNOTATION: _CONFIG_WAVE},
        },
        "type": "Opaque",
        "data": {"token": base64.b64encode(token.encode()).decode()},
    }

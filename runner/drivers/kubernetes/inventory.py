"""The environment's inventory kept in the cluster: one ConfigMap per project/environment.

Like Flux's `.status.inventory`, it lists every object the environment owns so a later sync
knows what left the bundle; it lives next to the objects so a fresh runner finds it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from contract.bundles import Bundle
from runner.driver import InventoryError
from runner.objects import Manifest, ObjectRef, in_order

INVENTORY_LABEL = "camelops.io/inventory"
_KEYS = ("group", "version", "kind", "namespace", "name")


def _dns_label(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"


def inventory_name(bundle: Bundle) -> str:
    """A stable ConfigMap name; long names keep a digest so two environments never collide."""
    name = f"camelops-inventory-{_dns_label(bundle.project)}-{_dns_label(bundle.environment)}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(f"{bundle.project}/{bundle.environment}".encode()).hexdigest()[:10]
    return f"{name[:52].rstrip('-')}-{digest}"


def inventory_configmap(bundle: Bundle, inventory: Sequence[ObjectRef], namespace: str) -> Manifest:
    entries = [
        dict(zip(_KEYS, (r.group, r.version, r.kind, r.namespace, r.name), strict=True))
        for r in in_order(inventory)
    ]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": inventory_name(bundle),
            "namespace": namespace,
            "labels": {INVENTORY_LABEL: "true"},
        },
        "data": {
            "project": bundle.project,
            "environment": bundle.environment,
            "revision": bundle.revision,
            "digest": bundle.digest,
            "entries": json.dumps(entries, sort_keys=True, separators=(",", ":")),
        },
    }


def parse_inventory(configmap: dict[str, Any]) -> tuple[ObjectRef, ...]:
    """Entries of a stored inventory; anything malformed raises (a bad inventory prunes nothing)."""
    raw = (configmap.get("data") or {}).get("entries")
    if not isinstance(raw, str):
        raise InventoryError("inventory ConfigMap has no entries")
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        raise InventoryError(f"inventory entries are not JSON: {exc}") from None
    if not isinstance(entries, list):
        raise InventoryError("inventory entries are not a list")
    refs = []
    for entry in entries:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in _KEYS):
            raise InventoryError(f"malformed inventory entry: {str(entry)[:200]}")
        if not entry["kind"] or not entry["name"] or not entry["version"]:
            raise InventoryError(f"inventory entry without kind/version/name: {entry}")
        refs.append(ObjectRef(*(entry[k] for k in _KEYS)))
    return tuple(refs)

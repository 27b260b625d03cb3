"""Live state in bulk (one LIST per kind and namespace) and the drift check of one object."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from runner.driver import Drift
from runner.drivers.kubernetes.client import ApiError, KubeClient, KubeError, UnknownKind
from runner.drivers.kubernetes.diff import field_diffs
from runner.drivers.kubernetes.plan import Planned
from runner.objects import ObjectRef

Live = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LiveIndex:
    """Live objects by ObjectRef key; absent means not found."""

    objects: dict[str, Live]

    def get(self, ref: ObjectRef) -> Live | None:
        return self.objects.get(ref.key)

    def resource_version(self, ref: ObjectRef) -> str:
        live = self.objects.get(ref.key)
        return str((live or {}).get("metadata", {}).get("resourceVersion", ""))

    def fingerprint(self, ref: ObjectRef, manager: str) -> str:
        live = self.objects.get(ref.key)
        return fingerprint(live, manager) if live is not None else ""


def fingerprint(obj: Live, manager: str) -> str:
    """What must stay the same for our fields to still hold what we applied: the object's
    identity, its spec generation (or resourceVersion for kinds without one) and the set of
    fields our manager owns, which shrinks whenever another manager takes one over. Status
    writes change none of these, so a rolled-out Deployment is not re-applied every resync."""
    meta = obj.get("metadata") or {}
    ours = [
        m.get("fieldsV1")
        for m in meta.get("managedFields") or []
        if m.get("manager") == manager
        and m.get("operation") == "Apply"
        and not m.get("subresource")
    ]
    generation = meta.get("generation")
    version = f"g{generation}" if generation is not None else f"rv{meta.get('resourceVersion')}"
    canonical = json.dumps([meta.get("uid"), version, ours], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def live_index(kube: KubeClient, refs: list[ObjectRef], pool: Executor | None = None) -> LiveIndex:
    """LIST each (apiVersion, kind, namespace) the refs touch, in parallel on `pool` (bounded
    by its workers); kinds not served yet are empty. One collection's refusal never hides the
    others: each LIST answers for its own objects."""
    collections = sorted({(r.api_version, r.kind, r.namespace) for r in refs})
    wanted = {r.key for r in refs}

    def one(collection: tuple[str, str, str]) -> dict[str, Live]:
        return _list_collection(kube, collection, wanted)

    found: dict[str, Live] = {}
    parts = pool.map(one, collections) if pool and len(collections) > 1 else map(one, collections)
    for part in parts:
        found.update(part)
    return LiveIndex(found)


def _list_collection(
    kube: KubeClient, collection: tuple[str, str, str], wanted: set[str]
) -> dict[str, Live]:
    api_version, kind, namespace = collection
    try:
        items = kube.list(api_version, kind, namespace)
    except UnknownKind:
        return {}
    except ApiError as exc:
        if exc.status not in (403, 404):
            raise
        return {}  # the per-object dry-run reports it where it belongs
    group = api_version.rpartition("/")[0]
    found: dict[str, Live] = {}
    for item in items:
        meta = item.get("metadata") or {}
        key = f"{group}/{kind}:{meta.get('namespace', '')}/{meta.get('name', '')}"
        if key in wanted:
            found[key] = {"apiVersion": api_version, "kind": kind, **item}
    return found


def drift_of(kube: KubeClient, planned: Planned, live: Live | None) -> Drift | None:
    """What a forced server-side apply would change; fields only other managers set are kept
    by the dry-run, so they never show up as drift."""
    if live is None:
        return Drift(planned.ref, missing=True)
    try:
        _, desired = kube.apply(planned.manifest, force=True, dry_run=True)
    except KubeError as exc:
        return Drift(planned.ref, error=str(exc))
    diffs = field_diffs(live, desired)
    return Drift(planned.ref, diffs) if diffs else None

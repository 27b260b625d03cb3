"""Live state in bulk (one LIST per kind and namespace) and the drift check of one object."""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from runner.driver import Drift
from runner.drivers.kubernetes.client import ApiError, KubeClient, KubeError, UnknownKind
from runner.drivers.kubernetes.diff import field_diffs
from runner.drivers.kubernetes.plan import Planned
from runner.objects import ObjectRef

Live = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LiveIndex:
    """Live objects by ObjectRef key; absent means not found, unless `forbidden` says the
    runner's identity may not read it (then its message names the verb and the rule to add)."""

    objects: dict[str, Live]
    forbidden: dict[str, str] = field(default_factory=dict)

    def get(self, ref: ObjectRef) -> Live | None:
        return self.objects.get(ref.key)

    def denied(self, ref: ObjectRef) -> str:
        return self.forbidden.get(ref.key, "")

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
    others: each LIST answers for its own objects. Where LIST is not granted (namespaces: RBAC
    cannot limit a LIST to some names), each object is read by name instead; what the identity
    may not GET either is `forbidden`."""
    collections = sorted({(r.api_version, r.kind, r.namespace) for r in refs})
    wanted = {r.key for r in refs}

    def one(collection: tuple[str, str, str]) -> tuple[dict[str, Live], dict[str, str]]:
        mine = [r for r in refs if (r.api_version, r.kind, r.namespace) == collection]
        return _list_collection(kube, collection, wanted, mine)

    found: dict[str, Live] = {}
    forbidden: dict[str, str] = {}
    parts = pool.map(one, collections) if pool and len(collections) > 1 else map(one, collections)
    for part, refused in parts:
        found.update(part)
        forbidden.update(refused)
    return LiveIndex(found, forbidden)


def _list_collection(
    kube: KubeClient, collection: tuple[str, str, str], wanted: set[str], refs: list[ObjectRef]
) -> tuple[dict[str, Live], dict[str, str]]:
    api_version, kind, namespace = collection
    found: dict[str, Live] = {}
    forbidden: dict[str, str] = {}
    try:
        items = kube.list(api_version, kind, namespace)
    except UnknownKind:
        return found, forbidden
    except ApiError as exc:
        if exc.status == 403:
            _read_by_name(kube, refs, found, forbidden)
        elif exc.status != 404:
            raise
        return found, forbidden
    group = api_version.rpartition("/")[0]
    for item in items:
        meta = item.get("metadata") or {}
        key = f"{group}/{kind}:{meta.get('namespace', '')}/{meta.get('name', '')}"
        if key in wanted:
            found[key] = {"apiVersion": api_version, "kind": kind, **item}
    return found, forbidden


def _read_by_name(
    kube: KubeClient, refs: list[ObjectRef], found: dict[str, Live], forbidden: dict[str, str]
) -> None:
    for ref in refs:
        try:
            live = kube.get(ref)
        except ApiError as exc:
            if exc.status != 403:
                raise
            forbidden[ref.key] = forbidden_message(kube, "get", ref)
            continue
        if live is not None:
            found[ref.key] = {"apiVersion": ref.api_version, "kind": ref.kind, **live}


def forbidden_message(kube: KubeClient, verb: str, ref: ObjectRef) -> str:
    """One line an operator can act on: what was refused and the RBAC rule that grants it."""
    return _forbidden(verb, kube.resource(ref.api_version, ref.kind).plural, ref)


# how kube-apiserver's RBAC authorizer words a refusal (an admission denial reads otherwise)
_UNNAMED_VERBS = frozenset({"create", "list", "watch", "deletecollection"})
_RBAC_REFUSAL = re.compile(r'cannot ([a-z]+) resource "([a-z0-9.-]+)"')


def rbac_refusal(ref: ObjectRef, exc: ApiError) -> str:
    """The forbidden line for a write RBAC refused; '' for any other error."""
    found = _RBAC_REFUSAL.search(exc.message) if exc.status == 403 else None
    return _forbidden(found.group(1), found.group(2), ref) if found else ""


def _forbidden(verb: str, resource: str, ref: ObjectRef) -> str:
    # RBAC cannot limit create, list or watch to names: such a rule names none
    names = "" if verb in _UNNAMED_VERBS else f'resourceNames: ["{ref.name}"], '
    rule = (f'{{apiGroups: ["{ref.group}"], resources: ["{resource}"], {names}'
            f'verbs: ["{verb}"]}}')  # fmt: skip
    if ref.namespace:
        where = f"a Role in namespace {ref.namespace} bound to the runner's ServiceAccount"
        return f"forbidden: {verb} {resource} {ref.namespace}/{ref.name}; add to {where}: {rule}"
    where = "a ClusterRole bound to the runner's ServiceAccount by a ClusterRoleBinding"
    return f"forbidden: {verb} {resource} {ref.name}; add to {where}: {rule}"


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

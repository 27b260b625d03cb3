"""Live state in bulk (one LIST per kind and namespace) and the drift check of one object."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
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


class Fingerprints:
    """`fingerprint()` remembered per object by (uid, resourceVersion): every write to an
    object, its managedFields included, gives it a new resourceVersion, so an object seen with
    the same one has the same fingerprint, and a no-change resync hashes nothing. Only for
    objects as stored (LIST, GET, apply answers): a dry-run answer keeps the stored
    resourceVersion for content that was never written."""

    def __init__(self, manager: str) -> None:
        self.manager = manager
        self._seen: dict[str, tuple[str, str, str]] = {}  # key -> (uid, resourceVersion, print)

    def of(self, key: str, obj: Live | None) -> str:
        """The fingerprint of `obj` (stored under `key`); '' when there is none."""
        if obj is None:
            return ""
        meta = obj.get("metadata") or {}
        uid, version = str(meta.get("uid", "")), str(meta.get("resourceVersion", ""))
        known = self._seen.get(key)
        if known is not None and version and known[:2] == (uid, version):
            return known[2]
        found = fingerprint(obj, self.manager)
        if version:
            self._seen[key] = (uid, version, found)
        return found

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)


class ListAnswers:
    """The last decoded answer of each LIST, kept with a digest of its items as sent: an
    answer whose items are byte for byte the ones decoded last time is not decoded again
    (on a no-change resync, decoding 1,600 objects was most of the client's CPU). Only the
    list's own metadata (the cluster's current resourceVersion) may differ; any write to an
    item changes its resourceVersion, so its bytes. The answers handed out are shared:
    never mutated."""

    _ITEMS = b'"items":'

    def __init__(self, keep: int = 1024) -> None:
        """`keep`: collections remembered, the least recently listed forgotten first (preview
        namespaces come and go)."""
        self._last: OrderedDict[str, tuple[bytes, dict[str, Any]]] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def decoder(self, path: str) -> Callable[[bytes], dict[str, Any]]:
        def decode(data: bytes) -> dict[str, Any]:
            start = data.find(self._ITEMS)
            if start < 0:
                parsed: dict[str, Any] = json.loads(data)
                return parsed
            digest = hashlib.sha256(memoryview(data)[start:]).digest()
            with self._lock:
                known = self._last.get(path)
                if known is not None and known[0] == digest:
                    self._last.move_to_end(path)
                    return known[1]
            answer: dict[str, Any] = json.loads(data)
            with self._lock:
                self._last[path] = (digest, answer)
                self._last.move_to_end(path)
                while len(self._last) > self._keep:
                    self._last.popitem(last=False)
            return answer

        return decode


def live_index(
    kube: KubeClient,
    refs: list[ObjectRef],
    pool: Executor | None = None,
    answers: ListAnswers | None = None,
) -> LiveIndex:
    """LIST each (apiVersion, kind, namespace) the refs touch, in parallel on `pool` (bounded
    by its workers); kinds not served yet are empty. One collection's refusal never hides the
    others: each LIST answers for its own objects. Where LIST is not granted (namespaces: RBAC
    cannot limit a LIST to some names), each object is read by name instead; what the identity
    may not GET either is `forbidden`. `answers`: LISTs whose items did not change since that
    cache saw them are not decoded again."""
    collections = sorted({(r.api_version, r.kind, r.namespace) for r in refs})
    wanted = {r.key for r in refs}

    def one(collection: tuple[str, str, str]) -> tuple[dict[str, Live], dict[str, str]]:
        mine = [r for r in refs if (r.api_version, r.kind, r.namespace) == collection]
        return _list_collection(kube, collection, wanted, mine, answers)

    found: dict[str, Live] = {}
    forbidden: dict[str, str] = {}
    parts = pool.map(one, collections) if pool and len(collections) > 1 else map(one, collections)
    for part, refused in parts:
        found.update(part)
        forbidden.update(refused)
    return LiveIndex(found, forbidden)


def _list_collection(
    kube: KubeClient,
    collection: tuple[str, str, str],
    wanted: set[str],
    refs: list[ObjectRef],
    answers: ListAnswers | None,
) -> tuple[dict[str, Live], dict[str, str]]:
    api_version, kind, namespace = collection
    found: dict[str, Live] = {}
    forbidden: dict[str, str] = {}
    try:
        decode = answers.decoder(kube.collection_path(*collection)) if answers else None
        items = kube.list(api_version, kind, namespace, decode=decode)
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

"""Object identity and apply order: which object is which, and which goes first (by
`contract.apply_order`, the order the renderer sorts bundles by)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from contract.apply_order import SyncWaveError, kind_rank
from contract.apply_order import sync_wave as contract_sync_wave
from contract.bundles import InventoryEntry
from runner.errors import RunnerError

Manifest = dict[str, Any]

PRUNE_ANNOTATION = "camelops.io/prune"
FIELD_MANAGER = "camelops"


class ManifestError(RunnerError, ValueError):
    """A manifest lacks what every Kubernetes object needs (apiVersion, kind, metadata.name)."""


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """An object's identity; `key` matches InventoryEntry.key."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.group}/{self.kind}:{self.namespace}/{self.name}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    @classmethod
    def of(cls, obj: Manifest) -> ObjectRef:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        meta = obj.get("metadata")
        if not isinstance(api_version, str) or not api_version:
            raise ManifestError("apiVersion missing or not a string")
        if not isinstance(kind, str) or not kind:
            raise ManifestError("kind missing or not a string")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise ManifestError(f"{kind}: metadata.name missing or not a string")
        namespace = meta.get("namespace", "")
        if not isinstance(namespace, str):
            raise ManifestError(f"{kind} {meta['name']}: metadata.namespace is not a string")
        group, _, version = api_version.rpartition("/")
        return cls(group, version, kind, namespace, meta["name"])

    @classmethod
    def from_entry(cls, entry: InventoryEntry) -> ObjectRef:
        return cls(entry.group, entry.version, entry.kind, entry.namespace, entry.name)

    def to_entry(self) -> InventoryEntry:
        return InventoryEntry(
            group=self.group,
            version=self.version,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
        )


_FIELDS = attrgetter("group", "version", "kind", "namespace", "name")


def in_order(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    """`sorted(set(refs))`, by a key instead of the dataclass's generated comparisons (four
    times faster on an inventory of 1,600 objects, read and written at every sync)."""
    return sorted(set(refs), key=_FIELDS)


def annotation(obj: Manifest, name: str) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(name) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else None


def sync_wave(obj: Manifest) -> int:
    """The object's wave (default 0, negatives allowed); a non-integer is a manifest error."""
    try:
        return contract_sync_wave(obj)
    except SyncWaveError as exc:
        raise ManifestError(str(exc)) from None


def apply_order(obj: Manifest) -> tuple[int, int, str, str]:
    ref = ObjectRef.of(obj)
    return (sync_wave(obj), kind_rank(ref.kind), ref.namespace, ref.name)


def waves(manifests: list[Manifest]) -> list[tuple[int, list[Manifest]]]:
    """Group manifests by sync wave (ascending); inside a wave, by kind order then name."""
    grouped: dict[int, list[Manifest]] = {}
    for obj in sorted(manifests, key=apply_order):
        grouped.setdefault(sync_wave(obj), []).append(obj)
    return sorted(grouped.items())


def prune_protected(obj: Manifest) -> bool:
    return (annotation(obj, PRUNE_ANNOTATION) or "").strip().lower() == "false"

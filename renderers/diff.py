"""Object-level diff of two renderings: what `camelops diff` and PR previews show reviewers.

Secrets are masked again here whatever the caller passed: a diff is shown to people.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from renderers.context import Manifest
from renderers.output import to_yaml


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class ObjectChange:
    key: str
    """`<group>/<Kind>:<namespace>/<name>`, as in the tracking id and the bundle inventory."""
    change: ChangeKind
    diff: str
    """Unified diff of the (masked) YAML."""

    def as_json(self) -> dict[str, Any]:
        return {"object": self.key, "change": str(self.change), "diff": self.diff}


def object_key(obj: Manifest) -> str:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return f"{group}/{obj.get('kind')}:{meta.get('namespace', '')}/{meta.get('name')}"


def masked(obj: Manifest) -> Manifest:
    """A Secret with every value replaced by a short digest: equal values stay equal, changed
    values differ, nothing readable is left."""
    if obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        values = out.get(field)
        if isinstance(values, dict):
            out[field] = {k: _mask(v) for k, v in values.items()}
    return out


def _mask(value: Any) -> str:
    text = str(value)
    if text.startswith("masked:"):
        return text
    return "masked:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def diff_objects(base: list[Manifest], head: list[Manifest]) -> list[ObjectChange]:
    """Changes in head's apply order, then what head no longer has, in base's order."""
    before = {object_key(o): masked(o) for o in base}
    after = {object_key(o): masked(o) for o in head}
    changes = []
    for key, obj in after.items():
        old = before.get(key)
        if old is None:
            changes.append(ObjectChange(key, ChangeKind.ADDED, _unified(key, None, obj)))
        elif old != obj:
            changes.append(ObjectChange(key, ChangeKind.CHANGED, _unified(key, old, obj)))
    for key, obj in before.items():
        if key not in after:
            changes.append(ObjectChange(key, ChangeKind.REMOVED, _unified(key, obj, None)))
    return changes


def _unified(key: str, old: Manifest | None, new: Manifest | None) -> str:
    a = to_yaml(old).splitlines(keepends=True) if old is not None else []
    b = to_yaml(new).splitlines(keepends=True) if new is not None else []
    lines = difflib.unified_diff(a, b, fromfile=f"base:{key}", tofile=f"head:{key}", n=3)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

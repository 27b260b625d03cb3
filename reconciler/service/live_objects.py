"""Per-object status and drift of an environment, as its runner last reported them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

OBJECTS_SHOWN = 200
"""The environment page lists this many objects (problems first) and counts the rest."""
_REFUSED = frozenset({"failed", "delete-failed"})


@dataclass(frozen=True, slots=True)
class ObjectRow:
    key: str
    """kind/namespace/name as the runner reports it."""
    outcome: str
    """What the last sync did to it (contract.status.Outcome); empty if only found drifted."""
    message: str
    drifted: bool


@dataclass(frozen=True, slots=True)
class LiveObjects:
    """Per-object results and drift of the runner's last full status report."""

    bundle_id: int
    revision: str
    digest: str
    at: float
    rows: tuple[ObjectRow, ...]
    """Problems first (refused, then drifted), at most OBJECTS_SHOWN."""
    total: int
    failed: int
    drifted: int


def live_objects(row: dict[str, Any] | None) -> LiveObjects | None:
    """The view of `PortalReads.live_objects`' row (None: no full report yet)."""
    if row is None:
        return None
    drifted = set(json.loads(row["drifted"] or "[]"))
    reported = json.loads(row["objects"] or "[]")
    rows = [
        ObjectRow(o["key"], o["outcome"], o.get("message", ""), o["key"] in drifted)
        for o in reported
    ]
    known = {o["key"] for o in reported}
    rows += [ObjectRow(key, "", "", True) for key in sorted(drifted - known)]
    failed = sum(1 for r in rows if r.outcome in _REFUSED)
    rows.sort(key=lambda r: (r.outcome not in _REFUSED, not r.drifted, r.key))
    return LiveObjects(
        bundle_id=int(row["bundle_id"]),
        revision=row["revision"] or "",
        digest=row["digest"] or "",
        at=float(row["at"]),
        rows=tuple(rows[:OBJECTS_SHOWN]),
        total=len(rows),
        failed=failed,
        drifted=len(drifted),
    )

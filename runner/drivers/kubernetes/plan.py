"""Pure apply planning: validate and stamp a bundle's manifests, and cut them into ordered steps."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from itertools import groupby

from contract.apply_order import kind_rank
from contract.bundles import Bundle
from runner.objects import Manifest, ManifestError, ObjectRef, sync_wave

TRACKING_ANNOTATION = "camelops.io/tracking-id"


@dataclass(frozen=True, slots=True)
class Planned:
    ref: ObjectRef
    manifest: Manifest  # stamped with the tracking id; what is sent to the API server
    wave: int
    digest: str


@dataclass(frozen=True, slots=True)
class Invalid:
    index: int
    ref: ObjectRef | None
    message: str


def tracking_id(bundle: Bundle) -> str:
    return f"{bundle.project}/{bundle.environment}"


def _digest(obj: Manifest) -> str:
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stamp(obj: Manifest, tracking: str) -> Manifest:
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    meta["annotations"] = {**annotations, TRACKING_ANNOTATION: tracking}
    return out


def plan(bundle: Bundle) -> tuple[list[Planned], list[Invalid]]:
    """Every manifest checked on its own, so one bad object reports without hiding others."""
    planned: list[Planned] = []
    invalid: list[Invalid] = []
    seen: set[str] = set()
    tracking = tracking_id(bundle)
    for index, obj in enumerate(bundle.manifests):
        ref = None
        try:
            ref = ObjectRef.of(obj)
            wave = sync_wave(obj)
            annotations = obj["metadata"].get("annotations")
            if annotations is not None and not isinstance(annotations, dict):
                raise ManifestError(f"{ref}: metadata.annotations must be a mapping")
        except ManifestError as exc:
            invalid.append(Invalid(index, ref, str(exc)))
            continue
        if ref.key in seen:
            invalid.append(Invalid(index, ref, f"{ref} appears twice in the bundle"))
            continue
        seen.add(ref.key)
        stamped = _stamp(obj, tracking)
        planned.append(Planned(ref, stamped, wave, _digest(stamped)))
    return planned, invalid


def steps(planned: list[Planned]) -> list[list[Planned]]:
    """Waves ascending; inside a wave one step per kind rank, so Namespaces and CRDs exist
    before what lives in them. Objects inside one step are independent and go in parallel."""
    ordered = sorted(planned, key=lambda p: (p.wave, kind_rank(p.ref.kind), p.ref))
    return [
        list(group) for _, group in groupby(ordered, key=lambda p: (p.wave, kind_rank(p.ref.kind)))
    ]


def prune_order(refs: list[ObjectRef]) -> list[ObjectRef]:
    """Reverse of apply order: workloads before their config, namespaces last."""
    return sorted(refs, key=lambda r: (kind_rank(r.kind), r), reverse=True)

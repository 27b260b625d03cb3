"""Pruning with safety rules: only inventory members, never everything by accident, never an
object that opted out or that another environment now owns; failed deletions stay owned."""

from __future__ import annotations

from collections.abc import Sequence

from contract.bundles import Bundle
from contract.status import Outcome
from runner.driver import ObjectResult, PruneResult
from runner.drivers.kubernetes.client import KubeClient, KubeError
from runner.drivers.kubernetes.plan import TRACKING_ANNOTATION, prune_order, tracking_id
from runner.objects import ObjectRef, annotation, prune_protected


def prune_orphans(
    kube: KubeClient,
    bundle: Bundle,
    desired: Sequence[ObjectRef],
    previous: Sequence[ObjectRef],
    *,
    allow_empty: bool = False,
) -> PruneResult:
    desired_keys = {r.key for r in desired}
    orphans = prune_order(
        [r for r in {r.key: r for r in previous}.values() if r.key not in desired_keys]
    )
    if orphans and not desired and not allow_empty:
        reason = "the bundle is empty: refusing to prune everything (allow_empty is off)"
        return PruneResult((), (*desired, *orphans), refused=reason)
    results = [_prune_one(kube, ref, tracking_id(bundle)) for ref in orphans]
    kept = [r.ref for r in results if r.outcome is Outcome.DELETE_FAILED]
    return PruneResult(tuple(results), (*desired, *kept))


def _prune_one(kube: KubeClient, ref: ObjectRef, tracking: str) -> ObjectResult:
    try:
        live = kube.get(ref)
        if live is None:
            return ObjectResult(ref, Outcome.PRUNED, "already gone")
        if prune_protected(live):
            return ObjectResult(ref, Outcome.PRUNE_SKIPPED, 'annotated camelops.io/prune: "false"')
        owner = annotation(live, TRACKING_ANNOTATION)
        if owner is not None and owner != tracking:
            return ObjectResult(ref, Outcome.PRUNE_SKIPPED, f"now owned by {owner}")
        kube.delete(ref)
    except KubeError as exc:
        return ObjectResult(ref, Outcome.DELETE_FAILED, str(exc))
    return ObjectResult(ref, Outcome.PRUNED)

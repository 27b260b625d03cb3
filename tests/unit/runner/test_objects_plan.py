"""Object identity, ordering and planning: pure rules, including hostile manifests."""

from __future__ import annotations

from typing import Any

import pytest

from contract.bundles import Bundle, inventory_of, manifests_digest
from runner.drivers.kubernetes.plan import TRACKING_ANNOTATION, plan, prune_order, steps
from runner.objects import ManifestError, ObjectRef, prune_protected, sync_wave, waves


def obj(kind: str, name: str, ns: str = "a", api: str = "v1", **ann: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    if ann:
        meta["annotations"] = ann
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def make_bundle(manifests: list[dict[str, Any]]) -> Bundle:
    return Bundle(
        project="p",
        environment="e",
        revision="r1",
        manifests=tuple(manifests),
        inventory=(),
        digest=manifests_digest(manifests),
    )


def test_ref_key_matches_the_bundle_contract() -> None:
    deploy = obj("Deployment", "web", api="apps/v1")
    assert ObjectRef.of(deploy).key == inventory_of([deploy])[0].key == "apps/Deployment:a/web"
    assert ObjectRef.of(obj("Namespace", "a", ns="")).key == "/Namespace:/a"


@pytest.mark.parametrize(
    ("manifest", "error"),
    [
        ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "apiVersion"),
        ({"apiVersion": 3, "kind": "ConfigMap", "metadata": {"name": "x"}}, "apiVersion"),
        ({"apiVersion": "v1", "metadata": {"name": "x"}}, "kind"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "metadata.name"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": ""}}, "metadata.name"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"}, "metadata.name"),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": 1}},
            "namespace",
        ),
    ],
)
def test_broken_manifests_are_refused(manifest: dict[str, Any], error: str) -> None:
    with pytest.raises(ManifestError, match=error):
        ObjectRef.of(manifest)


def test_sync_wave_defaults_to_zero_and_rejects_garbage() -> None:
    assert sync_wave(obj("ConfigMap", "c")) == 0
    assert sync_wave(obj("ConfigMap", "c", **{"camelops.io/sync-wave": " -2 "})) == -2
    with pytest.raises(ManifestError, match="integer"):
        sync_wave(obj("ConfigMap", "c", **{"camelops.io/sync-wave": "first"}))


def test_waves_then_kinds_order_the_apply() -> None:
    manifests = [
        obj("Deployment", "web", api="apps/v1"),
        obj("ConfigMap", "late", **{"camelops.io/sync-wave": "1"}),
        obj("Widget", "w", api="example.com/v1"),
        obj("ConfigMap", "cfg"),
        obj("Namespace", "a", ns=""),
        obj("Secret", "s", **{"camelops.io/sync-wave": "-1"}),
    ]
    order = [(wave, [m["metadata"]["name"] for m in ms]) for wave, ms in waves(manifests)]
    assert order == [(-1, ["s"]), (0, ["a", "cfg", "web", "w"]), (1, ["late"])]
    planned, invalid = plan(make_bundle(manifests))
    assert not invalid
    kinds = [[p.ref.kind for p in step] for step in steps(planned)]
    assert kinds == [
        ["Secret"],
        ["Namespace"],
        ["ConfigMap"],
        ["Deployment"],
        ["Widget"],
        ["ConfigMap"],
    ]


def test_plan_stamps_tracking_without_touching_the_bundle() -> None:
    manifests = [obj("ConfigMap", "c", keep="yes")]
    planned, _ = plan(make_bundle(manifests))
    assert planned[0].manifest["metadata"]["annotations"] == {
        "keep": "yes",
        TRACKING_ANNOTATION: "p/e",
    }
    assert manifests[0]["metadata"]["annotations"] == {"keep": "yes"}


def test_plan_reports_each_bad_object_and_duplicates() -> None:
    bad_annotations = obj("ConfigMap", "c")
    bad_annotations["metadata"]["annotations"] = ["not", "a", "map"]
    manifests = [
        obj("ConfigMap", "ok"),
        {"apiVersion": "v1", "kind": "ConfigMap"},
        obj("ConfigMap", "ok"),
        obj("ConfigMap", "w", **{"camelops.io/sync-wave": "x"}),
        bad_annotations,
    ]
    planned, invalid = plan(make_bundle(manifests))
    assert [p.ref.name for p in planned] == ["ok"]
    assert [i.index for i in invalid] == [1, 2, 3, 4]
    assert "twice" in invalid[1].message


def test_prune_order_is_reverse_dependency_order() -> None:
    refs = [ObjectRef.of(o) for o in (obj("Namespace", "a", ns=""), obj("ConfigMap", "c"),
                                      obj("Deployment", "d", api="apps/v1"))]  # fmt: skip
    assert [r.kind for r in prune_order(refs)] == ["Deployment", "ConfigMap", "Namespace"]


def test_prune_opt_out_annotation() -> None:
    assert prune_protected(obj("ConfigMap", "c", **{"camelops.io/prune": "false"}))
    assert prune_protected(obj("ConfigMap", "c", **{"camelops.io/prune": " FALSE"}))
    assert not prune_protected(obj("ConfigMap", "c", **{"camelops.io/prune": "true"}))
    assert not prune_protected(obj("ConfigMap", "c"))

"""Drift diffs, the in-cluster inventory codec and API error parsing, with broken inputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.bundles import Bundle
from runner.driver import InventoryError
from runner.drivers.kubernetes.client import _api_error
from runner.drivers.kubernetes.diff import field_diffs
from runner.drivers.kubernetes.inventory import inventory_configmap, inventory_name, parse_inventory
from runner.drivers.kubernetes.live import fingerprint
from runner.objects import ObjectRef


def live_cm(data: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "resourceVersion": "5", "managedFields": [{}], **meta},
        "data": data,
    }


def test_no_diff_ignores_server_owned_metadata_and_status() -> None:
    a = live_cm({"k": "v"})
    b = {**live_cm({"k": "v"}, resourceVersion="9", generation=4), "status": {"x": 1}}
    assert field_diffs(a, b) == ()


def test_diff_paths_are_json_pointers() -> None:
    diffs = field_diffs(live_cm({"k": "v", "a/b": "1"}), live_cm({"k": "w", "a/b": "1", "n": "x"}))
    assert [(d.path, d.live, d.desired) for d in diffs] == [
        ("/data/k", '"v"', '"w"'),
        ("/data/n", "<absent>", '"x"'),
    ]
    escaped = field_diffs(live_cm({"a/b": "1"}), live_cm({"a/b": "2"}))
    assert escaped[0].path == "/data/a~1b"


def test_secret_values_never_appear_in_a_diff() -> None:
    live = {**live_cm({"password": "aHVudGVyMg=="}), "kind": "Secret"}
    desired = {**live_cm({"password": "c2VjcmV0"}), "kind": "Secret"}
    diffs = field_diffs(live, desired)
    assert diffs
    assert all(d.live == d.desired == "<hidden>" for d in diffs)
    assert "aHVudGVyMg" not in repr(diffs)


def test_long_values_are_truncated() -> None:
    diffs = field_diffs(live_cm({"k": "x" * 1000}), live_cm({"k": "y"}))
    assert len(diffs[0].live) <= 200


def bundle(project: str = "shop", env: str = "dev") -> Bundle:
    return Bundle(project=project, environment=env, revision="r", manifests=(), inventory=(),
                  digest="sha256:0")  # fmt: skip


def test_inventory_roundtrip_sorted_and_deduplicated() -> None:
    refs = [
        ObjectRef("apps", "v1", "Deployment", "a", "web"),
        ObjectRef("", "v1", "ConfigMap", "a", "c"),
    ]
    cm = inventory_configmap(bundle(), [*refs, refs[0]], "camelops-system")
    assert cm["metadata"]["name"] == "camelops-inventory-shop-dev"
    assert parse_inventory(cm) == tuple(sorted(refs))


def test_inventory_names_are_dns_safe_and_distinct_when_long() -> None:
    assert inventory_name(bundle("Shop_EU", "prod.1")) == "camelops-inventory-shop-eu-prod-1"
    long_a, long_b = inventory_name(bundle("x" * 80, "a")), inventory_name(bundle("x" * 80, "b"))
    assert len(long_a) <= 63
    assert long_a != long_b


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"entries": "not json"},
        {"entries": json.dumps({"a": 1})},
        {"entries": json.dumps([{"group": "", "version": "v1"}])},
        {
            "entries": json.dumps(
                [{"group": "", "version": "v1", "kind": "", "namespace": "", "name": "x"}]
            )
        },
        {"entries": json.dumps([["", "v1", "ConfigMap", "a", "c"]])},
        {
            "entries": json.dumps(
                [{"group": 1, "version": "v1", "kind": "K", "namespace": "", "name": "x"}]
            )
        },
    ],
)
def test_a_damaged_inventory_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InventoryError):
        parse_inventory({"data": data})


def test_api_errors_carry_causes_and_survive_garbage() -> None:
    body = {
        "kind": "Status",
        "reason": "Invalid",
        "message": 'Deployment.apps "x" is invalid',
        "details": {"causes": [{"field": "spec.replicas", "message": "must be >= 0"}]},
    }
    err = _api_error(422, json.dumps(body).encode())
    assert err.reason == "Invalid"
    assert "spec.replicas: must be >= 0" in err.message
    assert not err.transient
    assert _api_error(503, b"\xff\xfe not json").transient
    assert len(_api_error(500, b"x" * 100_000).message) <= 2000
    assert _api_error(400, b"[1,2]").reason == "Error"


def test_fingerprint_ignores_status_but_not_our_fields_or_identity() -> None:
    def deploy(**meta: Any) -> dict[str, Any]:
        base = {"uid": "u1", "generation": 3, "resourceVersion": "10", "managedFields": [
            {"manager": "camelops", "operation": "Apply",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "fieldsV1": {"f:status": {}}},
        ]}  # fmt: skip
        return {"kind": "Deployment", "metadata": {**base, **meta}, "status": {"replicas": 1}}

    original = fingerprint(deploy(), "camelops")
    assert fingerprint({**deploy(resourceVersion="99"), "status": {}}, "camelops") == original
    assert fingerprint(deploy(generation=4), "camelops") != original
    assert fingerprint(deploy(uid="u2"), "camelops") != original
    assert fingerprint(deploy(managedFields=[]), "camelops") != original
    no_generation = {"metadata": {"uid": "u", "resourceVersion": "1"}}
    assert fingerprint(no_generation, "camelops") != fingerprint(
        {"metadata": {"uid": "u", "resourceVersion": "2"}}, "camelops"
    )


def test_the_inventory_configmap_in_full() -> None:
    pinned = Bundle(project="shop", environment="dev", revision="abc123", manifests=(),
                    inventory=(), digest="sha256:feed")  # fmt: skip
    refs = [ObjectRef("apps", "v1", "Deployment", "a", "web")]
    assert inventory_configmap(pinned, refs, "camelops-system") == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "camelops-inventory-shop-dev",
            "namespace": "camelops-system",
            "labels": {"camelops.io/inventory": "true"},
        },
        "data": {
            "project": "shop",
            "environment": "dev",
            "revision": "abc123",
            "digest": "sha256:feed",
            "entries": '[{"group":"apps","kind":"Deployment","name":"web","namespace":"a",'
            '"version":"v1"}]',
        },
    }


def test_inventory_names_at_the_edges() -> None:
    assert inventory_name(bundle("-Shop-", "dev")) == "camelops-inventory-shop-dev"
    assert inventory_name(bundle("--", "_")) == "camelops-inventory-x-x"
    exactly_63 = inventory_name(bundle("p" * 40, "dev"))
    assert exactly_63 == f"camelops-inventory-{'p' * 40}-dev"  # 63 characters: kept as is
    assert len(exactly_63) == 63
    over = inventory_name(bundle("p" * 40, "prod"))
    assert len(over) == 63
    assert over.startswith(f"camelops-inventory-{'p' * 33}-")
    cut_at_a_dash = inventory_name(bundle("a" * 32 + "-" + "b" * 40, "dev"))
    assert cut_at_a_dash.startswith(f"camelops-inventory-{'a' * 32}-")
    assert "--" not in cut_at_a_dash


LONG_ENTRY = {"group": "", "version": "v1", "kind": 7, "namespace": "", "name": "x" * 300}
MALFORMED = f"malformed inventory entry: {str(LONG_ENTRY)[:200]}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "inventory ConfigMap has no entries"),
        ({"entries": "not json"}, "inventory entries are not JSON: Expecting value"),
        ({"entries": "{}"}, "inventory entries are not a list"),
        ({"entries": json.dumps([LONG_ENTRY])}, MALFORMED),
        (
            {"entries": json.dumps([{"group": "", "version": "", "kind": "K", "namespace": "",
                                     "name": "x"}])},
            "inventory entry without kind/version/name",
        ),
    ],
)  # fmt: skip
def test_a_damaged_inventory_says_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InventoryError) as refused:
        parse_inventory({"data": data})
    assert str(refused.value).startswith(message)
    if message.startswith("malformed"):
        assert str(refused.value) == message  # the entry is quoted, cut at 200 characters

"""Which bundles get the runner's sidecar token Secret, and what stays as the control plane sent
it (tests/e2e/k8s/test_sidecar_credentials.py applies it to a real API server)."""

from __future__ import annotations

from typing import Any

from contract.bundles import Bundle, Target
from runner.sidecar_credentials import with_sidecar_credentials

Manifest = dict[str, Any]


def workload(ns: str, name: str, *containers: str) -> Manifest:
    pod = {"containers": [{"name": c, "image": "x"} for c in containers]}
    meta = {"name": name, "namespace": ns}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"template": {"spec": pod}}}  # fmt: skip


def secret(ns: str, name: str) -> Manifest:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}}


def bundle_of(*manifests: Manifest, target: Target = Target.KUBERNETES) -> Bundle:
    return Bundle.of(
        project="shop", environment="prod", revision="r1", manifests=manifests, target=target
    )


def keys(bundle: Bundle) -> list[str]:
    return [
        f"{m['kind']}:{m['metadata']['namespace']}/{m['metadata']['name']}"
        for m in bundle.manifests
    ]


def test_one_secret_per_namespace_with_sidecars_ahead_of_the_workloads() -> None:
    sent = bundle_of(
        workload("a", "orders", "camel", "camelops-sidecar"),
        workload("a", "billing", "camel", "camelops-sidecar"),
        workload("b", "plain", "camel"),
    )
    got = with_sidecar_credentials(sent, "t0k3n")
    assert keys(got) == [
        "Secret:a/camelops-sidecar", "Deployment:a/billing", "Deployment:a/orders",
        "Deployment:b/plain",
    ]  # fmt: skip
    assert got.manifests[0]["data"] == {"token": "dDBrM24="}
    assert got.manifests[0]["metadata"]["annotations"] == {"camelops.io/sync-wave": "-1"}
    assert [e.kind for e in got.inventory].count("Secret") == 1
    assert got.digest == sent.digest, "the control plane's digest: what the runner reports"


def test_nothing_added_without_a_token_a_sidecar_or_for_local_or_over_the_users_secret() -> None:
    with_sidecar = workload("a", "orders", "camel", "camelops-sidecar")
    for sent, token in (
        (bundle_of(with_sidecar), ""),
        (bundle_of(workload("a", "orders", "camel")), "t"),
        (bundle_of(with_sidecar, target=Target.LOCAL), "t"),
        (bundle_of(secret("a", "camelops-sidecar"), with_sidecar), "t"),
    ):
        assert with_sidecar_credentials(sent, token) == sent

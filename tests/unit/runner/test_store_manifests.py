"""The runner's SQLite store (real SQLite) and its own install manifests."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from contract.bundles import Bundle
from renderers.context import EnvContext, RenderOptions
from renderers.kubernetes.workload import relay_url
from runner.drivers.kubernetes.manifests import (
    MANAGED_RESOURCES,
    ManifestOptionError,
    runner_manifests,
)
from runner.objects import ObjectRef
from runner.store import RunnerStore


def bundle(revision: str, env: str = "dev") -> Bundle:
    return Bundle(project="shop", environment=env, revision=revision, manifests=(), inventory=(),
                  digest=f"sha256:{revision}")  # fmt: skip


def test_keeps_the_last_n_bundles_per_environment(tmp_path: Path) -> None:
    store = RunnerStore(tmp_path / "runner.db", keep_bundles=3)
    for i in range(5):
        store.save_bundle(bundle(f"r{i}"))
    store.save_bundle(bundle("p0", env="prod"))
    assert [b.revision for b in store.bundles("shop/dev")] == ["r4", "r3", "r2"]
    assert [b.revision for b in store.latest()] == ["r4", "p0"]
    store.close()
    reopened = RunnerStore(tmp_path / "runner.db", keep_bundles=3)
    assert [b.revision for b in reopened.latest()] == ["r4", "p0"]
    reopened.close()


def test_inventory_and_outbox_survive_a_restart(tmp_path: Path) -> None:
    store = RunnerStore(tmp_path / "runner.db")
    assert store.inventory("shop/dev") is None
    refs = [ObjectRef("", "v1", "ConfigMap", "a", "c")]
    store.save_inventory("shop/dev", refs)
    store.enqueue("status", {"phase": "Synced"})
    store.enqueue("status", {"phase": "Failed"})
    store.close()
    store = RunnerStore(tmp_path / "runner.db")
    assert store.inventory("shop/dev") == tuple(refs)
    queued = store.pending()
    assert [q.payload["phase"] for q in queued] == ["Synced", "Failed"]
    store.acknowledge([queued[0].id])
    assert [q.payload["phase"] for q in store.pending()] == ["Failed"]
    store.close()


def test_install_manifests_are_least_privilege() -> None:
    objs = runner_manifests(managed=["shop-dev", "shop-dev", "shop-qa"], image="reg/camelops:1")
    kinds = [o["kind"] for o in objs]
    assert kinds[:3] == ["Namespace"] * 3
    assert {"ServiceAccount", "ClusterRole", "Role", "RoleBinding", "PersistentVolumeClaim",
            "Deployment"} <= set(kinds)  # fmt: skip
    # the one cluster-wide grant: get/patch of exactly the managed namespaces, by name
    [cluster_binding] = [o for o in objs if o["kind"] == "ClusterRoleBinding"]
    ns_role = next(o for o in objs if o["metadata"]["name"] == cluster_binding["roleRef"]["name"])
    assert ns_role["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["shop-dev", "shop-qa"],
         "verbs": ["get", "patch"]}
    ]  # fmt: skip
    role = next(o for o in objs if o["kind"] == "ClusterRole" and o is not ns_role)
    granted = {r for rule in role["rules"] for r in rule["resources"]}
    assert granted == {r for _, rs in MANAGED_RESOURCES for r in rs} | {"pods"}
    # the build controller only reads its Kaniko pods' outcome
    assert [rule["verbs"] for rule in role["rules"] if "pods" in rule["resources"]] == [
        ["get", "list"]
    ]
    assert not granted & {"roles", "rolebindings", "namespaces", "pods/exec", "nodes", "*"}
    bindings = [o["metadata"]["namespace"] for o in objs if o["kind"] == "RoleBinding"]
    assert sorted(bindings) == ["camelops-system", "shop-dev", "shop-qa"]
    yaml.safe_dump_all(objs)  # serialisable as-is


@pytest.mark.parametrize(
    ("managed", "image"),
    [([], "img"), (["Bad_NS"], "img"), (["ok"], ""), (["ok"], "img with space"), (["-x"], "img")],
)
def test_install_manifests_refuse_bad_options(managed: list[str], image: str) -> None:
    with pytest.raises(ManifestOptionError):
        runner_manifests(managed=managed, image=image)


def test_install_manifests_serve_the_relay_rendered_sidecars_post_to() -> None:
    options = RenderOptions(runner_namespace="ops")
    objs = runner_manifests(namespace="ops", managed=["shop-dev"])
    relay = urlsplit(relay_url(EnvContext(None, "dev", "dev", "shop-dev", "4", options)))  # type: ignore[arg-type]
    name, namespace, _ = (relay.hostname or "").split(".", 2)
    [service] = [o for o in objs if o["kind"] == "Service"]
    assert (service["metadata"]["name"], service["metadata"]["namespace"]) == (name, namespace)
    assert [p["port"] for p in service["spec"]["ports"]] == [relay.port]
    deploy = next(o for o in objs if o["kind"] == "Deployment")
    pod = deploy["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    [container] = pod["spec"]["containers"]
    port = next(
        p for p in container["ports"] if p["name"] == service["spec"]["ports"][0]["targetPort"]
    )
    args = container["args"]
    # the runner listens on the pod address at that port, and keeps its inventory at home
    assert args[args.index("--relay") + 1] == f"0.0.0.0:{port['containerPort']}"
    assert args[args.index("--inventory-namespace") + 1] == "ops"


def test_applied_state_survives_a_restart_sealed(tmp_path: Path) -> None:
    """What the driver applied is remembered across restarts (no full apply after one), and
    the digests (of manifests, Secrets included) are not in the file in plain text."""
    path = tmp_path / "runner.db"
    store = RunnerStore(path)
    assert store.applied_state() == {}
    state = {"/Secret:shop/db": ("a" * 64, "b" * 64), "apps/Deployment:shop/x": ("c" * 64, "d")}
    store.save_applied_state(state)
    store.close()
    again = RunnerStore(path)
    assert again.applied_state() == state
    again.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("runner.db*"))
    assert b"a" * 64 not in raw
    assert b"/Secret:shop/db" not in raw

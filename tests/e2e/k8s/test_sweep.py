"""Runner speed on a real API server: one sweep (one LIST per collection, in parallel) serves a
sync's drift and health; nothing is dry-run or applied when nothing changed; and what the
runner applied survives a restart in its SQLite, so a restarted runner does not re-apply all."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

from contract.status import Health, Outcome, Phase
from runner.driver import ApplyOptions
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.drivers.kubernetes.live import live_index
from runner.objects import ObjectRef
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, enforce, sync_bundle
from tests.e2e.k8s.conftest import RUNNER_NAMESPACE
from tests.e2e.k8s.helpers import bundle, configmap, integration

SETTINGS = SyncSettings()


class CountingClient(KubeClient):
    """The real client, counting the requests it sends (every request still goes out)."""

    def __init__(self, kubeconfig: Path) -> None:
        super().__init__(kubeconfig, timeout=10.0)
        self.calls: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def send(self, method: str, path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
        query = dict(kw.get("query") or [])
        kind = "dry-run" if "dryRun" in query else method
        if method == "PATCH" and f"/namespaces/{RUNNER_NAMESPACE}/configmaps/" in path:
            kind = "inventory"
        with self._count_lock:
            self.calls[kind] += 1
        return super().send(method, path, **kw)

    def taken(self) -> Counter[str]:
        with self._count_lock:
            calls, self.calls = self.calls, Counter()
        return calls


def manifests(namespace: str) -> list[dict[str, Any]]:
    cms = [configmap(namespace, f"cm-{i:02d}", {"i": str(i)}) for i in range(20)]
    return [*integration(namespace, "orders"), *cms]


def collections(objects: list[dict[str, Any]]) -> int:
    refs = {ObjectRef.of(o) for o in objects}
    return len({(r.api_version, r.kind, r.namespace) for r in refs})


def test_a_no_change_sync_is_one_sweep_and_no_object_request(
    runner_kubeconfig: Path, namespace: str, store: RunnerStore
) -> None:
    kube = CountingClient(runner_kubeconfig)
    driver = KubernetesDriver(kube)
    objects = manifests(namespace)
    b = bundle(objects, "r1")
    assert sync_bundle(driver, store, b, SETTINGS).phase is Phase.SYNCED
    kube.taken()

    status = sync_bundle(driver, store, b, SETTINGS)
    assert status.phase is Phase.SYNCED
    calls = kube.taken()
    # apply and health share the sweep: each collection listed once, not twice
    assert calls["GET"] == collections(objects) + 1  # + the in-cluster inventory
    assert calls["dry-run"] == 0
    assert calls["PATCH"] == 0
    assert calls["inventory"] == 0  # the same inventory is not written again
    assert enforce(driver, b, SETTINGS).phase is Phase.SYNCED
    calls = kube.taken()
    assert calls == Counter({"GET": collections(objects)})  # drift and health: one sweep

    # a full server-side apply (no cache): every object sent once, no dry-run (the server
    # took these very manifests), no sweep (the answers are the live state health reads)
    full = sync_bundle(driver, store, b, SyncSettings(apply=ApplyOptions(use_cache=False)))
    assert full.phase is Phase.SYNCED
    assert full.health is Health.HEALTHY
    calls = kube.taken()
    assert calls["PATCH"] == len(objects)
    assert calls["dry-run"] == 0
    assert calls["GET"] == 1  # the in-cluster inventory
    assert {r.outcome for r in full.objects} == {Outcome.UNCHANGED}
    driver.close()


def test_a_restarted_runner_remembers_what_it_applied(
    runner_kubeconfig: Path, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    objects = manifests(namespace)
    b = bundle(objects, "r1")
    store = RunnerStore(tmp_path / "runner.db")
    first = KubernetesDriver(KubeClient(runner_kubeconfig))
    first.use_memory(store)
    assert sync_bundle(first, store, b, SETTINGS).phase is Phase.SYNCED
    first.close()
    store.close()
    gone = ObjectRef("", "v1", "ConfigMap", namespace, "cm-07")
    admin.delete(gone)  # changed while the runner was down

    store = RunnerStore(tmp_path / "runner.db")
    kube = CountingClient(runner_kubeconfig)
    second = KubernetesDriver(kube)
    second.use_memory(store)
    status = sync_bundle(second, store, b, SETTINGS)
    assert status.phase is Phase.SYNCED
    calls = kube.taken()
    assert calls["PATCH"] == 1  # only the object someone deleted; the rest is remembered
    assert calls["dry-run"] == 0  # the server accepted that very manifest before
    assert calls["inventory"] == 0  # the ConfigMap already holds this very inventory
    assert admin.get(gone) is not None

    # without the memory (a runner before this change): everything is dry-run and applied
    fresh = CountingClient(runner_kubeconfig)
    forgetful = KubernetesDriver(fresh)
    assert sync_bundle(forgetful, store, b, SETTINGS).phase is Phase.SYNCED
    assert fresh.taken()["dry-run"] == len(objects)
    second.close()
    forgetful.close()
    store.close()


def test_a_forbidden_collection_does_not_hide_the_others(
    runner_kube: KubeClient, admin: KubeClient, namespace: str
) -> None:
    elsewhere = f"{namespace[:40]}-unbound"  # no RoleBinding: the runner may not LIST there
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": elsewhere}})
    ours = configmap(namespace, "ours", {"a": "1"})
    admin.apply(ours, force=True)
    admin.apply(configmap(elsewhere, "theirs", {"a": "1"}), force=True)
    refs = [ObjectRef.of(ours), ObjectRef("", "v1", "ConfigMap", elsewhere, "theirs")]
    found = live_index(runner_kube, refs, None)
    assert found.get(refs[0]) is not None
    assert found.get(refs[1]) is None


def test_warm_caches_still_see_every_change(
    runner_kubeconfig: Path, admin: KubeClient, namespace: str, store: RunnerStore
) -> None:
    """A no-change resync reuses the LIST answers it decoded, the fingerprints it hashed and
    the inventory it wrote: any change to the objects behind them is still seen at once."""
    kube = CountingClient(runner_kubeconfig)
    driver = KubernetesDriver(kube)
    b = bundle(manifests(namespace), "r1")
    for _ in range(3):  # warm: answers, fingerprints and the inventory all reused
        assert sync_bundle(driver, store, b, SETTINGS).phase is Phase.SYNCED
    edited = ObjectRef("", "v1", "ConfigMap", namespace, "cm-05")
    admin.request("PATCH", admin.object_path(edited), query=[("fieldManager", "kubectl-edit")],
                  body={"data": {"i": "hacked"}},
                  content_type="application/merge-patch+json")  # fmt: skip
    reported = enforce(driver, b, SyncSettings(self_heal=False))
    assert reported.phase is Phase.OUT_OF_SYNC
    assert reported.drifted == (edited.key,)

    deleted = ObjectRef("", "v1", "ConfigMap", namespace, "cm-06")
    admin.delete(deleted)
    inventory = ObjectRef("", "v1", "ConfigMap", RUNNER_NAMESPACE, "camelops-inventory-shop-dev")
    admin.request("PATCH", admin.object_path(inventory), body={"data": {"entries": "[]"}},
                  content_type="application/merge-patch+json")  # fmt: skip
    kube.taken()
    healed = sync_bundle(driver, store, b, SETTINGS)
    assert healed.phase is Phase.SYNCED
    outcomes = {r.ref.key: r.outcome for r in healed.objects}
    assert outcomes[deleted.key] is Outcome.CREATED
    assert outcomes[edited.key] is Outcome.CONFIGURED  # Git wins: taken back
    assert kube.taken()["inventory"] == 1  # the emptied inventory is written again
    assert (admin.get(edited) or {})["data"] == {"i": "5"}
    assert {r.outcome for r in sync_bundle(driver, store, b, SETTINGS).objects} == {
        Outcome.UNCHANGED
    }
    driver.close()

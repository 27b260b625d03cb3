"""Runner apply throughput on a real API server: 200 integrations (1,600 objects) from empty,
then a no-change resync (cached, and as full server-side apply), then a drift check.

Anchor: Flux applies 1,000 Kustomizations (4,000 objects) in 4m13s on 2 CPUs, ~16 objects/s
(reference/perf-rel-sec.md). Goal: no-change resync >= 10x that.
Run: `python -m bench.bench_runner_apply` (needs `make k8s`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results import figure
from bench.timing import load_average
from contract.bundles import Bundle, inventory_of, manifests_digest
from contract.status import Phase
from runner.driver import ApplyOptions
from runner.drivers.kubernetes.client import KubeClient
from runner.drivers.kubernetes.driver import KubernetesDriver
from runner.store import RunnerStore
from runner.sync_steps import SyncSettings, SyncStatus, enforce, sync_bundle
from tools.k8s.controlplane import ControlPlane, missing_binaries

FLUX_OBJECTS_PER_SECOND = 4000 / 253.0
KUBECTL = Path(__file__).resolve().parent.parent / ".cache" / "peers" / "bin" / "kubectl"
Manifest = dict[str, Any]


def integration(ns: str, name: str) -> list[Manifest]:
    """Eight objects, the shape a rendered Camel integration has."""
    meta = {"name": name, "namespace": ns, "labels": {"app": name}}
    pod = {"containers": [{"name": "camel", "image": "registry.local/camel:1"}],
           "serviceAccountName": name, "nodeSelector": {"type": "kwok"}}  # fmt: skip
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "name": f"{name}-props"},
         "data": {"application.properties": f"camel.main.name={name}\n"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {**meta, "name": f"{name}-routes"},
         "data": {"route.camel.yaml": "- from:\n    uri: timer:tick\n    steps: []\n"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {"token": "x"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": {"app": name}, "ports": [{"port": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": name}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta,
         "spec": {"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"]}},
    ]  # fmt: skip


def make_bundle(integrations: int, namespaces: list[str]) -> Bundle:
    manifests = [
        obj
        for i in range(integrations)
        for obj in integration(namespaces[i % len(namespaces)], f"int-{i:04d}")
    ]
    return Bundle(
        project="bench",
        environment="load",
        revision="r1",
        manifests=tuple(manifests),
        inventory=inventory_of(manifests),
        digest=manifests_digest(manifests),
    )


def timed(label: str, objects: int, run: Callable[[], SyncStatus]) -> float:
    start = time.perf_counter()
    status = run()
    seconds = time.perf_counter() - start
    if status.phase not in (Phase.SYNCED,):
        sys.exit(f"{label}: {status.phase}: {status.message}")
    rate = objects / seconds
    print(f"{label:<38} {seconds:8.2f} s {rate:9.1f} obj/s "
          f"{rate / FLUX_OBJECTS_PER_SECOND:7.1f}x Flux")  # fmt: skip
    return rate


def peers(
    kubeconfig: Path, workdir: Path, bundle: Bundle, full_ssa: Callable[[], SyncStatus]
) -> None:
    """Our full server-side apply against kubectl's on the same objects and API server, all
    no-change (the objects are applied already), 5 interleaved rounds, medians."""
    if not KUBECTL.exists():
        print(f"kubectl peer missing: run `make peers` ({KUBECTL})")
        return
    listing = workdir / "objects.json"
    listing.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": bundle.manifests}))
    kubectl = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "apply", "--server-side"]
    kubectl += ["--force-conflicts", "-f", str(listing)]

    def ours() -> None:
        status = full_ssa()
        if status.phase is not Phase.SYNCED:
            sys.exit(f"full SSA: {status.phase}: {status.message}")

    def child(extra: list[str]) -> Callable[[], None]:
        def step() -> None:
            subprocess.run([*kubectl, *extra], stdout=subprocess.DEVNULL, check=True)

        return step

    runs = {
        "camelops full SSA (dry-run + apply)": ours,
        "kubectl apply --server-side": child([]),
        "kubectl apply --server-side --dry-run=server": child(["--dry-run=server"]),
    }
    walls: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(5):
        for name, step in runs.items():
            start = time.perf_counter()
            step()
            walls[name].append(time.perf_counter() - start)
    n = len(bundle.manifests)
    medians = {name: statistics.median(w) for name, w in walls.items()}
    print(f"peers, no-change, {n} objects (median wall of 5 interleaved; {load_average()})")
    for name, wall in medians.items():
        print(f"  {name:<46} {wall:7.2f} s {n / wall:9.1f} obj/s")
    ratio = medians["camelops full SSA (dry-run + apply)"] / medians["kubectl apply --server-side"]
    print(f"  ratio camelops full SSA / kubectl apply --server-side: {ratio:.2f}x")
    peer = medians["kubectl apply --server-side"]
    figure(
        f"full server-side apply, {n:,} objects, no change (wall)",
        medians["camelops full SSA (dry-run + apply)"],
        "s",
        baseline=peer,
        baseline_name="`kubectl apply --server-side`",
        goal="<= kubectl",
        met=medians["camelops full SSA (dry-run + apply)"] <= peer,
    )


def run(integrations: int, workdir: Path) -> None:
    cp = ControlPlane(workdir)
    cp.start()
    try:
        admin = KubeClient(cp.admin_kubeconfig)
        admin.request("POST", "/api/v1/nodes", body={"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "kwok-0", "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"type": "kwok"}},
            "status": {"allocatable": {"cpu": "512", "memory": "1Ti", "pods": "1000"},
                       "capacity": {"cpu": "512", "memory": "1Ti", "pods": "1000"}}})  # fmt: skip
        namespaces = [f"bench-{i}" for i in range(4)]
        for ns in [*namespaces, "camelops-system"]:
            admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        bundle = make_bundle(integrations, namespaces)
        n = len(bundle.manifests)
        driver = KubernetesDriver(admin)
        store = RunnerStore(workdir / "runner.db")
        print(f"{n} objects, {integrations} integrations, {len(namespaces)} namespaces")
        settings = SyncSettings()
        timed(
            "apply from empty (dry-run + apply)",
            n,
            lambda: sync_bundle(driver, store, bundle, settings),
        )
        timed("no-change resync (cached)", n, lambda: sync_bundle(driver, store, bundle, settings))
        full = SyncSettings(apply=ApplyOptions(use_cache=False))
        timed(
            "no-change resync (full SSA, baseline)",
            n,
            lambda: sync_bundle(driver, store, bundle, full),
        )
        timed("drift check (enforce)", n, lambda: enforce(driver, bundle, settings))
        peers(
            cp.admin_kubeconfig, workdir, bundle, lambda: sync_bundle(driver, store, bundle, full)
        )
        driver.close()
    finally:
        cp.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--integrations", type=int, default=200)
    args = parser.parse_args(argv)
    if missing_binaries():
        print(f"missing {missing_binaries()}: run `make k8s`", file=sys.stderr)
        return 2
    print(f"anchor: Flux ~{FLUX_OBJECTS_PER_SECOND:.1f} obj/s (4,000 objects in 4m13s, 2 CPUs)")
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        run(args.integrations, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runner apply on a real API server against `kubectl apply --server-side` (built by
`make peers`) on the same objects: 200 integrations (1,600 objects, 4 namespaces) from empty
(each round into fresh namespaces), then, applied already, a no-change resync (cached, and by
a restarted runner that has only its SQLite), the drift and health check, a full server-side
apply without the cache, and kubectl's apply and server dry-run. Services are headless (no
cluster IP): ten rounds of 200 would exhaust the test cluster's service range. Every figure:
median of `--rounds` (5) interleaved rounds, wall and CPU (ours: this process; kubectl: the
child's).

Goals (issue 17): no-change resync <= 0.3 s; first apply and full SSA at least as fast as
`kubectl apply --server-side`. Run: `python -m bench.bench_runner_apply` (needs `make k8s`).
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.results import figure
from bench.timing import load_average
from contract.bundles import Bundle
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
         "spec": {"selector": {"app": name}, "ports": [{"port": 8080}], "clusterIP": "None"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": name}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta,
         "spec": {"podSelector": {"matchLabels": {"app": name}}, "policyTypes": ["Ingress"]}},
    ]  # fmt: skip


def make_bundle(integrations: int, namespaces: list[str], environment: str = "load") -> Bundle:
    manifests = [
        obj
        for i in range(integrations)
        for obj in integration(namespaces[i % len(namespaces)], f"int-{i:04d}")
    ]
    return Bundle.of(project="bench", environment=environment, revision="r1", manifests=manifests)


@dataclass
class Samples:
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    def add(self, run: Callable[[], None], *, child: bool) -> None:
        """`child`: the CPU of a child process (kubectl), else this process's."""
        usage = resource.RUSAGE_CHILDREN if child else resource.RUSAGE_SELF
        before = resource.getrusage(usage)
        start = time.perf_counter()
        run()
        self.walls.append(time.perf_counter() - start)
        after = resource.getrusage(usage)
        self.cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def must_sync(status: SyncStatus) -> None:
    if status.phase is not Phase.SYNCED:
        sys.exit(f"{status.phase}: {status.message}")


class Bench:
    """One control plane, one runner store; every figure interleaved with its peer."""

    def __init__(self, admin: KubeClient, kubeconfig: Path, workdir: Path, integrations: int):
        self.admin, self.kubeconfig, self.workdir = admin, kubeconfig, workdir
        self.integrations = integrations
        self.store = RunnerStore(workdir / "runner.db")
        self.settings = SyncSettings()

    def namespaces(self, prefix: str) -> list[str]:
        names = [f"{prefix}-{i}" for i in range(4)]
        for ns in names:
            self.admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        return names

    def driver(self, *, memory: bool) -> KubernetesDriver:
        driver = KubernetesDriver(KubeClient(self.kubeconfig))
        if memory:
            driver.use_memory(self.store)
        return driver

    def kubectl(self, bundle: Bundle, *extra: str) -> Callable[[], None]:
        listing = self.workdir / f"objects-{bundle.manifests[0]['metadata']['namespace']}.json"
        listing.write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                       "items": bundle.manifests}))  # fmt: skip
        argv = [str(KUBECTL), "--kubeconfig", str(self.kubeconfig), "apply", "--server-side"]
        argv += ["--force-conflicts", "-f", str(listing), *extra]

        def step() -> None:
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)

        return step

    def first_apply(self, rounds: int) -> dict[str, Samples]:
        """From empty: each round, each candidate gets its own fresh namespaces."""
        found = {"camelops first sync (fresh runner)": Samples(),
                 "kubectl apply --server-side (from empty)": Samples()}  # fmt: skip
        for r in range(rounds):
            # its own environment too: a round never prunes the round before
            ours = make_bundle(self.integrations, self.namespaces(f"first{r}-ours"), f"first{r}")
            theirs = make_bundle(self.integrations, self.namespaces(f"first{r}-kubectl"))
            driver = self.driver(memory=False)
            found["camelops first sync (fresh runner)"].add(
                functools.partial(self.sync, driver, ours, self.settings), child=False
            )
            driver.close()
            found["kubectl apply --server-side (from empty)"].add(self.kubectl(theirs), child=True)
        return found

    def no_change(self, bundle: Bundle, theirs: Bundle, rounds: int) -> dict[str, Samples]:
        """kubectl gets its own copy of the objects: its forced apply makes it a co-owner of
        every field, which a no-change resync right after it would see as a change."""
        warm = self.driver(memory=True)
        must_sync(sync_bundle(warm, self.store, bundle, self.settings))
        self.kubectl(theirs)()
        full = SyncSettings(apply=ApplyOptions(use_cache=False))
        runs: dict[str, tuple[Callable[[], None], bool]] = {
            "camelops no-change resync (cached)": (
                lambda: must_sync(sync_bundle(warm, self.store, bundle, self.settings)), False),
            "camelops no-change resync (restarted runner)": (
                lambda: self.restarted(bundle), False),
            "camelops drift + health check (enforce)": (
                lambda: must_sync(enforce(warm, bundle, self.settings)), False),
            "camelops full SSA (no cache)": (
                lambda: must_sync(sync_bundle(warm, self.store, bundle, full)), False),
            "kubectl apply --server-side": (self.kubectl(theirs), True),
            "kubectl apply --server-side --dry-run=server": (
                self.kubectl(theirs, "--dry-run=server"), True),
        }  # fmt: skip
        found = {name: Samples() for name in runs}
        for _ in range(rounds):
            for name, (step, child) in runs.items():
                found[name].add(step, child=child)
        warm.close()
        return found

    def sync(self, driver: KubernetesDriver, bundle: Bundle, settings: SyncSettings) -> None:
        must_sync(sync_bundle(driver, self.store, bundle, settings))

    def restarted(self, bundle: Bundle) -> None:
        driver = self.driver(memory=True)  # a new process would have only the SQLite
        must_sync(sync_bundle(driver, self.store, bundle, self.settings))
        driver.close()


def report(title: str, n: int, found: dict[str, Samples], peer: str) -> None:
    print(f"{title}, {n} objects (median of {len(next(iter(found.values())).walls)} "
          f"interleaved rounds; {load_average()})")  # fmt: skip
    print(f"  {'':<48} {'wall s':>8} {'CPU s':>8} {'obj/s':>8} {'/ peer wall':>11}")
    base = found[peer].wall
    for name, samples in found.items():
        ratio = f"{samples.wall / base:10.2f}x"
        print(f"  {name:<48} {samples.wall:8.2f} {samples.cpu:8.2f} "
              f"{n / samples.wall:8.1f} {ratio}")  # fmt: skip


def record(n: int, found: dict[str, Samples], peer: str) -> None:
    """The figures for bench/RESULTS.md: each against kubectl in the same rounds, or its goal."""
    kubectl = found[peer].wall
    for name, samples in found.items():
        if name.startswith("kubectl"):
            continue
        if "no-change resync (cached)" in name:
            goal, met, base = "<= 0.3 s", samples.wall <= 0.3, None
        elif "first sync" in name or "full SSA" in name:
            goal, met, base = "<= kubectl", samples.wall <= kubectl, kubectl
        else:
            goal, met, base = "", None, kubectl
        peer_name = f"`{peer}`" if base is not None else ""
        figure(f"runner: {name}, {n:,} objects (wall)", samples.wall, "s", baseline=base,
               baseline_name=peer_name, goal=goal, met=met)  # fmt: skip


def run(integrations: int, workdir: Path, rounds: int, *, first: bool = True) -> None:
    cp = ControlPlane(workdir)
    cp.start()
    try:
        admin = KubeClient(cp.admin_kubeconfig)
        admin.request("POST", "/api/v1/nodes", body={"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "kwok-0", "annotations": {"kwok.x-k8s.io/node": "fake"},
                         "labels": {"type": "kwok"}},
            "status": {"allocatable": {"cpu": "512", "memory": "1Ti", "pods": "1000"},
                       "capacity": {"cpu": "512", "memory": "1Ti", "pods": "1000"}}})  # fmt: skip
        admin.apply({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": "camelops-system"}})  # fmt: skip
        bench = Bench(admin, cp.admin_kubeconfig, workdir, integrations)
        n = integrations * 8
        print(f"{n} objects, {integrations} integrations, 4 namespaces; kubectl {KUBECTL.name}")
        if not KUBECTL.exists():
            sys.exit(f"kubectl peer missing: run `make peers` ({KUBECTL})")
        if first:
            empty = bench.first_apply(rounds)
            report("first apply (from empty)", n, empty, "kubectl apply --server-side (from empty)")
            record(n, empty, "kubectl apply --server-side (from empty)")
        bundle = make_bundle(integrations, bench.namespaces("steady"))
        theirs = make_bundle(integrations, bench.namespaces("kubectl"), "kubectl")
        steady = bench.no_change(bundle, theirs, rounds)
        report("applied already (no change)", n, steady, "kubectl apply --server-side")
        record(n, steady, "kubectl apply --server-side")
        bench.store.close()
    finally:
        cp.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--integrations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--skip-first", action="store_true", help="only the applied-already figures (faster)"
    )
    args = parser.parse_args(argv)
    if missing_binaries():
        print(f"missing {missing_binaries()}: run `make k8s`", file=sys.stderr)
        return 2
    print(f"anchor: Flux ~{FLUX_OBJECTS_PER_SECOND:.1f} obj/s (4,000 objects in 4m13s, 2 CPUs)")
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        run(args.integrations, Path(tmp), args.rounds, first=not args.skip_first)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Push -> running on the local driver: from `git push` (post-receive hook -> webhook ->
fetch, validate, render -> tunnel -> runner) until the new revision's JVM is ready and serving
on the stable port. Peer, interleaved in the same run: the same kind of route change applied
straight to a LocalDriver (JVM start until Camel's readiness check is UP, then the switch):
how much of a push is the JVM.

Anchor: the goal of a median <= 5 s over >= 10 pushes, JVM start-up included.
Run: `python -m bench.bench_local_push [--pushes 10]` (needs `make camel-app`, git, a JDK).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.results import figure
from camelops.demo.stack import DemoStack, git, orders_answer
from camelops.demo.state import load_or_create
from contract.bundles import Bundle
from renderers.local import LocalOptions, render_local
from runner.driver import ApplyOptions
from runner.drivers.local import LocalDriver, LocalSettings
from schema.repository import load_repository

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "repo-layout"
CAMEL_HOME = ROOT / ".cache" / "camel-app"
ROUTE = "integrations/orders-api/routes/orders-api.camel.yaml"
MARK = '"status":"accepted'
GOAL_SECONDS = 5.0
TIMEOUT = 300.0


def _until_serving(url: str, needle: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        answer = orders_answer(url)
        if answer is not None and answer[0] == 200 and needle in answer[1]:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{needle} not serving after {TIMEOUT:.0f}s")
        time.sleep(0.05)  # polling another process's port


def push_once(clone: Path, url: str, n: int) -> float:
    route = clone / ROUTE
    route.write_text(route.read_text().replace(f"{MARK}", f"{MARK}-push{n}", 1))
    git("commit", "-qam", f"push {n}", cwd=clone)
    started = time.perf_counter()
    git("push", "-q", "origin", "main", cwd=clone)
    _until_serving(url, f"accepted-push{n}")
    return time.perf_counter() - started


class Peer:
    """The example's local environment applied directly to a driver, one change per round."""

    def __init__(self, work: Path, port: int) -> None:
        self.repo = work / "peer-repo"
        shutil.copytree(EXAMPLE, self.repo)
        self.port = port
        self.driver = LocalDriver(LocalSettings(work / "peer-state", CAMEL_HOME))

    def bundle(self, n: int) -> Bundle:
        route = self.repo / ROUTE
        route.write_text(route.read_text().replace(f"{MARK}", f"{MARK}-peer{n}", 1))
        report = load_repository(self.repo)
        assert report.project is not None, [d.format_text() for d in report.errors]
        objects = render_local(
            report.project, "local", lambda _: "bench", options=LocalOptions(port_base=self.port)
        )
        return Bundle.of(
            project="shop",
            environment="local",
            revision=f"peer-{n}",
            manifests=objects,
            target="local",
        )

    def apply_once(self, n: int) -> float:
        bundle = self.bundle(n)
        started = time.perf_counter()
        result = self.driver.apply(bundle, ApplyOptions())
        elapsed = time.perf_counter() - started
        assert result.ok, result
        _until_serving(f"http://127.0.0.1:{self.port}/orders", f"accepted-peer{n}")
        return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=10)
    args = parser.parse_args()
    if not (CAMEL_HOME / "lib").is_dir():
        print("bench_local_push: build the Camel runtime first (make camel-app)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="camelops-bench-") as tmp:
        work = Path(tmp)
        state = load_or_create(work / "root")
        stack = DemoStack(state, CAMEL_HOME, EXAMPLE, say=lambda _text: None)
        peer = Peer(work, state.port_base + 100)
        try:
            stack.start()
            stack.wait_serving()
            clone = work / "clone"
            git("clone", "-q", str(state.bare_repo), str(clone))
            peer.apply_once(0)  # warm-up: the first JVM start reads every jar cold
            pushes, jvm = [], []
            for n in range(1, args.pushes + 1):
                pushes.append(push_once(clone, state.orders_url, n))
                jvm.append(peer.apply_once(n))
        finally:
            peer.driver.shutdown()
            stack.stop()
    report(pushes, jvm)
    return 0


def report(pushes: list[float], jvm: list[float]) -> None:
    push, start = statistics.median(pushes), statistics.median(jvm)
    load = os.getloadavg()[0]
    print(f"push -> running (webhook, local driver), median of {len(pushes)}: {push:.2f} s "
          f"(min {min(pushes):.2f}, max {max(pushes):.2f}); goal <= {GOAL_SECONDS:.0f} s: "
          f"{'met' if push <= GOAL_SECONDS else 'NOT met'}")  # fmt: skip
    print(f"peer: JVM start -> Camel ready -> switch, same change, interleaved: {start:.2f} s")
    print(f"the JVM is {start / push:.0%} of a push; the platform's own share "
          f"(hook, fetch, validate, render, tunnel, dispatch) {push - start:.2f} s")  # fmt: skip
    print(f"load average (1 min) during the run: {load:.1f} on {os.cpu_count()} CPUs")
    figure(
        f"push -> running (webhook, local driver), median of {len(pushes)}",
        push,
        "s",
        baseline=start,
        baseline_name="JVM start -> Camel ready -> switch alone",
        goal=f"median <= {GOAL_SECONDS:g} s",
        met=push <= GOAL_SECONDS,
    )


if __name__ == "__main__":
    sys.exit(main())

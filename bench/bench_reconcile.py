"""Reconciler figures on the example repository (examples/repo-layout), real git and SQLite:

1. push-to-bundle latency through the webhook: `git push` -> post-receive hook -> signed webhook
   -> fetch -> validate -> render -> bundle -> store -> dispatch (median and p95; goal: median
   <= 1 s, where Argo CD polls every 3 minutes by default);
2. reconcile throughput for 200 projects (projects/min), against the render-only cost
   (load + validate + render every environment, no git, no store) measured in the same run.

`python -m bench.bench_reconcile [--projects N] [--pushes N]`
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from aiohttp import web

from bench.results import figure
from bench.timing import load_average
from reconciler.api.hooks import POST_RECEIVE_SCRIPT
from reconciler.controller import ControllerSettings
from reconciler.dispatch import Delivery, InProcessSink
from reconciler.secrets.sealing import load_public_pem, seal_value, unseal_value
from reconciler.server import ControlPlane, build_control_plane
from reconciler.sources import SourcePolicy
from reconciler.store.records import ProjectRecord
from renderers import render_environment
from schema.repository import load_repository

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "repo-layout"
SECRET = "bench-hook-secret"
GOAL_MEDIAN_S = 1.0


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "HOME": str(cwd),
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@example.com",
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def prepare_repo(root: Path, public_pem: bytes, project: str) -> tuple[Path, Path]:
    """A working copy of the example whose sealed values open with this control plane's key."""
    work, bare = root / "work", root / "origin.git"
    shutil.copytree(EXAMPLE, work)
    key = load_public_pem(public_pem)
    for sealed in (work / "secrets").glob("*.sealed.yaml"):
        text = re.sub(
            r"cops1:[A-Za-z0-9_=-]+",
            lambda _m: seal_value(key, project, "bench-value"),
            sealed.read_text(),
        )
        sealed.write_text(text)
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "init", "-q", "-b", "main", str(work))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "example")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    return work, bare


def example_name() -> str:
    report = load_repository(EXAMPLE)
    assert report.project is not None, [d.format_text() for d in report.errors]
    return report.project.name


async def push_latency(root: Path, pushes: int) -> list[float]:
    sink = InProcessSink()
    plane = build_control_plane(root / "data", dispatcher=sink, sources=SourcePolicy((root,)))
    name = example_name()
    org = plane.store.accounts.ensure_org("bench")
    project = plane.store.projects.create(
        org, name, url=str(root / "repo" / "origin.git"), poll_interval_s=0, webhook_secret=SECRET
    )
    work, bare = prepare_repo(root / "repo", plane.store.projects.public_key_pem(project), name)
    runner = web.AppRunner(plane.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hook = bare / "hooks" / "post-receive"
    shutil.copy(POST_RECEIVE_SCRIPT, hook)
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    git(bare, "config", "camelops.url", f"http://127.0.0.1:{port}/api/v1/hooks/git/bench/{name}")
    git(bare, "config", "camelops.secret", SECRET)
    latencies = []
    try:
        for i in range(pushes + 1):  # the first push warms caches and builds the mirror
            props = work / "integrations" / "orders-api" / "application.properties"
            props.write_text(props.read_text() + f"\nbench.iteration={i}\n")
            git(work, "commit", "-qam", f"bench {i}")
            commit = git(work, "rev-parse", "HEAD")
            started = time.perf_counter()
            await asyncio.to_thread(git, work, "push", "-q", "origin", "main")
            try:
                await sink.wait_for(partial(_all_envs, commit=commit, count=1), timeout=60)
            except TimeoutError:
                status = plane.store.projects.status(project.id)
                raise SystemExit(f"no bundle: {status.reason}: {status.message}") from None
            if i:
                latencies.append(time.perf_counter() - started)
    finally:
        await runner.cleanup()
    return latencies


def _all_envs(deliveries: list[Delivery], commit: str, count: int) -> bool:
    return sum(1 for d in deliveries if d.bundle.revision == commit) >= count


def register(plane: ControlPlane, root: Path, index: int) -> tuple[ProjectRecord, Path]:
    """One project with its own repository (sealed values are bound to one project's key)."""
    name = f"{example_name()}-{index}"
    org = plane.store.accounts.ensure_org("bench")
    base = root / f"repo-{index}"
    project = plane.store.projects.create(
        org, name, url=str(base / "origin.git"), poll_interval_s=0
    )
    work, _ = prepare_repo(base, plane.store.projects.public_key_pem(project), name)
    return project, work


async def throughput(root: Path, projects: int) -> tuple[float, float]:
    """(reconcile seconds, render-only seconds) for `projects` projects."""
    sink = InProcessSink()
    plane = build_control_plane(
        root / "data",
        dispatcher=sink,
        settings=ControllerSettings(workers=2),
        sources=SourcePolicy((root,)),
    )
    made = [register(plane, root, i) for i in range(projects)]
    await plane.controller.start(scheduler=False)
    try:
        started = time.perf_counter()
        for record, _ in made:
            plane.controller.request(record.id)
        await plane.controller.wait_idle(timeout=3600)
        reconcile_s = time.perf_counter() - started
    finally:
        await plane.controller.stop()
    ready = sum(plane.store.projects.status(r.id).ready == "True" for r, _ in made)
    assert ready == projects, f"only {ready}/{projects} projects reconciled"
    started = time.perf_counter()
    for record, work in made:
        render_only(plane, record, work)
    return reconcile_s, time.perf_counter() - started


def render_only(plane: ControlPlane, record: ProjectRecord, work: Path) -> None:
    key = plane.store.projects.private_key(record)
    report = load_repository(work)
    assert report.project is not None
    for env in report.project.project.spec.environments:
        render_environment(report.project, env.name, lambda v: unseal_value(key, record.name, v))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp:
        latencies = asyncio.run(push_latency(Path(tmp) / "latency", args.pushes))
        median = statistics.median(latencies)
        p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else latencies[0]
        print(
            f"push-to-bundle via webhook ({len(latencies)} pushes, example repo, 2 envs): "
            f"median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
            f"(goal median <= {GOAL_MEDIAN_S * 1000:.0f} ms: "
            f"{'met' if median <= GOAL_MEDIAN_S else 'NOT met'}; {load_average()})"
        )
        figure(
            f"push -> bundle via webhook, median of {len(latencies)}",
            median,
            "s",
            goal=f"median <= {GOAL_MEDIAN_S:g} s",
            met=median <= GOAL_MEDIAN_S,
        )
        reconcile_s, render_s = asyncio.run(throughput(Path(tmp) / "throughput", args.projects))
    rate = args.projects / reconcile_s * 60
    print(
        f"reconcile throughput: {args.projects} projects in {reconcile_s:.1f} s = "
        f"{rate:.0f} projects/min (2 workers; {load_average()})"
    )
    print(
        f"render-only baseline (load + validate + render, same projects, serial): "
        f"{render_s:.1f} s = {args.projects / render_s * 60:.0f} projects/min"
    )
    print(f"ratio reconcile / render-only wall time: {reconcile_s / render_s:.2f}x")
    figure(
        f"reconcile of {args.projects} projects (2 workers, wall)",
        reconcile_s,
        "s",
        baseline=render_s,
        baseline_name="load + validate + render only, serial",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

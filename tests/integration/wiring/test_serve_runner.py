"""The processes as wired: `camelops serve` (subprocess, HTTPS API, mTLS tunnel), a runner
registered with a real one-time token, the runner daemon on the real tunnel; a push reaches
the runner and the runner's status reaches the control plane's API."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from runner.daemon import RunnerDaemon
from tests.integration.reconciler.gitrepo import GitRepo
from tests.integration.wiring.recording import RecordingDriver
from tests.integration.wiring.stack import (
    Api,
    Served,
    clean_env,
    cli,
    eventually,
    free_port,
    seed_example,
)

pytestmark = pytest.mark.timeout(240)
PROJECT, RUNNER = "shop", "dev-cluster"


async def runner_status(api: Api, revision: str, state: str) -> dict[str, Any] | None:
    """The runner's report on the dev bundle of `revision`, as the API shows it."""
    _, env = await api.call("GET", f"/api/v1/projects/{PROJECT}/environments/dev")
    ids = {h["id"] for h in env["history"] if h["revision"] == revision}
    for deployment in env["deployments"]:
        ours = deployment["actor"] == "runner" and deployment["bundleId"] in ids
        if ours and deployment["state"] == state:
            return dict(deployment)
    return None


async def register_runner(served: Served, runner_dir: Path) -> None:
    code, token, err = await cli(
        "token", "create", "--runner", RUNNER, "--data-dir", str(served.data_dir)
    )
    assert code == 0, err  # no passphrase in the environment: serve's generated one is used
    args = ["runner", "register", "--server", served.base_url, "--token", token.strip()]
    code, out, err = await cli(*args, "--data-dir", str(runner_dir))
    assert code == 0, err
    assert f"camelops://default/runners/{RUNNER}" in out
    code, _, err = await cli(*args, "--data-dir", str(runner_dir / "again"))
    assert code == 1, "a token is single use"


async def push_and_reconcile(api: Api, repo: GitRepo, line: str) -> str:
    props = repo.work / "integrations" / "orders-api" / "application.properties"
    head = repo.commit({props.relative_to(repo.work).as_posix(): props.read_text() + line})
    repo.push()
    status, _ = await api.call("POST", f"/api/v1/projects/{PROJECT}/reconcile")
    assert status == 202
    return head


async def setup_project(api: Api, root: Path) -> GitRepo:
    bare = root / "git" / "origin.git"
    body = {"name": PROJECT, "url": str(bare), "pollIntervalSeconds": 0, "webhookSecret": "s" * 24}
    status, answer = await api.call("POST", "/api/v1/projects", body)
    assert status == 201, answer
    _, public_pem = await api.call("GET", f"/api/v1/projects/{PROJECT}/public-key")
    return seed_example(root / "git", str(public_pem).encode(), PROJECT)


async def test_push_reaches_the_runner_and_status_comes_back(
    served: Served, tmp_path: Path
) -> None:
    mode = stat.S_IMODE((served.data_dir / "ca-passphrase").stat().st_mode)
    assert mode == 0o600
    runner_dir = tmp_path / "runner"
    driver = RecordingDriver()
    async with aiohttp.ClientSession() as session:
        api = Api(served, session)
        repo = await setup_project(api, tmp_path)
        await register_runner(served, runner_dir)
        daemon = RunnerDaemon(runner_dir, driver)
        await daemon.start()
        try:
            first = await push_and_reconcile(api, repo, "\nwiring.step=1\n")
            await daemon.daemon.wait_for(lambda s: s.revision == first, "shop/dev", 60)
            await eventually(lambda: runner_status(api, first, "Synced/Healthy"), "status", 30)

            second = await push_and_reconcile(api, repo, "wiring.step=2\n")
            synced = await daemon.daemon.wait_for(lambda s: s.revision == second, "shop/dev", 60)
            assert synced.phase == "Synced"
            await eventually(lambda: runner_status(api, second, "Synced/Healthy"), "status", 30)
            # least privilege: prod belongs to another runner and never arrives here
            assert {b.environment for b in driver.applied} == {"dev"}
            assert driver.revisions("shop/dev")[-1] == second
            _, runners = await api.call("GET", "/api/v1/runners")
            assert RUNNER in [r["name"] for r in runners["runners"]]
        finally:
            await daemon.stop()
        assert driver.closed
        await resync_after_losing_the_store(runner_dir, second)
        await restart_as_cli_runner(api, runner_dir, tmp_path, second)


async def resync_after_losing_the_store(runner_dir: Path, revision: str) -> None:
    """A runner that lost its bundles says so in its hello (no digests); the control plane
    sends the environment's deployed bundle again (resync by digest)."""
    for path in runner_dir.glob("runner.sqlite*"):
        path.unlink()
    driver = RecordingDriver()
    daemon = RunnerDaemon(runner_dir, driver)
    await daemon.start()
    try:
        await daemon.daemon.wait_for(lambda s: s.revision == revision, "shop/dev", 60)
    finally:
        await daemon.stop()
    assert driver.revisions("shop/dev") == [revision]


def unreachable_kubeconfig(path: Path) -> Path:
    """A cluster nobody listens on: the real kubernetes driver reports ApiServerUnreachable."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere",
                      "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "nobody", "user": {"token": "unused"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}],
    }  # fmt: skip
    path.write_text(json.dumps(config))
    return path


async def restart_as_cli_runner(api: Api, runner_dir: Path, root: Path, revision: str) -> None:
    """`camelops runner` (the real CLI and kubernetes driver) restarts from the same data dir,
    keeps enforcing the last bundle, reports that it cannot reach its cluster, and stops
    cleanly on SIGTERM."""
    kubeconfig = unreachable_kubeconfig(root / "kubeconfig.json")
    args = ["--data-dir", str(runner_dir), "--kubeconfig", str(kubeconfig)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camelops", "runner", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=clean_env(),
    )  # fmt: skip
    try:
        probe = lambda: runner_status(api, revision, "ApiServerUnreachable/Unknown")  # noqa: E731
        await eventually(probe, "the CLI runner's status", 60)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, output.decode()
    assert b"runner stopping" in output

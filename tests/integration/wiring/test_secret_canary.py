"""The secret canary: one unique sealed value travels Git -> serve -> tunnel -> runner, and
appears nowhere else: not in any file under either data dir, not in a log line, not in an API
response, not in rendered or diffed output; with the runner online and with it offline."""

from __future__ import annotations

import base64
import logging
import re
import shutil
import sqlite3
import uuid
from pathlib import Path

import aiohttp
import pytest

from reconciler.secrets.sealing import load_public_pem, seal_value
from runner.daemon import RunnerDaemon
from tests.integration.reconciler.gitrepo import GitRepo
from tests.integration.wiring.recording import RecordingDriver
from tests.integration.wiring.stack import EXAMPLE, Api, camelops_serve, cli, eventually
from tests.integration.wiring.test_serve_runner import (
    PROJECT,
    push_and_reconcile,
    register_runner,
)

pytestmark = pytest.mark.timeout(240)
CANARY = f"canary-{uuid.uuid4().hex}"


def forms(value: str) -> list[bytes]:
    """The value as it may be written: plain, base64 (Secret data), base64url."""
    raw = value.encode()
    return [raw, base64.b64encode(raw).rstrip(b"="), base64.urlsafe_b64encode(raw).rstrip(b"=")]


def leaked(blob: bytes) -> bool:
    return any(form in blob for form in forms(CANARY))


def files_holding_the_canary(*roots: Path) -> list[str]:
    return [
        str(path)
        for root in roots
        for path in sorted(root.rglob("*"))
        if path.is_file() and leaked(path.read_bytes())
    ]


def seal_canary(repo: GitRepo, public_pem: bytes) -> None:
    """Seal the canary afresh into the working tree (new ciphertext: the Secret changes)."""
    key = load_public_pem(public_pem)
    sealed = repo.work / "secrets" / "db-credentials.sealed.yaml"
    text = re.sub(
        r"cops1:[A-Za-z0-9_=-]+",
        lambda _m: seal_value(key, PROJECT, CANARY),
        sealed.read_text(),
    )
    sealed.write_text(text)


def seed_with_canary(root: Path, public_pem: bytes) -> GitRepo:
    repo = GitRepo(root)
    shutil.copytree(EXAMPLE, repo.work, dirs_exist_ok=True)
    seal_canary(repo, public_pem)
    repo.commit({}, "canary")
    repo.push()
    return repo


async def built(api: Api, revision: str) -> bool | None:
    _, env = await api.call("GET", f"/api/v1/projects/{PROJECT}/environments/dev")
    return True if any(h["revision"] == revision for h in env["history"]) else None


async def api_answers(api: Api) -> list[str]:
    paths = [
        "/api/v1/projects",
        f"/api/v1/projects/{PROJECT}",
        f"/api/v1/projects/{PROJECT}/revisions",
        f"/api/v1/projects/{PROJECT}/previews",
        f"/api/v1/projects/{PROJECT}/environments/dev",
        f"/api/v1/projects/{PROJECT}/environments/prod",
        "/api/v1/audit",
        "/api/v1/runners",
    ]
    answers = []
    for path in paths:
        status, body = await api.call("GET", path)
        assert status == 200, (path, body)
        answers.append(str(body))
    return answers


def delivered(driver: RecordingDriver) -> bool:
    """The positive control: the runner really received the canary (the test can fail)."""
    for bundle in driver.applied:
        for obj in bundle.manifests:
            if obj["kind"] == "Secret" and any(
                base64.b64decode(v).decode() == CANARY for v in obj.get("data", {}).values()
            ):
                return True
    return False


async def test_the_canary_is_only_where_it_is_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    runner_dir = tmp_path / "runner"
    driver = RecordingDriver()
    (tmp_path / "serve").mkdir()
    with camelops_serve(tmp_path / "serve" / "data", local_roots=tmp_path) as served:
        async with aiohttp.ClientSession() as session:
            api = Api(served, session)
            bare = tmp_path / "git" / "origin.git"
            body = {
                "name": PROJECT,
                "url": str(bare),
                "pollIntervalSeconds": 0,
                "webhookSecret": "s" * 24,
            }
            status, answer = await api.call("POST", "/api/v1/projects", body)
            assert status == 201, answer
            _, public_pem = await api.call("GET", f"/api/v1/projects/{PROJECT}/public-key")
            pem = str(public_pem).encode()
            repo = seed_with_canary(tmp_path / "git", pem)
            await register_runner(served, runner_dir)

            # online: the runner applies the canary and keeps its bundle
            daemon = RunnerDaemon(runner_dir, driver)
            await daemon.start()
            try:
                first = await push_and_reconcile(api, repo, "\ncanary.step=1\n")
                await daemon.daemon.wait_for(lambda s: s.revision == first, "shop/dev", 60)
            finally:
                await daemon.stop()
            assert delivered(driver)

            # offline: the next bundle waits in the control plane's outbox
            seal_canary(repo, pem)
            second = await push_and_reconcile(api, repo, "canary.step=2\n")
            await eventually(lambda: built(api, second), "the offline revision", 60)
            for answer in await api_answers(api):
                assert not leaked(answer.encode()), answer[:300]

            render = await cli("render", str(repo.work), "--env", "dev")
            diff = await cli("diff", str(repo.work), "--base", "HEAD~1", "--head", "HEAD")
            for code, out, err in (render, diff):
                assert code in (0, 1), err
                assert "db-credentials" in out, out  # the Secret is shown, its values masked
                assert not leaked((out + err).encode())
    # serve stopped: its outbox (the offline bundle for the runner) is on disk now
    with sqlite3.connect(served.data_dir / "tunnel.sqlite") as db:
        queued = db.execute("SELECT count(*) FROM tunnel_outbox WHERE type = 'bundle'").fetchone()
    assert queued[0] >= 1, "the offline bundle must be queued on disk (positive control)"
    assert files_holding_the_canary(served.data_dir, runner_dir) == []
    assert not leaked(served.log.read_bytes())
    assert not leaked(caplog.text.encode())

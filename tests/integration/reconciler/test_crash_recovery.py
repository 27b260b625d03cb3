"""kill -9 during a reconcile: after a restart the pushed commit is built with no manual action.

`camelops serve` runs as a real process with polling off (webhook only), so nothing but the
crash recovery at start can bring the commit in. It is killed at several points: right after
the webhook's 202, a little later (fetching, rendering), and while a checkout is on disk.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.integration.reconciler.apiclient import generic_headers
from tests.integration.reconciler.gitrepo import GitRepo, base_files
from tests.integration.reconciler.served import Served, camelops_serve

pytestmark = pytest.mark.timeout(300)
HOOK = "crash-hook-secret-0123456789"


def call(
    served: Served, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        served.base_url + path,
        data=body,
        method="POST" if body is not None else "GET",
        headers={"Authorization": f"Bearer {served.token}", **headers},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def wait_until(probe: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)  # another process: nothing to await on


def built(served: Served, commit: str) -> bool:
    _, project = call(served, "/api/v1/projects/shop")
    ready = project["status"]["conditions"][0]["status"] == "True"
    return bool(ready and project["status"]["lastCommit"] == commit)


def push_and_notify(served: Served, repo: GitRepo, files: dict[str, str]) -> str:
    head = repo.commit(files, "push before the crash")
    repo.push()
    body = json.dumps({"ref": "refs/heads/main", "after": head}).encode()
    status, _ = call(served, "/api/v1/hooks/git/shop", body, **generic_headers(body, HOOK))
    assert status == 202
    return head


def many_files(count: int, period: int) -> dict[str, str]:
    """A revision whose checkout takes long enough to be caught on disk."""
    files = base_files(period=period)
    files.update({f"docs/note-{i:05d}.txt": f"note {i}\n" * 20 for i in range(count)})
    return files


def kill(served: Served) -> None:
    os.kill(served.pid, signal.SIGKILL)
    os.waitpid(served.pid, 0)


def test_a_killed_reconcile_is_finished_after_restart(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "git")
    repo.commit(base_files(), "first")
    repo.push()
    data_dir = tmp_path / "data"
    with camelops_serve(data_dir) as served:
        body = {
            "name": "shop",
            "url": str(repo.bare),
            "pollIntervalSeconds": 0,
            "webhookSecret": HOOK,
        }
        status, _ = call(served, "/api/v1/projects", json.dumps(body).encode())
        assert status == 201
        wait_until(lambda: built(served, repo.head()), "the first commit")
    trees = data_dir / "cache" / "trees"
    for point, delay in enumerate((0.0, 0.05, 0.3)):
        with camelops_serve(data_dir) as served:
            head = push_and_notify(served, repo, base_files(period=2000 + point))
            time.sleep(delay)  # the crash point: how far the reconcile got is up to the race
            kill(served)
        with camelops_serve(data_dir) as served:
            wait_until(partial(built, served, head), f"commit after a kill at +{delay}s")
    # a kill while a checkout is on disk: the tree is left behind, and removed at start
    with camelops_serve(data_dir) as served:
        head = push_and_notify(served, repo, many_files(3000, period=4000))
        wait_until(lambda: any(trees.glob("tree-*")), "a checkout on disk", timeout=60)
        left = set(trees.glob("tree-*"))
        kill(served)
    assert left
    with camelops_serve(data_dir) as served:
        assert not left & set(trees.glob("tree-*")), "stale checkouts are removed at start"
        wait_until(lambda: built(served, head), "the commit after a kill mid-checkout")
        _, project = call(served, "/api/v1/projects/shop")
        assert project["status"]["conditions"][1] == {"type": "Reconciling", "status": "False"}

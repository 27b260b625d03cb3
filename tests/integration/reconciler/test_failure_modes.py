"""Each way a Git source goes wrong: the last good state is kept and the condition says why."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from reconciler.sources import LOCAL_UNREADABLE
from reconciler.store.records import ProjectStatus, RevisionState
from tests.integration.reconciler.gitrepo import GitRepo, base_files
from tests.integration.reconciler.harness import Core, make_core
from tests.integration.reconciler.test_pipeline import reconcile


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def status(core: Core) -> ProjectStatus:
    return core.store.projects.status(core.project.id)


def latest_revisions(core: Core) -> set[str]:
    bundles = [
        core.store.desired.load_bundle(e.latest_bundle_id or 0)
        for e in core.store.desired.environments(core.project.id)
    ]
    return {b.revision for b in bundles if b is not None}


async def test_unreachable_git_keeps_last_good_retries_with_backoff_and_recovers(
    core: Core,
) -> None:
    await reconcile(core)
    good = core.repo.head()
    moved = core.repo.bare.with_name("moved.git")
    core.repo.bare.rename(moved)
    await reconcile(core)
    failed = status(core)
    assert (failed.ready, failed.reason, failed.stalled) == ("False", "FetchFailed", False)
    # a local path's failure is one neutral message: no filesystem detail reaches a tenant
    assert failed.message == LOCAL_UNREADABLE
    assert failed.next_attempt_at > failed.last_attempt_at
    await until(lambda: status(core).failures >= 3)  # retried by itself, no new request
    assert latest_revisions(core) == {good}
    moved.rename(core.repo.bare)
    await until(lambda: status(core).ready == "True")
    assert status(core).failures == 0


async def test_force_push_is_followed(core: Core) -> None:
    core.repo.commit(base_files(period=1500), "second")
    core.repo.push()
    await reconcile(core)
    core.repo.git("reset", "-q", "--hard", "HEAD~1")
    rewritten = core.repo.commit(base_files(period=3000), "rewritten history")
    core.repo.push(force=True)
    await reconcile(core)
    assert status(core).ready == "True"
    assert latest_revisions(core) == {rewritten}
    assert core.sink.deliveries[-1].bundle.revision == rewritten


async def test_deleted_branch_waits_and_keeps_last_good(tmp_path: Path, git_repo: GitRepo) -> None:
    made = make_core(tmp_path, git_repo)
    await made.controller.start(scheduler=False)
    try:
        git_repo.push("main:release")
        project = made.store.projects.create(
            made.org_id, "shop-release", url=str(git_repo.bare), branch="release", poll_interval_s=0
        )
        made.controller.request(project.id)
        await made.controller.wait_idle()
        assert made.store.projects.status(project.id).ready == "True"
        git_repo.git("push", "-q", "origin", "--delete", "release")
        made.controller.request(project.id)
        await made.controller.wait_idle()
        waiting = made.store.projects.status(project.id)
        assert (waiting.reason, waiting.stalled) == ("RefNotFound", False)
        assert "'release' does not exist" in waiting.message
        envs = made.store.desired.environments(project.id)
        assert all(e.latest_bundle_id for e in envs)
    finally:
        await made.controller.stop()
        made.store.close()


async def test_huge_file_is_refused_and_nothing_dispatched(core: Core) -> None:
    await reconcile(core)
    core.repo.commit({"integrations/orders/blob.txt": "x" * (600 * 1024)}, "huge")
    core.repo.push()
    await reconcile(core)
    refused = status(core)
    assert (refused.reason, refused.stalled) == ("SourceRejected", True)
    assert "blob.txt" in refused.message
    assert core.store.projects.revisions(core.project.id)[0].state is RevisionState.REJECTED
    assert len(core.sink.deliveries) == 2
    await reconcile(core)  # polling the same bad commit again: same answer, not re-checked
    assert (status(core).reason, status(core).stalled) == ("SourceRejected", True)


async def test_symlink_escaping_the_repository_is_refused(core: Core) -> None:
    await reconcile(core)
    link = core.repo.work / "integrations/orders/routes/evil.camel.yaml"
    os.symlink("/etc/passwd", link)
    core.repo.commit({}, "escape")
    core.repo.push()
    await reconcile(core)
    refused = status(core)
    assert (refused.reason, refused.stalled) == ("SourceRejected", True)
    assert "evil.camel.yaml" in refused.message
    assert len(core.sink.deliveries) == 2
    assert not list((core.cache / "trees").iterdir())  # the checkout was cleaned up


async def test_fetch_size_cap_stops_a_runaway_remote(tmp_path: Path, git_repo: GitRepo) -> None:
    git_repo.commit({"integrations/orders/noise.txt": os.urandom(200_000).hex()}, "big")
    git_repo.push()
    made = make_core(tmp_path, git_repo, max_fetch_bytes=50_000)
    await made.controller.start(scheduler=False)
    try:
        made.controller.request(made.project.id)
        await made.controller.wait_idle()
        capped = made.store.projects.status(made.project.id)
        assert capped.reason == "SourceRejected"
        assert "cap" in capped.message
        assert made.sink.deliveries == []
    finally:
        await made.controller.stop()
        made.store.close()


async def test_dispatch_failure_is_retried_until_every_environment_has_its_bundle(
    core: Core,
) -> None:
    core.sink.fail_next = 2
    await reconcile(core)
    assert status(core).reason == "DispatchFailed"
    await until(lambda: {d.bundle.environment for d in core.sink.deliveries} == {"dev", "prod"})
    await until(lambda: status(core).ready == "True")
    assert len(core.sink.deliveries) == 2  # nothing dispatched twice
    assert {d.org for d in core.sink.deliveries} == {"acme"}

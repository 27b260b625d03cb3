"""Polling alone converges: no webhook, the apscheduler job finds the push."""

from __future__ import annotations

from pathlib import Path

from tests.integration.reconciler.gitrepo import GitRepo, base_files
from tests.integration.reconciler.harness import make_core


async def test_polling_alone_picks_up_a_push(tmp_path: Path, git_repo: GitRepo) -> None:
    core = make_core(tmp_path, git_repo, poll_interval_s=1, poll_jitter_s=0.2)
    await core.controller.start(scheduler=True)
    try:
        assert f"poll-{core.project.id}" in core.controller.polling_jobs()
        await core.sink.wait_for(lambda ds: len(ds) == 2, timeout=20)
        pushed = git_repo.commit(base_files(period=4242), "polled")
        git_repo.push()
        await core.sink.wait_for(
            lambda ds: (
                {d.bundle.environment for d in ds if d.bundle.revision == pushed} == {"dev", "prod"}
            ),
            timeout=20,
        )
    finally:
        await core.controller.stop()
        core.store.close()


async def test_interval_zero_means_webhook_only(tmp_path: Path, git_repo: GitRepo) -> None:
    core = make_core(tmp_path, git_repo, poll_interval_s=0)
    await core.controller.start(scheduler=True)
    try:
        assert core.controller.polling_jobs() == ["sync-windows"]
    finally:
        await core.controller.stop()
        core.store.close()

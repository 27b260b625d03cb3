"""Push -> fetch -> validate -> render -> bundle -> store -> dispatch, on real repositories."""

from __future__ import annotations

import asyncio
import threading

import pytest

from reconciler.errors import Reason
from reconciler.pipeline import BuildOutcome
from reconciler.store.records import ProjectRecord, RevisionState
from tests.integration.reconciler.gitrepo import base_files
from tests.integration.reconciler.harness import Core


async def reconcile(core: Core) -> None:
    core.controller.request(core.project.id)
    await core.controller.wait_idle()


async def test_first_reconcile_stores_and_dispatches_every_environment(core: Core) -> None:
    await reconcile(core)
    status = core.store.projects.status(core.project.id)
    assert (status.ready, status.reason) == ("True", Reason.SUCCEEDED)
    assert status.last_commit == core.repo.head()
    by_env = {d.bundle.environment: d for d in core.sink.deliveries}
    assert set(by_env) == {"dev", "prod"}
    assert by_env["dev"].runner == "dev-runner"
    bundle = by_env["prod"].bundle
    assert bundle.revision == core.repo.head()
    assert bundle.commit_author == "Ada Dev <ada@example.com>"
    assert bundle.commit_message.strip() == "first"
    assert {e.kind for e in bundle.inventory} >= {"Namespace", "Deployment"}


async def test_environments_of_a_local_runner_get_camel_process_bundles(core: Core) -> None:
    pipeline = core.controller.pipeline
    pipeline.local_runners = frozenset({"dev-runner"})
    await reconcile(core)
    by_env = {d.bundle.environment: d.bundle for d in core.sink.deliveries}
    assert by_env["dev"].target == "local"
    assert {e.kind for e in by_env["dev"].inventory} == {"CamelProcess"}
    assert by_env["prod"].target == "kubernetes"
    assert "Deployment" in {e.kind for e in by_env["prod"].inventory}


async def test_a_poll_with_nothing_new_dispatches_nothing(core: Core) -> None:
    await reconcile(core)
    await reconcile(core)
    assert len(core.sink.deliveries) == 2


async def test_invalid_commit_is_recorded_not_dispatched_and_next_good_commit_recovers(
    core: Core,
) -> None:
    await reconcile(core)
    good = core.repo.head()
    bad = core.repo.commit(
        {"integrations/orders/integration.yaml": "kind: Integration\nspec: [oops\n"}, "broken"
    )
    core.repo.push()
    await reconcile(core)
    status = core.store.projects.status(core.project.id)
    assert (status.ready, status.stalled, status.reason) == ("False", True, "ValidationFailed")
    revision = core.store.projects.revisions(core.project.id)[0]
    assert revision.commit_id == bad
    assert revision.state is RevisionState.INVALID
    assert revision.errors
    assert "integrations/orders/integration.yaml" in revision.errors[0]
    assert len(core.sink.deliveries) == 2  # nothing new reached a runner
    envs = core.store.desired.environments(core.project.id)
    latest = [core.store.desired.load_bundle(e.latest_bundle_id or 0) for e in envs]
    assert {b.revision for b in latest if b} == {good}
    fixed = core.repo.commit(base_files(period=2000), "fix")
    core.repo.push()
    await reconcile(core)
    assert core.store.projects.status(core.project.id).ready == "True"
    assert {d.bundle.revision for d in core.sink.deliveries[2:]} == {fixed}


async def test_a_project_queued_twice_reconciles_once(core: Core) -> None:
    core.controller.request(core.project.id)
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    assert core.controller.metrics.duration_count == 1
    assert len(core.sink.deliveries) == 2  # dev and prod, once each


async def test_requests_during_a_reconcile_queue_exactly_one_more_run(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    build = core.controller.pipeline.build

    def gated_build(project: ProjectRecord) -> BuildOutcome:
        outcome = build(project)  # fetched before the push below
        started.set()
        assert release.wait(30), "the test never released the build"
        return outcome

    monkeypatch.setattr(core.controller.pipeline, "build", gated_build)
    first = core.repo.head()
    core.controller.request(core.project.id)
    assert await asyncio.to_thread(started.wait, 30)
    second = core.repo.commit(base_files(period=3000), "pushed during the reconcile")
    core.repo.push()
    core.controller.request(core.project.id)  # the webhook of that push...
    core.controller.request(core.project.id)  # ...and a poll: one more run between them
    release.set()
    await core.controller.wait_idle()
    assert core.controller.metrics.duration_count == 2
    assert [d.bundle.revision for d in core.sink.deliveries] == [first, first, second, second]
    assert core.store.projects.status(core.project.id).last_commit == second

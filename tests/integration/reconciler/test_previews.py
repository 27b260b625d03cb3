"""PR preview lifecycle on real refs: open -> preview + diff; update; close; TTL expiry."""

from __future__ import annotations

from contract.status import Health, Phase, StatusReport
from reconciler.tunnel_callbacks import ReconcilerCallbacks
from tests.integration.reconciler.apiclient import Api
from tests.integration.reconciler.gitrepo import ROUTE, base_files
from tunnel.pki.identity import RunnerIdentity

PREVIEWS = """\
  previews:
    enabled: true
    runner: preview-runner
    deploy: true
    ttl: 1h
"""
SECOND_ROUTE = """\
- route:
    id: audit
    from:
      uri: timer:audit
      steps:
        - to:
            uri: log:audit
"""


async def reconcile(api: Api) -> None:
    api.core.controller.request(api.core.project.id)
    await api.core.controller.wait_idle()


async def preview(api: Api, number: int) -> dict[str, object]:
    response = await api.client.get(f"/api/v1/projects/shop/previews/{number}", headers=api.auth())
    assert response.status == 200
    body: dict[str, object] = await response.json()
    return body


def open_pr(
    api: Api, number: int, files: dict[str, str], message: str, *, fork: bool = False
) -> str:
    """A pull request from a branch of the repository, or (`fork`) from outside it: then its
    head exists only under refs/pull/<n>/head."""
    repo = api.core.repo
    repo.git("checkout", "-q", "-B", f"pr-{number}", "main")
    sha = repo.commit(files, message)
    if not fork:
        repo.push(f"HEAD:refs/heads/pr-{number}", force=True)
    repo.push(f"HEAD:refs/pull/{number}/head", force=True)
    repo.git("checkout", "-q", "main")
    return sha


def preview_deliveries(api: Api, number: int) -> list[int]:
    """Object counts of the bundles sent for pr-<n>, in order."""
    return [
        len(d.bundle.manifests)
        for d in api.core.sink.deliveries
        if d.bundle.environment == f"pr-{number}" and d.runner == "preview-runner"
    ]


async def test_preview_lifecycle_open_update_close(api: Api) -> None:
    api.core.repo.commit(base_files(previews=PREVIEWS), "enable previews")
    api.core.repo.push()
    await reconcile(api)
    head = open_pr(api, 7, {"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE}, "audit")
    await reconcile(api)
    opened = await preview(api, 7)
    assert (opened["state"], opened["head"]) == ("ready", head)
    camel = opened["diff"]["camel"]  # type: ignore[index]
    assert camel[0]["routes"]["added"] == ["audit"]
    assert any(o["change"] == "changed" for o in opened["diff"]["objects"])  # type: ignore[index]
    assert len(preview_deliveries(api, 7)) == 1

    files = {"integrations/orders/routes/main.camel.yaml": ROUTE.format(period=9000)}
    updated_head = open_pr(api, 7, files, "tune period")
    await reconcile(api)
    updated = await preview(api, 7)
    assert updated["head"] == updated_head
    assert updated["diff"] != opened["diff"]
    assert updated["diff"]["camel"][0]["routes"]["changed"] == ["tick"]  # type: ignore[index]

    api.core.repo.git("push", "-q", "origin", ":refs/pull/7/head")
    await reconcile(api)
    assert (await preview(api, 7))["state"] == "closed"
    assert preview_deliveries(api, 7)[-1] == 0  # an empty bundle prunes pr-7 on the runner


async def test_preview_expires_after_its_ttl(api: Api) -> None:
    api.core.repo.commit(base_files(previews=PREVIEWS), "enable previews")
    api.core.repo.push()
    await reconcile(api)
    open_pr(api, 8, {"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE}, "audit")
    await reconcile(api)
    api.core.clock.now += 3601
    await reconcile(api)
    assert (await preview(api, 8))["state"] == "expired"
    assert preview_deliveries(api, 8) == [preview_deliveries(api, 8)[0], 0]


async def test_invalid_pr_is_recorded_with_its_errors(api: Api) -> None:
    api.core.repo.commit(base_files(previews=PREVIEWS), "enable previews")
    api.core.repo.push()
    await reconcile(api)
    open_pr(api, 9, {"integrations/orders/integration.yaml": "kind: [broken\n"}, "oops")
    await reconcile(api)
    broken = await preview(api, 9)
    assert broken["state"] == "invalid"
    assert "integrations/orders/integration.yaml" in broken["errors"][0]  # type: ignore[index]
    assert preview_deliveries(api, 9) == []
    assert api.core.store.projects.status(api.core.project.id).ready == "True"


async def test_branch_pattern_previews(api: Api) -> None:
    pattern = PREVIEWS + '    branchPattern: "feature/*"\n'
    api.core.repo.commit(base_files(previews=pattern), "enable branch previews")
    api.core.repo.push()
    await reconcile(api)
    repo = api.core.repo
    repo.git("checkout", "-q", "-b", "feature/audit")
    sha = repo.commit({"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE}, "audit")
    repo.push("feature/audit")
    repo.git("checkout", "-q", "-b", "other/thing")
    repo.push("other/thing")
    repo.git("checkout", "-q", "main")
    await reconcile(api)
    number = 1  # short: the first preview of the project, not a hash of the branch name
    branch_preview = await preview(api, number)
    assert (branch_preview["ref"], branch_preview["head"]) == ("refs/heads/feature/audit", sha)
    listed = await (
        await api.client.get("/api/v1/projects/shop/previews", headers=api.auth())
    ).json()
    assert [p["ref"] for p in listed["previews"]] == ["refs/heads/feature/audit"]
    repo.git("push", "-q", "origin", "--delete", "feature/audit")
    await reconcile(api)
    assert (await preview(api, number))["state"] == "closed"


async def test_dispatch_outcome_and_runner_status_show_in_the_preview(api: Api) -> None:
    api.core.repo.commit(base_files(previews=PREVIEWS), "enable previews")
    api.core.repo.push()
    await reconcile(api)
    api.core.sink.fail_next = 1  # the runner does not take it: the API says so, not only the log
    open_pr(api, 7, {"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE}, "audit")
    await reconcile(api)
    refused = await preview(api, 7)
    assert refused["state"] == "ready"
    assert refused["deployment"] == {
        "runner": "preview-runner",
        "state": "Undeliverable",
        "detail": "runner preview-runner is not accepting bundles",
    }
    open_pr(api, 7, {"integrations/orders/routes/audit.camel.yaml": SECOND_ROUTE + "#\n"}, "v2")
    await reconcile(api)
    assert (await preview(api, 7))["deployment"]["state"] == "Dispatched"  # type: ignore[index]
    # the preview runner serves pr-7 now, and its report lands on the preview
    callbacks = ReconcilerCallbacks()
    callbacks.bind(api.core.store)
    runner = RunnerIdentity("acme", "preview-runner")
    assert "pr-7" in await callbacks.refresh(runner)
    assert "pr-7" not in await callbacks.refresh(RunnerIdentity("acme", "other-runner"))
    [sent] = [d.bundle for d in api.core.sink.deliveries if d.bundle.environment == "pr-7"]
    report = StatusReport(
        project="shop", environment="pr-7", revision=sent.revision, digest=sent.digest,
        phase=Phase.FAILED, health=Health.UNKNOWN, message="forbidden: create namespaces pr-7",
    )  # fmt: skip
    assert not callbacks._record(RunnerIdentity("acme", "other-runner"), report)
    assert callbacks._record(runner, report)
    assert (await preview(api, 7))["deployment"] == {
        "runner": "preview-runner",
        "state": "Failed/Unknown",
        "detail": "forbidden: create namespaces pr-7",
    }
    stale = report.model_copy(update={"digest": "sha256:old", "phase": Phase.SYNCED})
    assert not callbacks._record(runner, stale)

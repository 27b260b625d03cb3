"""The JSON API: token auth, org scoping, projects, environments, pin/unpin, sync windows."""

from __future__ import annotations

from typing import Any

from reconciler.store.records import Role
from tests.integration.reconciler.apiclient import Api, issue
from tests.integration.reconciler.gitrepo import base_files

ENV = "/api/v1/projects/shop/environments"


async def get(api: Api, path: str, token: str | None = None, status: int = 200) -> Any:
    response = await api.client.get(path, headers=api.auth(token))
    assert response.status == status, await response.text()
    return await response.json()


async def reconciled(api: Api) -> None:
    api.core.controller.request(api.core.project.id)
    await api.core.controller.wait_idle()


async def test_paths_outside_the_api_are_denied_without_a_token_too(api: Api) -> None:
    # default deny: a route mounted later (a portal page, a debug view) is never open by accident
    for path in ("/portal", "/v1/anything", "/api"):
        assert (await api.client.get(path)).status == 401, path
    assert (await api.client.get("/metrics")).status == 200  # listed public


async def test_missing_invalid_or_revoked_token_is_401(api: Api) -> None:
    assert (await api.client.get("/api/v1/projects")).status == 401
    bad = await api.client.get("/api/v1/projects", headers={"Authorization": "Bearer cop_nope"})
    assert bad.status == 401
    assert api.core.store.accounts.revoke_token(api.viewer)
    assert (await api.client.get("/api/v1/projects", headers=api.auth(api.viewer))).status == 401


async def test_other_orgs_see_nothing(api: Api) -> None:
    other_org = api.core.store.accounts.ensure_org("globex")
    stranger = issue(api.core, "mallory", Role.ADMIN, org=other_org)
    assert (await get(api, "/api/v1/projects", stranger))["projects"] == []
    await get(api, "/api/v1/projects/shop", stranger, status=404)
    await get(api, f"{ENV}/dev", stranger, status=404)


async def test_project_status_revisions_and_environment_history(api: Api) -> None:
    await reconciled(api)
    project = await get(api, "/api/v1/projects/shop")
    ready = project["status"]["conditions"][0]
    assert (ready["type"], ready["status"], ready["reason"]) == (
        "Ready",
        "True",
        "ReconciliationSucceeded",
    )
    assert project["environments"] == ["dev", "prod"]
    revisions = (await get(api, "/api/v1/projects/shop/revisions"))["revisions"]
    assert revisions[0]["state"] == "ready"
    env = await get(api, f"{ENV}/dev")
    assert env["deployedBundleId"] == env["latestBundleId"] == env["history"][0]["id"]
    assert "manifests" not in str(env)  # bundle contents (secrets) never leave the store


async def test_viewer_cannot_create_projects_or_sync(api: Api) -> None:
    body = {"name": "other", "url": "/srv/git/other.git"}
    response = await api.client.post("/api/v1/projects", json=body, headers=api.auth(api.viewer))
    assert response.status == 403
    sync = await api.client.post(f"{ENV}/dev/sync", json={}, headers=api.auth(api.viewer))
    assert sync.status == 403


async def test_create_project_validates_its_body(api: Api) -> None:
    for body in (
        {"name": "Bad_Name", "url": "/x.git"},
        {"name": "ok", "url": "ftp://host/x.git"},
        {"name": "ok", "url": "/x.git", "surprise": 1},
        {"name": "ok", "url": "/x.git", "pollIntervalSeconds": -1},
    ):
        response = await api.client.post("/api/v1/projects", json=body, headers=api.auth())
        assert response.status == 400, body
    raw = await api.client.post("/api/v1/projects", data=b"{not json", headers=api.auth())
    assert raw.status == 400
    clash = {"name": "shop", "url": str(api.core.repo.bare)}
    assert (await api.client.post("/api/v1/projects", json=clash, headers=api.auth())).status == 409


async def test_register_a_project_through_the_api(api: Api) -> None:
    body = {"name": "shop-two", "url": str(api.core.repo.bare), "pollIntervalSeconds": 0}
    response = await api.client.post("/api/v1/projects", json=body, headers=api.auth())
    assert response.status == 201
    await api.core.controller.wait_idle()
    project = await get(api, "/api/v1/projects/shop-two")
    assert project["status"]["conditions"][0]["status"] == "True"
    audit = (await get(api, "/api/v1/audit"))["records"]
    assert any(r["action"] == "project.created" and r["actor"] == "alice" for r in audit)


async def test_pin_rolls_back_and_unpin_returns_to_latest(api: Api) -> None:
    core = api.core
    await reconciled(api)
    first = core.repo.head()
    second = core.repo.commit(base_files(period=2500), "second")
    core.repo.push()
    await reconciled(api)
    assert core.sink.deliveries[-1].bundle.revision == second
    pin = await api.client.put(f"{ENV}/prod/pin", json={"revision": first[:12]}, headers=api.auth())
    assert pin.status == 202
    assert (await pin.json())["dispatched"] == ["prod"]
    assert core.sink.deliveries[-1].bundle.revision == first
    # a new push updates "latest" but the pinned environment stays where it is
    third = core.repo.commit(base_files(period=3500), "third")
    core.repo.push()
    await reconciled(api)
    prod = [d for d in core.sink.deliveries if d.bundle.environment == "prod"]
    assert prod[-1].bundle.revision == first
    env = await get(api, f"{ENV}/prod")
    assert env["pinnedBundleId"] is not None
    unpin = await api.client.delete(f"{ENV}/prod/pin", headers=api.auth())
    assert unpin.status == 202
    assert core.sink.deliveries[-1].bundle.revision == third
    actions = [r["action"] for r in (await get(api, "/api/v1/audit"))["records"]]
    assert "environment.pinned" in actions
    assert "environment.unpinned" in actions
    # an unknown revision or bundle is refused and changes nothing: no pin, no dispatch, no audit
    dispatched = len(core.sink.deliveries)
    for unknown in ({"revision": "f" * 40}, {"bundleId": 999_999}):
        missing = await api.client.put(f"{ENV}/prod/pin", json=unknown, headers=api.auth())
        assert missing.status == 404
        assert missing.content_type == "application/problem+json"
        problem = await missing.json()
        assert problem["detail"] == "no such bundle in this environment's history"
        assert problem["status"] == 404
    assert (await get(api, f"{ENV}/prod"))["pinnedBundleId"] is None
    assert len(core.sink.deliveries) == dispatched
    actions = [r["action"] for r in (await get(api, "/api/v1/audit"))["records"]]
    assert actions.count("environment.pinned") == 1


async def test_metrics_and_openapi_are_served(api: Api) -> None:
    await reconciled(api)
    metrics = await (await api.client.get("/metrics")).text()
    assert (
        'camelops_reconciles_total{result="success",reason="ReconciliationSucceeded"} 1' in metrics
    )
    assert "camelops_reconcile_queue_depth 0" in metrics
    document = await (await api.client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/hooks/git/{repo}" in document["paths"]

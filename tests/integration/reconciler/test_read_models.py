"""The API shows typed read models: one naming (camelCase) in every answer, nested ones too."""

from __future__ import annotations

from typing import Any

from tests.integration.reconciler.apiclient import Api

READS = (
    "/api/v1/projects",
    "/api/v1/projects/shop",
    "/api/v1/projects/shop/revisions",
    "/api/v1/projects/shop/environments/prod",
    "/api/v1/projects/shop/previews",
    "/api/v1/audit",
    "/api/v1/runners",
    "/api/v1/users",
    "/api/v1/users/alice/tokens",
)


def snake_keys(value: Any, where: str = "") -> list[str]:
    """Every key holding '_' (a name the store used, leaked as it was)."""
    if isinstance(value, dict):
        found = [f"{where}/{k}" for k in value if "_" in k]
        for key, item in value.items():
            found += snake_keys(item, f"{where}/{key}")
        return found
    if isinstance(value, list):
        return [k for n, item in enumerate(value) for k in snake_keys(item, f"{where}/{n}")]
    return []


async def test_every_read_answers_in_camel_case(api: Api) -> None:
    api.core.controller.request(api.core.project.id)
    await api.core.controller.wait_idle()
    sync = "/api/v1/projects/shop/environments/prod/sync"
    assert (await api.client.post(sync, json={}, headers=api.auth())).status == 202
    api.core.store.accounts.register_runner(api.core.org_id, "prod-runner")
    answers = {}
    for path in READS:
        response = await api.client.get(path, headers=api.auth())
        assert response.status == 200, path
        answers[path] = await response.json()
        assert snake_keys(answers[path]) == [], path
    env = answers["/api/v1/projects/shop/environments/prod"]
    assert env["deployments"], "no deployment to show: the walk would prove nothing"
    assert {"bundleId", "state", "detail", "actor", "at"} <= env["deployments"][0].keys()
    assert env["history"][0].keys() == {"id", "revision", "digest", "createdAt"}
    assert answers["/api/v1/runners"]["runners"][0].keys() == {"name", "createdAt", "lastSeenAt"}
    [token] = answers["/api/v1/users/alice/tokens"]["tokens"]
    assert token.keys() == {"name", "createdAt", "expiresAt", "lastUsedAt", "revokedAt"}
    assert answers["/api/v1/users"]["users"][0].keys() == {"name", "role", "createdAt"}
    project = answers["/api/v1/projects/shop"]
    assert project["environments"] == ["dev", "prod"]
    assert "environments" not in answers["/api/v1/projects"]["projects"][0]  # only when shown
    assert project["repository"]["pollIntervalSeconds"] >= 0

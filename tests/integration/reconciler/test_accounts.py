"""Orgs, users and expiring API tokens: the CLI against a running `camelops serve`, and expiry,
last use and revocation through the API."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from reconciler.store.records import Role
from tests.integration.reconciler.apiclient import Api
from tests.integration.reconciler.served import Served, camelops_serve


def camelops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camelops", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def status_with(served: Served, token: str) -> int:
    request = urllib.request.Request(
        served.base_url + "/api/v1/projects", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_org_user_and_token_lifecycle_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with camelops_serve(data) as served:
        at = ("--data-dir", str(data))
        assert camelops("org", "create", "acme", *at).returncode == 0
        again = camelops("org", "create", "acme", *at)
        assert (again.returncode, "exists" in again.stderr) == (1, True)
        user = camelops("user", "create", "ada", "--org", "acme", "--role", "operator", *at)
        assert user.returncode == 0, user.stderr
        missing = camelops("user", "create", "bob", "--org", "nope", "--role", "viewer", *at)
        assert (missing.returncode, "no org nope" in missing.stderr) == (1, True)
        made = camelops("token", "create", "--user", "ada", "--org", "acme", "--ttl", "1h", *at)
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
        assert token.startswith("cop_")
        assert status_with(served, token) == 200
        listed = camelops("token", "list", "--user", "ada", "--org", "acme", *at)
        [entry] = json.loads(listed.stdout)
        assert entry["name"] == "cli"
        assert entry["last_used_at"] is not None
        assert entry["expires_at"] - entry["created_at"] == 3600
        assert token not in listed.stdout
        revoke = ("token", "revoke", "--user", "ada", "--org", "acme", "--name", "cli", *at)
        assert camelops(*revoke).returncode == 0
        assert status_with(served, token) == 401
        assert camelops(*revoke).returncode == 1  # nothing live left by that name


async def test_an_expired_token_is_refused(api: Api) -> None:
    accounts = api.core.store.accounts
    user = accounts.create_user(api.core.org_id, "temp", Role.VIEWER)
    token = accounts.issue_token(user, "short", ttl_s=60)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/projects", headers=headers)).status == 200
    api.core.clock.now += 61
    assert (await api.client.get("/api/v1/projects", headers=headers)).status == 401
    assert accounts.tokens(user)[0]["last_used_at"] is not None


async def test_admins_manage_their_org_users_and_tokens_through_the_api(api: Api) -> None:
    client, admin = api.client, api.auth()
    made = await client.post(
        "/api/v1/users", json={"name": "ci", "role": "operator"}, headers=admin
    )
    assert made.status == 201
    dup = await client.post("/api/v1/users", json={"name": "ci", "role": "viewer"}, headers=admin)
    assert dup.status == 409
    viewer = api.auth(api.viewer)
    assert (await client.get("/api/v1/users", headers=viewer)).status == 403
    body = {"name": "deploy", "ttlSeconds": 3600}
    issued = await client.post("/api/v1/users/ci/tokens", json=body, headers=admin)
    assert issued.status == 201
    token = (await issued.json())["token"]
    as_ci = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/projects", headers=as_ci)).status == 200
    listed = await (await client.get("/api/v1/users/ci/tokens", headers=admin)).json()
    assert [t["name"] for t in listed["tokens"]] == ["deploy"]
    assert token not in str(listed)
    assert (await client.delete("/api/v1/users/ci/tokens/deploy", headers=admin)).status == 200
    assert (await client.get("/api/v1/projects", headers=as_ci)).status == 401
    # another org's user is not there at all
    other = api.core.store.accounts.ensure_org("other")
    api.core.store.accounts.create_user(other, "eve", Role.ADMIN)
    assert (await client.get("/api/v1/users/eve/tokens", headers=admin)).status == 404
    users = await (await client.get("/api/v1/users", headers=admin)).json()
    assert "eve" not in [u["name"] for u in users["users"]]
    too_long = {"name": "x", "ttlSeconds": 10**9}
    assert (
        await client.post("/api/v1/users/ci/tokens", json=too_long, headers=admin)
    ).status == 400

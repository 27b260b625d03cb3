"""Sync windows and autoSync: automated syncs wait, manual ones need permission or an override."""

from __future__ import annotations

from tests.integration.reconciler.apiclient import Api
from tests.integration.reconciler.gitrepo import base_files

# the harness clock starts at 2026-09-21 14:13:20 UTC
WINDOWED = """\
apiVersion: camelops.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  camel:
    version: 4.18.4
  environments:
    - name: dev
      runner: dev-runner
      namespace: shop-dev
      autoSync: false
    - name: prod
      runner: prod-runner
      namespace: shop-prod
      syncWindows:
        - kind: deny
          schedule: "0 13 * * *"
          duration: 2h
        - kind: allow
          schedule: "0 12 * * *"
          duration: 4h
          manualSync: false
"""


async def setup(api: Api) -> None:
    api.core.repo.commit({**base_files(), "camelops.yaml": WINDOWED}, "windows")
    api.core.repo.push()
    api.core.controller.request(api.core.project.id)
    await api.core.controller.wait_idle()


def delivered(api: Api, env: str) -> int:
    return sum(1 for d in api.core.sink.deliveries if d.bundle.environment == env)


async def test_deny_window_holds_automated_sync_until_it_ends(api: Api) -> None:
    await setup(api)
    assert delivered(api, "prod") == 0
    env = await (
        await api.client.get("/api/v1/projects/shop/environments/prod", headers=api.auth())
    ).json()
    assert env["deployments"][0]["state"] == "blocked"
    assert "deny" in env["deployments"][0]["detail"]
    api.core.clock.now += 3600  # 15:13: the deny window is over, the allow one is open
    await api.core.controller.check_windows()
    assert delivered(api, "prod") == 1


async def test_manual_sync_in_a_deny_window_needs_an_audited_override(api: Api) -> None:
    await setup(api)
    path = "/api/v1/projects/shop/environments/prod/sync"
    refused = await api.client.post(path, json={}, headers=api.auth())
    assert refused.status == 409
    assert delivered(api, "prod") == 0
    forced = await api.client.post(path, json={"override": True}, headers=api.auth())
    assert forced.status == 202
    assert delivered(api, "prod") == 1
    audit = await (await api.client.get("/api/v1/audit", headers=api.auth())).json()
    override = [r for r in audit["records"] if r["action"] == "sync.window-override"]
    assert override[0]["actor"] == "alice"
    assert override[0]["environment"] == "prod"


async def test_outside_every_allow_window_nothing_is_automated(api: Api) -> None:
    await setup(api)
    api.core.clock.now += 6 * 3600  # 20:13: past both windows; allow windows exist
    await api.core.controller.check_windows()
    assert delivered(api, "prod") == 0


async def test_auto_sync_off_waits_for_a_manual_sync(api: Api) -> None:
    await setup(api)
    assert delivered(api, "dev") == 0
    response = await api.client.post(
        "/api/v1/projects/shop/environments/dev/sync", json={}, headers=api.auth()
    )
    assert response.status == 202
    assert delivered(api, "dev") == 1

"""Names are each org's own: registering a name another org uses succeeds and reveals nothing;
webhooks name the org, so the same repository name in two orgs never crosses over."""

from __future__ import annotations

from reconciler.store.records import Role
from tests.integration.reconciler.apiclient import HOOK_SECRET, Api, generic_headers, issue

BODY = b'{"ref": "refs/heads/main"}'


async def test_the_same_project_name_in_two_orgs(api: Api) -> None:
    beta = api.core.store.accounts.ensure_org("beta")
    beta_admin = issue(api.core, "bea", Role.ADMIN, org=beta)
    body = {
        "name": "shop",
        "url": str(api.core.repo.bare),
        "pollIntervalSeconds": 0,
        "webhookSecret": "beta-hook-secret-0123456789",
    }
    theirs = await api.client.post("/api/v1/projects", json=body, headers=api.auth(beta_admin))
    assert theirs.status == 201, await theirs.text()  # acme's `shop` is not beta's business
    again = await api.client.post("/api/v1/projects", json=body, headers=api.auth(beta_admin))
    assert again.status == 409
    assert "your org" in (await again.json())["detail"]
    ours = await api.client.post("/api/v1/projects", json=body, headers=api.auth())
    assert ours.status == 409  # acme's own `shop`
    beta_shop = api.core.store.projects.by_name(beta, "shop")
    assert beta_shop is not None
    assert beta_shop.id != api.core.project.id

    # acme's secret opens acme's webhook only; beta's path wants beta's secret
    signed = generic_headers(BODY, HOOK_SECRET)
    acme_hook = await api.client.post("/api/v1/hooks/git/acme/shop", data=BODY, headers=signed)
    assert acme_hook.status == 202
    crossed = await api.client.post("/api/v1/hooks/git/beta/shop", data=BODY, headers=signed)
    assert crossed.status == 401
    beta_signed = generic_headers(BODY, "beta-hook-secret-0123456789")
    beta_hook = await api.client.post("/api/v1/hooks/git/beta/shop", data=BODY, headers=beta_signed)
    assert beta_hook.status == 202
    # without an org the path means the bootstrap org (`default`), which has no `shop` here
    bare = await api.client.post("/api/v1/hooks/git/shop", data=BODY, headers=signed)
    assert bare.status == 401
    await api.core.controller.wait_idle()

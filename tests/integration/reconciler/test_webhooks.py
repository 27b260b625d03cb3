"""The webhook receiver against hostile deliveries: nothing is fetched unless verified."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import shutil
import stat
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from reconciler.api.hooks import _UNKNOWN_REPO_SECRET, POST_RECEIVE_SCRIPT
from tests.integration.reconciler.apiclient import HOOK_SECRET, Api, generic_headers, github_headers
from tests.integration.reconciler.harness import Core

HOOK = "/api/v1/hooks/git/acme/shop"  # the test org is not the bootstrap one
BODY = b'{"ref": "refs/heads/main", "after": "0000000000000000000000000000000000000000"}'


def nothing_fetched(core: Core) -> bool:
    mirrors = core.cache / "mirrors"
    untouched = core.store.projects.status(core.project.id).reason == "Pending"
    return untouched and not (mirrors.exists() and any(mirrors.iterdir()))


async def settle(api: Api) -> None:
    await api.core.controller.wait_idle()


async def test_github_signed_push_triggers_a_reconcile(api: Api) -> None:
    response = await api.client.post(HOOK, data=BODY, headers=github_headers(BODY, "d-1"))
    assert response.status == 202
    await settle(api)
    assert api.core.store.projects.status(api.core.project.id).ready == "True"
    assert len(api.core.sink.deliveries) == 2


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Hub-Signature-256": "sha256=" + "0" * 64}, id="forged-github"),
        pytest.param({"X-Gitea-Signature": "ab" * 32}, id="forged-gitea"),
        pytest.param({"X-Gitlab-Token": "wrong"}, id="wrong-gitlab-token"),
        pytest.param(generic_headers(BODY, secret="not-the-secret"), id="forged-generic"),
        pytest.param({}, id="unsigned"),
        pytest.param({"X-Hub-Signature-256": "sha1=abc"}, id="malformed-signature"),
        pytest.param({"X-Hub-Signature-256": "sha256=é"}, id="non-ascii-signature"),
    ],
)
async def test_forged_or_unsigned_delivery_is_401_and_fetches_nothing(
    api: Api, headers: dict[str, str]
) -> None:
    response = await api.client.post(HOOK, data=BODY, headers=headers)
    assert response.status == 401
    await settle(api)
    assert nothing_fetched(api.core)


async def test_signature_over_another_body_is_refused(api: Api) -> None:
    headers = github_headers(b"{}", "d-2")
    response = await api.client.post(HOOK, data=BODY, headers=headers)
    assert response.status == 401
    assert nothing_fetched(api.core)


async def test_oversized_body_is_413_before_verification(api: Api) -> None:
    big = b"x" * (1024 * 1024 + 1)
    response = await api.client.post(HOOK, data=io.BytesIO(big), headers=github_headers(big, "d-3"))
    assert response.status == 413
    assert nothing_fetched(api.core)


async def test_oversized_chunked_body_without_length_is_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"y" * 65536

    response = await api.client.post(HOOK, data=chunks(), headers={"X-Gitlab-Token": HOOK_SECRET})
    assert response.status == 413
    assert nothing_fetched(api.core)


async def test_replayed_github_delivery_is_401(api: Api) -> None:
    headers = github_headers(BODY, "same-delivery")
    assert (await api.client.post(HOOK, data=BODY, headers=headers)).status == 202
    await settle(api)
    fetched = api.core.store.projects.status(api.core.project.id).last_attempt_at
    replay = await api.client.post(HOOK, data=BODY, headers=headers)
    assert replay.status == 401
    assert "replay" in (await replay.json())["detail"]
    await settle(api)
    assert api.core.store.projects.status(api.core.project.id).last_attempt_at == fetched


async def test_stale_generic_delivery_is_a_replay(api: Api) -> None:
    old = generic_headers(BODY, stamp=int(time.time()) - 3600)
    response = await api.client.post(HOOK, data=BODY, headers=old)
    assert response.status == 401
    assert nothing_fetched(api.core)


async def test_gitlab_token_and_gitea_signature_are_accepted(api: Api) -> None:
    gitlab = {"X-Gitlab-Token": HOOK_SECRET, "X-Gitlab-Event-UUID": str(uuid.uuid4())}
    assert (await api.client.post(HOOK, data=BODY, headers=gitlab)).status == 202
    digest = hmac.new(HOOK_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    gitea = {"X-Gitea-Signature": digest, "X-Gitea-Delivery": "g-1"}
    assert (await api.client.post(HOOK, data=BODY, headers=gitea)).status == 202


async def test_unknown_repository_looks_like_a_bad_signature(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/hooks/git/nope", data=BODY, headers=github_headers(BODY, "d-4")
    )
    assert response.status == 401


async def test_flood_is_rate_limited(api: Api) -> None:
    statuses = []
    for i in range(30):
        response = await api.client.post(HOOK, data=BODY, headers=github_headers(BODY, f"f-{i}"))
        statuses.append(response.status)
    assert statuses[0] == 202
    assert 429 in statuses


async def test_each_repository_has_its_own_delivery_budget(api: Api) -> None:
    core = api.core
    core.store.projects.create(
        core.org_id,
        "shop-2",
        url=str(core.repo.bare),
        poll_interval_s=3600,
        webhook_secret=HOOK_SECRET,
    )
    statuses = [
        (await api.client.post(HOOK, data=BODY, headers=github_headers(BODY, f"b-{i}"))).status
        for i in range(30)
    ]
    assert statuses[-1] == 429
    other = await api.client.post(HOOK + "-2", data=BODY, headers=github_headers(BODY, "b-other"))
    assert other.status == 202  # one repository's flood does not starve another's
    await settle(api)


async def test_unknown_repository_is_refused_even_with_the_placeholder_secret(api: Api) -> None:
    # An unknown repository is checked against a random placeholder secret so that it costs the
    # same as a known one; a delivery that matched it must still be refused, as a bad signature.
    headers = github_headers(BODY, "d-5")
    headers["X-Hub-Signature-256"] = (
        "sha256=" + hmac.new(_UNKNOWN_REPO_SECRET, BODY, hashlib.sha256).hexdigest()
    )
    response = await api.client.post("/api/v1/hooks/git/acme/nope", data=BODY, headers=headers)
    assert response.status == 401
    assert (await response.json())["detail"] == "signature check failed"
    assert nothing_fetched(api.core)


async def test_repeated_failures_from_one_address_are_throttled(api: Api) -> None:
    statuses = [
        (await api.client.post(HOOK, data=BODY, headers={"X-Gitlab-Token": "bad"})).status
        for _ in range(40)
    ]
    assert statuses[0] == 401
    assert statuses[-1] == 429


async def test_post_receive_hook_push_to_bundle(api: Api) -> None:
    """git push -> post-receive -> webhook -> new bundle stored and dispatched."""
    core = api.core
    hook = core.repo.bare / "hooks" / "post-receive"
    shutil.copy(POST_RECEIVE_SCRIPT, hook)
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    core.repo.git("config", "camelops.url", str(api.client.make_url(HOOK)), cwd=core.repo.bare)
    core.repo.git("config", "camelops.secret", HOOK_SECRET, cwd=core.repo.bare)
    commit = core.repo.commit({"README.md": "hello\n"}, "docs")
    await asyncio.to_thread(core.repo.push)  # the hook calls back into this loop's server
    await core.sink.wait_for(
        lambda ds: (
            {d.bundle.environment for d in ds if d.bundle.revision == commit} == {"dev", "prod"}
        ),
        timeout=20,
    )
    await core.controller.wait_idle()
    assert core.store.projects.status(core.project.id).last_commit == commit


async def test_genuine_deliveries_over_the_repository_rate_do_not_spend_the_address_budget(
    api: Api,
) -> None:
    # The per-address budget is for unverified deliveries (30 here): a busy repository's signed
    # deliveries refused by its own rate (429) must not lock its address out of other repositories.
    core = api.core
    core.store.projects.create(
        core.org_id,
        "shop-2",
        url=str(core.repo.bare),
        poll_interval_s=3600,
        webhook_secret=HOOK_SECRET,
    )
    statuses = [
        (await api.client.post(HOOK, data=BODY, headers=github_headers(BODY, f"g-{i}"))).status
        for i in range(60)
    ]
    assert statuses.count(429) > 30  # refused by the repository's rate, past the address budget
    other = await api.client.post(HOOK + "-2", data=BODY, headers=github_headers(BODY, "g-other"))
    assert other.status == 202
    await settle(api)

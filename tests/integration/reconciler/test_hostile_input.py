"""Hostile input the probe found: concurrent forged webhooks, malformed requests, numbers of
thousands of digits in API bodies and in config values."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from reconciler.api.keys import SERVICES
from reconciler.store.records import RevisionState
from tests.integration.reconciler.apiclient import Api, github_headers
from tests.integration.reconciler.gitrepo import base_files

HOOK = "/api/v1/hooks/git/acme/shop"  # the test org is not the bootstrap one
BODY = b'{"ref": "refs/heads/main"}'
HUGE = "9" * 5000


async def forged(api: Api, n: int) -> int:
    headers = github_headers(BODY, f"forged-{n}", secret="not-the-secret")
    response = await api.client.post(HOOK, data=BODY, headers=headers)
    return response.status


async def genuine(api: Api, n: int) -> int:
    response = await api.client.post(HOOK, data=BODY, headers=github_headers(BODY, f"ok-{n}"))
    return response.status


async def one_token_back(api: Api, timeout: float = 10.0) -> None:
    limiter = api.client.app[SERVICES].auth_limiter
    deadline = time.monotonic() + timeout
    while limiter.exhausted("127.0.0.1"):
        assert time.monotonic() < deadline, "the address budget never refilled"
        await asyncio.sleep(0.05)  # a token bucket refills with time: nothing to await on


async def test_concurrent_forgeries_are_throttled_before_the_signature_check(api: Api) -> None:
    statuses = await asyncio.gather(*(forged(api, n) for n in range(200)))
    burst = api.client.app[SERVICES].auth_limiter.burst
    assert set(statuses) == {401, 429}
    assert statuses.count(401) <= burst + 2  # in flight counts: no more than the burst verified
    assert statuses.count(429) >= 200 - burst - 2


async def test_forgeries_never_spend_the_budget_of_genuine_deliveries(api: Api) -> None:
    settings = api.client.app[SERVICES].settings
    # many genuine deliveries from one address leave its unverified budget untouched ...
    accepted = [await genuine(api, n) for n in range(settings.webhook_burst)]
    assert accepted == [202] * settings.webhook_burst
    limiter = api.client.app[SERVICES].auth_limiter
    assert not limiter.exhausted("127.0.0.1")
    # ... and a flood of forgeries leaves the repository's budget of verified ones untouched
    api.client.app[SERVICES].hook_limiter._buckets.clear()
    await asyncio.gather(*(forged(api, n) for n in range(100)))
    await one_token_back(api)
    after = [await genuine(api, 100 + n) for n in range(settings.webhook_burst)]
    assert after == [202] * settings.webhook_burst


async def test_a_malformed_request_is_one_bounded_log_line_without_its_bytes(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = api.client.make_url("/")
    reader, writer = await asyncio.open_connection(url.host, url.port)
    marker = b"RAWBYTES-\x00\xff-"
    writer.write(b"G\x01T /" + marker * 4000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    answer = await reader.read(1024)
    writer.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    server = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert server, "aiohttp logged the bad request (the test can fail)"
    for record in server:
        line = record.getMessage()
        assert record.exc_info is None
        assert "\n" not in line
        assert len(line) < 400
        assert "RAWBYTES" not in line


async def test_numbers_of_thousands_of_digits_in_api_bodies_are_400(api: Api) -> None:
    for raw in (
        f'{{"bundleId": {HUGE}}}',
        f'{{"bundleId": {"9" * 4000}}}',
        f'{{"revision": null, "bundleId": 1{"0" * 30}}}',
    ):
        response = await api.client.put(
            "/api/v1/projects/shop/environments/dev/pin", data=raw.encode(), headers=api.auth()
        )
        assert response.status == 400, await response.text()
    body = f'{{"name": "x", "url": "/x.git", "pollIntervalSeconds": {HUGE}}}'
    created = await api.client.post("/api/v1/projects", data=body.encode(), headers=api.auth())
    assert created.status == 400


async def test_a_config_value_of_thousands_of_digits_is_a_failed_revision(api: Api) -> None:
    core = api.core
    files = base_files()
    files["integrations/orders/integration.yaml"] += f"  replicas: {HUGE}\n"
    head = core.repo.commit(files, "huge number")
    core.repo.push()
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    revision = core.store.projects.revisions(core.project.id)[0]
    assert revision.commit_id == head
    assert revision.state is RevisionState.INVALID
    assert any("out of range" in e and "integration.yaml:" in e for e in revision.errors)
    status = core.store.projects.status(core.project.id)
    assert (status.ready, status.reconciling, status.stalled) == ("False", False, True)

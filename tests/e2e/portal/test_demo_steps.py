"""The demo's browser steps (tests/e2e/local/portal_browser.py) on the portal world: the same
pages and clicks the end-to-end demo drives, here over a real core and chDB with the recording
replay transport, so they are checked without the whole stack and its Camel JVMs."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser

from tests.e2e.local.portal_browser import replay_in_browser
from tests.integration.portal.harness import PASSWORD, PortalWorld
from tests.integration.telemetry.records import exchange

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_demo_steps_find_replay_and_audit_a_failed_exchange(
    world: PortalWorld, chromium: Browser
) -> None:
    del chromium  # the fixture checks Chromium and axe are there; the steps launch their own
    world.add_exchanges([exchange(1), exchange(2, failed=True), exchange(3)])
    base = str(world.server.make_url("")).rstrip("/")
    # the sync Playwright API needs a thread without an event loop; the portal keeps serving
    done = await asyncio.to_thread(
        replay_in_browser, base, "oscar", PASSWORD, project="shop", env="prod",
        needle="stock service down", timeout=30.0,
    )  # fmt: skip
    assert "Result: succeeded" in done
    assert "EX-00000002" in done
    assert "replay" in done
    assert [c.exchange_id for c in world.replays.commands] == ["EX-00000002"]

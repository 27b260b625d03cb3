"""The live console in a real browser: reached from the environment page, drawn at both widths
without serious or critical accessibility violations or CSP errors, and refreshing itself
while visible (the runner side is the recording stand-in; tests/e2e/local covers the JVM)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.portal.conftest import AXE
from tests.e2e.portal.test_browser import Visit
from tests.integration.portal.harness import PASSWORD, PortalWorld
from tests.integration.portal.test_console import answers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_operator_opens_the_live_console_and_it_refreshes(
    world: PortalWorld, chromium: Browser
) -> None:
    world.console.answers = answers()
    context = await chromium.new_context(base_url=str(world.server.make_url("")))
    await context.add_init_script(path=AXE)
    page = await context.new_page()
    visit = Visit(page)
    await page.goto("/login")
    await page.get_by_label("User name").fill("oscar")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.goto("/projects/shop/environments/prod")

    await page.get_by_role("link", name="Live console").click()
    await expect(page).to_have_url(re.compile(r"/console$"))
    await visit.check("console-index")
    await page.get_by_role("link", name="orders", exact=True).click()
    await expect(page.locator("#live")).to_contain_text("orders-http")
    await expect(page.locator("#live")).to_contain_text("consumer:orders")
    await visit.check("console")

    world.console.answers = answers(route_id="orders-v2")
    await expect(page.locator("#live")).to_contain_text("orders-v2", timeout=12_000)
    assert visit.problems == {}
    assert visit.csp_errors == []

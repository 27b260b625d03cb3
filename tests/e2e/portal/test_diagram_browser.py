"""The route diagram in a real browser: a preview shows the steps its pull request adds, removes
and changes; an environment's diagram picks up Camel's counters by itself (the 2 s poll under
our CSP). Both pages pass axe and are screenshotted at 1280 and 390 px."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.portal.conftest import AXE
from tests.e2e.portal.test_browser import Visit
from tests.integration.portal.harness import PASSWORD, PortalWorld
from tests.integration.portal.test_diagrams import (
    CHANGED_ROUTES,
    PREVIEWS,
    ROUTES,
    add_stats,
    open_pr,
    reconcile,
    route_files,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_preview_diagram_and_live_counters_in_a_browser(
    world: PortalWorld, chromium: Browser
) -> None:
    await reconcile(world, route_files(ROUTES, PREVIEWS), "orders routes, previews on")
    await open_pr(world, 5, CHANGED_ROUTES)
    context = await chromium.new_context(base_url=str(world.server.make_url("")))
    await context.add_init_script(path=AXE)
    page = await context.new_page()
    visit = Visit(page)
    await page.goto("/login")
    await page.get_by_label("User name").fill("victor")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Environments")).to_be_visible()

    await page.goto("/projects/shop/previews/5")
    await page.get_by_role("link", name="orders", exact=True).click()
    await expect(page.get_by_role("img", name="Route diagram of orders")).to_be_visible()
    added = page.locator('g.node[data-mark="added"]')
    await expect(added).to_have_count(1)
    await expect(added).to_have_attribute("data-node", "wireTap1")
    await expect(page.locator('g.node[data-mark="changed"]')).to_have_attribute("data-node", "log1")
    await expect(page.locator('g.node[data-mark="removed"]')).to_have_attribute(
        "data-node", "setBody1"
    )
    await expect(page.locator("#legend")).to_contain_text("+ added 1")
    await visit.check("diagram-preview")

    await page.goto("/projects/shop/environments/prod")
    await page.get_by_role("link", name="Route diagrams").click()
    await page.get_by_role("link", name="orders", exact=True).click()
    await expect(page.locator("g.node")).to_have_count(11)
    add_stats(world, ("orders-in", "", 40, 3), ("orders-in", "log1", 40, 0))
    # no reload: the overlay polls every 2 s while the tab is visible and swaps itself
    await expect(page.locator("#counts")).to_contain_text("40 · 3 failed", timeout=10_000)
    await expect(page.locator("#counts rect.failing")).to_have_count(1)
    await visit.check("diagram-live")

    assert visit.csp_errors == [], "\n".join(visit.csp_errors)
    assert visit.problems == {}
    await context.close()

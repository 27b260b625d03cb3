"""The operator's path in a real browser: log in, open an environment, find a failed exchange,
replay it, see the audit entry. Every page is checked with axe-core (no serious or critical
violation) and against our CSP (no violation), and screenshotted at 1280 and 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from contract.status import ObjectStatus, Outcome
from tests.e2e.portal.conftest import ARTIFACTS, AXE
from tests.integration.portal.harness import PASSWORD, PortalWorld
from tests.integration.telemetry.records import exchange

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
WIDTHS = {"wide": (1280, 900), "narrow": (390, 844)}


# the outermost elements sticking out of the viewport (a horizontal page scroll)
_WIDER_THAN_VIEWPORT = """() => {
  if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .filter(e => !e.parentElement.closest('.scroll'))
    .slice(0, 5).map(e => e.tagName + '.' + e.className);
}"""


async def _axe(page: Page) -> list[dict[str, Any]]:
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


class Visit:
    """Screenshots at both widths and an accessibility check of every page visited."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.csp_errors: list[str] = []
        self.problems: dict[str, list[str]] = {}
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.type == "error":
            self.csp_errors.append(message.text)

    async def check(self, name: str) -> None:
        page = self.page
        for label, (width, height) in WIDTHS.items():
            await page.set_viewport_size({"width": width, "height": height})
            await page.screenshot(path=ARTIFACTS / f"{name}-{label}.png", full_page=True)
            wide = await page.evaluate(_WIDER_THAN_VIEWPORT)
            if wide:
                self.problems.setdefault(name, []).append(f"wider than {width}px: {wide}")
            violations = await _axe(page)  # at both widths: narrow adds scrolling regions
            self.problems.setdefault(name, []).extend(
                f"{width}px {v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in violations
            )
            if not self.problems[name]:
                del self.problems[name]
        await page.set_viewport_size({"width": 1280, "height": 900})


def report_objects(world: PortalWorld) -> None:
    """A runner's status report with one refused and one drifted object: the environment
    page's objects table is then drawn, screenshot and checked for accessibility too."""
    desired = world.core.store.desired
    digest = desired.history_of(world.core.project.id, "prod")[0].digest
    objects = [
        ObjectStatus(key="apps/Deployment/shop-prod/orders", outcome=Outcome.UNCHANGED),
        ObjectStatus(key="v1/Service/shop-prod/orders", outcome=Outcome.FAILED,
                     message="spec.ports[0].port: Invalid value: 0"),
    ]  # fmt: skip
    assert desired.report_status(
        "acme", "shop", "prod", digest, state="Failed/Degraded", detail="1 object refused",
        objects=objects, drifted=["apps/Deployment/shop-prod/orders"],
    )  # fmt: skip


async def test_operator_replays_a_failed_exchange_and_finds_the_audit_entry(
    world: PortalWorld, chromium: Browser
) -> None:
    world.add_exchanges([exchange(1), exchange(2, failed=True), exchange(3)])
    report_objects(world)
    context = await chromium.new_context(base_url=str(world.server.make_url("")))
    await context.add_init_script(path=AXE)  # injected by the browser, not subject to our CSP
    page = await context.new_page()
    visit = Visit(page)

    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await visit.check("login")
    await page.get_by_label("User name").fill("oscar")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Environments")).to_be_visible()
    await visit.check("overview")

    await page.get_by_label("Project or environment").fill("prod")
    await expect(page.locator("#rows tr")).to_have_count(1)  # htmx swapped the rows only
    await expect(page).to_have_url(re.compile(r"q=prod"))

    await page.get_by_role("link", name="prod", exact=True).click()
    await expect(page.get_by_role("heading", name="shop / prod")).to_be_visible()
    await expect(page.get_by_text("Provenance")).to_be_visible()
    await visit.check("environment")
    digest = world.core.store.desired.history_of(world.core.project.id, "prod")[0].digest
    world.core.store.desired.report_status(
        "acme", "shop", "prod", digest, state="healthy", detail="2/2 replicas ready"
    )
    # the live part polls (every 5 s while the tab is visible) and swaps itself in place
    await expect(page.locator("#live")).to_contain_text("2/2 replicas ready", timeout=12_000)

    await page.get_by_role("link", name="Failed messages").click()
    await expect(page.get_by_text("EX-00000002")).to_be_visible()
    await expect(page.get_by_text("EX-00000001")).to_have_count(0)
    await visit.check("failures")

    await page.get_by_role("link", name="EX-00000002").click()
    await expect(page.get_by_text("failed here")).to_be_visible()
    await visit.check("exchange")

    await page.get_by_role("link", name="Replay…").click()
    await expect(page.get_by_role("button", name="Confirm replay")).to_be_visible()
    await visit.check("confirm-replay")
    await page.get_by_role("button", name="Confirm replay").click()
    await expect(page.get_by_role("status")).to_contain_text("succeeded")
    await visit.check("replay-result")
    assert [c.exchange_id for c in world.replays.commands] == ["EX-00000002"]

    await page.get_by_role("link", name=re.compile(r"audit entry \d+")).first.click()
    await expect(page.get_by_text("replay.requested")).to_be_visible()
    await expect(page.get_by_text("EX-00000002")).to_be_visible()
    await visit.check("audit-entry")

    world.core.store.previews.upsert(
        world.core.project.id, 7, ref="refs/pull/7/head", head="a" * 40, base="b" * 40,
        state="ready", summary={"prod": {"camel": [{"integration": "orders",
        "routes": {"added": ["audit"], "removed": [], "changed": ["tick"]}}]}},
        errors=(), ttl_s=3600,
    )  # fmt: skip
    commit = world.core.store.projects.revisions(world.core.project.id)[0].commit_id
    bundle = world.core.store.desired.history_of(world.core.project.id, "prod")[0].id
    for name, path in (
        ("project", "/projects/shop"),
        ("revision", f"/projects/shop/revisions/{commit}"),
        ("preview", "/projects/shop/previews/7"),
        ("confirm-sync", "/projects/shop/environments/prod/sync"),
        ("confirm-pin", f"/projects/shop/environments/prod/pin?bundle={bundle}"),
        ("traces", "/traces"),
        ("runners", "/runners"),
        ("audit", "/audit"),
    ):
        await page.goto(path)
        await visit.check(name)

    assert visit.csp_errors == [], "\n".join(visit.csp_errors)
    assert visit.problems == {}
    await context.close()

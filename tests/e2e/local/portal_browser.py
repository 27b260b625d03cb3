"""The demo's portal part in a real browser (Debian's Chromium through Playwright): log in, open
the environment, find the failed exchange, replay it after confirming, open its audit entry.
Every page passes axe (no serious or critical violation) and is screenshotted."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / ".cache" / "web" / "axe.min.js"
ARTIFACTS = ROOT / ".cache" / "artifacts" / "demo"


def _checked(page: Page, name: str, problems: list[str]) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    problems += [
        f"{name}: {v['id']} {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def replay_in_browser(
    base_url: str, user: str, password: str, *, project: str, env: str, needle: str,
    timeout: float,
) -> str:  # fmt: skip
    """Replays the newest failed exchange whose row mentions `needle`; returns the text of the
    replay's last audit entry."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        context.add_init_script(path=AXE)  # injected by the browser, not subject to our CSP
        page = context.new_page()
        page.goto("/")
        page.get_by_label("User name").fill(user)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Environments")).to_be_visible()
        _checked(page, "overview", problems)

        page.get_by_role("link", name=env, exact=True).click()
        expect(page.get_by_role("heading", name=f"{project} / {env}")).to_be_visible()
        page.get_by_role("link", name="Failed messages").click()
        row = page.locator("#rows tr", has_text=needle).first
        deadline = time.monotonic() + timeout
        while not row.is_visible():  # traces arrive in batches: look again, as a person would
            assert time.monotonic() < deadline, f"no failed exchange with {needle!r} listed"
            page.wait_for_timeout(1000)
            page.reload()
        _checked(page, "failures", problems)

        exchange = row.locator("code").first.inner_text()
        row.get_by_role("link", name=exchange).click()
        expect(page.get_by_text("failed here").first).to_be_visible()
        _checked(page, "exchange", problems)
        page.get_by_role("link", name="Replay…").click()
        page.get_by_role("button", name="Confirm replay").click()
        status = page.get_by_role("status")
        expect(status).to_contain_text(re.compile(r"Result: (succeeded|failed)"))
        _checked(page, "replay-result", problems)
        result = status.inner_text()

        audit = page.get_by_role("link", name=re.compile(r"audit entry \d+"))
        expect(audit).to_have_count(2)  # requested + completed
        audit.last.click()
        expect(page.get_by_text(exchange)).to_be_visible()
        _checked(page, "audit-entry", problems)
        entry = page.locator("main").inner_text()
        browser.close()
    assert problems == [], problems
    return f"{result}\n{entry}"

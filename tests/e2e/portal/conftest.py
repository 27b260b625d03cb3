"""Browser tests reuse the portal world (real core, chDB, portal on 127.0.0.1) and drive
Debian's Chromium through Playwright; no browser is ever downloaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.integration.portal.conftest import world  # noqa: F401 - the shared fixture

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / ".cache" / "web" / "axe.min.js"
ARTIFACTS = ROOT / ".cache" / "artifacts" / "portal"


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make chromium` (apt-get install chromium)")
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make setup` (pinned from npm)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        await browser.close()

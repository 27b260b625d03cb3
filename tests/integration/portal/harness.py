"""Portal test harness: a real core (git, SQLite, reconciler), a real chDB telemetry store, the
portal app on 127.0.0.1 and one HTTP client per logged-in user."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from contract.proxy import ProxyResponse
from contract.replay import ReplayCommand, ReplayOutcome, ReplayResult
from contract.telemetry import ExchangeRecord
from reconciler.service.accounts import PortalAccounts
from telemetry.ingest import Ingestor
from telemetry.store import TelemetryStore
from tests.integration.reconciler.harness import Core
from tests.integration.telemetry.records import batch

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class RecordingReplaySender:
    """Stand-in for the tunnel transport (TunnelReplaySender): the runner/sidecar path needs a
    registered runner and a Camel JVM, and is covered end to end in tests/integration/
    telemetry_path. This one answers `succeeded` and counts the commands it was given."""

    def __init__(self) -> None:
        self.commands: list[ReplayCommand] = []

    async def send_replay(
        self, org: str, runner: str, command: ReplayCommand, timeout: float
    ) -> ReplayResult | None:
        del org, runner, timeout
        self.commands.append(command)
        return ReplayResult(
            request_id=command.request_id,
            environment=command.environment,
            outcome=ReplayOutcome.SUCCEEDED,
            endpoint="direct:replay",
        )


@dataclass
class RecordingConsoleReader:
    """Stand-in for the tunnel (TunnelConsoleReader): a live console needs a connected runner,
    its sidecar and a Camel JVM, covered end to end in tests/e2e/local/test_live_console.py.
    Answers with `answers[target]` (None: no answer in time) and records every request."""

    answers: dict[str, ProxyResponse | None] = field(default_factory=dict)
    offline: set[str] = field(default_factory=set)
    asked: list[tuple[str, str, str, str]] = field(default_factory=list)

    def online(self, org: str, runner: str) -> bool:
        return runner not in self.offline

    async def read(
        self, org: str, runner: str, target: str, path: str, timeout: float
    ) -> ProxyResponse | None:
        del timeout
        self.asked.append((org, runner, target, path))
        return self.answers.get(target)


@dataclass
class Browser:
    """One user's HTTP client (its own cookie jar) and the CSRF token of its session."""

    client: TestClient  # type: ignore[type-arg]
    csrf: str = ""

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        response = await self.client.get(path, allow_redirects=False, **kwargs)
        return response.status, await response.text()

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> tuple[int, str]:
        form = {**data, "csrf": self.csrf} if csrf else data
        response = await self.client.post(path, data=form, allow_redirects=False)
        return response.status, await response.text()

    def cookie(self, name: str) -> str | None:
        """The value this browser sends to the portal (what the server sees)."""
        morsel = self.client.session.cookie_jar.filter_cookies(self.client.make_url("/")).get(name)
        return None if morsel is None else morsel.value

    def plant(self, name: str, value: str) -> None:
        """A cookie set for the portal's host, as an attacker on a sibling site might."""
        self.client.session.cookie_jar.update_cookies(
            {name: value}, response_url=self.client.make_url("/")
        )


@dataclass
class PortalWorld:
    core: Core
    telemetry: TelemetryStore
    server: TestServer
    replays: RecordingReplaySender
    accounts: PortalAccounts
    clients: list[TestClient] = field(default_factory=list)  # type: ignore[type-arg]
    console: RecordingConsoleReader = field(default_factory=RecordingConsoleReader)

    async def browser(self) -> Browser:
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        return Browser(client)

    async def login(self, name: str, password: str = PASSWORD) -> Browser:
        browser = await self.browser()
        status, _ = await login(browser, name, password)
        assert status == 303, f"login of {name} failed: {status}"
        return browser

    def add_exchanges(self, records: Iterable[ExchangeRecord], *, environment: str = "prod",
                      org: str = "acme", integration: str = "orders",
                      project: str = "shop") -> None:  # fmt: skip
        made = batch(f"b-{len(self.clients)}-{id(records)}", list(records), integration=integration)
        # the project is what the control plane's intake fills in from the runner's environments
        made = made.model_copy(update={"environment": environment, "project": project})
        Ingestor(self.telemetry).ingest(org, made)


async def login(browser: Browser, name: str, password: str) -> tuple[int, str]:
    status, page = await browser.get("/login")
    assert status == 200
    token = csrf_of(page[page.index('action="/login"') :])  # not the logout form's token
    response = await browser.client.post(
        "/login",
        data={"csrf": token, "username": name, "password": password, "next": "/"},
        allow_redirects=False,
    )
    if response.status == 303:
        _, home = await browser.get("/")
        browser.csrf = csrf_of(home)
    return response.status, await response.text()


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)

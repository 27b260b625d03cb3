"""Portal security: inert rendering of hostile data, CSRF, the role matrix, org isolation,
session fixation, logout and timeouts, default-deny routing and the response headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from aiohttp.test_utils import make_mocked_request
from aiohttp.web import Response

from contract.telemetry import ExchangeRecord, ExchangeStatus, NodeRecord
from portal.security import CSP, SESSION_COOKIE, safe_next, set_session_cookie
from tests.integration.portal.harness import PortalWorld, login
from tests.integration.reconciler.gitrepo import base_files
from tests.integration.telemetry.records import BASE_MS, exchange

ENV = "/projects/shop/environments/prod"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(2)>'
SINGLE = "' onmouseover='alert(3)"
JS_LINK = "javascript:alert(4)"
HOSTILE = f"{SCRIPT}{BREAKOUT}{SINGLE} {JS_LINK}"


class _Tags(HTMLParser):
    """What a browser would build: elements and their attributes (text is not markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def assert_inert(page: str) -> None:
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag != "img", attrs
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "hx-get", "hx-post"):
            assert not attrs.get(name, "").strip().lower().startswith("javascript:"), attrs
        if tag == "script":  # only ours, from our origin
            assert attrs.get("src", "").startswith("/static/"), attrs
    assert "<script>alert" not in page


def hostile_exchange() -> ExchangeRecord:
    return ExchangeRecord(
        exchange_id="EX-HOSTILE-1",
        route_id=f"route{SCRIPT}",
        status=ExchangeStatus.FAILED,
        started_at_ms=BASE_MS,
        elapsed_ms=5,
        failed_node=f"to{BREAKOUT}",
        exception_type="java.lang.IllegalStateException",
        exception_message=HOSTILE,
        headers={f"X-Evil{BREAKOUT}": HOSTILE, "Referer": JS_LINK},
        body=HOSTILE,
        replayable=True,
        nodes=(
            NodeRecord(seq=0, route_id=f"route{SCRIPT}", node_id=f"n{SINGLE}",
                       node_name="to", endpoint_uri=JS_LINK, started_at_ms=BASE_MS,
                       elapsed_ms=1, failed=True),
        ),
    )  # fmt: skip


async def test_hostile_bodies_headers_route_ids_and_commit_messages_render_inert(
    world: PortalWorld,
) -> None:
    commit = world.core.repo.commit(base_files(period=3000), f"feat: {HOSTILE}\n\nbody {SCRIPT}")
    world.core.repo.push()
    world.core.controller.request(world.core.project.id)
    await world.core.controller.wait_idle()
    world.add_exchanges([hostile_exchange()])
    world.core.store.desired.audit(
        world.core.org_id, "bot", "test.hostile", project="shop", detail={"note": HOSTILE}
    )
    operator = await world.login("oscar")
    pages = [
        "/",
        "/projects/shop",
        f"/projects/shop/revisions/{commit}",
        ENV,
        f"{ENV}/failures",
        "/traces",
        "/traces/EX-HOSTILE-1?project=shop&env=prod",
        f"{ENV}/replay?integration=orders&exchange=EX-HOSTILE-1",
        "/audit",
    ]
    for path in pages:
        status, page = await operator.get(path)
        assert status == 200, path
        assert_inert(page)
    _, detail = await operator.get("/traces/EX-HOSTILE-1")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail  # shown, as text
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in detail
    _, revision = await operator.get(f"/projects/shop/revisions/{commit}")
    assert "feat: &lt;script&gt;" in revision


async def test_hostile_query_values_render_inert(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    for path in (f"/?q={BREAKOUT}", f"/audit?actor={BREAKOUT}&project={SINGLE}"):
        status, page = await viewer.get(path)
        assert status == 200
        assert_inert(page)
    status, page = await viewer.get(f"/login?next={JS_LINK}")
    assert status == 200
    assert 'name="next" value="/"' in page  # after login: home, not the link
    assert safe_next(JS_LINK) == "/"
    assert safe_next("//evil.example/x") == "/"
    assert safe_next("/\\evil.example") == "/"
    assert safe_next("/traces?status=failed") == "/traces?status=failed"


async def test_state_changes_without_or_with_a_wrong_csrf_token_are_refused(
    world: PortalWorld,
) -> None:
    operator = await world.login("oscar")
    before = len(world.core.store.desired.audit_log(world.core.org_id))
    for path in (f"{ENV}/sync", f"{ENV}/unpin", "/logout"):
        status, _ = await operator.post(path, {}, csrf=False)
        assert status == 403, path
        status, _ = await operator.post(path, {"csrf": "x" * 43}, csrf=False)
        assert status == 403, path
    status, _ = await operator.post(
        f"{ENV}/replay",
        {"integration": "orders", "exchange": "EX-1", "key": "a" * 32, "csrf": "wrong"},
        csrf=False,
    )
    assert status == 403
    response = await operator.client.post(
        f"{ENV}/sync", headers={"X-CSRF-Token": "wrong"}, allow_redirects=False
    )
    assert response.status == 403
    assert len(world.core.store.desired.audit_log(world.core.org_id)) == before
    assert world.replays.commands == []
    response = await operator.client.post(
        f"{ENV}/sync", headers={"X-CSRF-Token": operator.csrf}, allow_redirects=False
    )
    assert response.status == 200  # the header htmx sends is accepted


async def test_login_form_needs_its_double_submit_token(world: PortalWorld) -> None:
    browser = await world.browser()
    response = await browser.client.post(
        "/login", data={"username": "victor", "password": "x"}, allow_redirects=False
    )
    assert response.status == 403
    assert browser.cookie(SESSION_COOKIE) is None


async def test_a_second_login_page_load_keeps_the_first_form_valid(world: PortalWorld) -> None:
    """Regression (found by the browser test): the favicon request, redirected to /login,
    replaced the login token and the form on screen answered 403."""
    browser = await world.browser()
    _, first = await browser.get("/login")
    assert (await browser.get("/favicon.ico"))[0] == 204
    assert (await browser.get("/login"))[0] == 200
    token = re.search(r'name="csrf" value="([^"]+)"', first)
    assert token is not None
    response = await browser.client.post(
        "/login",
        data={"csrf": token.group(1), "username": "victor",
              "password": "correct horse battery staple"},
        allow_redirects=False,
    )  # fmt: skip
    assert response.status == 303


ACTIONS = [
    ("GET", f"{ENV}/sync"),
    ("GET", f"{ENV}/unpin"),
    ("GET", f"{ENV}/replay?integration=orders&exchange=EX-00000001"),
    ("POST", f"{ENV}/sync"),
    ("POST", f"{ENV}/unpin"),
    ("POST", f"{ENV}/pin"),
    ("POST", f"{ENV}/replay"),
]
READS = ["/", "/runners", "/projects/shop", ENV, f"{ENV}/failures", "/traces", "/audit"]


@pytest.mark.parametrize(("user", "may_act"), [("victor", False), ("oscar", True), ("alice", True)])
async def test_role_matrix(world: PortalWorld, user: str, may_act: bool) -> None:
    world.add_exchanges([exchange(1, failed=True)])
    browser = await world.login(user)
    for path in READS:
        assert (await browser.get(path))[0] == 200, (user, path)
    bundle = world.core.store.desired.history_of(world.core.project.id, "prod")[0].id
    forms = {
        f"{ENV}/pin": {"bundle": str(bundle)},
        f"{ENV}/replay": {"integration": "orders", "exchange": "EX-00000001", "key": "b" * 32},
    }
    for method, path in ACTIONS:
        if method == "GET":
            status, _ = await browser.get(path)
        else:
            status, _ = await browser.post(path, forms.get(path, {}))
        assert (status == 200) is may_act, (user, method, path, status)
        assert (status == 403) is not may_act, (user, method, path, status)
    _, page = await browser.get(ENV)
    assert ("Sync now" in page) is may_act
    assert len(world.replays.commands) == (1 if may_act else 0)


async def test_another_org_gets_404_for_every_url_of_this_org(world: PortalWorld) -> None:
    world.add_exchanges([exchange(1, failed=True)])
    world.core.store.previews.upsert(
        world.core.project.id, 3, ref="r", head="a" * 40, base="b" * 40, state="ready",
        summary={}, errors=(), ttl_s=60,
    )  # fmt: skip
    entry = world.core.store.desired.audit_log(world.core.org_id)[0].id
    commit = world.core.store.projects.revisions(world.core.project.id)[0].commit_id
    insider = await world.login("alice")
    mallory = await world.login("mallory")
    bundle = world.core.store.desired.history_of(world.core.project.id, "prod")[0].id
    urls = [
        "/projects/shop",
        f"/projects/shop/revisions/{commit}",
        "/projects/shop/previews/3",
        ENV,
        f"{ENV}/failures",
        f"{ENV}/sync",
        f"{ENV}/unpin",
        f"{ENV}/pin?bundle={bundle}",
        f"{ENV}/replay?integration=orders&exchange=EX-00000001",
        "/traces/EX-00000001",
        f"/audit/{entry}",
    ]
    for url in urls:
        assert (await insider.get(url))[0] == 200, url
        assert (await mallory.get(url))[0] == 404, url
    for url, form in (
        (f"{ENV}/sync", {}),
        (f"{ENV}/pin", {"bundle": str(bundle)}),
        (f"{ENV}/replay", {"integration": "orders", "exchange": "EX-00000001", "key": "c" * 32}),
    ):
        assert (await mallory.post(url, form))[0] == 404, url
    _, overview = await mallory.get("/")
    assert "shop" not in overview
    _, traces = await mallory.get("/traces")
    assert "EX-00000001" not in traces
    _, audit = await mallory.get("/audit")
    assert "shop" not in audit
    assert world.replays.commands == []


async def test_login_always_starts_a_new_session(world: PortalWorld) -> None:
    browser = await world.browser()
    planted = "attacker-chosen-session-id-0123456789"
    browser.plant(SESSION_COOKIE, planted)
    status, _ = await login(browser, "victor", "correct horse battery staple")
    assert status == 303
    issued = browser.cookie(SESSION_COOKIE)
    assert issued is not None
    assert issued != planted
    assert len(issued) >= 43  # 256 random bits, url-safe base64
    # a session someone else holds ends when this browser logs in again
    old = issued
    status, _ = await login(browser, "oscar", "correct horse battery staple")
    assert status == 303
    assert browser.cookie(SESSION_COOKIE) != old
    stale = await world.browser()
    stale.plant(SESSION_COOKIE, old)
    assert (await stale.get("/"))[0] == 303


async def test_logout_invalidates_the_session_on_the_server(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    session = viewer.cookie(SESSION_COOKIE)
    assert session is not None
    assert (await viewer.post("/logout", {}))[0] == 303
    replay = await world.browser()
    replay.plant(SESSION_COOKIE, session)
    status, _ = await replay.get("/")
    assert status == 303  # to the login page: the cookie value is dead, not just deleted


async def test_idle_and_absolute_timeouts(world: PortalWorld) -> None:
    clock = world.core.clock
    viewer = await world.login("victor")
    clock.now += world.accounts.settings.idle_timeout_s - 60
    assert (await viewer.get("/"))[0] == 200  # activity refreshes the idle clock
    clock.now += world.accounts.settings.idle_timeout_s - 60
    assert (await viewer.get("/"))[0] == 200
    clock.now += world.accounts.settings.idle_timeout_s + 1
    assert (await viewer.get("/"))[0] == 303
    busy = await world.login("victor")
    for _ in range(int(world.accounts.settings.absolute_timeout_s // 1200) + 1):
        clock.now += 1200
        status, _ = await busy.get("/")
    assert status == 303  # active all along, but older than the absolute limit


async def test_wrong_passwords_are_throttled(world: PortalWorld) -> None:
    browser = await world.browser()
    for _ in range(5):
        assert (await login(browser, "victor", "wrong password!"))[0] == 401
    status, page = await login(browser, "victor", "correct horse battery staple")
    assert status == 429
    assert "Too many failed logins" in page
    status, _ = await login(browser, "nobody-at-all", "wrong password!")
    assert status == 401  # another name from the same address is not locked out yet
    world.core.clock.now += world.accounts.settings.window_s + 1
    assert (await login(browser, "victor", "correct horse battery staple"))[0] == 303


async def test_default_deny_routing_and_headers(world: PortalWorld) -> None:
    anonymous = await world.browser()
    for path in ("/", "/runners", ENV, "/traces", "/audit", "/no/such/page"):
        response = await anonymous.client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/login")
    htmx = await anonymous.client.get("/", headers={"HX-Request": "true"}, allow_redirects=False)
    assert htmx.status == 401
    assert htmx.headers["HX-Redirect"] == "/login"
    _, login_page = await anonymous.get("/login")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', login_page)
    assert len(assets) == 3
    for asset in assets:  # regression: app.js was referenced but not served
        response = await anonymous.client.get(asset)
        assert response.status == 200, asset
        assert response.content_type in ("text/css", "text/javascript"), asset
    assert (await anonymous.get("/static/..%2Fsecurity.py"))[0] == 404
    assert (await anonymous.get("/static/vendor/htmx.org.version"))[0] == 404
    viewer = await world.login("victor")
    assert (await viewer.get("/no/such/page"))[0] == 404
    response = await viewer.client.put("/", allow_redirects=False)
    assert response.status in (404, 405)
    for path in READS:
        response = await viewer.client.get(path)
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        page = await response.text()
        assert not re.search(r"<script(?![^>]*\ssrc=)", page), path  # no inline script
        assert " style=" not in page, path  # no inline style either (CSP style-src 'self')
    assert "'unsafe-inline'" not in CSP
    assert "'unsafe-eval'" not in CSP


async def test_session_cookie_attributes(world: PortalWorld) -> None:
    browser = await world.browser()
    _, page = await browser.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    response = await browser.client.post(
        "/login",
        data={"csrf": token.group(1), "username": "victor",
              "password": "correct horse battery staple"},
        allow_redirects=False,
    )  # fmt: skip
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP here; under TLS it is Secure:
    tls = make_mocked_request("GET", "/").clone(scheme="https")
    answer = Response()
    set_session_cookie(tls, answer, "v" * 43)
    assert answer.cookies[SESSION_COOKIE]["secure"] is True

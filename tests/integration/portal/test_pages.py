"""Every portal page and action through the aiohttp test client, over real stores."""

from __future__ import annotations

import re

from tests.integration.portal.harness import PortalWorld, csrf_of
from tests.integration.reconciler.gitrepo import base_files
from tests.integration.telemetry.records import exchange

ENV = "/projects/shop/environments/prod"


async def _second_revision(world: PortalWorld) -> str:
    commit = world.core.repo.commit(base_files(period=2000), "slower tick")
    world.core.repo.push()
    world.core.controller.request(world.core.project.id)
    await world.core.controller.wait_idle()
    return commit


async def test_overview_lists_one_row_per_environment_with_badges(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    status, page = await viewer.get("/")
    assert status == 200
    assert page.count('href="/projects/shop/environments/') == 2
    assert "Synced" in page
    assert "first good revision" in page
    assert "Ada Dev" in page
    assert "offline" in page  # no runner heartbeat yet
    # health is what the runner reports, not the reconciler's own "dispatched"
    assert page.count('<span class="badge unknown">Unknown</span>') == 2
    digest = world.core.store.desired.history_of(world.core.project.id, "prod")[0].digest
    world.core.store.desired.report_status("acme", "shop", "prod", digest, state="Healthy",
                                           detail="")  # fmt: skip
    _, page = await viewer.get("/")
    assert '<span class="badge healthy">Healthy</span>' in page
    status, filtered = await viewer.get("/?q=nomatch")
    assert "No environment matches." in filtered


async def test_overview_pages_with_a_keyset(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    views = world.core.store.portal
    first = views.overview(world.core.org_id, after=None, text="", limit=1)
    assert [r["environment"] for r in first] == ["dev"]
    rest = views.overview(world.core.org_id, after=("shop", "dev"), text="", limit=5)
    assert [r["environment"] for r in rest] == ["prod"]
    status, _ = await viewer.get("/?after=shop/dev")
    assert status == 200


async def test_htmx_fragment_is_the_rows_only(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    headers = {"HX-Request": "true", "HX-Target": "rows"}
    status, rows = await viewer.get("/?q=shop", headers=headers)
    assert status == 200
    assert "<html" not in rows
    assert "<tr>" in rows
    assert "/environments/dev" in rows


async def test_environment_shows_provenance_and_history(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    status, page = await viewer.get(ENV)
    assert status == 200
    bundle = world.core.store.desired.history_of(world.core.project.id, "prod")[0]
    assert f"#{bundle.id}" in page
    algorithm, hexdigits = bundle.digest.split(":")
    assert f"<code>{algorithm}:{hexdigits[:12]}</code>" in page
    assert bundle.revision[:12] in page
    assert "no report yet" in page
    assert "No window blocks syncs now." in page
    assert "Sync now" not in page  # a viewer gets no action links


async def test_live_poll_answers_204_while_nothing_changed(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    headers = {"HX-Request": "true", "HX-Target": "live"}
    status, fragment = await viewer.get(ENV, headers=headers)
    assert status == 200
    assert fragment.lstrip().startswith('<section id="live"')
    version = re.search(r"v=([0-9a-f]{16})", fragment)
    assert version is not None
    status, body = await viewer.get(f"{ENV}?v={version.group(1)}", headers=headers)
    assert (status, body) == (204, "")
    project = world.core.store.projects.by_name(world.core.org_id, "shop")
    assert project is not None
    world.core.store.desired.report_status(
        "acme", "shop", "prod",
        world.core.store.desired.history_of(project.id, "prod")[0].digest,
        state="healthy", detail="2/2 ready",
    )  # fmt: skip
    status, changed = await viewer.get(f"{ENV}?v={version.group(1)}", headers=headers)
    assert status == 200
    assert "healthy" in changed
    assert "2/2 ready" in changed


async def test_revision_errors_grouped_by_file(world: PortalWorld) -> None:
    broken = base_files()
    broken["integrations/orders/routes/main.camel.yaml"] = "- route:\n    from: {}\n  bad: [\n"
    broken["camelops.yaml"] = broken["camelops.yaml"].replace("kind: Project", "kind: Projekt")
    commit = world.core.repo.commit(broken, "break two files")
    world.core.repo.push()
    world.core.controller.request(world.core.project.id)
    await world.core.controller.wait_idle()
    viewer = await world.login("victor")
    status, page = await viewer.get(f"/projects/shop/revisions/{commit[:10]}")
    assert status == 200
    assert "invalid" in page
    assert "break two files" in page
    files = re.findall(r"<h3><code>([^<]+)</code>", page)
    assert len(files) >= 1
    assert files == sorted(files)
    status, project = await viewer.get("/projects/shop")
    assert status == 200
    assert commit[:12] in project
    assert "error(s)" in project


async def test_preview_page(world: PortalWorld) -> None:
    world.core.store.previews.upsert(
        world.core.project.id, 7, ref="refs/pull/7/head", head="a" * 40, base="b" * 40,
        state="ready", summary={"prod": {"camel": [{"integration": "orders",
        "routes": {"added": ["audit"]}}]}}, errors=(), ttl_s=3600,
    )  # fmt: skip
    viewer = await world.login("victor")
    status, listing = await viewer.get("/projects/shop")
    assert status == 200
    assert "/projects/shop/previews/7" in listing
    status, page = await viewer.get("/projects/shop/previews/7")
    assert status == 200
    assert "refs/pull/7/head" in page
    assert "audit" in page
    assert (await viewer.get("/projects/shop/previews/8"))[0] == 404


async def test_runners_page(world: PortalWorld) -> None:
    world.core.store.accounts.register_runner(world.core.org_id, "prod-runner")
    viewer = await world.login("victor")
    status, page = await viewer.get("/runners")
    assert status == 200
    assert "prod-runner" in page
    assert "shop/prod" in page


async def test_operator_syncs_pins_and_unpins_with_audit(world: PortalWorld) -> None:
    await _second_revision(world)
    operator = await world.login("oscar")
    history = world.core.store.desired.history_of(world.core.project.id, "prod")
    assert len(history) == 2
    older = history[1]
    status, confirm = await operator.get(f"{ENV}/pin?bundle={older.id}")
    assert status == 200
    assert "Confirm pin" in confirm
    status, done = await operator.post(f"{ENV}/pin", {"bundle": str(older.id)})
    assert status == 200, done
    env = world.core.store.desired.environment(world.core.project.id, "prod")
    assert env is not None
    assert env.pinned_bundle_id == older.id == env.deployed_bundle_id
    status, page = await operator.get(ENV)
    assert "Pinned to bundle" in page
    assert "Unpin" in page
    status, done = await operator.post(f"{ENV}/unpin", {})
    assert status == 200
    env = world.core.store.desired.environment(world.core.project.id, "prod")
    assert env is not None
    assert env.pinned_bundle_id is None
    assert env.deployed_bundle_id == history[0].id
    status, done = await operator.post(f"{ENV}/sync", {})
    assert status == 200
    assert "bundle dispatched" in done
    actions = [(a.actor, a.action) for a in world.core.store.desired.audit_log(world.core.org_id)]
    assert ("oscar", "environment.pinned") in actions
    assert ("oscar", "sync.manual") in actions
    assert ("oscar", "environment.unpinned") in actions
    status, audit = await operator.get("/audit?actor=oscar")
    assert "environment.pinned" in audit
    assert "sync.automated" not in audit


async def test_failed_message_replay_is_confirmed_idempotent_and_audited(
    world: PortalWorld,
) -> None:
    world.add_exchanges([exchange(1), exchange(2, failed=True), exchange(3, failed=True)])
    operator = await world.login("oscar")
    status, failures = await operator.get(f"{ENV}/failures")
    assert status == 200
    assert "EX-00000003" in failures
    assert "EX-00000002" in failures
    assert "EX-00000001" not in failures  # completed, not failed
    assert failures.index("EX-00000003") < failures.index("EX-00000002")  # newest first
    status, detail = await operator.get("/traces/EX-00000003?project=shop&env=prod")
    assert status == 200
    assert "failed here" in detail
    assert "stock service down" in detail
    status, confirm = await operator.get(f"{ENV}/replay?integration=orders&exchange=EX-00000003")
    assert status == 200
    assert "Confirm replay" in confirm
    key = re.search(r'name="key" value="([0-9a-f]{32})"', confirm)
    assert key is not None
    form = {"integration": "orders", "exchange": "EX-00000003", "key": key.group(1)}
    status, result = await operator.post(f"{ENV}/replay", form)
    assert status == 200
    assert "succeeded" in result
    audit_ids = re.findall(r'href="/audit/(\d+)"', result)
    assert len(audit_ids) == 2  # requested + completed
    status, again = await operator.post(f"{ENV}/replay", form)  # a double submit
    assert status == 200
    assert "submitted already" in again
    assert len(world.replays.commands) == 1
    status, entry = await operator.get(f"/audit/{audit_ids[0]}")
    assert status == 200
    assert "replay.requested" in entry
    assert "EX-00000003" in entry
    other = {**form, "exchange": "EX-00000002"}
    status, _ = await operator.post(f"{ENV}/replay", other)
    assert status == 409  # the same confirmation cannot replay another exchange


async def test_a_redelivered_exchange_is_listed_once(world: PortalWorld) -> None:
    world.add_exchanges([exchange(5, failed=True), exchange(6, failed=True)])
    world.add_exchanges([exchange(5, failed=True)])  # at-least-once: the same exchange again
    viewer = await world.login("victor")
    _, failures = await viewer.get(f"{ENV}/failures")
    assert re.findall(r"<code>(EX-\d{8})</code></a>", failures) == ["EX-00000006", "EX-00000005"]
    _, traces = await viewer.get("/traces")
    assert re.findall(r"<code>(EX-\d{8})</code></a>", traces) == ["EX-00000006", "EX-00000005"]


async def test_traces_search_pages_by_keyset_without_gaps(world: PortalWorld) -> None:
    world.add_exchanges([exchange(n, failed=n % 10 == 0) for n in range(1, 121)])
    viewer = await world.login("victor")
    seen: list[str] = []
    path = "/traces?integration=orders"
    for _ in range(4):
        status, page = await viewer.get(path)
        assert status == 200
        seen += re.findall(r"<code>(EX-\d{8})</code></a>", page)
        older = re.search(r'<a href="(/traces\?[^"]+)">Older</a>', page)
        if older is None:
            break
        path = older.group(1).replace("&amp;", "&")
    assert seen == [f"EX-{n:08d}" for n in range(120, 0, -1)]
    status, failed = await viewer.get("/traces?status=failed")
    assert failed.count("<code>EX-") == 12
    status, one = await viewer.get("/traces?exchange=EX-00000007")
    assert one.count("<code>EX-") == 1
    # exchange n starts at BASE_MS + n s (2026-09-21T14:13:20Z + n s)
    status, window = await viewer.get("/traces?since=2026-09-21T14:15&until=2026-09-21T14:15:10")
    assert re.findall(r"<code>(EX-\d{8})</code></a>", window) == [
        f"EX-{n:08d}" for n in range(109, 99, -1)
    ]
    status, none = await viewer.get("/traces?since=2026-09-21T15:00")
    assert "No exchange matches." in none


async def test_a_cursor_beyond_any_date_is_ignored_not_a_server_error(world: PortalWorld) -> None:
    world.add_exchanges([exchange(1)])
    viewer = await world.login("victor")
    for query in (
        "before=99999999999999999:EX-00000001", "before=9999999999999:EX-00000001",
        "since=0001-01-01T00:00:00%2B01:00", "until=9999-12-31T23:59:59-01:00",
    ):  # fmt: skip
        status, page = await viewer.get(f"/traces?{query}")
        assert status == 200, query
        assert "<code>EX-00000001</code>" in page, query


async def test_audit_filters_and_pages(world: PortalWorld) -> None:
    for n in range(60):
        world.core.store.desired.audit(world.core.org_id, "bot", f"test.{n % 2}", project="shop")
    viewer = await world.login("victor")
    status, page = await viewer.get("/audit?actor=bot&action=test.1")
    assert status == 200
    assert page.count("<code>test.1</code>") == 30
    status, first = await viewer.get("/audit?actor=bot")
    assert first.count("<code>test.") == 50
    older = re.search(r'<a href="(/audit\?[^"]+)">Older</a>', first)
    assert older is not None
    status, second = await viewer.get(older.group(1).replace("&amp;", "&"))
    assert second.count("<code>test.") == 10


async def test_logout_form_posts_with_the_session_token(world: PortalWorld) -> None:
    viewer = await world.login("victor")
    _, home = await viewer.get("/")
    assert csrf_of(home) == viewer.csrf
    status, _ = await viewer.post("/logout", {})
    assert status == 303
    status, _ = await viewer.get("/")
    assert status == 303


async def test_a_blocking_sync_window_is_shown_and_needs_an_override(world: PortalWorld) -> None:
    files = base_files()
    files["camelops.yaml"] = files["camelops.yaml"].replace(
        "      namespace: shop-prod\n",
        "      namespace: shop-prod\n      syncWindows:\n        - kind: deny\n"
        '          schedule: "* * * * *"\n          duration: 2h\n',
    )
    world.core.repo.commit(files, "freeze prod")
    world.core.repo.push()
    world.core.controller.request(world.core.project.id)
    await world.core.controller.wait_idle()
    operator = await world.login("oscar")
    _, page = await operator.get(ENV)
    assert "Blocked" in page
    assert "a deny sync window is active" in page
    assert "<code>* * * * *</code> (UTC)" in page
    status, refused = await operator.post(f"{ENV}/sync", {})
    assert status == 409
    assert "override the sync window" in refused
    status, done = await operator.post(f"{ENV}/sync", {"override": "on"})
    assert status == 200
    assert "bundle dispatched" in done

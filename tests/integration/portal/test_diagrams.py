"""Route diagrams through the portal: a real reconciled repository (git, SQLite), real chDB
counters; the live overlay answers 204 when nothing changed and never lays out again; a preview
marks what its pull request adds, removes and changes; untrusted ids and URIs render inert."""

from __future__ import annotations

import re
import time

from contract.telemetry import RouteStat
from portal.keys import PORTAL
from telemetry.ingest import Ingestor
from tests.integration.portal.harness import PortalWorld
from tests.integration.reconciler.gitrepo import base_files
from tests.integration.telemetry.records import batch

ROUTES = """\
- route:
    id: orders-in
    from:
      uri: timer:orders
      steps:
        - log:
            message: received
        - choice:
            when:
              - simple: "${header.big}"
                steps:
                  - to: log:big
            otherwise:
              steps:
                - to: log:small
        - doTry:
            steps:
              - to: direct:ship
            doCatch:
              - exception: [java.lang.Exception]
                steps:
                  - log: ship failed
        - setBody:
            constant: done
- route:
    id: ship
    from:
      uri: direct:ship
      steps:
        - to:
            id: ship-out
            uri: log:ship
"""
PREVIEWS = """\
  previews:
    enabled: true
    ttl: 1h
"""
CHANGED_ROUTES = (
    ROUTES.replace("message: received", "message: got an order")  # log1 changed
    .replace("        - setBody:\n            constant: done\n", "")  # setBody1 removed
    .replace(
        "                - to: log:small\n",
        "                - to: log:small\n"
        "                - wireTap:\n                    uri: log:audit\n",  # wireTap1 added
    )
)
LIVE = {"HX-Request": "true", "HX-Target": "counts"}


async def reconcile(world: PortalWorld, files: dict[str, str], message: str) -> str:
    commit = world.core.repo.commit(files, message)
    world.core.repo.push()
    world.core.controller.request(world.core.project.id)
    await world.core.controller.wait_idle()
    return commit


async def open_pr(world: PortalWorld, number: int, routes: str) -> None:
    """A pull request from a branch of the repository, and the reconcile that previews it."""
    repo = world.core.repo
    repo.git("checkout", "-q", "-B", f"pr-{number}", "main")
    repo.commit(route_files(routes, PREVIEWS), "tweak orders")
    repo.push(f"HEAD:refs/heads/pr-{number}", force=True)
    repo.push(f"HEAD:refs/pull/{number}/head", force=True)
    repo.git("checkout", "-q", "main")
    world.core.controller.request(world.core.project.id)
    await world.core.controller.wait_idle()


def route_files(routes: str, previews: str = "") -> dict[str, str]:
    files = base_files(previews=previews)
    files["integrations/orders/routes/main.camel.yaml"] = routes
    return files


def add_stats(world: PortalWorld, *stats: tuple[str, str, int, int]) -> None:
    now_ms = int(time.time() * 1000)
    made = batch(f"stats-{now_ms}-{len(stats)}", [])
    rows = tuple(
        RouteStat(
            route_id=route,
            node_id=node,
            sampled_at_ms=now_ms,
            exchanges_total=total,
            exchanges_failed=failed,
            mean_ms=12,
        )
        for route, node, total, failed in stats
    )
    made = made.model_copy(update={"route_stats": rows, "environment": "prod"})
    Ingestor(world.telemetry).ingest("acme", made)


def _nodes(page: str) -> dict[str, str]:
    """data-node -> data-mark ('' when unmarked) of every drawn box."""
    found = re.findall(r'<g class="node[^"]*" id="n[0-9a-f]+" data-route="[^"]*" '
                       r'data-node="([^"]*)"(?: data-mark="([a-z]+)")?>', page)  # fmt: skip
    return dict(found)


async def test_environment_diagram_with_live_counters(world: PortalWorld) -> None:
    await reconcile(world, route_files(ROUTES), "orders routes")
    viewer = await world.login("victor")
    status, index = await viewer.get("/projects/shop/environments/prod/diagram")
    assert status == 200
    assert 'href="/projects/shop/environments/prod/diagram/orders"' in index

    status, page = await viewer.get("/projects/shop/environments/prod/diagram/orders")
    assert status == 200
    nodes = _nodes(page)
    # Camel's own processor ids: per-EIP counters in build order; explicit ids as written
    for node in ("from1", "log1", "choice1", "when1", "to1", "otherwise1", "to2", "doTry1"):
        assert node in nodes, node
    assert "setBody1" in nodes
    assert "ship-out" in nodes
    # the doTry block is one box standing for what it holds
    assert "log2" not in nodes
    assert "direct:ship" not in nodes
    assert 'hx-trigger="camelops:tick from:body"' in page
    assert 'hx-sync="this:drop"' in page

    add_stats(
        world, ("orders-in", "", 40, 3), ("orders-in", "log1", 40, 0), ("orders-in", "to3", 9, 3)
    )
    cache = world.server.app[PORTAL].layouts
    laid_out = cache.layouts
    response = await viewer.client.get(
        "/projects/shop/environments/prod/diagram/orders", headers=LIVE
    )
    assert response.status == 200
    fragment = await response.text()
    assert "<h1>" not in fragment
    assert fragment.lstrip().startswith('<div id="counts"')
    assert "40 · 0 failed · 12 ms" in fragment  # log1
    assert "40 · 3 failed" in fragment  # the route's start box shows the route's totals
    assert "9 · 3 failed" in fragment  # to3 sits inside the collapsed doTry box
    version = re.search(r"\?v=([0-9a-f]+)", fragment)
    assert version is not None

    again = await viewer.client.get(
        f"/projects/shop/environments/prod/diagram/orders?v={version.group(1)}", headers=LIVE
    )
    assert again.status == 204
    assert await again.text() == ""

    add_stats(world, ("orders-in", "log1", 41, 1))
    moved = await viewer.client.get(
        f"/projects/shop/environments/prod/diagram/orders?v={version.group(1)}", headers=LIVE
    )
    assert moved.status == 200
    assert "41 · 1 failed" in await moved.text()
    assert cache.layouts == laid_out  # polls never lay the diagram out again
    diagrams = world.server.app[PORTAL].diagrams
    assert diagrams is not None
    assert diagrams.reads == 1  # the revision was read once


async def test_preview_diagram_marks_added_removed_changed(world: PortalWorld) -> None:
    await reconcile(world, route_files(ROUTES, PREVIEWS), "orders routes, previews on")
    await open_pr(world, 5, CHANGED_ROUTES)

    viewer = await world.login("victor")
    status, preview = await viewer.get("/projects/shop/previews/5")
    assert status == 200, preview
    assert 'href="/projects/shop/previews/5/diagram/orders"' in preview, preview[-1500:]
    status, page = await viewer.get("/projects/shop/previews/5/diagram/orders")
    assert status == 200
    nodes = _nodes(page)
    assert nodes["log1"] == "changed"
    assert nodes["wireTap1"] == "added"
    assert nodes["setBody1"] == "removed"
    assert nodes["choice1"] == ""
    assert nodes["to1"] == ""
    assert nodes["ship-out"] == ""
    assert 'id="legend"' in page
    assert "hx-trigger" not in page.split("<main", 1)[1]  # a preview has no live counters


async def test_hostile_route_ids_and_uris_render_inert(world: PortalWorld) -> None:
    hostile = """\
- route:
    id: "x\\"><script>alert(1)</script>"
    from:
      uri: timer:t
      steps:
        - log:
            id: "n\\" onmouseover=\\"alert(2)"
            message: "javascript:alert(document.cookie)"
        - setBody:
            constant: "'\\"><svg onload=alert(3)>"
"""
    await reconcile(world, route_files(hostile), "hostile")
    viewer = await world.login("victor")
    status, page = await viewer.get("/projects/shop/environments/prod/diagram/orders")
    assert status == 200, page
    assert "<script>alert" not in page
    assert "<svg onload" not in page
    assert 'onmouseover="alert' not in page
    assert 'href="javascript:' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    assert 'data-node="n&#34; onmouseover=&#34;alert(2)"' in page


async def test_diagrams_are_scoped_and_checked(world: PortalWorld) -> None:
    commit = await reconcile(world, route_files(ROUTES), "orders routes")
    viewer = await world.login("victor")
    status, revision = await viewer.get(f"/projects/shop/revisions/{commit}")
    assert status == 200
    assert f'href="/projects/shop/revisions/{commit}/diagram/orders"' in revision
    assert (await viewer.get(f"/projects/shop/revisions/{commit}/diagram/orders"))[0] == 200
    assert (await viewer.get(f"/projects/shop/revisions/{'0' * 40}/diagram/orders"))[0] == 404
    assert (await viewer.get("/projects/shop/environments/prod/diagram/nope"))[0] == 404
    assert (await viewer.get("/projects/shop/environments/nope/diagram/orders"))[0] == 404
    outsider = await world.login("mallory")
    for path in (
        "/projects/shop/environments/prod/diagram",
        "/projects/shop/environments/prod/diagram/orders",
        f"/projects/shop/revisions/{commit}/diagram/orders",
    ):
        assert (await outsider.get(path))[0] == 404, path
    anonymous = await world.browser()
    status, _ = await anonymous.get("/projects/shop/environments/prod/diagram/orders")
    assert status == 303


async def test_a_huge_route_is_cut_at_the_cap_with_a_count(world: PortalWorld) -> None:
    steps = "".join(f"        - log: step {n}\n" for n in range(450))
    huge = f"- route:\n    id: huge\n    from:\n      uri: timer:huge\n      steps:\n{steps}"
    commit = await reconcile(world, route_files(huge), "a long route")
    viewer = await world.login("victor")
    status, page = await viewer.get(f"/projects/shop/revisions/{commit}/diagram/orders")
    assert status == 200
    assert len(_nodes(page)) == 400
    assert "51 more steps not drawn: a diagram draws at most 400 boxes" in page
    assert "… 51 more steps not drawn" in page  # under the cut route, too

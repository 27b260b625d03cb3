"""Route diagrams: an environment's running revision with live counters, a revision, and a
pull-request preview with the steps it adds, removes or changes."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from portal import diagram as layout
from portal.keys import PORTAL, SESSION
from portal.render import error_page, fragment_of, render
from portal.routing import needs
from reconciler.service.portal_types import Role
from reconciler.service.route_diagrams import RevisionRoutes
from renderers.route_graph import RouteTree, mark_changes

routes = web.RouteTableDef()
ENV = "/projects/{project}/environments/{env}"
PREVIEW = "/projects/{project}/previews/{number:[0-9]{1,9}}"
REVISION = "/projects/{project}/revisions/{commit:[0-9a-f]{40,64}}"
LIVE_WINDOW_S = 600.0
"""Counters older than this (no sidecar reported since) are not shown."""


async def _routes(request: web.Request, commit: str) -> RevisionRoutes | None:
    diagrams = request.app[PORTAL].diagrams
    if diagrams is None or not commit:
        return None
    who = request[SESSION].principal
    return await diagrams.routes(who, request.match_info["project"], commit)


async def _laid_out(
    request: web.Request, key: tuple[object, ...], trees: tuple[RouteTree, ...]
) -> layout.Diagram:
    cache = request.app[PORTAL].layouts
    found = cache.get(key)
    if found is None:
        found = await asyncio.to_thread(layout.build_diagram, trees)
        cache.put(key, found)
    return found


def _base_context(diagram: layout.Diagram, integration: str) -> dict[str, Any]:
    return {
        "d": diagram,
        "integration": integration,
        "node_w": layout.NODE_W,
        "node_h": layout.NODE_H,
        "cap": layout.MAX_NODES,
        "live": False,
        "counters": [],
        "version": "",
    }


@routes.get(ENV + "/diagram")
@needs(Role.VIEWER)
async def environment_index(request: web.Request) -> web.Response:
    page = await request.app[PORTAL].views.environment(
        request[SESSION].principal, request.match_info["project"], request.match_info["env"]
    )
    if page is None:
        return error_page(request, 404, "There is no such environment.")
    bundle = page.deployed or page.desired
    found = await _routes(request, bundle.revision) if bundle else None
    names = sorted(found.integrations) if found else []
    return render(request, "diagram_index.html", {"page": page, "names": names})


@routes.get(ENV + "/diagram/{integration}")
@needs(Role.VIEWER)
async def environment_diagram(request: web.Request) -> web.Response:
    session = request[SESSION]
    page = await request.app[PORTAL].views.environment(
        session.principal, request.match_info["project"], request.match_info["env"]
    )
    if page is None:
        return error_page(request, 404, "There is no such environment.")
    bundle = page.deployed or page.desired
    integration = request.match_info["integration"]
    found = await _routes(request, bundle.revision) if bundle else None
    if bundle is None or found is None or integration not in found.integrations:
        return error_page(request, 404, "This environment runs no such integration.")
    key = (request[SESSION].org, found.project, found.commit, integration, "")
    diagram = await _laid_out(request, key, found.integrations[integration])
    counters = await _counters(request, diagram, integration, page.env.name)
    version = _version(counters)
    if fragment_of(request) == "counts" and request.query.get("v") == version:
        return web.Response(status=204)  # nothing changed: htmx keeps the overlay and its poll
    context = {
        **_base_context(diagram, integration),
        "page": page,
        "bundle": bundle,
        "live": request.app[PORTAL].traces is not None,
        "counters": counters,
        "version": version,
    }
    return render(request, "diagram.html", context)


async def _counters(
    request: web.Request, diagram: layout.Diagram, integration: str, environment: str
) -> list[layout.NodeCounters]:
    reader = request.app[PORTAL].traces
    if reader is None:
        return []
    org = request[SESSION].org
    since = datetime.fromtimestamp(time.time() - LIVE_WINDOW_S, UTC)
    rows = await asyncio.to_thread(
        lambda: reader.live_counters(org, integration, environment, since=since)
    )
    stats = {
        (r.route_id, r.node_id): layout.Counters(r.total, r.failed, r.inflight, r.mean_ms)
        for r in rows
    }
    return layout.counters_of(diagram, stats)


def _version(counters: list[layout.NodeCounters]) -> str:
    text = repr([(c.node.dom_id, c.counters) for c in counters])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@routes.get(PREVIEW + "/diagram/{integration}")
@needs(Role.VIEWER)
async def preview_diagram(request: web.Request) -> web.Response:
    who = request[SESSION].principal
    name = request.match_info["project"]
    preview = await request.app[PORTAL].views.preview(who, name, int(request.match_info["number"]))
    if preview is None or preview.state != "ready":
        return error_page(request, 404, "There is no such preview.")
    integration = request.match_info["integration"]
    head = await _routes(request, preview.head_commit)
    base = await _routes(request, preview.base_commit)
    if head is None:
        return error_page(request, 404, "The preview's routes are not available.")
    new = head.integrations.get(integration)
    old = base.integrations.get(integration) if base else None
    if new is None and old is None:
        return error_page(request, 404, "The preview has no such integration.")
    key = (request[SESSION].org, name, preview.head_commit, integration, preview.base_commit)
    cached = request.app[PORTAL].layouts.get(key)
    if cached is None:
        trees = mark_changes(old or (), new or ())
        cached = await _laid_out(request, key, trees)
    context = {**_base_context(cached, integration), "project": name, "preview": preview}
    return render(request, "diagram.html", context)


@routes.get(REVISION + "/diagram/{integration}")
@needs(Role.VIEWER)
async def revision_diagram(request: web.Request) -> web.Response:
    commit = request.match_info["commit"]
    found = await _routes(request, commit)
    integration = request.match_info["integration"]
    if found is None or integration not in found.integrations:
        return error_page(request, 404, "There is no such integration in this revision.")
    key = (request[SESSION].org, found.project, commit, integration, "")
    diagram = await _laid_out(request, key, found.integrations[integration])
    context = {**_base_context(diagram, integration), "project": found.project, "commit": commit}
    return render(request, "diagram.html", context)

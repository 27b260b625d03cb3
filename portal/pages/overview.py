"""The landing page: one row per environment, filtered and paged on the server."""

from __future__ import annotations

from aiohttp import web

from portal.keys import PORTAL, SESSION
from portal.render import render
from portal.routing import needs
from reconciler.service.portal_types import Role
from reconciler.service.portal_views import RUNNER_STATES, SYNC_FILTERS, OverviewFilter

routes = web.RouteTableDef()
PAGE_SIZE = 50


@routes.get("/")
@needs(Role.VIEWER)
async def overview(request: web.Request) -> web.Response:
    who = request[SESSION].principal
    query = request.query
    wanted = OverviewFilter(
        text=query.get("q", "")[:100],
        sync=query.get("sync", "") if query.get("sync") in SYNC_FILTERS else "",
        runner=query.get("runner", "") if query.get("runner") in RUNNER_STATES else "",
    )
    after = query.get("after", "")[:200]
    page = await request.app[PORTAL].views.overview(
        who, after=after, wanted=wanted, limit=PAGE_SIZE
    )
    context = {
        "page": page,
        "wanted": wanted,
        "sync_states": SYNC_FILTERS,
        "runner_states": RUNNER_STATES,
        "filters": {"q": wanted.text, "sync": wanted.sync, "runner": wanted.runner},
    }
    return render(request, "overview.html", context)

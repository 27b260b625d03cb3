"""The landing page: one row per environment, filtered and paged on the server."""

from __future__ import annotations

from aiohttp import web

from portal.keys import PORTAL, SESSION
from portal.render import render
from portal.routing import needs
from reconciler.service.portal_types import Role

routes = web.RouteTableDef()
PAGE_SIZE = 50


@routes.get("/")
@needs(Role.VIEWER)
async def overview(request: web.Request) -> web.Response:
    who = request[SESSION].principal
    text, after = request.query.get("q", "")[:100], request.query.get("after", "")[:200]
    page = await request.app[PORTAL].views.overview(who, after=after, text=text, limit=PAGE_SIZE)
    return render(request, "overview.html", {"page": page, "q": text, "after": after})

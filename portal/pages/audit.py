"""The audit log: every action of the portal and the API, filtered by actor, action, project."""

from __future__ import annotations

from aiohttp import web

from portal.keys import PORTAL, SESSION
from portal.render import error_page, render
from portal.routing import needs
from reconciler.service.portal_types import Role
from reconciler.service.portal_views import AuditFilter

routes = web.RouteTableDef()
PAGE_SIZE = 50


@routes.get("/audit")
@needs(Role.VIEWER)
async def audit(request: web.Request) -> web.Response:
    wanted = AuditFilter(
        actor=request.query.get("actor", "").strip(),
        action=request.query.get("action", "").strip(),
        project=request.query.get("project", "").strip(),
    )
    before_text = request.query.get("before", "")
    before = int(before_text) if before_text.isdigit() and len(before_text) < 19 else None
    views = request.app[PORTAL].views
    rows, next_before = await views.audit(
        request[SESSION].principal, wanted, before=before, limit=PAGE_SIZE
    )
    query = {k: v for k, v in request.query.items() if k != "before" and v}
    context = {"rows": rows, "wanted": wanted, "query": query, "next": next_before}
    return render(request, "audit.html", context)


@routes.get("/audit/{entry:[0-9]{1,18}}")
@needs(Role.VIEWER)
async def audit_entry(request: web.Request) -> web.Response:
    entry = await request.app[PORTAL].views.audit_entry(
        request[SESSION].principal, int(request.match_info["entry"])
    )
    if entry is None:
        return error_page(request, 404, "There is no such audit entry.")
    return render(request, "audit_entry.html", {"entry": entry})

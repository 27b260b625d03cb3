"""Live console of one running integration (operators): Camel's routes with processors,
inflight exchanges and health checks, read through the environment's runner on every look
(`reconciler.service.live_console`), refreshed by htmx only while the tab is visible."""

from __future__ import annotations

import hashlib

from aiohttp import web

from portal.keys import PORTAL, SESSION
from portal.render import error_page, fragment_of, render
from portal.routing import needs
from reconciler.service.live_console import (
    LiveConsoleView,
    RunnerOfflineError,
    TargetNotAllowedError,
)
from reconciler.service.portal_actions import ConflictError, NotAllowedError, NotFoundError
from reconciler.service.portal_types import Role

routes = web.RouteTableDef()
_STATUS: dict[type[Exception], int] = {
    NotFoundError: 404,
    NotAllowedError: 403,
    TargetNotAllowedError: 400,
    RunnerOfflineError: 503,
    ConflictError: 409,
}
_STATUS_OF = tuple(_STATUS)
ENV = "/projects/{project}/environments/{env}"


@routes.get(ENV + "/console")
@needs(Role.OPERATOR)
async def console_index(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    page = await portal.views.environment(
        request[SESSION].principal, request.match_info["project"], request.match_info["env"]
    )
    if page is None:
        return error_page(request, 404, "There is no such environment.")
    names: list[str] = []
    bundle = page.deployed or page.desired
    if portal.diagrams is not None and bundle is not None:
        found = await portal.diagrams.routes(
            request[SESSION].principal, page.project.name, bundle.revision
        )
        names = sorted(found.integrations) if found else []
    return render(request, "console_index.html", {"page": page, "names": names})


def _version(view: LiveConsoleView) -> str:
    """Changes whenever the panels would render differently: the poll answers 204 if not."""
    parts = (view.routes, view.inflight, view.health, sorted(view.errors.items()))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


@routes.get(ENV + "/console/{integration}")
@needs(Role.OPERATOR)
async def console(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    if portal.console is None:
        return error_page(request, 409, "The live console is not available on this server.")
    match = request.match_info
    try:
        view = await portal.console.read(
            request[SESSION].principal, match["project"], match["env"], match["integration"]
        )
    except _STATUS_OF as exc:
        status = next(code for kind, code in _STATUS.items() if isinstance(exc, kind))
        return error_page(request, status, str(exc))
    version = _version(view)
    if fragment_of(request) == "live" and request.query.get("v") == version:
        return web.Response(status=204)  # nothing changed: htmx keeps the element and its poll
    return render(request, "console.html", {"view": view, "version": version})

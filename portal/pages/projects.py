"""A project: its environments, revisions (with errors grouped by file) and PR previews."""

from __future__ import annotations

from aiohttp import web

from portal.keys import PORTAL, SESSION
from portal.render import error_page, render
from portal.routing import needs
from reconciler.service.portal_types import Role
from reconciler.service.portal_views import OverviewFilter

routes = web.RouteTableDef()
PROJECT = "/projects/{project}"


@routes.get(PROJECT)
@needs(Role.VIEWER)
async def project(request: web.Request) -> web.Response:
    views, who = request.app[PORTAL].views, request[SESSION].principal
    name = request.match_info["project"]
    found = await views.project(who, name)
    revisions = await views.revisions(who, name)
    previews = await views.previews(who, name)
    if found is None or revisions is None or previews is None:
        return error_page(request, 404, "There is no such project.")
    page = await views.overview(who, wanted=OverviewFilter(text=name), limit=200)
    envs = [row for row in page.rows if row.project == found.name]
    context = {"project": found, "envs": envs, "revisions": revisions, "previews": previews}
    return render(request, "project.html", context)


@routes.get(PROJECT + "/revisions/{commit}")
@needs(Role.VIEWER)
async def revision(request: web.Request) -> web.Response:
    who = request[SESSION].principal
    found = await request.app[PORTAL].views.revision(
        who, request.match_info["project"], request.match_info["commit"]
    )
    if found is None:
        return error_page(request, 404, "There is no such revision.")
    integrations: list[str] = []
    diagrams = request.app[PORTAL].diagrams
    if diagrams is not None and found.state == "ready":
        routes = await diagrams.routes(who, found.project, found.commit)
        integrations = sorted(routes.integrations) if routes else []
    return render(request, "revision.html", {"rev": found, "integrations": integrations})


@routes.get(PROJECT + "/previews/{number:[0-9]{1,9}}")
@needs(Role.VIEWER)
async def preview(request: web.Request) -> web.Response:
    who = request[SESSION].principal
    name = request.match_info["project"]
    found = await request.app[PORTAL].views.preview(who, name, int(request.match_info["number"]))
    if found is None:
        return error_page(request, 404, "There is no such preview.")
    return render(request, "preview.html", {"project": name, "preview": found})

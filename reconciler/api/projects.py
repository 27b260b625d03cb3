"""Project routes: register, list, show, reconcile, revisions, sealing key, previews, audit."""

from __future__ import annotations

import asyncio

from aiohttp import web

from reconciler.api.auth import require
from reconciler.api.bodies import CreateProject, bad_request, name_ok, read_body
from reconciler.api.keys import PRINCIPAL, SERVICES
from reconciler.api.problems import ProblemError, problem, problem_error
from reconciler.service.projects import NewProject
from reconciler.sources import HostToken, RepositoryRefused, SourcePolicy, host_of
from reconciler.store import ConflictError
from reconciler.store.records import ProjectRecord, Role

routes = web.RouteTableDef()


def not_found(what: str) -> ProblemError:
    return problem_error(404, f"no such {what}")


async def project_of(request: web.Request) -> ProjectRecord:
    """The project named in the path, within the caller's org (other orgs' look absent)."""
    name = request.match_info["project"]
    principal = request[PRINCIPAL]
    store = request.app[SERVICES].store
    found = None
    if name_ok(name):
        found = await asyncio.to_thread(store.projects.by_name, principal.org_id, name)
    if found is None:
        raise not_found("project")
    return found


@routes.get("/projects")
async def list_projects(request: web.Request) -> web.Response:
    reads = request.app[SERVICES].reads
    projects = await asyncio.to_thread(reads.projects, request[PRINCIPAL].org_id)
    return web.json_response({"projects": [p.wire() for p in projects]})


@routes.post("/projects")
async def create_project(request: web.Request) -> web.Response:
    principal = require(request, Role.ADMIN)
    body = await read_body(request, CreateProject)
    services = request.app[SERVICES]
    new = NewProject(
        name=body.name,
        url=body.url,
        branch=body.branch,
        poll_interval_s=body.poll_interval_seconds,
        webhook_secret=body.webhook_secret,
        credential=_credential(services.sources, body),
    )
    try:
        project = await services.projects.create(principal, new)
    except ConflictError as exc:
        return problem(409, str(exc))
    view = await asyncio.to_thread(services.reads.project_summary, project)
    return web.json_response(view.wire(), status=201)


def _credential(sources: SourcePolicy, body: CreateProject) -> HostToken | None:
    """Refuse URLs with credentials or outside the local roots; bind the token to the host."""
    try:
        sources.check(body.url)
    except RepositoryRefused as exc:
        raise bad_request(str(exc)) from None
    if body.credentials is None:
        return None
    host = host_of(body.url)
    if not body.url.startswith("https://") or not host:
        raise bad_request("`credentials` go with an https:// URL (SSH keys are the operator's)")
    return HostToken((host,), body.credentials.username, body.credentials.token)


@routes.get("/projects/{project}")
async def show_project(request: web.Request) -> web.Response:
    project = await project_of(request)
    view = await asyncio.to_thread(request.app[SERVICES].reads.project, project)
    return web.json_response(view.wire())


@routes.post("/projects/{project}/reconcile")
async def reconcile_project(request: web.Request) -> web.Response:
    require(request, Role.OPERATOR)
    project = await project_of(request)
    await request.app[SERVICES].controller.request_durably(project.id)
    return web.json_response({"queued": True}, status=202)


@routes.get("/projects/{project}/revisions")
async def list_revisions(request: web.Request) -> web.Response:
    project = await project_of(request)
    revisions = await asyncio.to_thread(request.app[SERVICES].reads.revisions, project)
    return web.json_response({"revisions": [r.wire() for r in revisions]})


@routes.get("/projects/{project}/public-key")
async def public_key(request: web.Request) -> web.Response:
    """The sealing key `camelops secret seal` encrypts to (public by design)."""
    project = await project_of(request)
    pem = await asyncio.to_thread(request.app[SERVICES].store.projects.public_key_pem, project)
    return web.Response(body=pem, content_type="application/x-pem-file")


@routes.get("/projects/{project}/previews")
async def list_previews(request: web.Request) -> web.Response:
    project = await project_of(request)
    previews = await asyncio.to_thread(request.app[SERVICES].reads.previews, project)
    return web.json_response({"previews": [p.wire() for p in previews]})


@routes.get("/projects/{project}/previews/{number:[0-9]{1,9}}")
async def show_preview(request: web.Request) -> web.Response:
    project = await project_of(request)
    number = int(request.match_info["number"])
    preview = await asyncio.to_thread(request.app[SERVICES].reads.preview, project, number)
    if preview is None:
        raise not_found("preview")
    return web.json_response(preview.wire())


@routes.get("/audit")
async def audit_log(request: web.Request) -> web.Response:
    org = request[PRINCIPAL].org_id
    records = await asyncio.to_thread(request.app[SERVICES].reads.audit, org)
    return web.json_response({"records": [r.wire() for r in records]})


@routes.get("/runners")
async def list_runners(request: web.Request) -> web.Response:
    org = request[PRINCIPAL].org_id
    runners = await asyncio.to_thread(request.app[SERVICES].reads.runners, org)
    return web.json_response({"runners": [r.wire() for r in runners]})

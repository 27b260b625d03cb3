"""Environment routes: show with history, manual sync, pin (rollback) and unpin."""

from __future__ import annotations

import asyncio

from aiohttp import web

from reconciler.api.auth import require
from reconciler.api.bodies import PinBody, SyncBody, name_ok, read_body
from reconciler.api.keys import SERVICES
from reconciler.api.projects import not_found, project_of
from reconciler.api.views import bundle_view, environment_view
from reconciler.deploy import SyncBlockedError, SyncRequest
from reconciler.errors import ReconcileError
from reconciler.store.records import EnvironmentRecord, ProjectRecord, Role

routes = web.RouteTableDef()
ENV_PATH = "/api/v1/projects/{project}/environments/{env}"


async def environment_of(request: web.Request) -> tuple[ProjectRecord, EnvironmentRecord]:
    project = await project_of(request)
    name = request.match_info["env"]
    store = request.app[SERVICES].store
    env = None
    if name_ok(name):
        env = await asyncio.to_thread(store.desired.environment, project.id, name)
    if env is None:
        raise not_found("environment")
    return project, env


@routes.get(ENV_PATH)
async def show_environment(request: web.Request) -> web.Response:
    project, env = await environment_of(request)
    store = request.app[SERVICES].store
    history = await asyncio.to_thread(store.desired.history_of, project.id, env.name)
    deployments = await asyncio.to_thread(store.desired.deployments, project.id, env.name)
    view = environment_view(env)
    view["history"] = [bundle_view(b) for b in history]
    view["deployments"] = deployments
    return web.json_response(view)


async def _sync(
    request: web.Request, project: ProjectRecord, env: str, *, actor: str, override: bool
) -> web.Response:
    deployer = request.app[SERVICES].controller.deployer
    sync = SyncRequest(actor=actor, manual=True, override=override, environment=env)
    try:
        dispatched = await deployer.deploy(project, sync)
    except SyncBlockedError as exc:
        return web.json_response({"error": str(exc), "hint": "retry with override"}, status=409)
    except ReconcileError as exc:
        return web.json_response({"error": exc.message}, status=503)
    return web.json_response({"dispatched": dispatched}, status=202)


@routes.post(ENV_PATH + "/sync")
async def sync_environment(request: web.Request) -> web.Response:
    principal = require(request, Role.OPERATOR)
    body = await read_body(request, SyncBody)
    project, env = await environment_of(request)
    return await _sync(request, project, env.name, actor=principal.name, override=body.override)


@routes.put(ENV_PATH + "/pin")
async def pin_environment(request: web.Request) -> web.Response:
    """Roll back: the environment runs this earlier bundle until unpinned."""
    principal = require(request, Role.OPERATOR)
    body = await read_body(request, PinBody)
    project, env = await environment_of(request)
    store = request.app[SERVICES].store
    history = await asyncio.to_thread(store.desired.history_of, project.id, env.name)
    target = next(
        (
            b
            for b in history
            if b.id == body.bundle_id or (body.revision and b.revision.startswith(body.revision))
        ),
        None,
    )
    if target is None:
        raise not_found("bundle in this environment's history")
    await asyncio.to_thread(store.desired.set_pin, project.id, env.name, target.id)
    await asyncio.to_thread(
        lambda: store.desired.audit(
            principal.org_id,
            principal.name,
            "environment.pinned",
            project=project.name,
            environment=env.name,
            revision=target.revision,
            detail={"bundle": target.id},
        )
    )
    return await _sync(request, project, env.name, actor=principal.name, override=body.override)


@routes.delete(ENV_PATH + "/pin")
async def unpin_environment(request: web.Request) -> web.Response:
    principal = require(request, Role.OPERATOR)
    project, env = await environment_of(request)
    store = request.app[SERVICES].store
    await asyncio.to_thread(store.desired.set_pin, project.id, env.name, None)
    await asyncio.to_thread(
        lambda: store.desired.audit(
            principal.org_id,
            principal.name,
            "environment.unpinned",
            project=project.name,
            environment=env.name,
        )
    )
    return await _sync(request, project, env.name, actor=principal.name, override=False)

"""Environment routes: show with history, manual sync, pin (rollback) and unpin."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from aiohttp import web

from reconciler.api.auth import require
from reconciler.api.bodies import PinBody, SyncBody, name_ok, read_body
from reconciler.api.keys import SERVICES
from reconciler.api.problems import problem
from reconciler.api.projects import not_found, project_of
from reconciler.deploy import SyncBlockedError
from reconciler.errors import ReconcileError
from reconciler.service.environments import BundleNotFoundError
from reconciler.store.records import EnvironmentRecord, ProjectRecord, Role

routes = web.RouteTableDef()
ENV_PATH = "/projects/{project}/environments/{env}"  # under API_PREFIX


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
    view = await asyncio.to_thread(request.app[SERVICES].reads.environment, project, env)
    return web.json_response(view.wire())


async def _synced(dispatching: Awaitable[list[str]]) -> web.Response:
    try:
        dispatched = await dispatching
    except SyncBlockedError as exc:
        return problem(409, str(exc), hint="retry with override")
    except ReconcileError as exc:
        return problem(503, exc.message)
    return web.json_response({"dispatched": dispatched}, status=202)


@routes.post(ENV_PATH + "/sync")
async def sync_environment(request: web.Request) -> web.Response:
    principal = require(request, Role.OPERATOR)
    body = await read_body(request, SyncBody)
    project, env = await environment_of(request)
    service = request.app[SERVICES].environments
    return await _synced(service.sync(principal, project, env.name, override=body.override))


@routes.put(ENV_PATH + "/pin")
async def pin_environment(request: web.Request) -> web.Response:
    """Roll back: the environment runs this earlier bundle until unpinned."""
    principal = require(request, Role.OPERATOR)
    body = await read_body(request, PinBody)
    project, env = await environment_of(request)
    service = request.app[SERVICES].environments
    pinning = service.pin(
        principal,
        project,
        env,
        bundle_id=body.bundle_id,
        revision=body.revision,
        override=body.override,
    )
    try:
        return await _synced(pinning)
    except BundleNotFoundError as exc:
        raise not_found(str(exc)) from None


@routes.delete(ENV_PATH + "/pin")
async def unpin_environment(request: web.Request) -> web.Response:
    principal = require(request, Role.OPERATOR)
    project, env = await environment_of(request)
    return await _synced(request.app[SERVICES].environments.unpin(principal, project, env))

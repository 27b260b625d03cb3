"""Runners: heartbeat and certificates; admins create registration tokens (shown once) and
revoke a runner's certificates. Both are audited."""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from portal.keys import PORTAL, SESSION
from portal.render import error_page, render
from portal.routing import needs
from portal.runner_credentials import RunnerCredentials
from reconciler.service.portal_types import Role

routes = web.RouteTableDef()
_RUNNER = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _credentials(request: web.Request) -> RunnerCredentials | None:
    return request.app[PORTAL].credentials


@routes.get("/runners")
@needs(Role.VIEWER)
async def runners(request: web.Request) -> web.Response:
    session = request[SESSION]
    rows = await request.app[PORTAL].views.runners(session.principal)
    credentials = _credentials(request)
    certificates = []
    if credentials is not None:
        certificates = await asyncio.to_thread(credentials.certificates, session.org)
    context = {"runners": rows, "certificates": certificates, "pki": credentials is not None}
    return render(request, "runners.html", context)


@routes.post("/runners/tokens")
@needs(Role.ADMIN)
async def create_token(request: web.Request) -> web.Response:
    credentials = _credentials(request)
    if credentials is None:
        return error_page(request, 503, "This server runs without a tunnel: no runner tokens.")
    runner = str((await request.post()).get("runner", "")).strip()
    if not _RUNNER.match(runner):
        return error_page(request, 400, "A runner name is 1-63 of a-z, 0-9 and '-'.")
    session = request[SESSION]
    try:
        token = await asyncio.to_thread(credentials.create_token, session.org, runner)
    except ValueError as exc:  # an org name the tunnel's identities cannot carry
        return error_page(request, 400, str(exc))
    actions = request.app[PORTAL].actions
    await actions.record(session.principal, "runner.token_created", {"runner": runner})
    return render(request, "runner_token.html", {"runner": runner, "token": token})


@routes.get("/runners/{runner}/revoke")
@needs(Role.ADMIN)
async def confirm_revoke(request: web.Request) -> web.Response:
    runner = request.match_info["runner"]
    if not _RUNNER.match(runner):
        return error_page(request, 404, "There is no such runner.")
    return render(request, "confirm_revoke.html", {"runner": runner})


@routes.post("/runners/{runner}/revoke")
@needs(Role.ADMIN)
async def revoke(request: web.Request) -> web.Response:
    credentials = _credentials(request)
    runner = request.match_info["runner"]
    if credentials is None or not _RUNNER.match(runner):
        return error_page(request, 404, "There is no such runner.")
    session = request[SESSION]
    try:
        count = await asyncio.to_thread(credentials.revoke, session.org, runner)
    except ValueError as exc:
        return error_page(request, 400, str(exc))
    actions = request.app[PORTAL].actions
    detail = {"runner": runner, "certificates": str(count)}
    await actions.record(session.principal, "runner.revoked", detail)
    return render(request, "runner_revoked.html", {"runner": runner, "count": count})

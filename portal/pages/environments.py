"""An environment: provenance (commit -> bundle -> live), history, sync windows; and the
operator actions sync, pin (rollback) and unpin, each behind a confirmation page."""

from __future__ import annotations

import hashlib

from aiohttp import web

from portal.keys import PORTAL, SESSION
from portal.render import error_page, fragment_of, render
from portal.routing import needs
from reconciler.service.portal_actions import (
    ConflictError,
    NotAllowedError,
    NotFoundError,
    SyncOutcome,
)
from reconciler.service.portal_types import Role
from reconciler.service.portal_views import EnvironmentPage

routes = web.RouteTableDef()
ENV = "/projects/{project}/environments/{env}"


async def _page(request: web.Request) -> EnvironmentPage | None:
    return await request.app[PORTAL].views.environment(
        request[SESSION].principal, request.match_info["project"], request.match_info["env"]
    )


def live_version(page: EnvironmentPage) -> str:
    """Changes whenever the live part would render differently: the poll answers 204 if not."""
    parts = (page.sync, page.env.deployed_bundle_id, page.env.desired_bundle_id, page.live)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


@routes.get(ENV)
@needs(Role.VIEWER)
async def environment(request: web.Request) -> web.Response:
    page = await _page(request)
    if page is None:
        return error_page(request, 404, "There is no such environment.")
    version = live_version(page)
    if fragment_of(request) == "live" and request.query.get("v") == version:
        # nothing changed: no body, no swap (htmx leaves the element and its poll in place)
        return web.Response(status=204)
    return render(request, "environment.html", {"page": page, "version": version})


def _action_form(request: web.Request, action: str, page: EnvironmentPage) -> web.Response:
    bundle = request.query.get("bundle", "")
    target = next((b for b in page.history if str(b.id) == bundle), None)
    if action == "pin" and target is None:
        return error_page(request, 404, "There is no such bundle in this environment's history.")
    context = {"page": page, "action": action, "target": target}
    return render(request, "confirm_action.html", context)


async def _run(request: web.Request, action: str) -> web.Response:
    who = request[SESSION].principal
    project, env = request.match_info["project"], request.match_info["env"]
    form = await request.post()
    override = form.get("override") == "on"
    actions = request.app[PORTAL].actions
    try:
        outcome: SyncOutcome
        if action == "sync":
            outcome = await actions.sync(who, project, env, override=override)
        elif action == "pin":
            bundle = str(form.get("bundle", ""))
            if not bundle.isdigit():
                return error_page(request, 400, "Pick a bundle from the history to pin.")
            outcome = await actions.pin(who, project, env, int(bundle), override=override)
        else:
            outcome = await actions.unpin(who, project, env)
    except NotFoundError as exc:
        return error_page(request, 404, str(exc))
    except NotAllowedError as exc:
        return error_page(request, 403, str(exc))
    except ConflictError as exc:
        return error_page(request, 409, str(exc))
    page = await _page(request)
    assert page is not None
    context = {"page": page, "action": action, "outcome": outcome}
    return render(request, "action_done.html", context)


def _register(action: str) -> None:
    async def confirm(request: web.Request) -> web.Response:
        page = await _page(request)
        if page is None:
            return error_page(request, 404, "There is no such environment.")
        return _action_form(request, action, page)

    async def run(request: web.Request) -> web.Response:
        return await _run(request, action)

    confirm.__name__, run.__name__ = f"confirm_{action}", f"run_{action}"
    routes.get(f"{ENV}/{action}")(needs(Role.OPERATOR)(confirm))
    routes.post(f"{ENV}/{action}")(needs(Role.OPERATOR)(run))


for _action in ("sync", "pin", "unpin"):
    _register(_action)

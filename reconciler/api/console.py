"""The live console of one running integration as JSON (operator role or above):
GET .../environments/{env}/integrations/{integration}/console[?target=console-routes].

The same use case as the portal's page (`reconciler.service.live_console`, audited the same
way); the composition root installs it with the tunnel's reader (`install_console`). Without
one, or with the runner offline, the answer is 409: nothing is broken on this side, the
runtime just cannot be reached now."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contract.console import TARGETS
from reconciler.api.auth import require
from reconciler.api.environments import ENV_PATH, environment_of
from reconciler.api.problems import problem
from reconciler.service.live_console import (
    LiveConsole,
    LiveConsoleView,
    RunnerOfflineError,
    TargetNotAllowedError,
)
from reconciler.service.portal_actions import ConflictError, NotAllowedError, NotFoundError
from reconciler.store.records import Role

routes = web.RouteTableDef()
LIVE_CONSOLE = web.AppKey("live_console", LiveConsole)
_STATUS: dict[type[Exception], int] = {
    NotFoundError: 404,
    NotAllowedError: 403,
    TargetNotAllowedError: 400,
    RunnerOfflineError: 409,
    ConflictError: 409,
}
_ERRORS = tuple(_STATUS)


def install_console(app: web.Application, console: LiveConsole) -> None:
    """Called by the composition root before the app starts."""
    app[LIVE_CONSOLE] = console


def _wire(view: LiveConsoleView) -> dict[str, Any]:
    def part(model: Any) -> Any:
        return None if model is None else model.model_dump(mode="json")

    return {
        "project": view.project,
        "environment": view.environment,
        "integration": view.integration,
        "runner": view.runner,
        "routes": part(view.routes),
        "inflight": part(view.inflight),
        "health": part(view.health),
        "errors": {t: {"kind": e.kind, "message": e.message} for t, e in view.errors.items()},
    }


@routes.get(ENV_PATH + "/integrations/{integration}/console")
async def live_console(request: web.Request) -> web.Response:
    principal = require(request, Role.OPERATOR)
    project, env = await environment_of(request)  # another org's: 404 before anything else
    console = request.config_dict.get(LIVE_CONSOLE)  # installed on the root app
    if console is None:
        return problem(409, "the live console is not available: no runner tunnel is set up")
    wanted = request.query.getall("target", [])
    targets = tuple(wanted) if wanted else tuple(TARGETS)
    try:
        view = await console.read(
            principal, project.name, env.name, request.match_info["integration"], targets
        )
    except _ERRORS as exc:
        status = next(code for kind, code in _STATUS.items() if isinstance(exc, kind))
        return problem(status, str(exc))
    return web.json_response(_wire(view))

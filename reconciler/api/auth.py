"""API-token authentication (`Authorization: Bearer cop_...`) and role checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from reconciler.api.keys import PRINCIPAL, SERVICES
from reconciler.store.records import Principal, Role

# paths anyone may call: the webhook verifies its own signature, the rest are read-only
PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/healthz", "/metrics")
PUBLIC_PREFIXES = ("/api/v1/hooks/git/",)
_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or not path.startswith("/api/"):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return problem(401, "missing bearer token")
    store = request.app[SERVICES].store
    principal = await asyncio.to_thread(store.accounts.authenticate, token.strip())
    if principal is None:
        return problem(401, "invalid or revoked token")
    request[PRINCIPAL] = principal
    return await handler(request)


def require(request: web.Request, role: Role) -> Principal:
    principal = request[PRINCIPAL]
    if _RANK[principal.role] < _RANK[role]:
        raise web.HTTPForbidden(
            text=f'{{"error": "needs the {role.value} role"}}', content_type="application/json"
        )
    return principal

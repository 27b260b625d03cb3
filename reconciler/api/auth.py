"""API-token authentication (`Authorization: Bearer cop_...`) and role checks.

Default deny: every path needs a token except the public ones listed here or added by the
composition root with `allow_public` (routes that authenticate themselves, like the tunnel's
registration with its one-time token)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from reconciler.api.keys import PRINCIPAL, SERVICES
from reconciler.api.problems import problem, problem_error
from reconciler.store.records import Principal, Role

# paths anyone may call: the webhook verifies its own signature, the rest are read-only
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json", "/api/v1/healthz", "/metrics"})
PUBLIC_PREFIXES = ("/api/v1/hooks/git/",)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}

__all__ = [  # `problem` too: route modules imported the error helper from here
    "OWN_AUTHENTICATION",
    "PUBLIC_PATHS",
    "PUBLIC_PREFIXES",
    "PUBLIC_ROUTES",
    "PublicRoutes",
    "allow_public",
    "authenticate",
    "problem",
    "require",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class PublicRoutes:
    paths: frozenset[str]
    """Exact paths served without a token."""
    prefixes: tuple[str, ...]
    """Path prefixes served without a token (each route below checks its own credential)."""

    def allows(self, path: str) -> bool:
        return path in self.paths or path.startswith(self.prefixes)


PUBLIC_ROUTES = web.AppKey("public_routes", PublicRoutes)
OWN_AUTHENTICATION = web.AppKey("own_authentication", bool)
"""Set on a sub-app that authenticates every request itself (the portal: sessions, its own
default-deny); the API's bearer tokens do not apply to it."""


def allow_public(app: web.Application, *paths: str) -> None:
    """Serve `paths` without a token: only for routes that check their own credential."""
    current = app[PUBLIC_ROUTES]
    app[PUBLIC_ROUTES] = PublicRoutes(current.paths | frozenset(paths), current.prefixes)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.app[PUBLIC_ROUTES].allows(request.path):
        return await handler(request)
    if any(app.get(OWN_AUTHENTICATION, False) for app in request.match_info.apps):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return problem(401, "missing bearer token", instance=request.path, headers=_CHALLENGE)
    store = request.app[SERVICES].store
    principal = await asyncio.to_thread(store.accounts.authenticate, token.strip())
    if principal is None:
        return problem(401, "invalid or revoked token", instance=request.path, headers=_CHALLENGE)
    request[PRINCIPAL] = principal
    return await handler(request)


def require(request: web.Request, role: Role) -> Principal:
    principal = request[PRINCIPAL]
    if _RANK[principal.role] < _RANK[role]:
        raise problem_error(403, f"needs the {role.value} role")
    return principal

"""Sessions, default-deny access, roles, CSRF and the security headers of every response.

- Session cookie: HttpOnly, SameSite=Lax, Secure under TLS; the server keeps the state.
- Every route declares its access (`portal.routing`); an undeclared route is a 404.
- Every state-changing request carries the session's CSRF token (form field `csrf` or the
  `X-CSRF-Token` header htmx sends); the login form uses a double-submit cookie instead.
- A strict Content-Security-Policy: scripts and styles only from our own static files.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from aiohttp import web

from portal.keys import PORTAL, SESSION, SESSION_ID
from portal.render import error_page
from portal.routing import PUBLIC, Handler, access_of
from reconciler.service.portal_actions import allowed

SESSION_COOKIE = "camelops_session"
LOGIN_COOKIE = "camelops_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    access = access_of(request.match_info.handler)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    session = await request.app[PORTAL].accounts.session(cookie) if cookie else None
    if session is not None:
        request[SESSION] = session
        request[SESSION_ID] = cookie
    if access == PUBLIC:
        return await handler(request)
    if session is None:
        return _to_login(request)
    if access is None or request.method not in SAFE_METHODS | {"POST"}:
        return error_page(request, 404, "There is no such page.")
    if not allowed(session.principal, access):  # type: ignore[arg-type]
        return error_page(request, 403, f"This needs the {access} role.")
    if request.method not in SAFE_METHODS and not await csrf_ok(request, session.csrf_token):
        return error_page(request, 403, "The form expired or did not come from this site.")
    return await handler(request)


async def csrf_ok(request: web.Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    return bool(sent) and bool(expected) and secrets.compare_digest(sent, expected)


def _to_login(request: web.Request) -> web.Response:
    target = "/login"
    if request.method == "GET" and request.path != "/":
        target += "?next=" + quote(request.path_qs, safe="")
    if request.headers.get("HX-Request") == "true":
        # htmx follows HX-Redirect with a full page load (a 303 would be swapped in place)
        return web.Response(status=401, headers={"HX-Redirect": target})
    raise web.HTTPSeeOther(target)


def safe_next(value: str) -> str:
    """Only a path on this site: no scheme, no host, no `//evil` or `/\\evil`."""
    if value.startswith("/") and not value.startswith(("//", "/\\")) and "\n" not in value:
        return value
    return "/"


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, value, httponly=True, samesite="Lax", secure=request.secure, path="/"
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: on every answer, error pages and static files included."""
    del request
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cache-Control", "no-store")

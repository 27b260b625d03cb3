"""Login and logout, and the static files (the only routes reachable without a session)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from aiohttp import web

from portal.keys import PORTAL, SESSION_ID
from portal.render import error_page, render, see_other
from portal.routing import needs, public
from portal.security import LOGIN_COOKIE, SESSION_COOKIE, safe_next, set_session_cookie
from reconciler.service.accounts import LoginRefused
from reconciler.service.portal_types import Role

routes = web.RouteTableDef()
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_FILES = {
    "app.css": "text/css",
    "app.js": "text/javascript",
    "vendor/htmx.min.js": "text/javascript",
    "vendor/htmx.LICENSE": "text/plain",
}


@routes.get("/login")
@public
async def login_form(request: web.Request) -> web.StreamResponse:
    # shown even with a session: logging in as someone else replaces (and ends) that session
    return _form(request, "", status=200)


def _form(request: web.Request, error: str, *, status: int) -> web.Response:
    # keep a token the browser already holds: a second GET /login (another tab, or the
    # browser's own favicon request redirected here) must not void the form on screen
    held = request.cookies.get(LOGIN_COOKIE, "")
    token = held if _TOKEN.fullmatch(held) else secrets.token_urlsafe(32)
    context = {
        "login_csrf": token,
        "next": safe_next(request.query.get("next", "/")),
        "error": error,
    }
    response = render(request, "login.html", context, status=status)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/login"
    )
    return response


@routes.post("/login")
@public
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    sent, cookie = str(form.get("csrf", "")), request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not cookie or not secrets.compare_digest(sent, cookie):
        return error_page(request, 403, "The login form expired; open the login page again.")
    accounts = request.app[PORTAL].accounts
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    result = await accounts.login(name, password, request.remote or "unknown")
    if isinstance(result, LoginRefused):
        if result.throttled:
            response = _form(request, "Too many failed logins. Wait a few minutes.", status=429)
            response.headers["Retry-After"] = str(result.retry_after_s)
            return response
        return _form(request, "Wrong user name or password.", status=401)
    old = request.cookies.get(SESSION_COOKIE, "")
    if old:  # whatever session the browser had ends: the login always starts a new one
        await accounts.logout(old)
    response = see_other(safe_next(str(form.get("next", "/"))))
    set_session_cookie(request, response, result.session_id)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


@routes.post("/logout")
@needs(Role.VIEWER)
async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[PORTAL].accounts.logout(request[SESSION_ID])
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get("/favicon.ico")
@public
async def favicon(request: web.Request) -> web.StreamResponse:
    """No icon: answered here so the browser's request never lands on the login redirect."""
    del request
    return web.Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


@routes.get("/static/{name:.+}")
@public
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    kind = STATIC_FILES.get(name)
    path = STATIC_DIR / name
    if kind is None or not path.is_file():
        raise web.HTTPNotFound()
    response = web.Response(body=path.read_bytes(), content_type=kind)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response

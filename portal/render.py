"""One jinja2 environment (autoescape on) and the page/fragment renderer.

A page template extends `_layout.html` for a full page or `_fragment.html` for an htmx request
aimed at one of its named parts (`rows`, `live`): the same template serves both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from portal.keys import PORTAL, SESSION
from reconciler.service.portal_actions import allowed
from reconciler.service.portal_types import Role

FRAGMENTS = frozenset({"rows", "live", "counts"})


def make_templates() -> Environment:
    env = Environment(
        loader=PackageLoader("portal", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["short"] = lambda value: str(value or "")[:12]
    env.filters["digest"] = short_digest
    # a path segment or query built from data: fully percent-encoded, so never a scheme
    env.filters["seg"] = lambda value: quote(str(value), safe="")
    env.filters["qs"] = urlencode
    env.filters["firstline"] = lambda value: str(value or "").split("\n", 1)[0][:200]
    return env


def when(value: float | datetime | None) -> str:
    if value is None or value == 0:
        return "never"
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_digest(value: str | None) -> str:
    """`sha256:` and the first 12 hex digits (the algorithm prefix alone says nothing)."""
    algorithm, sep, hexdigits = str(value or "").partition(":")
    return f"{algorithm}:{hexdigits[:12]}" if sep else algorithm[:12]


def fragment_of(request: web.Request) -> str | None:
    if request.headers.get("HX-Request") != "true":
        return None
    target = request.headers.get("HX-Target", "")
    return target if target in FRAGMENTS else None


def render(
    request: web.Request, name: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    portal = request.app[PORTAL]
    session = request.get(SESSION)
    base: dict[str, Any] = {
        "me": session,
        "csrf": session.csrf_token if session else "",
        "operator": session is not None and allowed(session.principal, Role.OPERATOR),
        "fragment": fragment_of(request),
        "path": request.path,
    }
    html = portal.templates.get_template(name).render({**base, **context})
    response = web.Response(text=html, content_type="text/html", charset="utf-8", status=status)
    response.headers["Vary"] = "HX-Request, HX-Target, Cookie"
    return response


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def see_other(location: str) -> web.Response:
    """A 303 the handler can still put cookies on (returning an HTTPException is deprecated)."""
    return web.Response(status=303, headers={"Location": location})

"""Security headers on every response of the control plane's HTTP app (API, webhook,
registration, metrics): no sniffing, no caching, no framing, HSTS under TLS, and a `Server`
header that names no versions."""

from __future__ import annotations

from aiohttp import web

SERVER = "camelops"
HSTS = "max-age=31536000"
_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: also runs for error responses and those of nested apps."""
    headers = response.headers
    for name, value in _ALWAYS.items():
        headers.setdefault(name, value)
    headers["Server"] = SERVER
    if request.secure:
        headers["Strict-Transport-Security"] = HSTS


def add_security_headers(app: web.Application) -> None:
    if security_headers not in app.on_response_prepare:
        app.on_response_prepare.append(security_headers)

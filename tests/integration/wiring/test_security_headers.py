"""Security headers on every response of `camelops serve` over HTTPS: API answers, errors,
the webhook, registration and metrics; HSTS under TLS; no versions in `Server`."""

from __future__ import annotations

import aiohttp

from tests.integration.wiring.stack import Served

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000",
    "Server": "camelops",
}


async def test_every_response_carries_the_security_headers(served: Served) -> None:
    auth = {"Authorization": f"Bearer {served.token}"}
    requests = [
        ("GET", "/api/v1/projects", auth, 200),
        ("GET", "/api/v1/projects/nope", auth, 404),
        ("GET", "/api/v1/projects", {}, 401),
        ("POST", "/api/v1/hooks/git/nope", {}, 401),
        ("GET", "/api/v1/openapi.json", {}, 200),
        ("GET", "/api/v1/healthz", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/v1/tunnel/ca", {}, 200),
        ("GET", "/api/v1/no/such/route", auth, 404),
        # outside /api the portal owns every path: without a session, the login page
        ("GET", "/no/such/route", {}, 303),
    ]
    async with aiohttp.ClientSession() as session:
        for method, path, headers, status in requests:
            async with session.request(
                method,
                served.base_url + path,
                headers=headers,
                ssl=served.ssl_context(),
                allow_redirects=False,
            ) as response:
                assert response.status == status, path
                found = {name: response.headers.get(name) for name in EXPECTED}
                assert found == EXPECTED, path

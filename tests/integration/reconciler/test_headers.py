"""Over plain HTTP (a local or proxied deployment) the same headers, but no HSTS."""

from __future__ import annotations

from tests.integration.reconciler.apiclient import Api


async def test_plain_http_answers_carry_the_headers_but_no_hsts(api: Api) -> None:
    for path, headers in (("/api/v1/projects", api.auth()), ("/api/v1/projects", {})):
        response = await api.client.get(path, headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Server"] == "camelops"
        assert "aiohttp" not in response.headers["Server"]
        assert "Strict-Transport-Security" not in response.headers

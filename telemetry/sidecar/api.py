"""The sidecar's own HTTP API, called by the runner: replay and status.

On the pod's loopback (the local driver) it needs no credential. In a cluster it listens on
the pod address, where the rendered NetworkPolicy lets only the runner in, and every call must
carry `Authorization: Bearer <token>` (the token from the environment's `camelops-sidecar`
Secret, which the runner holds too): a replay sends original, unredacted messages."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telemetry.sidecar.replay import ReplayOutcome
from telemetry.sidecar.service import Sidecar

SIDECAR_KEY = web.AppKey("sidecar", Sidecar)
_STATUS = {
    ReplayOutcome.SUCCEEDED: 200,
    ReplayOutcome.FAILED: 200,  # the replay ran; the route failed again: a result, not an error
    ReplayOutcome.EXPIRED: 410,
    ReplayOutcome.UNAVAILABLE: 503,
}


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exchange_id: str = Field(min_length=1, max_length=200)


async def _replay(request: web.Request) -> web.Response:
    try:
        body = ReplayRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        problems = [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors()]
        return web.json_response(
            {"error": "invalid replay request", "problems": problems}, status=400
        )
    result = await request.app[SIDECAR_KEY].replay(body.exchange_id)
    payload = {
        "exchange_id": result.exchange_id,
        "outcome": result.outcome.value,
        "endpoint": result.endpoint,
        "reason": result.reason,
    }
    return web.json_response(payload, status=_STATUS[result.outcome])


async def _status(request: web.Request) -> web.Response:
    sidecar = request.app[SIDECAR_KEY]
    capture = sidecar.capture
    return web.json_response(
        {
            "integration": sidecar.settings.integration,
            "connected": capture.target is not None,
            "ring": len(capture.ring),
            "replay_held": len(capture.replay),
            "counters": capture.counters_snapshot().model_dump(),
        }
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bearer(token: str) -> Middleware:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):  # constant time: no guessing by timing
            return web.json_response({"error": "missing or wrong runner token"}, status=401)
        return await handler(request)

    return check


def sidecar_api(sidecar: Sidecar, *, token: str = "") -> web.Application:
    """`token`: required of every call when set (it is, whenever the API is not on loopback)."""
    middlewares = [_bearer(token)] if token else []
    app = web.Application(client_max_size=64 * 1024, middlewares=middlewares)
    app[SIDECAR_KEY] = sidecar
    app.router.add_post("/v1/replay", _replay)
    app.router.add_get("/v1/status", _status)
    return app

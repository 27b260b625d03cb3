"""The sidecar's own HTTP API, called by the runner: replay, status and the handover of held
originals to a successor (telemetry.sidecar.handover).

On the pod's loopback (the local driver) replay and status need no credential. In a cluster it
listens on the pod address, where the rendered NetworkPolicy lets only the runner in, and every
call must carry `Authorization: Bearer <token>` (the token from the environment's
`camelops-sidecar` Secret, which the runner holds too): a replay sends original, unredacted
messages. The handover routes check their own per-sidecar token instead (local driver only)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telemetry.sidecar.console import add_console_routes
from telemetry.sidecar.handover import (
    MAX_HANDOVER_BYTES,
    HandoverError,
    authorized,
    export_originals,
    import_originals,
)
from telemetry.sidecar.replay import ReplayOutcome
from telemetry.sidecar.service import Sidecar

SIDECAR_KEY = web.AppKey("sidecar", Sidecar)
TOKEN_KEY = web.AppKey("handover_token", str)
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


def _refused(request: web.Request) -> web.Response | None:
    """401 unless the caller shows this sidecar's handover token; without a token configured
    the handover API does not exist (404), so a sidecar never hands its originals to anyone."""
    token = request.app[TOKEN_KEY]
    if not token:
        return web.json_response({"error": "handover is not enabled"}, status=404)
    if not authorized(request.headers.get("Authorization"), token):
        return web.json_response({"error": "handover token required"}, status=401)
    return None


async def _export(request: web.Request) -> web.Response:
    refused = _refused(request)
    if refused is not None:
        return refused
    sidecar = request.app[SIDECAR_KEY]
    body = export_originals(sidecar.capture.replay, sidecar.clock())
    return web.Response(body=body, content_type="application/json")


async def _import(request: web.Request) -> web.Response:
    refused = _refused(request)
    if refused is not None:
        return refused
    payload = await _read_capped(request, MAX_HANDOVER_BYTES)
    if payload is None:
        return web.json_response({"error": "handover too large"}, status=413)
    sidecar = request.app[SIDECAR_KEY]
    try:
        taken = import_originals(sidecar.capture.replay, payload, sidecar.clock())
    except HandoverError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"taken": taken, "held": len(sidecar.capture.replay)})


async def _read_capped(request: web.Request, cap: int) -> bytes | None:
    """The body, read past the app's small limit (meant for replay requests) up to ``cap``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(1 << 20):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _bearer(token: str) -> Middleware:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/v1/originals":
            return await handler(request)  # checked against the handover token (_refused)
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):  # constant time: no guessing by timing
            return web.json_response({"error": "missing or wrong runner token"}, status=401)
        return await handler(request)

    return check


def sidecar_api(sidecar: Sidecar, *, token: str = "", handover_token: str = "") -> web.Application:
    """`token`: required of every call but the handover's when set (it is, whenever the API is
    not on loopback); `handover_token`: opens the handover routes to that token only."""
    middlewares = [_bearer(token)] if token else []
    app = web.Application(client_max_size=64 * 1024, middlewares=middlewares)
    app[SIDECAR_KEY] = sidecar
    app[TOKEN_KEY] = handover_token
    app.router.add_post("/v1/replay", _replay)
    app.router.add_get("/v1/status", _status)
    app.router.add_get("/v1/originals", _export)
    app.router.add_post("/v1/originals", _import)
    add_console_routes(app, sidecar)
    return app

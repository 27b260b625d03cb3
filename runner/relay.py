"""The loopback relay a runner exposes to its sidecars: POST /v1/telemetry takes one batch,
validates it and hands it to ``deliver`` (the runner forwards it over the tunnel)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from contract.telemetry import TelemetryBatch
from contract.validation import validation_problems

MAX_BATCH_BYTES = 32 * 1024 * 1024

Deliver = Callable[[TelemetryBatch], Awaitable[None]]
Sender = Callable[[TelemetryBatch, str | None], None]
"""Told of every delivered batch and the address it came from (the sidecar directory)."""


class _DeliverHolder:
    """AppKey needs a concrete type; a callable alias is not one."""

    def __init__(self, deliver: Deliver, sender: Sender | None = None) -> None:
        self.deliver = deliver
        self.sender = sender


DELIVER_KEY = web.AppKey("deliver", _DeliverHolder)


async def _accept_batch(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        return web.json_response({"error": "expected application/json"}, status=415)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": "batch too large"}, status=413)
    try:
        batch = TelemetryBatch.model_validate_json(raw)
    except ValidationError as exc:
        # locations only: input values may be message bodies
        problems = validation_problems(exc, root="batch")
        return web.json_response({"error": "invalid batch", "problems": problems}, status=400)
    holder = request.app[DELIVER_KEY]
    await holder.deliver(batch)
    if holder.sender is not None:
        holder.sender(batch, request.remote)
    return web.json_response(
        {"batch_id": batch.batch_id, "accepted": batch.exchange_count}, status=202
    )


def relay_app(deliver: Deliver, sender: Sender | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BATCH_BYTES)
    app[DELIVER_KEY] = _DeliverHolder(deliver, sender)
    app.router.add_post("/v1/telemetry", _accept_batch)
    return app

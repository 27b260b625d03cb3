"""The runner's telemetry forwarder: the loopback relay its sidecars post batches to, each
batch forwarded on the tunnel's telemetry channel (`telemetry.intake` takes it there).

The relay answers the sidecar only once the batch is in the tunnel outbox (checkpointed to
SQLite), so delivery is at-least-once end to end."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from contract.envelopes import Channel
from contract.message_types import TELEMETRY_BATCH
from contract.telemetry import TelemetryBatch
from contract.telemetry_arrow import encode
from runner.relay import Sender, relay_app
from tunnel.client import TunnelClient


class TunnelForwarder:
    """Runner side: the relay's `deliver`. The batch is wrapped, not spread into the payload:
    the tunnel server closes a connection whose payload names an environment the runner does
    not serve, and a sidecar's empty `environment` must not do that; the intake checks it."""

    def __init__(self, client: TunnelClient) -> None:
        self.client = client

    async def forward(self, batch: TelemetryBatch) -> None:
        await self.client.send(Channel.TELEMETRY, TELEMETRY_BATCH, payload_of(batch))


def payload_of(batch: TelemetryBatch) -> dict[str, str | dict[str, Any]]:
    """As an Arrow stream (batch format 3, contract.telemetry_arrow): the control plane checks
    and inserts its columns with no Python object per exchange or node. Base64, as an envelope
    is JSON. A batch the sidecar sent as columns already (format 2) is passed on as it is."""
    if batch.columns is not None:
        return {"batch": batch.model_dump(mode="json")}
    return {"arrow": base64.b64encode(encode(batch)).decode("ascii")}


def runner_relay_app(client: TunnelClient, sender: Sender | None = None) -> web.Application:
    """The relay (`POST /v1/telemetry`) the runner serves to its sidecars; `sender` learns
    where each sidecar is (`runner.sidecar_directory`)."""
    return relay_app(TunnelForwarder(client).forward, sender)


async def serve_relay(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start the relay on ``host:port`` (loopback or the pod network); the caller cleans up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner

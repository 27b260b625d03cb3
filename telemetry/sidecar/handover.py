"""Hand the held replay originals from a retiring sidecar to its successor.

A rollout replaces the Camel process and its sidecar; the originals the old sidecar holds
(unredacted input messages of failed and sampled exchanges) would die with it, and a replay
after the fixing push would answer `expired`. The runner that retires the old instance reads
them from the old sidecar (`GET /v1/originals`) and gives them to the new one
(`POST /v1/originals`), over loopback, in memory only: nothing of them is written to a file.

Both calls carry the sidecar's own handover token (`Authorization: Bearer`), given to it by
the runner in the environment (never on a command line, never in a file): the originals are
the one thing in a sidecar that must not leak to another local user. A sidecar started without
a token has no handover API at all.

Ages travel instead of clock readings (each sidecar's clock is its own monotonic clock), so an
original keeps its replay window across the handover and expires when it would have.
"""

from __future__ import annotations

import hmac
from typing import Any

import msgspec

from telemetry.sidecar.buffers import ReplayBuffer, ReplayOriginal

MAX_HANDOVER_BYTES = 96 * 1024 * 1024  # 1,000 originals of up to 64 KiB, JSON-escaped


class HandoverError(ValueError):
    """The payload is refused as a whole; the message names no value."""


class WireOriginal(msgspec.Struct, forbid_unknown_fields=True):
    exchange_id: str
    route_id: str
    endpoint_uri: str
    body: str | None
    headers: list[tuple[str, Any]]
    age_seconds: float


class Handover(msgspec.Struct, forbid_unknown_fields=True):
    originals: list[WireOriginal]
    replayed: list[str]


_decoder = msgspec.json.Decoder(Handover)
_encoder = msgspec.json.Encoder()


def authorized(header: str | None, token: str) -> bool:
    """Constant-time check of ``Authorization: Bearer <token>``; no token configured: never."""
    if not token or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())


def export_originals(buffer: ReplayBuffer, now: float) -> bytes:
    """Everything the buffer still holds, oldest first, with each original's age."""
    originals = [
        WireOriginal(
            exchange_id=o.exchange_id,
            route_id=o.route_id,
            endpoint_uri=o.endpoint_uri,
            body=o.body,
            headers=[(name, value) for name, value in o.headers],
            age_seconds=max(0.0, now - o.captured_at),
        )
        for o in buffer.held(now)
    ]
    return _encoder.encode(Handover(originals=originals, replayed=buffer.replayed_ids()))


def import_originals(buffer: ReplayBuffer, payload: bytes, now: float) -> int:
    """Take over a predecessor's originals; returns how many are held now. The ones already
    past the replay window are left out; the buffer's own bounds still apply."""
    if len(payload) > MAX_HANDOVER_BYTES:
        raise HandoverError(f"handover of {len(payload)} bytes exceeds {MAX_HANDOVER_BYTES}")
    try:
        handover = _decoder.decode(payload)
    except msgspec.ValidationError as exc:
        raise HandoverError(f"invalid handover: {exc}") from None
    except msgspec.DecodeError:
        raise HandoverError("invalid handover: not JSON") from None
    for item in handover.originals:  # all checked before any is taken: no partial state
        if not 0 < len(item.exchange_id) <= 200 or item.age_seconds < 0:
            raise HandoverError("invalid handover: an original without a valid id or age")
    window = [o for o in handover.originals if o.age_seconds < buffer.ttl_seconds]
    for item in window:
        buffer.put(
            ReplayOriginal(
                exchange_id=item.exchange_id,
                route_id=item.route_id,
                endpoint_uri=item.endpoint_uri,
                body=item.body,
                headers=tuple((name, value) for name, value in item.headers),
                captured_at=now - item.age_seconds,
            )
        )
    for exchange_id in handover.replayed:
        buffer.mark_replayed(exchange_id)
    return len(window)

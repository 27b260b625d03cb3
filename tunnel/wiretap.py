"""Reading the tunnel's WebSocket stream as the fault proxy sees it once it terminates TLS.

The proxy needs whole frames (to re-send one, or to hold back an ack) and the envelopes inside
them (to know which messages crossed and which acks came back). RFC 6455 framing, no extensions:
both endpoints switch permessage-deflate off.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from contract.envelopes import Channel, Envelope, Kind
from tunnel.framing import CHUNK, FrameError, FrameLimits, Reassembler

BINARY = 0x2


@dataclass(frozen=True, slots=True)
class WsFrame:
    raw: bytes  # exactly as received (masked if the runner sent it): re-sendable as is
    opcode: int
    payload: bytes  # unmasked


def _unmask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return data
    key = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


async def read_frame(reader: asyncio.StreamReader) -> WsFrame:
    """One whole frame; raises asyncio.IncompleteReadError when the stream ends."""
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    extended = b""
    if length in (126, 127):
        extended = await reader.readexactly(2 if length == 126 else 8)
        length = int.from_bytes(extended, "big")
    mask = await reader.readexactly(4) if head[1] & 0x80 else b""
    data = await reader.readexactly(length)
    payload = _unmask(data, mask) if mask else data
    return WsFrame(head + extended + mask + data, head[0] & 0x0F, payload)


@dataclass(slots=True)
class Direction:
    """What crossed one connection in one direction, as far as delivery is concerned."""

    decoder: Reassembler = field(default_factory=lambda: Reassembler(FrameLimits()))
    delivered: dict[Channel, list[int]] = field(default_factory=dict)
    acked: dict[Channel, int] = field(default_factory=dict)  # acks that came back the other way
    last_data_frame: bytes | None = None

    def envelopes(self, frame: WsFrame) -> list[Envelope]:
        if frame.opcode != BINARY or not frame.payload or frame.payload[0] == CHUNK:
            return []  # control frames; large chunked messages are not needed by the faults
        try:
            return self.decoder.feed(frame.payload)
        except FrameError:
            return []  # a frame the proxy itself truncated: the peer will refuse it, not us

    def record_data(self, frame: WsFrame, envelopes: list[Envelope]) -> None:
        data = [e for e in envelopes if e.seq > 0]
        for envelope in data:
            self.delivered.setdefault(envelope.channel, []).append(envelope.seq)
        if data:
            self.last_data_frame = frame.raw

    def unacked(self) -> int:
        """Messages this connection carried that the receiver has not acked (as seen here)."""
        return sum(
            1
            for channel, seqs in self.delivered.items()
            for seq in seqs
            if seq > self.acked.get(channel, 0)
        )


def is_ack(envelope: Envelope) -> bool:
    return envelope.seq == 0 and envelope.type == Kind.ACK

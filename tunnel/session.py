"""One direction-pair of reliable delivery with one peer, kept across connections.

Sender half: per-channel sequence numbers, the pending (unsent or unacked) messages in send
order, a bound that drops the oldest telemetry first and never anything else. Receiver half: the
highest sequence applied per channel of the peer's session (a repeat is acked, never re-applied).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, NamedTuple

from contract.envelopes import Channel, Hello
from tunnel.errors import TunnelError
from tunnel.flow import Watermark
from tunnel.framing import FrameLimits, encode_envelope

Key = tuple[Channel, int]


class OutMessage(NamedTuple):
    """Immutable like a frozen dataclass, but cheap to build on the per-message hot path."""

    channel: Channel
    seq: int
    id: str
    type: str
    body: bytes  # the encoded envelope, encoded once and resent as is


class MessageTooLarge(TunnelError, ValueError):
    """Refused at send time: a message that can never cross the tunnel must not wedge the queue."""


class PeerState:
    def __init__(
        self,
        session_id: str | None = None,
        max_pending: int = 10_000,
        backlog: tuple[int, int] = (4096, 1024),
        max_message_bytes: int = FrameLimits().max_message_bytes,
    ) -> None:
        self.session_id = session_id or uuid.uuid4().hex
        self.max_pending = max_pending
        self.max_message_bytes = max_message_bytes
        self.next_seq: dict[Channel, int] = {}
        self.pending: OrderedDict[Key, OutMessage] = OrderedDict()
        self._seqs: dict[Channel, deque[int]] = {channel: deque() for channel in Channel}
        self.dropped: dict[Channel, int] = {}
        self.peer_session = ""
        self.recv_last: dict[Channel, int] = {}
        self.peer_dropped: dict[Channel, int] = {}
        # Producers wait here while connected; offline, the bound (drop oldest telemetry) applies.
        self.backlog = Watermark(*backlog)
        self.on_enqueue: Callable[[OutMessage], None] | None = None

    def enqueue(self, channel: Channel, type: str, payload: dict[str, Any]) -> OutMessage:
        seq = self.next_seq.get(channel, 0) + 1
        msg_id = f"{self.session_id}:{channel.value}:{seq}"
        body = encode_envelope(msg_id, seq, channel, type, payload)
        if len(body) > self.max_message_bytes:
            raise MessageTooLarge(f"{len(body)} bytes exceeds {self.max_message_bytes}")
        self.next_seq[channel] = seq
        message = OutMessage(channel, seq, msg_id, type, body)
        pending = self.pending
        pending[(channel, seq)] = message
        self._seqs[channel].append(seq)
        if len(pending) > self.max_pending:
            self._enforce_bound()
        if len(pending) >= self.backlog.high:
            self.backlog.update(len(pending))
        if self.on_enqueue is not None:
            self.on_enqueue(message)
        return message

    def withdraw(self, key: Key) -> bool:
        """Take back a message the peer has not acked (a newer one supersedes it): it is not
        sent, or sent again. The peer tolerates the gap: it applies anything above its last."""
        if self.pending.pop(key, None) is None:
            return False
        self.backlog.update(len(self.pending))
        return True

    def _enforce_bound(self) -> None:
        telemetry = self._seqs[Channel.TELEMETRY]
        # Status and control are never dropped; the backlog gate slows their producers instead.
        while len(self.pending) > self.max_pending and telemetry:
            self.pending.pop((Channel.TELEMETRY, telemetry.popleft()), None)
            self.dropped[Channel.TELEMETRY] = self.dropped.get(Channel.TELEMETRY, 0) + 1

    def ack(self, channel: Channel, upto: int) -> list[Key]:
        """Release everything on `channel` up to `upto`; returns the keys released."""
        seqs, released = self._seqs[channel], []
        while seqs and seqs[0] <= upto:
            key = (channel, seqs.popleft())
            self.pending.pop(key, None)
            released.append(key)
        if released:
            self.backlog.update(len(self.pending))
        return released

    def hello(self, digests: dict[str, str] | None = None) -> Hello:
        return Hello(
            session=self.session_id,
            peer_session=self.peer_session,
            received=dict(self.recv_last),
            dropped=dict(self.dropped),
            digests=digests or {},
        )

    def apply_peer_hello(self, hello: Hello) -> None:
        if hello.session != self.peer_session:
            # A new peer session restarts its sequence numbers: forget what we saw of the old one.
            self.peer_session = hello.session
            self.recv_last = {}
        self.peer_dropped = dict(hello.dropped)
        if hello.peer_session == self.session_id:
            for channel, upto in hello.received.items():
                self.ack(channel, upto)

    def snapshot(self) -> dict[str, Any]:
        return {
            "session": self.session_id,
            "next_seq": {c.value: n for c, n in self.next_seq.items()},
            "peer_session": self.peer_session,
            "recv_last": {c.value: n for c, n in self.recv_last.items()},
            "dropped": {c.value: n for c, n in self.dropped.items()},
        }

    @classmethod
    def restore(
        cls, snapshot: dict[str, Any], messages: list[OutMessage], **kwargs: Any
    ) -> PeerState:
        state = cls(session_id=str(snapshot["session"]), **kwargs)
        state.next_seq = {Channel(c): int(n) for c, n in snapshot["next_seq"].items()}
        state.peer_session = str(snapshot["peer_session"])
        state.recv_last = {Channel(c): int(n) for c, n in snapshot["recv_last"].items()}
        state.dropped = {Channel(c): int(n) for c, n in snapshot["dropped"].items()}
        for message in messages:
            state.pending[(message.channel, message.seq)] = message
            state._seqs[message.channel].append(message.seq)
        state.backlog.update(len(state.pending))
        return state

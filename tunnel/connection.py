"""One live WebSocket connection carrying a PeerState: handshake, reader, dispatcher, writer, acks.

Both endpoints use it. It ends when the socket closes or the peer breaks the protocol; the
PeerState (what is pending, what was applied) outlives it, so the next connection resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import ClientWebSocketResponse, WSCloseCode, WSMsgType, web

from contract.envelopes import Channel, Envelope, Hello, Kind
from tunnel.errors import TunnelError
from tunnel.flow import Mailbox, Window
from tunnel.framing import (
    FrameError,
    FrameLimits,
    Reassembler,
    batch_frames,
    encode_envelope,
    to_frames,
)
from tunnel.metrics import Metrics
from tunnel.session import Key, OutMessage, PeerState

log = logging.getLogger(__name__)
WebSocket = web.WebSocketResponse | ClientWebSocketResponse
Deliver = Callable[[Envelope], Awaitable[None]]
Check = Callable[[Envelope], str | None]


@dataclass(frozen=True, slots=True)
class LinkSettings:
    limits: FrameLimits = field(default_factory=FrameLimits)
    hello_timeout: float = 10.0
    heartbeat: float = 5.0
    ack_every: int = 64
    ack_linger: float = 0.005
    window_count: tuple[int, int] = (1024, 256)
    window_bytes: tuple[int, int] = (16 * 2**20, 4 * 2**20)
    max_inbound: int = 4096
    max_batch: int = 256  # messages taken from the queue per write (packed into few frames)
    drain_timeout: float = 30.0  # how long a closing connection lets the running handler finish


class ProtocolViolation(TunnelError):
    """The peer broke the protocol: the connection is closed with this reason (and logged)."""


class Link:
    def __init__(
        self,
        ws: WebSocket,
        state: PeerState,
        *,
        deliver: Deliver,
        settings: LinkSettings,
        metrics: Metrics,
        peer: str,
        check: Check | None = None,
    ) -> None:
        self.ws, self.state, self.peer = ws, state, peer
        self._deliver, self._check = deliver, check
        self._settings, self._metrics = settings, metrics
        self._decoder = Reassembler(settings.limits)
        self._window = Window(settings.window_count, settings.window_bytes)
        self._inflight: dict[Key, int] = {}
        self._outgoing: Mailbox[Key] = Mailbox()
        self._inbound: Mailbox[Envelope] = Mailbox()
        self._seen: dict[Channel, int] = {}
        self._acked: dict[Channel, int] = {}
        self._unacked_count = 0
        self._ack_due = asyncio.Event()
        self._busy = False
        self._closing = False
        self.peer_hello: Hello | None = None

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    async def handshake(self, mine: Hello) -> Hello:
        await self._send_protocol(Channel.CONTROL, Kind.HELLO, 0, mine.model_dump(mode="json"))
        try:
            async with asyncio.timeout(self._settings.hello_timeout):
                envelopes = await self._next_envelopes()
        except TimeoutError as exc:
            raise ProtocolViolation("no hello within the handshake timeout") from exc
        if envelopes is None:
            raise ProtocolViolation("closed during the handshake")
        envelope = envelopes[0]
        if len(envelopes) != 1 or envelope.seq != 0 or envelope.type != Kind.HELLO:
            raise ProtocolViolation("the first message must be a hello")
        try:
            hello = Hello.model_validate(envelope.payload)
        except ValueError as exc:
            raise ProtocolViolation("invalid hello") from exc
        self.state.apply_peer_hello(hello)
        self._seen = dict(self.state.recv_last)
        self._acked = dict(self.state.recv_last)
        self.peer_hello = hello
        return hello

    async def run(self) -> str:
        """Serve until the connection ends; returns why. Never raises for peer misbehaviour."""
        for key in self.state.pending:  # resend everything unacked, in the original order
            self._outgoing.put(key)
        self._metrics.inc("resumed_pending_total", len(self.state.pending))
        self.state.on_enqueue = self._queue
        dispatcher = asyncio.create_task(self._dispatch(), name=f"tunnel-dispatch-{self.peer}")
        tasks = [
            asyncio.create_task(self._read(), name=f"tunnel-read-{self.peer}"),
            asyncio.create_task(self._write(), name=f"tunnel-write-{self.peer}"),
            asyncio.create_task(self._ack_loop(), name=f"tunnel-ack-{self.peer}"),
        ]
        try:
            done, _ = await asyncio.wait([*tasks, dispatcher], return_when=asyncio.FIRST_COMPLETED)
            reason = await self._reason(done.pop())
        finally:
            if self.state.on_enqueue == self._queue:
                self.state.on_enqueue = None
            for task in tasks:
                task.cancel()
            await self._stop_dispatcher(dispatcher)
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._flush_acks()
        with contextlib.suppress(Exception):
            await self.ws.close()
        return reason

    async def _reason(self, task: asyncio.Task[str]) -> str:
        try:
            return task.result()
        except ProtocolViolation as exc:
            reason = str(exc)
            self._metrics.inc("protocol_violations_total")
            log.warning("closing tunnel of %s: %s", self.peer, reason)
            with contextlib.suppress(Exception):
                await self.ws.close(
                    code=WSCloseCode.POLICY_VIOLATION, message=reason[:120].encode()
                )
            return f"protocol violation: {reason}"
        except (ConnectionError, RuntimeError, OSError) as exc:
            return f"connection lost: {type(exc).__name__}"

    async def _stop_dispatcher(self, dispatcher: asyncio.Task[str]) -> None:
        # Never cancel a handler half-way: it would be applied but not recorded, then re-applied.
        self._closing = True
        if self._busy and not dispatcher.done():
            await asyncio.wait([dispatcher], timeout=self._settings.drain_timeout)
        dispatcher.cancel()
        await asyncio.gather(dispatcher, return_exceptions=True)

    def _queue(self, message: OutMessage) -> None:
        self._outgoing.put((message.channel, message.seq))

    async def _next_envelopes(self) -> list[Envelope] | None:
        while True:
            msg = await self.ws.receive()
            if msg.type == WSMsgType.BINARY:
                self._metrics.inc("bytes_in_total", len(msg.data))
                try:
                    envelopes = self._decoder.feed(msg.data)
                except FrameError as exc:
                    raise ProtocolViolation(str(exc)) from exc
                if envelopes:
                    return envelopes
            elif msg.type == WSMsgType.TEXT:
                raise ProtocolViolation("text frames are not part of the protocol")
            elif msg.type == WSMsgType.ERROR:
                self._metrics.inc("protocol_violations_total")
                log.warning("closing tunnel of %s: %s", self.peer, msg.data)
                return None
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return None

    async def _read(self) -> str:
        while True:
            envelopes = await self._next_envelopes()
            if envelopes is None:
                return f"closed ({self.ws.close_code})"
            self._inbound.put_many([e for e in envelopes if self._accept(e)])
            if len(self._inbound) > self._settings.max_inbound:
                raise ProtocolViolation("the peer ignored flow control")

    def _accept(self, envelope: Envelope) -> bool:
        """Whether to apply it: protocol messages are handled here, repeats only re-acked."""
        if envelope.seq == 0:
            self._on_protocol(envelope)
            return False
        channel = envelope.channel
        if envelope.seq <= self._seen.get(channel, 0):
            self._metrics.inc("duplicates_total")
            self._acked[channel] = -1  # re-ack so the sender stops resending
            self._ack_due.set()
            return False
        refusal = self._check(envelope) if self._check else None
        if refusal:
            raise ProtocolViolation(refusal)
        self._seen[channel] = envelope.seq
        return True

    def _on_protocol(self, envelope: Envelope) -> None:
        if envelope.type != Kind.ACK:
            raise ProtocolViolation(f"unexpected unsequenced message {envelope.type!r}")
        if envelope.ack > self.state.next_seq.get(envelope.channel, 0):
            raise ProtocolViolation("ack for a message never sent")
        count = size = 0
        for key in self.state.ack(envelope.channel, envelope.ack):
            released = self._inflight.pop(key, None)
            if released is not None:
                count, size = count + 1, size + released
        self._window.release(count, size)

    async def _dispatch(self) -> str:
        while not self._closing:
            applied = 0
            for envelope in await self._inbound.take(self._settings.max_batch):
                if self._closing:
                    break  # not applied, not acked: the peer resends it on the next connection
                await self._apply(envelope)
                applied += 1
            self._metrics.inc("messages_in_total", applied)
            if self._unacked_count >= self._settings.ack_every:
                await self._flush_acks()
            else:
                self._ack_due.set()
        return "stopped"

    async def _apply(self, envelope: Envelope) -> None:
        self._busy = True
        try:
            await self._deliver(envelope)
        except Exception:
            # A failing handler must not wedge the stream; handlers are idempotent and report
            # their own failures on the status channel.
            self._metrics.inc("handler_errors_total")
            log.exception("handler for %s/%s failed", envelope.channel, envelope.type)
        finally:
            self._busy = False
        self.state.recv_last[envelope.channel] = envelope.seq
        self._unacked_count += 1

    async def _ack_loop(self) -> str:
        while True:
            await self._ack_due.wait()
            await asyncio.sleep(self._settings.ack_linger)  # linger: one ack covers a burst
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        self._ack_due.clear()
        self._unacked_count = 0
        for channel, last in list(self.state.recv_last.items()):
            if self._acked.get(channel) != last and not self.ws.closed:
                self._acked[channel] = last
                await self._send_protocol(channel, Kind.ACK, last, {})

    async def _write(self) -> str:
        limits = self._settings.limits
        while True:
            await self._window.wait()
            pending = self.state.pending
            # Skipped keys were acked (through the peer's hello) or dropped since they were queued.
            keys = await self._outgoing.take(self._settings.max_batch)
            batch = [message for key in keys if (message := pending.get(key)) is not None]
            count = size = 0
            for message in batch:  # in flight from now: an ack may arrive while we still write
                key = (message.channel, message.seq)
                if key not in self._inflight:
                    self._inflight[key] = len(message.body)
                    count, size = count + 1, size + len(message.body)
            self._window.add(count, size)
            for frame in batch_frames([m.body for m in batch], limits):
                await self.ws.send_bytes(frame)
                self._metrics.inc("bytes_out_total", len(frame))
            self._metrics.inc("messages_out_total", len(batch))

    async def _send_protocol(
        self, channel: Channel, kind: Kind, ack: int, payload: dict[str, object]
    ) -> None:
        body = encode_envelope(kind.value, 0, channel.value, kind.value, dict(payload), ack=ack)
        for frame in to_frames(body, self._settings.limits):
            await self.ws.send_bytes(frame)
            self._metrics.inc("bytes_out_total", len(frame))

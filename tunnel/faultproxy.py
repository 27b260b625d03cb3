"""A TCP proxy that injects faults (cut, stall, truncate) between a runner and the control plane.

Used by the tests and the benchmark to break connections mid-stream; also handy when chasing a
reconnect bug by hand. Listens on loopback only.

Given `Interception` (TLS contexts for both legs, i.e. the runner's own key), it terminates TLS
and reads the WebSocket frames, which adds the faults a TCP proxy cannot make: re-send a frame it
already delivered (a duplicate on the wire), hold back acks (the peer applied a message but its
sender never hears so), and a count of the messages each way that are on the wire and not acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from enum import Enum

from tunnel.wiretap import Direction, WsFrame, is_ack, read_frame


class Way(Enum):
    TO_SERVER = "to_server"  # sent by the runner
    TO_RUNNER = "to_runner"  # sent by the control plane


@dataclass(frozen=True, slots=True)
class Interception:
    facing_runner: ssl.SSLContext  # a server context the runner trusts
    facing_server: ssl.SSLContext  # a client context with a certificate the server accepts


@dataclass(slots=True, eq=False)  # identity hashing: pairs live in a set
class _Pair:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    stalled: bool = False
    truncate: bool = False
    hold_acks: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    ways: dict[Way, Direction] = field(default_factory=lambda: {w: Direction() for w in Way})

    def abort(self) -> None:
        for writer in (self.client, self.server):
            writer.transport.abort()

    def writer(self, way: Way) -> asyncio.StreamWriter:
        return self.server if way is Way.TO_SERVER else self.client


class FaultProxy:
    def __init__(
        self, target_host: str, target_port: int, interception: Interception | None = None
    ) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0
        self.replayed = 0
        self.acks_held = 0
        self._interception = interception
        self._pairs: set[_Pair] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        context = self._interception.facing_runner if self._interception else None
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=context)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut()
        tasks = [task for pair in self._pairs for task in pair.tasks]
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def live(self) -> int:
        return len(self._pairs)

    def cut(self) -> None:
        """Reset every current connection at once (both sides see the TCP connection die)."""
        for pair in list(self._pairs):
            pair.abort()

    def stall(self) -> None:
        """Current connections stay open but carry nothing more (a black hole, like a dead NAT)."""
        for pair in self._pairs:
            pair.stalled = True

    def truncate(self) -> None:
        """The next chunk on each current connection goes half-way, then the connection dies."""
        for pair in self._pairs:
            pair.truncate = True

    # The faults below need `Interception`.

    def hold_acks(self, hold: bool = True) -> None:
        """Current connections swallow acks both ways: messages get applied, senders never learn."""
        self._need_interception()
        for pair in self._pairs:
            pair.hold_acks = hold

    def replay(self) -> int:
        """Re-send, on each current connection, the last data frame delivered each way."""
        self._need_interception()
        count = 0
        for pair in self._pairs:
            for way, seen in pair.ways.items():
                if seen.last_data_frame is not None:
                    pair.writer(way).write(seen.last_data_frame)
                    count += 1
        self.replayed += count
        return count

    def unacked(self, way: Way) -> int:
        """Messages the current connections carried `way` that no ack has yet come back for."""
        self._need_interception()
        return sum(pair.ways[way].unacked() for pair in self._pairs)

    def _need_interception(self) -> None:
        if self._interception is None:
            raise RuntimeError("this fault needs a proxy that terminates TLS (Interception)")

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        context = self._interception.facing_server if self._interception else None
        try:
            server_reader, server_writer = await asyncio.open_connection(
                *self.target, ssl=context, server_hostname=self.target[0] if context else None
            )
        except OSError:
            client_writer.transport.abort()
            return
        self.accepted += 1
        pair = _Pair(client_writer, server_writer)
        self._pairs.add(pair)
        if self._interception is None:
            pumps = [
                self._pump(client_reader, server_writer, pair),
                self._pump(server_reader, client_writer, pair),
            ]
        else:
            pumps = [
                self._pump_frames(client_reader, pair, Way.TO_SERVER),
                self._pump_frames(server_reader, pair, Way.TO_RUNNER),
            ]
        pair.tasks = [asyncio.create_task(pump) for pump in pumps]
        await asyncio.gather(*pair.tasks, return_exceptions=True)
        self._pairs.discard(pair)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair
    ) -> None:
        try:
            while data := await reader.read(65536):
                if pair.stalled:
                    continue
                if pair.truncate:
                    writer.write(data[: max(1, len(data) // 2)])
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            pair.abort()

    async def _pump_frames(self, reader: asyncio.StreamReader, pair: _Pair, way: Way) -> None:
        writer = pair.writer(way)
        try:
            writer.write(await reader.readuntil(b"\r\n\r\n"))  # the HTTP upgrade, as is
            while True:
                frame = await read_frame(reader)
                if pair.stalled:
                    continue
                if pair.truncate:
                    writer.write(frame.raw[: max(1, len(frame.raw) // 2)])
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                    break
                if self._forward(frame, pair, way):
                    writer.write(frame.raw)
                    await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            pair.abort()

    def _forward(self, frame: WsFrame, pair: _Pair, way: Way) -> bool:
        """Bookkeeping for one frame; False when it is an ack the proxy holds back."""
        seen = pair.ways[way]
        envelopes = seen.envelopes(frame)
        acks = [e for e in envelopes if is_ack(e)]
        if acks and pair.hold_acks:
            self.acks_held += len(acks)
            return False
        other = pair.ways[Way.TO_RUNNER if way is Way.TO_SERVER else Way.TO_SERVER]
        for ack in acks:
            other.acked[ack.channel] = max(other.acked.get(ack.channel, 0), ack.ack)
        seen.record_data(frame, envelopes)
        return True

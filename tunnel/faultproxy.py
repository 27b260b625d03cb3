"""A TCP proxy that injects faults (cut, stall, truncate) between a runner and the control plane.

Used by the tests and the benchmark to break connections mid-stream; also handy when chasing a
reconnect bug by hand. Listens on loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)  # identity hashing: pairs live in a set
class _Pair:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    stalled: bool = False
    truncate: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.server):
            writer.transport.abort()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0
        self._pairs: set[_Pair] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
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

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.accepted += 1
        pair = _Pair(client_writer, server_writer)
        self._pairs.add(pair)
        pair.tasks = [
            asyncio.create_task(self._pump(client_reader, server_writer, pair)),
            asyncio.create_task(self._pump(server_reader, client_writer, pair)),
        ]
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

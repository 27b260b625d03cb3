"""The stable port of an integration: a small TCP proxy in front of its current processes.

Chosen over a port handover because a JVM cannot be handed a listening socket, and two JVMs
cannot share a port without SO_REUSEPORT support in Camel's HTTP server: with a proxy the new
revision starts on a free port, the switch is one assignment, connections already open finish on
the old process while it drains, and replicas > 1 are served round-robin from one port. The
cost: the stable port is down while the runner itself restarts (the processes keep running).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)
_CHUNK = 65536


class ProxyLoop:
    """One event loop thread serving every stable port of the driver."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="local-proxy", daemon=True
        )
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


class StablePort:
    def __init__(self, loop: ProxyLoop, host: str, port: int) -> None:
        self._loop = loop
        self.host, self.port = host, port
        self._backends: tuple[int, ...] = ()
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None

    def open(self) -> None:
        self._server = self._loop.call(
            asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        )

    def switch(self, backends: list[int]) -> None:
        """From now on new connections go to `backends` (a tuple swap: atomic for readers)."""
        self._backends = tuple(backends)

    @property
    def backends(self) -> tuple[int, ...]:
        return self._backends

    def close(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None

            async def shut() -> None:
                server.close()
                await server.wait_closed()

            with contextlib.suppress(Exception):
                self._loop.call(shut())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backends = self._backends
        upstream = None
        for _ in range(len(backends)):
            port = backends[next(self._turn) % len(backends)]
            with contextlib.suppress(OSError):
                upstream = await asyncio.open_connection("127.0.0.1", port)
                break
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for end in (up_writer, writer):
                end.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        # half-close: the other direction may still carry the response
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()

"""Backpressure gates with a high and a low watermark (pause above high, resume below low)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Watermark:
    """Open until the level reaches `high`; once closed, opens again only at or below `low`.

    The gap between the two stops a producer from flapping on every single message.
    """

    def __init__(self, high: int, low: int) -> None:
        if not 0 <= low < high:
            raise ValueError("watermarks need 0 <= low < high")
        self.high, self.low = high, low
        self.level = 0
        self.pauses = 0
        self._open = asyncio.Event()
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def update(self, level: int) -> None:
        self.level = level
        if self._open.is_set() and level >= self.high:
            self._open.clear()
            self.pauses += 1
        elif not self._open.is_set() and level <= self.low:
            self._open.set()

    def force_open(self) -> None:
        """For a producer that must never block (e.g. while offline the outbox bounds itself)."""
        self._open.set()

    async def wait(self) -> None:
        await self._open.wait()


class Window:
    """In-flight (sent, unacked) messages on one connection, bounded by count and by bytes."""

    def __init__(self, count: tuple[int, int], size: tuple[int, int]) -> None:
        self.by_count = Watermark(*count)
        self.by_bytes = Watermark(*size)

    def add(self, count: int, size: int) -> None:
        self.by_count.update(self.by_count.level + count)
        self.by_bytes.update(self.by_bytes.level + size)

    def release(self, count: int, size: int) -> None:
        self.by_count.update(self.by_count.level - count)
        self.by_bytes.update(self.by_bytes.level - size)

    async def wait(self) -> None:
        await self.by_count.wait()
        await self.by_bytes.wait()


class Mailbox(Generic[T]):
    """A FIFO for one consumer that takes everything waiting at once (cheaper than a Queue)."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        self._items.append(item)
        self._ready.set()

    def put_many(self, items: list[T]) -> None:
        self._items.extend(items)
        self._ready.set()

    async def take(self, limit: int) -> list[T]:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        items = self._items
        return [items.popleft() for _ in range(min(limit, len(items)))]

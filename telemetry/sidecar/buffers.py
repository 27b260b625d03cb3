"""Bounded in-pod buffers: the outbound ring (drops counted) and the replay originals (expiring)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class RingBuffer(Generic[T]):
    """Keeps the newest ``capacity`` items; when full, the oldest is dropped and counted, so a
    slow or absent upstream costs old telemetry, never the sidecar's memory."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("ring buffer capacity must be at least 1")
        self._items: deque[T] = deque()
        self._capacity = capacity
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: T) -> None:
        if len(self._items) >= self._capacity:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)

    def peek(self, limit: int) -> list[T]:
        """The oldest ``limit`` items, left in place until ``ack`` confirms delivery."""
        return [self._items[index] for index in range(min(limit, len(self._items)))]

    def ack(self, count: int) -> None:
        for _ in range(min(count, len(self._items))):
            self._items.popleft()


@dataclass(frozen=True, slots=True)
class ReplayOriginal:
    """The unredacted input message of an exchange: only ever held here, never sent upstream."""

    exchange_id: str
    route_id: str
    endpoint_uri: str
    body: str | None
    headers: tuple[tuple[str, Any], ...]
    captured_at: float


class ReplayBuffer:
    """Originals keyed by exchange id, bounded by count and by age (``ttl_seconds``)."""

    def __init__(self, *, capacity: int, ttl_seconds: float) -> None:
        self._items: OrderedDict[str, ReplayOriginal] = OrderedDict()
        self._capacity = capacity
        self.ttl_seconds = ttl_seconds
        self.evicted = 0
        # ids this sidecar itself replayed: only their replay header is trusted (a client can
        # send a header of that name too); bounded like the originals
        self._replayed: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, original: ReplayOriginal) -> None:
        self._items[original.exchange_id] = original
        self._items.move_to_end(original.exchange_id)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
            self.evicted += 1

    def get(self, exchange_id: str, now: float) -> ReplayOriginal | None:
        self.expire(now)
        original = self._items.get(exchange_id)
        # originals taken over from a predecessor may sit behind younger ones: check the age
        if original is None or now - original.captured_at >= self.ttl_seconds:
            return None
        return original

    def held(self, now: float) -> list[ReplayOriginal]:
        """The originals still within the replay window, oldest first."""
        self.expire(now)
        return [o for o in self._items.values() if now - o.captured_at < self.ttl_seconds]

    def replayed_ids(self) -> list[str]:
        return list(self._replayed)

    def mark_replayed(self, exchange_id: str) -> None:
        self._replayed[exchange_id] = None
        self._replayed.move_to_end(exchange_id)
        while len(self._replayed) > self._capacity:
            self._replayed.popitem(last=False)

    def replayed_any(self) -> bool:
        return bool(self._replayed)

    def was_replayed(self, exchange_id: object) -> bool:
        return isinstance(exchange_id, str) and exchange_id in self._replayed

    def expire(self, now: float) -> None:
        while self._items:
            oldest = next(iter(self._items.values()))
            if now - oldest.captured_at < self.ttl_seconds:
                return
            self._items.popitem(last=False)
            self.evicted += 1


def sampled_in(exchange_id: str, rate: float) -> bool:
    """Deterministic by exchange id: every sidecar replica and every retry decides the same, and
    so does the tracer drain in our Camel runtime (io.camelops.trace.Sampling): both compare
    the top 53 bits of SHA-256, which a double holds exactly, so no rounding splits them."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(exchange_id.encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53 < rate

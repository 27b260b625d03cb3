"""Token buckets (webhook flood control) and a bounded memory of webhook delivery ids."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """One token bucket per key; idle buckets are forgotten so keys cannot exhaust memory."""

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def exhausted(self, key: str) -> bool:
        """True when the next `allow(key)` would refuse (nothing is consumed)."""
        tokens, last = self._buckets.get(key, (float(self.burst), self.clock()))
        return min(float(self.burst), tokens + (self.clock() - last) * self.rate) < 1.0

    def refund(self, key: str) -> None:
        """Give back the token an `allow(key)` took (the request turned out to be genuine)."""
        tokens, last = self._buckets.get(key, (float(self.burst), self.clock()))
        self._buckets[key] = (min(float(self.burst), tokens + 1.0), last)

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed


@dataclass
class ReplayGuard:
    """Delivery ids seen recently; a second delivery with the same id is a replay."""

    ttl_s: float = 3600.0
    max_ids: int = 50_000
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def first_time(self, delivery_id: str) -> bool:
        now = self.clock()
        while self._seen and next(iter(self._seen.values())) < now - self.ttl_s:
            self._seen.popitem(last=False)
        if delivery_id in self._seen:
            return False
        self._seen[delivery_id] = now
        while len(self._seen) > self.max_ids:
            self._seen.popitem(last=False)
        return True

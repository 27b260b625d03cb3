"""Reconnect delays: exponential with full jitter, so a fleet of runners spreads out."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 0.5
    cap: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt number `attempt` (0 = first retry)."""
        ceiling = min(self.cap, self.base * self.factor ** min(attempt, 32))
        return rng.uniform(0, ceiling)

"""Where bundles go: the dispatcher interface, and an in-process sink that proves the pipeline.

The tunnel server implements `Dispatcher` in production; the reconciler never knows how a
bundle reaches a runner, only whether handing it over succeeded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from contract.bundles import Bundle
from reconciler.errors import ReconcilerError


class DispatchError(ReconcilerError):
    """The bundle could not be handed over; the pipeline retries with backoff."""


class Dispatcher(Protocol):
    async def dispatch(self, org: str, runner: str, bundle: Bundle) -> None:
        """Queue `bundle` for runner `org/runner`; raise DispatchError if it is not accepted."""


@dataclass(frozen=True, slots=True)
class Delivery:
    org: str
    runner: str
    bundle: Bundle


@dataclass
class InProcessSink:
    """Keeps every delivery in memory; `fail_next` makes the next dispatches raise."""

    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def dispatch(self, org: str, runner: str, bundle: Bundle) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DispatchError(f"runner {runner} is not accepting bundles")
        async with self._changed:
            self.deliveries.append(Delivery(org, runner, bundle))
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[list[Delivery]], bool], timeout: float) -> None:
        """Wait until the deliveries satisfy `predicate` (tests poll on this, never sleep)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.deliveries))

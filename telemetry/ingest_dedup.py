"""Which exchanges of a batch are stored already, answered from memory on the hot path.

Delivery upstream is at-least-once: a sidecar re-sends a batch whose acknowledgement got lost,
usually within seconds. The ingestor remembers the ids it wrote, per (org, integration), and
how far back that memory is complete (``covered_from_ms``): an id starting at or after that
instant that memory does not hold was never written. Only exchanges older than the covered
window (the first batch after a restart, a runner that was offline for hours, ids evicted from
memory) cost a store query, one per batch that has such exchanges.

The table is a ReplacingMergeTree keyed by exchange id and start time, so a duplicate that
slips past (a second writer on the same store) is folded by the engine; this memory makes
the counts right and spares the insert, it is not what keeps the data unique.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

Key = tuple[str, str]  # (org, integration)
# (org, integration, window start ms, ids or None for all, limit) -> (id, started_at_ms) pairs
# stored from the window start on, newest first
StoredIds = Callable[[str, str, int, list[str] | None, int], list[tuple[str, int]]]


@dataclass(slots=True)
class _Memory:
    covered_from_ms: int | None = None
    ids: OrderedDict[str, int] = field(default_factory=OrderedDict)  # id -> started_at_ms


class DedupMemory:
    def __init__(self, stored_ids: StoredIds, *, capacity: int = 500_000) -> None:
        self._stored_ids = stored_ids
        self._capacity = capacity
        self._memories: dict[Key, _Memory] = {}
        self._size = 0
        self.store_queries = 0

    def stored(self, key: Key, exchanges: Iterable[tuple[str, int]]) -> set[str]:
        """The ids among ``exchanges`` ((id, started_at_ms) pairs) that are stored already."""
        pairs = list(exchanges)
        return self.stored_among(key, [i for i, _ in pairs], [start for _, start in pairs])

    def stored_among(self, key: Key, ids: Sequence[str], starts: Sequence[int]) -> set[str]:
        """``stored`` for an id column and its start column (same length)."""
        memory = self._memories.setdefault(key, _Memory())
        if not ids:
            return set()
        low = min(starts)
        if memory.covered_from_ms is None:
            # first sight since start: load what the store holds from this batch's start on,
            # then memory is complete from there (this process is the writer from now on)
            self.store_queries += 1
            loaded = self._stored_ids(key[0], key[1], low, None, self._capacity)
            for exchange_id, start in loaded:
                self._put(memory, exchange_id, start)
            # a full answer was cut at the limit: memory is complete only after its oldest id
            memory.covered_from_ms = low if len(loaded) < self._capacity else loaded[-1][1] + 1
        covered = memory.covered_from_ms
        # a C-level pass over the ids (filter with the dict's membership test)
        found = set(filter(memory.ids.__contains__, ids))
        if low < covered:
            unknown = [
                exchange_id
                for exchange_id, start in zip(ids, starts, strict=True)
                if start < covered and exchange_id not in found
            ]
            if unknown:
                self.store_queries += 1
                answer = self._stored_ids(key[0], key[1], low, unknown, len(unknown))
                found.update(exchange_id for exchange_id, _ in answer)
        return found

    def remember(self, key: Key, exchanges: Iterable[tuple[str, int]]) -> None:
        """Ids just written: from now on they are answered without the store."""
        memory = self._memories.setdefault(key, _Memory())
        before = len(memory.ids)
        memory.ids.update(exchanges)  # one C-level pass; new ids go last, in order
        self._size += len(memory.ids) - before
        while self._size > self._capacity:
            self._evict_oldest()

    def _put(self, memory: _Memory, exchange_id: str, start: int) -> None:
        if exchange_id not in memory.ids:
            self._size += 1
        memory.ids[exchange_id] = start

    def _evict_oldest(self) -> None:
        # the largest memory gives up its oldest id; its covered window now starts after it
        memory = max(self._memories.values(), key=lambda m: len(m.ids))
        _, start = memory.ids.popitem(last=False)
        self._size -= 1
        if memory.covered_from_ms is not None and start >= memory.covered_from_ms:
            memory.covered_from_ms = start + 1

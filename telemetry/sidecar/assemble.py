"""Turn a stream of tracer events into whole exchanges (first event -> nodes -> last event)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from telemetry.sidecar.events import LazyMessage, TracedException, TracedMessage, TraceEvent


@dataclass(frozen=True, slots=True)
class CapturedNode:
    seq: int
    route_id: str
    node_id: str
    node_name: str
    level: int
    parent_id: str
    endpoint_uri: str
    started_at_ms: int
    elapsed_ms: int
    failed: bool


@dataclass(frozen=True, slots=True)
class CapturedExchange:
    """An exchange as traced, unredacted: it never leaves the pod in this form."""

    exchange_id: str
    route_id: str
    started_at_ms: int
    elapsed_ms: int
    failed: bool
    complete: bool
    failed_node: str
    exception: TracedException | None
    lazy_input: LazyMessage | None
    input_endpoint: str
    nodes: tuple[CapturedNode, ...]

    @property
    def input(self) -> TracedMessage | None:
        """The route's input message, decoded on first read (only kept exchanges are read)."""
        return self.lazy_input.decoded() if self.lazy_input is not None else None

    def input_mentions(self, text: str) -> bool:
        """Whether ``text`` may occur in the input, without decoding it (false positives only)."""
        return self.lazy_input is not None and self.lazy_input.mentions(text)


@dataclass(slots=True)
class _Pending:
    events: list[TraceEvent] = field(default_factory=list)
    outer_route: str = ""
    seen_at: float = 0.0
    done: bool = False


class ExchangeAssembler:
    """Groups events by exchange id. An exchange is complete when the *outer* route (the one
    whose first event came first) records its last event; sub-routes reached through direct:
    share the exchange id and end before it."""

    def __init__(
        self,
        *,
        incomplete_after_seconds: float = 30.0,
        max_pending: int = 10_000,
        wanted: Callable[[Sequence[TraceEvent]], bool] | None = None,
    ) -> None:
        self._pending: dict[str, _Pending] = {}
        self._incomplete_after = incomplete_after_seconds
        self._max_pending = max_pending
        # asked once per complete exchange, before anything is built from its events: most
        # exchanges are sampled out and cost no more than this question
        self._wanted = wanted
        self.unwanted = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def feed(self, events: Iterable[TraceEvent], now: float) -> list[CapturedExchange]:
        done: list[CapturedExchange] = []
        pending_of = self._pending
        wanted = self._wanted
        touched: list[_Pending] = []
        for event in events:
            pending = pending_of.get(event.exchange_id)
            if pending is None:
                pending = pending_of[event.exchange_id] = _Pending()
            if not touched or touched[-1] is not pending:  # once per run of its events
                pending.seen_at = now
                touched.append(pending)
            if event.first and not pending.outer_route:
                pending.outer_route = event.route_id
            pending.events.append(event)
            if event.last and event.route_id == pending.outer_route:
                del pending_of[event.exchange_id]
                pending.done = True
                if wanted is None or wanted(pending.events):
                    done.append(build_exchange(pending.events, complete=True))
                else:
                    self.unwanted += 1
        for pending in touched:
            if not pending.done:
                # events still waiting for their exchange's end must not keep the dump alive
                pending.events = [event.detached() for event in pending.events]
        while len(pending_of) > self._max_pending:
            oldest = next(iter(pending_of))
            done.append(build_exchange(pending_of.pop(oldest).events, complete=False))
        return done

    def expire(self, now: float) -> list[CapturedExchange]:
        """Give up on exchanges that saw no event for a while (lost events, JVM restart)."""
        stale = [
            key for key, p in self._pending.items() if now - p.seen_at >= self._incomplete_after
        ]
        return [build_exchange(self._pending.pop(key).events, complete=False) for key in stale]

    def flush(self) -> list[CapturedExchange]:
        pending, self._pending = self._pending, {}
        return [build_exchange(p.events, complete=False) for p in pending.values()]


def build_exchange(events: list[TraceEvent], *, complete: bool) -> CapturedExchange:
    ordered = sorted(events, key=lambda event: event.uid)
    firsts = [event for event in ordered if event.first]
    outer = firsts[0] if firsts else ordered[0]
    closing = [e for e in ordered if e.last and e.route_id == outer.route_id]
    nodes = tuple(
        _node(seq, event)
        for seq, event in enumerate(e for e in ordered if not e.first and not e.last)
    )
    failed_nodes = [node for node in nodes if node.failed]
    # uid order is start order: the failed node that started last is where it was thrown
    origin = failed_nodes[-1] if failed_nodes else None
    failed = closing[-1].failed if closing else bool(failed_nodes)
    exceptions = [event.exception for event in ordered if event.exception is not None]
    return CapturedExchange(
        exchange_id=outer.exchange_id,
        route_id=outer.route_id,
        started_at_ms=outer.timestamp_ms or min(e.timestamp_ms for e in ordered),
        elapsed_ms=closing[-1].elapsed_ms if closing else sum(n.elapsed_ms for n in nodes),
        failed=failed,
        complete=complete,
        failed_node=origin.node_id if origin and failed else "",
        exception=exceptions[-1] if exceptions and failed else None,
        lazy_input=outer.lazy_message if outer.first else None,
        input_endpoint=outer.endpoint_uri if outer.first else "",
        nodes=nodes,
    )


def _node(seq: int, event: TraceEvent) -> CapturedNode:
    return CapturedNode(
        seq=seq,
        route_id=event.route_id,
        node_id=event.node_id,
        node_name=event.node_name,
        level=event.node_level,
        parent_id=event.node_parent_id,
        endpoint_uri=event.endpoint_uri,
        started_at_ms=event.timestamp_ms,
        elapsed_ms=event.elapsed_ms,
        failed=event.failed,
    )

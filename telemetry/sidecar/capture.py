"""Own the Camel BacklogTracer through Jolokia: discover it, enable it, drain it (through our
runtime's in-JVM drain when the JVM has it, else by uid cursor over the tracer's own dump), and
hand assembled, sampled, redacted exchanges to the ring buffer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from contract.telemetry import CaptureCounters, ExchangeRecord, ExchangeStatus, NodeRecord
from telemetry.jolokia import JolokiaClient, JolokiaUnavailable, raise_for_item
from telemetry.sidecar.assemble import CapturedExchange, ExchangeAssembler
from telemetry.sidecar.buffers import ReplayBuffer, ReplayOriginal, RingBuffer, sampled_in
from telemetry.sidecar.events import (
    DrainedDump,
    TraceDecodeError,
    TracedMessage,
    TraceEvent,
    decode_drained,
    decode_dump,
    is_clipped,
)
from telemetry.sidecar.redact import Redactor, cap
from telemetry.sidecar.replay import REPLAY_HEADER
from telemetry.sidecar.settings import SidecarSettings

log = logging.getLogger(__name__)

TRACER_PATTERN = "org.apache.camel:type=tracer,name=BacklogTracer,*"
CONTEXT_PATTERN = "org.apache.camel:type=context,*"
DUMP_OPERATION = "dumpAllTracedMessagesAsJSon()"
# examples/camel-app's io.camelops.trace.TraceDrain; absent from other Camel images
DRAIN_PATTERN = "io.camelops:type=TraceDrain,*"
DRAIN_OPERATION = "drain"
_failed = attrgetter("failed")


@dataclass(frozen=True, slots=True)
class CamelTarget:
    """What discovery found; ``agent_id`` (agent id + JVM start time) changes on restart."""

    agent_id: str
    context_mbean: str
    tracer_mbean: str
    drain_mbean: str | None = None
    """Set when the JVM runs our tracer drain: sampling is then decided in the JVM."""


@dataclass(slots=True)
class Counters:
    events_seen: int = 0
    events_lost: int = 0
    exchanges_sampled_out: int = 0
    exchanges_incomplete: int = 0
    jolokia_failures: int = 0

    def snapshot(self, dropped: int) -> CaptureCounters:
        return CaptureCounters(
            events_seen=self.events_seen,
            events_lost=self.events_lost,
            exchanges_sampled_out=self.exchanges_sampled_out,
            exchanges_dropped=dropped,
            exchanges_incomplete=self.exchanges_incomplete,
            jolokia_failures=self.jolokia_failures,
        )


async def discover(client: JolokiaClient) -> CamelTarget:
    version = await client.version()
    # Jolokia's agent id is derived from the host, not the process: a restarted JVM keeps it.
    # The JVM's start time tells one process from the next.
    runtime = await client.read("java.lang:type=Runtime", ["StartTime"])
    started = runtime.get("StartTime") if isinstance(runtime, dict) else None
    tracers = await client.search(TRACER_PATTERN)
    contexts = await client.search(CONTEXT_PATTERN)
    if not tracers or not contexts:
        # the agent answers before Camel has registered its MBeans: try again later
        raise JolokiaUnavailable("no Camel context with a BacklogTracer registered yet")
    drains = await client.search(DRAIN_PATTERN)
    jvm_id = f"{version.get('id', '')}/{started}"
    drain = sorted(drains)[0] if drains else None
    return CamelTarget(jvm_id, sorted(contexts)[0], sorted(tracers)[0], drain)


class TracerCapture:
    def __init__(
        self,
        client: JolokiaClient,
        settings: SidecarSettings,
        *,
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.redactor = Redactor.from_rules(settings.redaction_patterns, settings.redaction_headers)
        self.assembler = ExchangeAssembler(
            incomplete_after_seconds=settings.incomplete_after_seconds, wanted=self._wanted
        )
        self.ring: RingBuffer[ExchangeRecord] = RingBuffer(settings.ring_capacity)
        self.replay = ReplayBuffer(
            capacity=settings.replay_capacity, ttl_seconds=settings.replay_ttl_seconds
        )
        self.counters = Counters()
        self.target: CamelTarget | None = None
        self.agent_id: str | None = None
        self.cursor = 0

    async def connect(self) -> CamelTarget:
        """Discover Camel and switch the tracer on. We own the tracer: RemoveOnDump stays on so
        the queue drains. Bodies are cut in the JVM at ``tracer_body_max_chars`` (bounded: the
        tracer copies the body at every node); the upstream copy is capped after redaction.

        Sampling cannot be decided by the tracer's own filter without losing failures: Camel
        4.18 evaluates it before each node runs, and records a route's closing event only if it
        traced its first one, so no filter can tell at the first node that an exchange will
        fail. Every exchange is traced. With our runtime's drain, the JVM holds each exchange's
        events until it ends and sends only kept ones; otherwise sampled-out ones are dropped
        here after a skim of their small fields (telemetry.sidecar.events)."""
        target = await discover(self.client)
        # compare with the last JVM we traced, not with `target` (cleared on any failure):
        # a transient Jolokia error must not throw away half-assembled exchanges
        if target.agent_id != self.agent_id:
            # a new JVM starts its trace counter at 1 again; what was in flight is lost
            self._give_up(self.assembler.flush())
            self.cursor = 0
        settings: list[tuple[str, object]] = [
            ("BacklogSize", self.settings.tracer_backlog_size),
            ("BodyMaxChars", self.settings.tracer_body_max_chars),
            ("RemoveOnDump", True),
            # properties and variables are copied at every node and we never use them
            ("IncludeExchangeProperties", False),
            ("IncludeExchangeVariables", False),
            # a stream that is not cached would be read (used up) by the copy at each node
            ("BodyIncludeStreams", False),
            ("Enabled", True),  # last: trace only once the options hold
        ]
        answers = await self.client.bulk(
            [
                {"type": "write", "mbean": target.tracer_mbean, "attribute": name, "value": value}
                for name, value in settings
            ]
        )
        for answer in answers:
            raise_for_item(answer)
        self.target = target
        self.agent_id = target.agent_id
        log.info(
            "tracing Camel context %s (agent %s), sampled %s",
            target.context_mbean,
            target.agent_id,
            "in the JVM" if target.drain_mbean else "here",
        )
        return target

    async def poll_once(self) -> int:
        """Drain the tracer once; returns how many new events it gave."""
        if self.target is None:
            await self.connect()
        assert self.target is not None
        if self.target.drain_mbean is not None:
            events = await self._drained_events(self.target.drain_mbean)
        else:
            dump = await self.client.execute(self.target.tracer_mbean, DUMP_OPERATION)
            events = self._new_events(decode_dump(dump if isinstance(dump, str) else None))
        now = self.clock()
        self._keep(self.assembler.feed(events, now))
        self._give_up(self.assembler.expire(now))
        self.replay.expire(now)
        return len(events)

    async def _drained_events(self, drain_mbean: str) -> list[TraceEvent]:
        """The kept exchanges' events; the JVM has already counted and dropped the rest. No uid
        cursor: a failed exchange's early events arrive after later uids of sampled ones."""
        # only once this sidecar replayed something can an input carry a header it trusts
        keep_header = REPLAY_HEADER if self.replay.replayed_any() else ""
        stale_ms = int(self.settings.incomplete_after_seconds * 1000)
        answer = await self.client.execute(
            drain_mbean, DRAIN_OPERATION, self.settings.sample_rate, keep_header, stale_ms
        )
        try:
            drained = decode_drained(answer if isinstance(answer, str) else None)
        except TraceDecodeError as exc:
            raise JolokiaUnavailable(str(exc)) from exc
        self._count_drained(drained)
        return drained.traces

    def _count_drained(self, drained: DrainedDump) -> None:
        counters = self.counters
        counters.events_seen += drained.events_seen
        counters.events_lost += drained.events_lost
        counters.exchanges_sampled_out += drained.exchanges_sampled_out
        counters.exchanges_incomplete += drained.exchanges_incomplete

    def _new_events(self, events: list[TraceEvent]) -> list[TraceEvent]:
        """The events past the cursor (``events`` in uid order); uids are the tracer's counter,
        so the gaps between them are events its bounded queue dropped."""
        cursor = self.cursor
        fresh = events if not events or events[0].uid > cursor else [
            event for event in events if event.uid > cursor
        ]  # fmt: skip
        if not fresh:
            return fresh
        first, last = fresh[0].uid, fresh[-1].uid
        lost = last - first + 1 - len(fresh)
        if cursor:
            lost += first - cursor - 1
        self.counters.events_lost += max(0, lost)
        self.counters.events_seen += len(fresh)
        self.cursor = last
        return fresh

    def _give_up(self, exchanges: list[CapturedExchange]) -> None:
        self.counters.exchanges_incomplete += len(exchanges)
        self._keep(exchanges)

    def _wanted(self, events: Sequence[TraceEvent]) -> bool:
        """Keep a complete exchange? Failures and our replays always, the rest as sampled;
        asked before the exchange is built or its messages decoded."""
        if sampled_in(events[0].exchange_id, self.settings.sample_rate):
            return True
        if any(map(_failed, events)):
            return True
        if self.replay.replayed_any() and any(
            (lazy := e.lazy_message) is not None
            and lazy.mentions(REPLAY_HEADER)
            and self._replayed(lazy.decoded())
            for e in events
        ):
            return True
        self.counters.exchanges_sampled_out += 1
        return False

    def _replayed(self, message: TracedMessage) -> bool:
        return any(
            name == REPLAY_HEADER and self.replay.was_replayed(value)
            for name, value in message.headers
        )

    def _keep(self, exchanges: list[CapturedExchange]) -> None:
        for exchange in exchanges:
            replay = self._replay_of(exchange)
            # failures and replays are what operators look for: never sample them out
            keep_always = exchange.failed or replay
            if not keep_always and not sampled_in(exchange.exchange_id, self.settings.sample_rate):
                # decided before the input message is decoded: a sampled-out exchange costs
                # its events' small fields only
                self.counters.exchanges_sampled_out += 1
                continue
            if exchange.input is not None and not is_clipped(exchange.input.body):
                self.replay.put(self._original(exchange))
            # the replay header holds a Camel exchange id ("<hex>-<16-digit counter>"), which
            # passes the card check one time in ten: it is ours, so it is kept as it is
            verbatim = frozenset({REPLAY_HEADER}) if replay else frozenset()
            self.ring.push(
                to_record(exchange, self.redactor, self.settings.body_max_chars, verbatim=verbatim)
            )

    def _replay_of(self, exchange: CapturedExchange) -> bool:
        """True when this sidecar replayed the exchange (not when a client sent the header)."""
        if not self.replay.replayed_any() or not exchange.input_mentions(REPLAY_HEADER):
            return False
        headers = exchange.input.headers if exchange.input else ()
        return any(
            name == REPLAY_HEADER and self.replay.was_replayed(value) for name, value in headers
        )

    def _original(self, exchange: CapturedExchange) -> ReplayOriginal:
        assert exchange.input is not None
        return ReplayOriginal(
            exchange_id=exchange.exchange_id,
            route_id=exchange.route_id,
            endpoint_uri=exchange.input_endpoint,
            body=exchange.input.body,
            headers=exchange.input.headers,
            captured_at=self.clock(),
        )

    def counters_snapshot(self) -> CaptureCounters:
        return self.counters.snapshot(self.ring.dropped)


def to_record(
    exchange: CapturedExchange,
    redactor: Redactor,
    body_max_chars: int,
    *,
    verbatim: frozenset[str] = frozenset(),
) -> ExchangeRecord:
    """The only way an exchange leaves the pod: every free-text field goes through redaction."""
    message = exchange.input
    body, truncated = cap(redactor.text(message.body or "") if message else "", body_max_chars)
    error = exchange.exception
    if exchange.failed:
        status = ExchangeStatus.FAILED
    else:
        status = ExchangeStatus.COMPLETED if exchange.complete else ExchangeStatus.INCOMPLETE
    return ExchangeRecord(
        exchange_id=exchange.exchange_id,
        route_id=exchange.route_id,
        status=status,
        started_at_ms=max(0, exchange.started_at_ms),
        elapsed_ms=exchange.elapsed_ms,
        failed_node=exchange.failed_node,
        exception_type=error.type[:1000] if error else "",
        exception_message=redactor.text(error.message)[:8000] if error else "",
        stack_trace=redactor.stack_trace(error.stack_trace)[:32000] if error else "",
        headers=redactor.headers(message.headers[:500], verbatim=verbatim) if message else {},
        body=body[:65536],
        body_truncated=truncated,
        replayable=message is not None and not is_clipped(message.body),
        nodes=tuple(
            NodeRecord(
                seq=node.seq,
                route_id=node.route_id,
                node_id=node.node_id,
                node_name=node.node_name,
                level=node.level,
                parent_id=node.parent_id,
                endpoint_uri=redactor.text(node.endpoint_uri)[:4000],
                started_at_ms=max(0, node.started_at_ms),
                elapsed_ms=node.elapsed_ms,
                failed=node.failed,
            )
            for node in exchange.nodes[:1000]
        ),
    )

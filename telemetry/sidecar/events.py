"""Decode BacklogTracer JSON dumps (the 4.4-era and the current event shapes) into TraceEvents.

The tracer copies the message (headers and body) at every node, most of a dump's bytes, yet
only a kept exchange's input message is ever read. The fast path decodes each event's small
fields with a compiled msgspec schema and keeps the message as raw JSON bytes, decoded on
first read: an exchange sampled out costs a skim of its bytes, not a dict per header.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec


class TraceDecodeError(ValueError):
    """The dump as a whole is not what a BacklogTracer produces."""


@dataclass(frozen=True, slots=True)
class TracedMessage:
    """The In message as the tracer copied it before a node ran."""

    headers: tuple[tuple[str, Any], ...]
    body: str | None
    body_type: str


class LazyMessage:
    """A traced message still as JSON bytes: ``.decoded()`` parses it once, when needed."""

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: bytes | TracedMessage) -> None:
        self._raw = raw if isinstance(raw, bytes) else b""
        self._decoded = raw if isinstance(raw, TracedMessage) else None

    def mentions(self, text: str) -> bool:
        if self._decoded is not None:
            return any(text in str(item) for item in (*self._decoded.headers, self._decoded.body))
        return text.encode() in self._raw

    def decoded(self) -> TracedMessage:
        if self._decoded is None:
            try:
                self._decoded = _fast_message(_message_decoder.decode(self._raw))
            except (msgspec.ValidationError, msgspec.DecodeError):
                self._decoded = _tolerant_message(self._raw)
        return self._decoded


class TracedException(msgspec.Struct, frozen=True, gc=False):
    """As the tracer recorded it; the stack trace is kept escaped and undone when read (a failed
    exchange carries it at every node after the throw, and only one of them is ever read)."""

    type: str = ""
    message: str = ""
    raw_stack_trace: str = msgspec.field(default="", name="stackTrace")

    @property
    def stack_trace(self) -> str:
        return unescape(self.raw_stack_trace)


_NO_MESSAGE = msgspec.Raw(b"")


class TraceEvent(msgspec.Struct, frozen=True, gc=False):
    """One tracer event's small fields, decoded straight from the dump under Camel's names (every
    other field, and new ones keep appearing, is skipped unparsed): no Python code runs per
    event of an exchange that is sampled out. The message stays as raw JSON (``raw_message``,
    a view into the dump until the assembler detaches it); only a route's first one is read."""

    uid: int
    exchange_id: str = msgspec.field(default="", name="exchangeId")
    route_id: str = msgspec.field(default="", name="routeId")
    node_id: str = msgspec.field(default="", name="nodeId")
    node_name: str = msgspec.field(default="", name="nodeShortName")
    node_level: int = msgspec.field(default=1, name="nodeLevel")
    node_parent_id: str = msgspec.field(default="", name="nodeParentId")
    first: bool = False
    last: bool = False
    timestamp_ms: int = msgspec.field(default=0, name="timestamp")
    raw_elapsed_ms: int = msgspec.field(default=0, name="elapsed")
    failed: bool = False
    endpoint_uri: str = msgspec.field(default="", name="endpointUri")
    raw_message: msgspec.Raw = msgspec.field(default=_NO_MESSAGE, name="message")
    exception: TracedException | None = None

    @property
    def elapsed_ms(self) -> int:
        return max(0, self.raw_elapsed_ms)

    @property
    def lazy_message(self) -> LazyMessage | None:
        """The route's input message (first events only), not decoded until read."""
        if not self.first or not _has_message(self.raw_message):
            return None
        return LazyMessage(bytes(self.raw_message))

    @property
    def message(self) -> TracedMessage | None:
        lazy = self.lazy_message
        return lazy.decoded() if lazy is not None else None

    def detached(self) -> TraceEvent:
        """The same event without its view into the dump (kept only for a first event's
        message, copied): an exchange still pending must not hold a whole dump in memory."""
        keep = _NO_MESSAGE
        if self.first and _has_message(self.raw_message):
            keep = msgspec.Raw(bytes(self.raw_message))
        return msgspec.structs.replace(self, raw_message=keep)


def _has_message(raw: msgspec.Raw) -> bool:
    # compared without copying: the message is most of the event's bytes
    return len(raw) > 4 or (len(raw) > 0 and bytes(raw) != b"null")


# what the tracer appends to a body it cut at BodyMaxChars (MessageHelper.extractBodyForLogging)
_CLIPPED = re.compile(r"\.\.\. \[Body clipped after \d+ chars, total length is \d+\]$")


def is_clipped(body: str | None) -> bool:
    """A body the JVM cut: shown (capped) but never replayed, it is not the original."""
    return body is not None and body.endswith("]") and _CLIPPED.search(body) is not None


def unescape(value: str) -> str:
    """Camel escapes body and stack trace once itself (Jsoner.escape) before serialising the
    event, so after json.loads they are still JSON-escaped; undo the inner escape too."""
    if "\\" not in value:
        return value
    try:
        decoded = json.loads('"' + value + '"')
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


class _RawDump(msgspec.Struct, gc=False):
    traces: list[TraceEvent]


class _MessageId(msgspec.Struct, gc=False):
    exchangeId: str = ""


_dump_decoder = msgspec.json.Decoder(_RawDump)
_id_decoder = msgspec.json.Decoder(_MessageId)
_by_uid = attrgetter("uid")
_exchange_id = attrgetter("exchange_id")


class DrainedDump(msgspec.Struct, gc=False):
    """The answer of our runtime's tracer drain: kept exchanges' events in the tracer's shape,
    and counts of what the JVM took from the tracer but did not send."""

    traces: list[TraceEvent] = msgspec.field(default_factory=list)
    events_seen: int = msgspec.field(default=0, name="eventsSeen")
    events_lost: int = msgspec.field(default=0, name="eventsLost")
    exchanges_sampled_out: int = msgspec.field(default=0, name="exchangesSampledOut")
    exchanges_incomplete: int = msgspec.field(default=0, name="exchangesIncomplete")


_drained_decoder = msgspec.json.Decoder(DrainedDump)


def decode_drained(dump: str | None) -> DrainedDump:
    """Parse the string value of the drain operation (io.camelops.trace.TraceDrain)."""
    if not dump:
        return DrainedDump()
    try:
        drained = _drained_decoder.decode(dump)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise TraceDecodeError(f"tracer drain answer is not what it should be: {exc}") from exc
    drained.traces.sort(key=_by_uid)
    return drained


def decode_dump(dump: str | None) -> list[TraceEvent]:
    """Parse the string value of ``dumpAllTracedMessagesAsJSon()``. A dump the compiled schema
    refuses (a field changed type in some Camel version) takes the tolerant path, which skips
    malformed events rather than losing the whole dump."""
    if not dump:
        return []
    try:
        events = _dump_decoder.decode(dump).traces
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _decode_tolerant(dump)
    if not all(map(_exchange_id, events)) or (events and min(map(_by_uid, events)) < 0):
        events = [event for raw in events if (event := _with_exchange_id(raw)) is not None]
    # the tracer's queue is in uid order already, so this is one pass
    return sorted(events, key=_by_uid)


def _with_exchange_id(event: TraceEvent) -> TraceEvent | None:
    if event.uid < 0:
        return None
    if event.exchange_id:
        return event
    if not _has_message(event.raw_message):
        return None
    # 4.4-era events carry the exchange id only inside the message
    try:
        exchange_id = _id_decoder.decode(event.raw_message).exchangeId
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return msgspec.structs.replace(event, exchange_id=exchange_id) if exchange_id else None


def _decode_tolerant(dump: str) -> list[TraceEvent]:
    try:
        document = json.loads(dump)
    except ValueError as exc:
        raise TraceDecodeError(f"tracer dump is not JSON: {exc}") from exc
    traces = document.get("traces") if isinstance(document, dict) else None
    if not isinstance(traces, list):
        raise TraceDecodeError("tracer dump has no 'traces' list")
    events = [event for raw in traces if (event := decode_event(raw)) is not None]
    return sorted(events, key=lambda event: event.uid)


def decode_event(raw: Any) -> TraceEvent | None:
    if not isinstance(raw, dict) or _int(raw.get("uid"), default=-1) < 0:
        return None
    message = raw.get("message") if isinstance(raw.get("message"), dict) else {}
    assert isinstance(message, dict)
    # 4.4-era events carry the exchange id only inside the message
    exchange_id = _text(raw.get("exchangeId")) or _text(message.get("exchangeId"))
    if not exchange_id:
        return None
    first = raw.get("first") is True
    return TraceEvent(
        uid=raw["uid"],
        exchange_id=exchange_id,
        route_id=_text(raw.get("routeId")),
        node_id=_text(raw.get("nodeId")),
        node_name=_text(raw.get("nodeShortName")),
        node_level=_int(raw.get("nodeLevel"), default=1),
        node_parent_id=_text(raw.get("nodeParentId")),
        first=first,
        last=raw.get("last") is True,
        timestamp_ms=_int(raw.get("timestamp")),
        raw_elapsed_ms=_int(raw.get("elapsed")),
        failed=raw.get("failed") is True,
        endpoint_uri=_text(raw.get("endpointUri")),
        # only a route's first event is replayed or shown
        raw_message=msgspec.Raw(msgspec.json.encode(message)) if message and first else _NO_MESSAGE,
        exception=_exception(raw.get("exception")),
    )


class _Header(msgspec.Struct, gc=False):
    key: str
    value: Any = None


class _Body(msgspec.Struct, gc=False):
    type: str = ""
    value: Any = None


class _Message(msgspec.Struct, gc=False):
    headers: list[_Header] | None = None
    body: _Body | None = None


_message_decoder = msgspec.json.Decoder(_Message)


def _fast_message(message: _Message) -> TracedMessage:
    body = message.body
    value = body.value if body is not None else None
    return TracedMessage(
        headers=tuple((header.key, header.value) for header in message.headers or ()),
        body=unescape(value) if isinstance(value, str) else None,
        body_type=body.type if body is not None else "",
    )


def _tolerant_message(raw: bytes) -> TracedMessage:
    try:
        document = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        document = {}
    return _message(document if isinstance(document, dict) else {})


def _message(message: dict[str, Any]) -> TracedMessage:
    headers: list[tuple[str, Any]] = []
    for header in message.get("headers") or []:
        if isinstance(header, dict) and isinstance(header.get("key"), str):
            headers.append((header["key"], header.get("value")))
    body = message.get("body") if isinstance(message.get("body"), dict) else {}
    assert isinstance(body, dict)
    value = body.get("value")
    return TracedMessage(
        headers=tuple(headers),
        body=unescape(value) if isinstance(value, str) else None,
        body_type=_text(body.get("type")),
    )


def _exception(raw: Any) -> TracedException | None:
    if not isinstance(raw, dict):
        return None
    return TracedException(
        type=_text(raw.get("type")),
        message=_text(raw.get("message")),
        raw_stack_trace=_text(raw.get("stackTrace")),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, *, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default

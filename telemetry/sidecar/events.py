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
                document = msgspec.json.decode(self._raw)
            except msgspec.DecodeError:
                document = {}
            self._decoded = _message(document if isinstance(document, dict) else {})
        return self._decoded


@dataclass(frozen=True, slots=True)
class TracedException:
    type: str
    message: str
    stack_trace: str


class TraceEvent(msgspec.Struct, frozen=True, gc=False):
    """One tracer event's small fields. A compiled struct rather than a frozen dataclass: one
    is built per event of every exchange, sampled out or not, and a frozen dataclass pays a
    Python-level ``object.__setattr__`` per field."""

    uid: int
    exchange_id: str
    route_id: str
    node_id: str
    node_name: str
    node_level: int
    node_parent_id: str
    first: bool
    last: bool
    timestamp_ms: int
    elapsed_ms: int
    failed: bool
    endpoint_uri: str
    lazy_message: LazyMessage | None
    exception: TracedException | None

    @property
    def message(self) -> TracedMessage | None:
        return self.lazy_message.decoded() if self.lazy_message is not None else None


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


class _RawException(msgspec.Struct, gc=False):
    type: str = ""
    message: str = ""
    stackTrace: str = ""


class _RawEvent(msgspec.Struct, gc=False):
    """The fields we read, under Camel's names; every other one (new ones keep appearing) is
    skipped unparsed."""

    uid: int
    exchangeId: str = ""
    routeId: str = ""
    nodeId: str = ""
    nodeShortName: str = ""
    nodeLevel: int = 1
    nodeParentId: str = ""
    first: bool = False
    last: bool = False
    timestamp: int = 0
    elapsed: int = 0
    failed: bool = False
    endpointUri: str = ""
    message: msgspec.Raw = msgspec.Raw(b"")  # absent: empty
    exception: _RawException | None = None


class _RawDump(msgspec.Struct, gc=False):
    traces: list[_RawEvent]


class _MessageId(msgspec.Struct, gc=False):
    exchangeId: str = ""


_dump_decoder = msgspec.json.Decoder(_RawDump)
_id_decoder = msgspec.json.Decoder(_MessageId)


def decode_dump(dump: str | None) -> list[TraceEvent]:
    """Parse the string value of ``dumpAllTracedMessagesAsJSon()``. A dump the compiled schema
    refuses (a field changed type in some Camel version) takes the tolerant path, which skips
    malformed events rather than losing the whole dump."""
    if not dump:
        return []
    try:
        raw = _dump_decoder.decode(dump)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _decode_tolerant(dump)
    events = [event for item in raw.traces if (event := _fast_event(item)) is not None]
    return sorted(events, key=_by_uid)


_by_uid = attrgetter("uid")


def _fast_event(raw: _RawEvent) -> TraceEvent | None:
    if raw.uid < 0:
        return None
    exchange_id = raw.exchangeId
    message = raw.message
    # compared without copying: the message is most of the event's bytes
    has_message = len(message) > 4 or (len(message) > 0 and bytes(message) != b"null")
    if not exchange_id and has_message:
        # 4.4-era events carry the exchange id only inside the message
        exchange_id = _id_decoder.decode(raw.message).exchangeId
    if not exchange_id:
        return None
    error = raw.exception
    return TraceEvent(
        uid=raw.uid,
        exchange_id=exchange_id,
        route_id=raw.routeId,
        node_id=raw.nodeId,
        node_name=raw.nodeShortName,
        node_level=raw.nodeLevel,
        node_parent_id=raw.nodeParentId,
        first=raw.first,
        last=raw.last,
        timestamp_ms=raw.timestamp,
        elapsed_ms=max(0, raw.elapsed),
        failed=raw.failed,
        endpoint_uri=raw.endpointUri,
        # only a route's first event is replayed or shown
        lazy_message=LazyMessage(bytes(raw.message)) if has_message and raw.first else None,
        exception=TracedException(error.type, error.message, unescape(error.stackTrace))
        if error is not None
        else None,
    )


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
    return TraceEvent(
        uid=raw["uid"],
        exchange_id=exchange_id,
        route_id=_text(raw.get("routeId")),
        node_id=_text(raw.get("nodeId")),
        node_name=_text(raw.get("nodeShortName")),
        node_level=_int(raw.get("nodeLevel"), default=1),
        node_parent_id=_text(raw.get("nodeParentId")),
        first=raw.get("first") is True,
        last=raw.get("last") is True,
        timestamp_ms=_int(raw.get("timestamp")),
        elapsed_ms=max(0, _int(raw.get("elapsed"))),
        failed=raw.get("failed") is True,
        endpoint_uri=_text(raw.get("endpointUri")),
        # only a route's first event is replayed or shown; copying every node's message
        # (the tracer sends one per node) would triple the sidecar's CPU for nothing
        lazy_message=LazyMessage(_message(message))
        if message and raw.get("first") is True
        else None,
        exception=_exception(raw.get("exception")),
    )


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
        stack_trace=unescape(_text(raw.get("stackTrace"))),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, *, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default

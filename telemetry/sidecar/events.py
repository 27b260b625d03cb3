"""Decode BacklogTracer JSON dumps (the 4.4-era and the current event shapes) into TraceEvents."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class TraceDecodeError(ValueError):
    """The dump as a whole is not what a BacklogTracer produces."""


@dataclass(frozen=True, slots=True)
class TracedMessage:
    """The In message as the tracer copied it before a node ran."""

    headers: tuple[tuple[str, Any], ...]
    body: str | None
    body_type: str


@dataclass(frozen=True, slots=True)
class TracedException:
    type: str
    message: str
    stack_trace: str


@dataclass(frozen=True, slots=True)
class TraceEvent:
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
    message: TracedMessage | None
    exception: TracedException | None


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


def decode_dump(dump: str | None) -> list[TraceEvent]:
    """Parse the string value of ``dumpAllTracedMessagesAsJSon()``; skip malformed events
    rather than losing the whole dump, since new fields keep appearing across 4.x."""
    if not dump:
        return []
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
        message=_message(message) if message and raw.get("first") is True else None,
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

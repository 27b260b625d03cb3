"""Decoding BacklogTracer dumps: a real Camel 4.18 dump, the 4.4-era shape, broken input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from telemetry.sidecar.events import (
    TraceDecodeError,
    _decode_tolerant,
    decode_drained,
    decode_dump,
    decode_event,
    is_clipped,
    unescape,
)

CORPUS = Path(__file__).parent / "corpus"


def real_dump() -> str:
    return (CORPUS / "dump-camel-4.18.json").read_text()


def old_event(uid: int, **fields: Any) -> dict[str, Any]:
    """The 4.4-era event: no top-level exchangeId, no node shape fields."""
    event: dict[str, Any] = {
        "uid": uid, "first": False, "last": False, "rest": False, "template": False,
        "routeId": "r", "timestamp": 1_700_000_000_000 + uid, "elapsed": 1, "done": True,
        "failed": False, "threadName": "t",
        "message": {"exchangeId": "EX-1", "headers": [], "body": {"type": "java.lang.String"}},
    }  # fmt: skip
    event.update(fields)
    return event


def test_real_camel_dump_decodes_with_inner_escapes_undone() -> None:
    events = decode_dump(real_dump())
    assert [e.uid for e in events] == list(range(1, 9)) + list(range(17, 25))
    first = events[0]
    assert first.first
    assert first.route_id == "orders-http"
    assert first.endpoint_uri == "platform-http:///orders"
    assert first.message is not None
    assert first.message.body == '{"id":1,"email":"a@b.com"}'
    assert ("Authorization", "Bearer abc.def") in first.message.headers
    failed = [e for e in events if e.exception is not None]
    assert failed[0].exception is not None
    assert failed[0].exception.type == "java.lang.IllegalArgumentException"
    assert failed[0].exception.stack_trace.startswith(
        "java.lang.IllegalArgumentException: rejected order\n\tat java.base/"
    )


def test_old_shape_takes_exchange_id_from_the_message() -> None:
    events = decode_dump(json.dumps({"traces": [old_event(2), old_event(1, first=True)]}))
    assert [(e.uid, e.exchange_id, e.node_id, e.node_level) for e in events] == [
        (1, "EX-1", "", 1),
        (2, "EX-1", "", 1),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"{\"a\":1}", '{"a":1}'),
        (r"line\nnext\/path", "line\nnext/path"),
        ("plain text", "plain text"),
        (r"broken \x escape", r"broken \x escape"),
        ('unescaped "quote" \\n', 'unescaped "quote" \\n'),
        ("trailing backslash \\", "trailing backslash \\"),
    ],
)
def test_unescape(raw: str, expected: str) -> None:
    assert unescape(raw) == expected


@pytest.mark.parametrize("dump", ["not json", "[]", '{"traces": 3}', '{"other": []}', "null"])
def test_a_dump_that_is_not_a_tracer_dump_is_refused(dump: str) -> None:
    with pytest.raises(TraceDecodeError):
        decode_dump(dump)


def test_empty_dump_is_no_events() -> None:
    assert decode_dump(None) == []
    assert decode_dump("") == []
    assert decode_dump('{"traces": []}') == []


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "x",
        [],
        {"uid": "1"},
        {"uid": True, "exchangeId": "E"},
        {"uid": 1},  # no exchange id anywhere
        {"uid": 1, "message": "not an object"},
    ],
)
def test_malformed_events_are_skipped(raw: Any) -> None:
    assert decode_event(raw) is None


def test_wrong_field_types_fall_back_to_defaults() -> None:
    event = decode_event(
        {
            "uid": 7,
            "first": True,
            "exchangeId": "E",
            "routeId": 5,
            "elapsed": -3,
            "nodeLevel": "deep",
            "failed": "yes",
            "timestamp": 1.5,
            "exception": ["x"],
            "message": {"headers": [{"key": 1}, "junk", {"key": "k"}], "body": {"value": 12}},
        }
    )
    assert event is not None
    assert (event.route_id, event.elapsed_ms, event.node_level, event.failed) == ("", 0, 1, False)
    assert event.exception is None
    assert event.message is not None
    assert event.message.headers == (("k", None),)
    assert event.message.body is None


def test_compiled_and_tolerant_decoders_agree_on_a_real_dump() -> None:
    fast = decode_dump(real_dump())
    tolerant = _decode_tolerant(real_dump())
    assert len(fast) == len(tolerant) == 16
    for a, b in zip(fast, tolerant, strict=True):
        assert (a.uid, a.exchange_id, a.route_id, a.node_id, a.failed, a.exception) == (
            b.uid, b.exchange_id, b.route_id, b.node_id, b.failed, b.exception,
        )  # fmt: skip
        assert a.message == b.message


def test_a_message_is_decoded_only_when_read() -> None:
    first = decode_dump(real_dump())[0]
    assert first.lazy_message is not None
    assert first.lazy_message.mentions("Authorization")
    assert first.lazy_message._decoded is None, "a skim decodes nothing"
    assert first.message is not None
    assert first.message.headers[1] == ("Authorization", "Bearer abc.def")


@pytest.mark.parametrize(
    ("body", "clipped"),
    [
        ("abc... [Body clipped after 3 chars, total length is 9]", True),
        ("abc [Body clipped]", False),
        (None, False),
    ],
)
def test_clipped_bodies_are_recognised(body: str | None, clipped: bool) -> None:
    assert is_clipped(body) is clipped


def test_a_drain_answer_gives_its_events_in_uid_order_and_the_jvm_counts() -> None:
    """The in-JVM drain's answer: kept exchanges' events in the tracer's shape, possibly out of
    uid order (a failure's early events come after later uids), plus what it did not send."""
    traces = json.loads((CORPUS / "dump-camel-4.18.json").read_text())["traces"]
    answer = {
        "traces": traces[8:] + traces[:8],
        "eventsSeen": 40,
        "eventsLost": 2,
        "exchangesSampledOut": 3,
        "exchangesIncomplete": 1,
    }
    drained = decode_drained(json.dumps(answer))
    assert [event.uid for event in drained.traces] == sorted(t["uid"] for t in traces)
    counts = (drained.events_seen, drained.events_lost, drained.exchanges_sampled_out)
    assert counts == (40, 2, 3)
    assert drained.exchanges_incomplete == 1
    assert decode_drained(None).traces == []


@pytest.mark.parametrize("answer", ['{"traces": 3}', "not json", '{"eventsSeen": "many"}'])
def test_a_drain_answer_of_the_wrong_shape_is_refused(answer: str) -> None:
    with pytest.raises(TraceDecodeError, match="tracer drain answer"):
        decode_drained(answer)

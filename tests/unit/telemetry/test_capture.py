"""Capture bookkeeping without a JVM: uid cursor and gaps, sampling, redacted records."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from contract.telemetry import ExchangeStatus
from telemetry.jolokia import JolokiaClient
from telemetry.sidecar.assemble import ExchangeAssembler
from telemetry.sidecar.capture import TracerCapture, to_record
from telemetry.sidecar.events import TraceEvent, decode_dump
from telemetry.sidecar.redact import MASK, Redactor
from telemetry.sidecar.settings import SidecarSettings

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
async def capture() -> AsyncIterator[TracerCapture]:
    async with aiohttp.ClientSession() as session:
        # never contacted: these tests feed events directly
        client = JolokiaClient("http://127.0.0.1:9/jolokia/", session)
        yield TracerCapture(client, SidecarSettings(integration="orders"), clock=lambda: 0.0)


def corpus_events() -> list[TraceEvent]:
    return decode_dump((CORPUS / "dump-camel-4.18.json").read_text())


async def test_uid_gaps_are_counted_as_lost_and_old_uids_ignored(capture: TracerCapture) -> None:
    events = corpus_events()  # uids 1..8 then 17..24: the tracer dropped 9..16
    assert len(capture._new_events(events)) == 16
    assert capture.counters.events_lost == 8
    assert capture.cursor == 24
    assert capture._new_events(events) == []  # redelivered dump: nothing new
    assert capture.counters.events_seen == 16


async def test_failed_exchanges_survive_a_zero_sample_rate(capture: TracerCapture) -> None:
    capture.settings = SidecarSettings(integration="orders", sample_rate=0.0)
    capture._keep(ExchangeAssembler().feed(corpus_events(), now=0.0))
    kept = capture.ring.peek(10)
    assert [record.status for record in kept] == [ExchangeStatus.FAILED]
    assert capture.counters.exchanges_sampled_out == 1
    assert len(capture.replay) == 1, "only captured exchanges can be replayed"


def test_records_leaving_the_pod_are_redacted_and_capped() -> None:
    ok, failed = ExchangeAssembler().feed(corpus_events(), now=0.0)
    record = to_record(ok, Redactor.from_rules(), body_max_chars=10)
    assert record.headers["Authorization"] == MASK
    assert record.body == '{"id":1,"e'
    assert record.body_truncated
    assert "a@b.com" not in json.dumps(record.model_dump())
    failed_record = to_record(failed, Redactor.from_rules(), body_max_chars=0)
    assert failed_record.failed_node == "reject"
    assert failed_record.exception_type == "java.lang.IllegalArgumentException"
    assert failed_record.stack_trace.startswith("java.lang.IllegalArgumentException")


def with_replay_header(value: str) -> list[TraceEvent]:
    document = json.loads((CORPUS / "dump-camel-4.18.json").read_text())
    ok_events = document["traces"][:8]
    ok_events[0]["message"]["headers"].append({"key": "CamelopsReplayOf", "value": value})
    return decode_dump(json.dumps({"traces": ok_events}))


async def test_replayed_exchanges_are_never_sampled_out(capture: TracerCapture) -> None:
    capture.settings = SidecarSettings(integration="orders", sample_rate=0.0)
    capture.replay.mark_replayed("EX-0")
    capture._keep(ExchangeAssembler().feed(with_replay_header("EX-0"), now=0.0))
    assert [record.headers["CamelopsReplayOf"] for record in capture.ring.peek(5)] == ["EX-0"]


# Camel's exchange ids end in a 16-digit counter; one in ten passes the card (Luhn) check.
# Redacting the replay header's id made the e2e replay test miss its exchange at random.
LUHN_VALID_EXCHANGE_ID = "3E9A2F1C0D4B7AB-0000000000000026"


async def test_the_replay_header_of_our_own_replay_keeps_its_exchange_id(
    capture: TracerCapture,
) -> None:
    assert Redactor.from_rules().text(LUHN_VALID_EXCHANGE_ID) != LUHN_VALID_EXCHANGE_ID
    capture.replay.mark_replayed(LUHN_VALID_EXCHANGE_ID)
    capture._keep(ExchangeAssembler().feed(with_replay_header(LUHN_VALID_EXCHANGE_ID), now=0.0))
    [record] = capture.ring.peek(5)
    assert record.headers["CamelopsReplayOf"] == LUHN_VALID_EXCHANGE_ID


async def test_a_replay_header_sent_by_a_client_is_redacted_and_sampled(
    capture: TracerCapture,
) -> None:
    card = "4111 1111 1111 1111"
    capture.settings = SidecarSettings(integration="orders", sample_rate=1.0)
    capture._keep(ExchangeAssembler().feed(with_replay_header(card), now=0.0))
    [record] = capture.ring.peek(5)
    assert record.headers["CamelopsReplayOf"] == MASK
    capture.settings = SidecarSettings(integration="orders", sample_rate=0.0)
    capture._keep(ExchangeAssembler().feed(with_replay_header("EX-9"), now=0.0))
    assert len(capture.ring) == 1, "a forged replay header does not force capture"


CARD, EMAIL = "4111 1111 1111 1111", "jane.doe@example.com"


def with_personal_data_everywhere() -> list[TraceEvent]:
    """The corpus with a card number and an e-mail in endpoint URIs, exception messages and
    stack traces: free text Camel fills from the message (dynamic `toD` URIs, validation errors)."""
    document = json.loads((CORPUS / "dump-camel-4.18.json").read_text())
    for event in document["traces"]:
        if not event["first"] and not event["last"]:  # a processor node, e.g. a `toD` step
            event["endpointUri"] = f"smtp://mail.example.net?to={EMAIL}&ref={CARD}"
        if event.get("exception"):
            exception = event["exception"]
            exception["message"] = f"rejected card {CARD} of {EMAIL}"
            exception["stackTrace"] = f"java.lang.IllegalArgumentException: card {CARD} of {EMAIL}"
            exception["stackTrace"] += "\\n\\tat org.example.Check.run(Check.java:12)\\n"
    return decode_dump(json.dumps(document))


def test_endpoint_uris_exception_messages_and_stack_traces_are_redacted() -> None:
    ok, failed = ExchangeAssembler().feed(with_personal_data_everywhere(), now=0.0)
    records = [to_record(x, Redactor.from_rules(), body_max_chars=0) for x in (ok, failed)]
    uris = [node.endpoint_uri for record in records for node in record.nodes if node.endpoint_uri]
    assert uris, "the corpus has endpoint URIs"
    assert all(uri.endswith(f"?to={MASK}&ref={MASK}") for uri in uris), uris
    failed_record = records[1]
    assert failed_record.exception_message == f"rejected card {MASK} of {MASK}"
    assert failed_record.stack_trace.startswith(
        f"java.lang.IllegalArgumentException: card {MASK} of {MASK}"
    )
    assert "Check.java:12" in failed_record.stack_trace  # the rest of the trace stays readable
    for record in records:
        dumped = json.dumps(record.model_dump())
        assert EMAIL not in dumped
        assert CARD not in dumped


async def test_sampled_out_exchanges_are_dropped_before_their_messages_are_read(
    capture: TracerCapture,
) -> None:
    capture.settings = SidecarSettings(integration="orders", sample_rate=0.0)
    capture.assembler = ExchangeAssembler(wanted=capture._wanted)
    events = corpus_events()
    capture._keep(capture.assembler.feed(events, now=0.0))
    ok_first = events[0]
    assert ok_first.lazy_message is not None
    assert ok_first.lazy_message._decoded is None, "the successful exchange was never decoded"
    assert capture.counters.exchanges_sampled_out == 1
    assert [record.status for record in capture.ring.peek(10)] == [ExchangeStatus.FAILED]


async def test_capture_keeps_every_failure_whole_when_sampling_is_zero(
    capture: TracerCapture,
) -> None:
    """Through the capture's own path (cursor -> assembler -> sampling -> records), the dump split
    across two polls: the failed exchange is kept with its nodes, origin and stack trace."""
    capture.settings = SidecarSettings(integration="orders", sample_rate=0.0)
    events = corpus_events()
    for part in (events[:11], events[11:]):
        capture._keep(capture.assembler.feed(capture._new_events(part), 0.0))
    (record,) = capture.ring.peek(10)
    assert record.status == ExchangeStatus.FAILED
    assert record.failed_node == "reject"
    assert [f"{n.route_id}/{n.node_id}" for n in record.nodes] == [
        "orders-http/to-process", "orders/mark", "orders/check", "orders/reject",
    ]  # fmt: skip
    assert record.exception_message == "rejected order"
    assert record.stack_trace.startswith("java.lang.IllegalArgumentException: rejected order\n")
    assert record.body == "FAIL now"
    assert record.headers["CamelHttpMethod"] == "POST"
    assert capture.counters.exchanges_sampled_out == 1
    assert capture.assembler.pending == 0

"""Events -> exchanges: nested routes, failure origin, incomplete exchanges."""

from __future__ import annotations

from pathlib import Path

from telemetry.sidecar.assemble import ExchangeAssembler
from telemetry.sidecar.events import TraceEvent, decode_dump

CORPUS = Path(__file__).parent / "corpus"


def events() -> list[TraceEvent]:
    return decode_dump((CORPUS / "dump-camel-4.18.json").read_text())


def test_exchange_completes_when_the_outer_route_ends() -> None:
    assembler = ExchangeAssembler()
    done = assembler.feed(events(), now=0.0)
    assert [e.route_id for e in done] == ["orders-http", "orders-http"]
    ok, failed = done
    assert not ok.failed
    assert ok.complete
    assert [f"{n.route_id}/{n.node_id}" for n in ok.nodes] == [
        "orders-http/to-process", "orders/mark", "orders/check", "orders/logit",
    ]  # fmt: skip
    assert ok.elapsed_ms == 19
    assert ok.input is not None
    assert ok.input_endpoint == "platform-http:///orders"
    assert failed.failed
    assert failed.failed_node == "reject"
    assert failed.exception is not None
    assert failed.exception.message == "rejected order"
    assert assembler.pending == 0


def test_events_split_across_polls_still_assemble() -> None:
    assembler = ExchangeAssembler()
    all_events = events()
    assert assembler.feed(all_events[:5], now=0.0) == []
    assert assembler.pending == 1
    assert len(assembler.feed(all_events[5:], now=1.0)) == 2


def test_sub_route_end_does_not_close_the_exchange() -> None:
    assembler = ExchangeAssembler()
    first_exchange = events()[:8]
    # up to and including the inner route's last event (uid 7)
    assert assembler.feed(first_exchange[:7], now=0.0) == []


def test_exchanges_without_an_end_are_given_up_as_incomplete() -> None:
    assembler = ExchangeAssembler(incomplete_after_seconds=30)
    assembler.feed(events()[:5], now=0.0)
    assert assembler.expire(now=29.0) == []
    (given_up,) = assembler.expire(now=30.0)
    assert not given_up.complete
    assert not given_up.failed
    assert given_up.elapsed_ms == sum(n.elapsed_ms for n in given_up.nodes)


def test_too_many_pending_exchanges_are_evicted_oldest_first() -> None:
    assembler = ExchangeAssembler(max_pending=1)
    all_events = events()
    assembler.feed(all_events[:3], now=0.0)
    evicted = assembler.feed(all_events[8:10], now=0.0)
    assert [e.exchange_id for e in evicted] == [all_events[0].exchange_id]
    assert assembler.pending == 1


def test_an_exchange_whose_first_event_was_lost_has_no_replay_input() -> None:
    assembler = ExchangeAssembler()
    all_events = events()
    assembler.feed(all_events[1:2] + all_events[3:6], now=0.0)
    (exchange,) = assembler.flush()
    assert exchange.input is None
    assert not exchange.complete


def test_pending_events_let_go_of_the_dump_and_keep_the_input_message() -> None:
    assembler = ExchangeAssembler()
    all_events = events()
    assert assembler.feed(all_events[:5], now=0.0) == []
    (pending,) = assembler._pending.values()
    # only the route's first events keep their message (copied); the others hold no bytes
    assert [len(e.raw_message) > 0 for e in pending.events] == [e.first for e in pending.events]
    assert not any(
        e.raw_message is o.raw_message for e, o in zip(pending.events, all_events[:5], strict=True)
    )
    (ok, _failed) = assembler.feed(all_events[5:], now=1.0)
    assert ok.input is not None
    assert ok.input.body == '{"id":1,"email":"a@b.com"}'

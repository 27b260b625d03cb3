"""Per-peer delivery state: sequencing, cumulative acks, the outbox bound and resume on hello."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.envelopes import Channel, Hello
from tunnel.session import MessageTooLarge, PeerState
from tunnel.store import SessionStore


def test_sequences_are_per_channel_and_acks_are_cumulative() -> None:
    state = PeerState()
    for n in range(3):
        state.enqueue(Channel.STATUS, "s", {"n": n})
        state.enqueue(Channel.TELEMETRY, "t", {"n": n})
    assert state.next_seq == {Channel.STATUS: 3, Channel.TELEMETRY: 3}
    released = state.ack(Channel.STATUS, 2)
    assert released == [(Channel.STATUS, 1), (Channel.STATUS, 2)]
    assert list(state.pending) == [
        (Channel.TELEMETRY, 1),
        (Channel.TELEMETRY, 2),
        (Channel.STATUS, 3),
        (Channel.TELEMETRY, 3),
    ]
    assert state.ack(Channel.STATUS, 2) == []  # a repeated ack is harmless


def test_full_outbox_drops_oldest_telemetry_and_never_status() -> None:
    state = PeerState(max_pending=4)
    for n in range(4):
        state.enqueue(Channel.TELEMETRY, "t", {"n": n})
    for n in range(3):
        state.enqueue(Channel.STATUS, "s", {"n": n})
    assert [k for k in state.pending if k[0] == Channel.TELEMETRY] == [(Channel.TELEMETRY, 4)]
    assert state.dropped == {Channel.TELEMETRY: 3}
    for n in range(3, 6):
        state.enqueue(Channel.STATUS, "s", {"n": n})
    assert len(state.pending) == 6  # over the bound: status is never dropped
    assert state.dropped == {Channel.TELEMETRY: 4}


def test_oversized_message_is_refused_without_consuming_a_sequence_number() -> None:
    state = PeerState(max_message_bytes=200)
    with pytest.raises(MessageTooLarge):
        state.enqueue(Channel.STATUS, "s", {"v": "x" * 500})
    assert state.enqueue(Channel.STATUS, "s", {}).seq == 1


def test_peer_hello_acks_what_the_peer_already_applied() -> None:
    state = PeerState(session_id="a" * 32)
    for n in range(5):
        state.enqueue(Channel.STATUS, "s", {"n": n})
    state.apply_peer_hello(
        Hello(session="b" * 32, peer_session="a" * 32, received={Channel.STATUS: 3})
    )
    assert list(state.pending) == [(Channel.STATUS, 4), (Channel.STATUS, 5)]


def test_what_the_peer_dropped_is_taken_from_each_hello() -> None:
    # The tunnel server's runner_dropped gauge reads this: a runner's own count, replaced (not
    # summed) by every hello: the runner reports all it ever dropped.
    state = PeerState(session_id="a" * 32)
    for dropped in ({Channel.TELEMETRY: 3}, {Channel.TELEMETRY: 5}, {}):
        state.apply_peer_hello(Hello(session="b" * 32, peer_session="a" * 32, dropped=dropped))
        assert state.peer_dropped == dropped


def test_hello_from_a_stranger_acks_nothing_and_a_new_peer_session_resets_receiving() -> None:
    state = PeerState(session_id="a" * 32)
    state.enqueue(Channel.STATUS, "s", {})
    state.peer_session, state.recv_last = "b" * 32, {Channel.CONTROL: 9}
    state.apply_peer_hello(
        Hello(session="c" * 32, peer_session="z" * 32, received={Channel.STATUS: 1})
    )
    assert len(state.pending) == 1
    assert state.peer_session == "c" * 32
    assert state.recv_last == {}


def test_backlog_gate_closes_at_high_and_opens_at_low() -> None:
    state = PeerState(backlog=(4, 1))
    for _ in range(4):
        state.enqueue(Channel.STATUS, "s", {})
    assert not state.backlog.is_open
    state.ack(Channel.STATUS, 2)
    assert not state.backlog.is_open  # 2 left: above the low watermark
    state.ack(Channel.STATUS, 3)
    assert state.backlog.is_open


def test_store_round_trips_state_and_outbox(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "state.sqlite")
    state = PeerState(max_pending=10)
    state.enqueue(Channel.STATUS, "s", {"n": 1})
    state.enqueue(Channel.TELEMETRY, "t", {"n": 2})
    state.recv_last = {Channel.CONTROL: 7}
    state.peer_session = "p" * 32
    state.dropped = {Channel.TELEMETRY: 3}
    store.save_state("peer", state)
    store.save_state("peer", state)  # replacing is idempotent
    loaded = store.load("peer", max_pending=10)
    assert loaded is not None
    assert loaded.session_id == state.session_id
    assert list(loaded.pending.values()) == list(state.pending.values())
    assert loaded.recv_last == {Channel.CONTROL: 7}
    assert loaded.peer_session == "p" * 32
    assert loaded.dropped == {Channel.TELEMETRY: 3}
    assert loaded.enqueue(Channel.STATUS, "s", {}).seq == 2  # numbering continues
    assert store.load("nobody") is None
    store.close()

"""Queued messages and stored bundles are sealed at rest (real SQLite files, read as bytes)."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from contract.bundles import Bundle
from contract.envelopes import Channel
from runner.store import RunnerStore
from tunnel.at_rest import KEY_FILE, KeySealer, SealedRecordError, load_or_create_key
from tunnel.session import PeerState
from tunnel.store import SessionStore

CANARY = "canary-7f3a9c1e5b"


def secret_bundle(revision: str = "r1") -> Bundle:
    manifests = (
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop"},
            "data": {"password": base64.b64encode(CANARY.encode()).decode()},
        },
    )
    return Bundle.of(project="shop", environment="dev", revision=revision, manifests=manifests)


def readable(directory: Path) -> bytes:
    """Every byte of every file under `directory` (database, WAL, key...)."""
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def leaks(blob: bytes) -> bool:
    encoded = base64.b64encode(CANARY.encode())
    return CANARY.encode() in blob or encoded in blob or encoded.rstrip(b"=") in blob


def test_the_tunnel_outbox_never_holds_a_bundle_in_plain_text(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "tunnel.sqlite")
    state = PeerState()
    state.enqueue(Channel.CONTROL, "bundle", secret_bundle().model_dump(mode="json"))
    store.save_state("runner", state)
    store.save_state("runner", state)
    assert leaks(state.pending[(Channel.CONTROL, 1)].body), "the canary must be in the message"
    assert not leaks(readable(tmp_path))
    store.close()
    loaded = SessionStore(tmp_path / "tunnel.sqlite").load("runner")
    assert loaded is not None
    assert list(loaded.pending.values()) == list(state.pending.values())


def test_a_row_moved_to_another_peer_does_not_open(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "tunnel.sqlite")
    state = PeerState()
    state.enqueue(Channel.CONTROL, "bundle", {"n": 1})
    store.save_state("a", state)
    store.save_state("b", PeerState())
    with sqlite3.connect(tmp_path / "tunnel.sqlite") as db:
        db.execute("UPDATE tunnel_outbox SET peer = 'b'")
    with pytest.raises(SealedRecordError):
        store.load("b")


def test_the_runner_store_seals_bundles_and_statuses(tmp_path: Path) -> None:
    store = RunnerStore(tmp_path / "runner.sqlite")
    store.save_bundle(secret_bundle())
    store.enqueue("status", {"detail": CANARY})
    assert not leaks(readable(tmp_path))
    store.close()
    reopened = RunnerStore(tmp_path / "runner.sqlite")
    assert reopened.latest() == [secret_bundle()]
    assert [q.payload for q in reopened.pending()] == [{"detail": CANARY}]
    reopened.close()


def test_a_version_1_runner_store_is_sealed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "runner.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE bundles (seq INTEGER PRIMARY KEY, env TEXT, revision TEXT,"
            " digest TEXT, body TEXT, at FLOAT)"
        )
        db.execute(
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY, kind TEXT, payload TEXT, at FLOAT)"
        )
        db.execute("CREATE TABLE inventory (env TEXT PRIMARY KEY, entries TEXT, at FLOAT)")
        bundle = secret_bundle()
        db.execute(
            "INSERT INTO bundles VALUES (1, 'shop/dev', ?, ?, ?, 0)",
            (bundle.revision, bundle.digest, bundle.model_dump_json()),
        )
        db.execute("PRAGMA user_version=1")
    assert leaks(readable(tmp_path))
    store = RunnerStore(path)
    assert store.latest() == [secret_bundle()]
    store.close()
    assert not leaks(readable(tmp_path))


def test_keys_and_databases_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        data = tmp_path / "data"
        SessionStore(data / "tunnel.sqlite").close()
        RunnerStore(data / "runner.sqlite").close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("tunnel.sqlite", "runner.sqlite", KEY_FILE):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    for wal in data.glob("*-wal"):
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600, wal.name


def test_a_key_file_opened_by_others_is_tightened_and_a_wrong_key_refused(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / KEY_FILE)
    (tmp_path / KEY_FILE).chmod(0o644)
    assert load_or_create_key(tmp_path / KEY_FILE) == key
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    sealed = KeySealer(key).seal(b"x", b"ctx")
    with pytest.raises(SealedRecordError):
        KeySealer(bytes(32)).open(sealed, b"ctx")
    with pytest.raises(SealedRecordError):
        KeySealer(key).open(sealed, b"other")

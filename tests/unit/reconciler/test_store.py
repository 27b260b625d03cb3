"""The state store: migrations, hashed tokens, bundle history, envelope encryption."""

from __future__ import annotations

import base64
import secrets
import sqlite3
from pathlib import Path

import pytest

from contract.bundles import Bundle
from reconciler.secrets.envelope import Envelope, EnvelopeError, load_or_create_kek
from reconciler.store import ConflictError, StateStore, StoreError
from reconciler.store.migrations import MIGRATIONS
from reconciler.store.records import ProjectRecord, Role
from schema.models.project import Environment

KEK = secrets.token_bytes(32)


def bundle(env: str, revision: str, replicas: int = 1) -> Bundle:
    manifests = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "orders", "namespace": "ns"},
            "spec": {"replicas": replicas},
        }
    ]
    return Bundle.of(project="shop", environment=env, revision=revision, manifests=manifests)


def test_migrations_run_once_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore(path, KEK).close()
    again = StateStore(path, KEK)
    assert again.state.one("PRAGMA user_version") == {"user_version": len(MIGRATIONS)}
    assert again.state.one("PRAGMA journal_mode") == {"journal_mode": "wal"}
    again.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this camelops"):
        StateStore(path, KEK)


def test_tokens_are_stored_hashed_and_can_be_revoked(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db", KEK)
    org = store.accounts.ensure_org("acme")
    user = store.accounts.ensure_user(org, "ada", Role.OPERATOR)
    token = store.accounts.issue_token(user, "ci")
    principal = store.accounts.authenticate(token)
    assert principal is not None
    assert (principal.org_id, principal.role) == (org, Role.OPERATOR)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert token.encode() not in raw
    store = StateStore(tmp_path / "state.db", KEK)
    assert store.accounts.revoke_token(token)
    assert store.accounts.authenticate(token) is None
    for hostile in ("", "cop_", "Bearer x", "cop_" + "a" * 5000, "'; DROP TABLE users; --"):
        assert store.accounts.authenticate(hostile) is None
    store.close()


def test_history_keeps_the_last_n_and_whatever_is_pinned() -> None:
    store = StateStore(None, KEK)
    org = store.accounts.ensure_org("acme")
    project = store.projects.create(org, "shop", url="/srv/shop.git")
    env = Environment.model_validate({"name": "dev", "runner": "r", "namespace": "ns"})
    store.desired.sync_environments(project.id, [env])
    store.desired.history = 3
    first = store.desired.save_bundle(project.id, bundle("dev", "a" * 40, 1))
    store.desired.set_pin(project.id, "dev", first)
    for i in range(2, 7):
        store.desired.save_bundle(project.id, bundle("dev", f"{i}" * 40, i))
    kept = [b.id for b in store.desired.history_of(project.id, "dev")]
    assert len(kept) == 4
    assert first in kept
    loaded = store.desired.load_bundle(first)
    assert loaded is not None
    assert loaded.revision == "a" * 40
    # the same digest at the same revision is not stored twice
    again = store.desired.save_bundle(project.id, bundle("dev", "6" * 40, 6))
    assert again == kept[0]


def test_envelope_refuses_tampering_wrong_context_and_wrong_key() -> None:
    envelope = Envelope(KEK)
    sealed = envelope.seal(b"top secret", b"bundle:1")
    assert envelope.open(sealed, b"bundle:1") == b"top secret"
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for bad, context in (
        (flipped, b"bundle:1"),
        (sealed, b"bundle:2"),
        (b"E1", b"bundle:1"),
        (b"", b"bundle:1"),
        (b"XX" + sealed[2:], b"bundle:1"),
    ):
        with pytest.raises(EnvelopeError):
            envelope.open(bad, context)
    with pytest.raises(EnvelopeError):
        Envelope(secrets.token_bytes(32)).open(sealed, b"bundle:1")
    with pytest.raises(ValueError, match="32 bytes"):
        Envelope(b"short")


def test_kek_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    key = load_or_create_kek(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_kek(path) == key
    path.write_text("bm90IDMyIGJ5dGVz\n")
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_kek(path)


def test_runner_status_reports_are_matched_by_digest() -> None:
    store = StateStore(None, KEK)
    org = store.accounts.ensure_org("acme")
    project = store.projects.create(org, "shop", url="/srv/shop.git")
    env = Environment.model_validate({"name": "dev", "runner": "r1", "namespace": "ns"})
    store.desired.sync_environments(project.id, [env])
    sent = bundle("dev", "a" * 40)
    bundle_id = store.desired.save_bundle(project.id, sent)
    assert store.desired.environments_for_runner("acme", "r1") == frozenset({"dev"})
    assert store.desired.environments_for_runner("acme", "r2") == frozenset()
    assert store.desired.report_status(
        "acme", "shop", "dev", sent.digest, state="healthy", detail="3/3 ready"
    )
    latest = store.desired.deployments(project.id, "dev")[0]
    assert (latest["bundle_id"], latest["state"], latest["actor"]) == (
        bundle_id,
        "healthy",
        "runner",
    )
    assert not store.desired.report_status(
        "globex", "shop", "dev", sent.digest, state="x", detail=""
    )
    assert not store.desired.report_status(
        "acme", "shop", "dev", "sha256:nope", state="x", detail=""
    )


def test_a_pin_and_its_audit_record_commit_together(monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(None, KEK)
    org = store.accounts.ensure_org("acme")
    project = store.projects.create(org, "shop", url="/srv/shop.git")
    env = Environment.model_validate({"name": "dev", "runner": "r", "namespace": "ns"})
    store.desired.sync_environments(project.id, [env])
    store.desired.save_bundle(project.id, bundle("dev", "a" * 40))
    target = store.desired.history_of(project.id, "dev")[0]

    store.desired.pin(org, "ann", project.id, "shop", "dev", bundle=target)
    pinned = store.desired.environment(project.id, "dev")
    assert pinned is not None
    assert pinned.pinned_bundle_id == target.id
    assert [a.action for a in store.desired.audit_log(org)] == ["environment.pinned"]

    def audit_fails(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store.desired, "audit", audit_fails)
    with pytest.raises(sqlite3.OperationalError):
        store.desired.pin(org, "ann", project.id, "shop", "dev", bundle=None)
    # no unpin without its audit record
    still = store.desired.environment(project.id, "dev")
    assert still is not None
    assert still.pinned_bundle_id == target.id


def test_a_project_is_created_with_its_audit_record_and_a_duplicate_is_a_conflict() -> None:
    store = StateStore(None, KEK)
    org = store.accounts.ensure_org("acme")

    def create(actor: str) -> ProjectRecord:
        return store.create_project(
            org,
            actor,
            "shop",
            url="/srv/shop.git",
            branch="main",
            poll_interval_s=60,
            webhook_secret="",
        )

    project = create("ann")
    with pytest.raises(ConflictError, match="your org has a project with this name"):
        create("bob")
    assert [p.id for p in store.projects.all(org)] == [project.id]
    assert [(a.actor, a.action) for a in store.desired.audit_log(org)] == [
        ("ann", "project.created")
    ]


def test_envelope_edges_and_what_each_refusal_says(tmp_path: Path) -> None:
    envelope = Envelope(KEK)
    assert envelope.open(envelope.seal(b"", b"c"), b"c") == b""  # the shortest valid record
    with pytest.raises(EnvelopeError, match=r"^not an envelope-encrypted record$"):
        envelope.open(b"E1", b"c")
    wrong_key = r"^record failed authentication \(wrong KEK or tampered\)$"
    with pytest.raises(EnvelopeError, match=wrong_key):
        Envelope(secrets.token_bytes(32)).open(envelope.seal(b"x", b"c"), b"c")
    with pytest.raises(ValueError, match=r"^the key-encryption key must be 32 bytes \(AES-256\)$"):
        Envelope(b"short")
    nested = tmp_path / "a" / "b" / "kek"
    key = load_or_create_kek(nested)  # its directories are created too
    assert len(key) == 32
    assert load_or_create_kek(nested) == key
    junk = tmp_path / "junk"
    junk.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "!\n")
    with pytest.raises(ValueError, match=r"(?i)base64|padding"):
        load_or_create_kek(junk)  # strict base64: a damaged file is not silently repaired

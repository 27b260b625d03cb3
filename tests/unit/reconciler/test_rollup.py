"""The overview's roll-up: after every kind of write, each row equals a fresh join of the
source tables; a database from before the roll-up is filled when it is migrated."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from contract.status import ObjectStatus, Outcome
from reconciler.store import StateStore
from reconciler.store.migrations import MIGRATIONS
from reconciler.store.records import ProjectStatus, RevisionRecord, RevisionState
from reconciler.store.rollup_schema import create_environment_rollup
from schema.models.project import Environment
from tests.unit.reconciler.test_store import bundle

KEK = secrets.token_bytes(32)

# The oracle: what the overview computed per request before the roll-up existed.
_FRESH = (
    "SELECT e.id AS env_id, p.name AS project, e.name AS environment, e.runner,"
    " e.pinned_bundle_id IS NOT NULL AS pinned,"
    " e.pinned_bundle_id, e.latest_bundle_id, e.deployed_bundle_id,"
    " s.ready, s.last_commit, r.author, r.message, rn.last_seen_at AS runner_seen_at,"
    " (SELECT d.state FROM deployments d WHERE d.project_id = e.project_id"
    "  AND d.environment = e.name AND d.actor = 'runner' ORDER BY d.id DESC LIMIT 1) AS health"
    " FROM environments e JOIN projects p ON p.id = e.project_id"
    " LEFT JOIN project_status s ON s.project_id = p.id"
    " LEFT JOIN revisions r ON r.project_id = p.id AND r.commit_id = s.last_commit"
    " LEFT JOIN runners rn ON rn.org_id = p.org_id AND rn.name = e.runner ORDER BY e.id"
)
_COMPARED = ("project", "environment", "runner", "pinned", "ready", "last_commit", "author",
             "message", "runner_seen_at", "health")  # fmt: skip


def _sync(row: dict[str, Any]) -> str:
    if row["deployed_bundle_id"] is None:
        return "NotDeployed"
    desired = row["pinned_bundle_id"] or row["latest_bundle_id"]
    return "Synced" if row["deployed_bundle_id"] == desired else "OutOfSync"


def assert_rollup_current(store: StateStore) -> None:
    fresh = store.state.query(_FRESH)
    rolled = store.state.query("SELECT * FROM environment_rollup ORDER BY env_id")
    assert [r["env_id"] for r in rolled] == [r["env_id"] for r in fresh]
    for want, got in zip(fresh, rolled, strict=True):
        assert {k: got[k] for k in _COMPARED} == {k: want[k] for k in _COMPARED}
        assert got["sync"] == _sync(want)


def _status(commit: str, ready: str = "True") -> ProjectStatus:
    return ProjectStatus(
        ready=ready,
        reconciling=False,
        stalled=False,
        reason="ReconciliationSucceeded",
        message="",
        last_commit=commit,
        last_attempt_at=0.0,
        next_attempt_at=0.0,
        failures=0,
    )


def _revision(commit: str, author: str, message: str) -> RevisionRecord:
    return RevisionRecord(commit, author, message, RevisionState.READY, (), 1.0)


def _heartbeat(store: StateStore, org_id: int, runner: str, at: float) -> None:
    # what the runner's heartbeat writes (the tunnel keeps last_seen_at current)
    with store.state.transaction() as db:
        db.execute(
            "UPDATE runners SET last_seen_at = ? WHERE org_id = ? AND name = ?",
            (at, org_id, runner),
        )


def test_every_write_keeps_the_rollup_equal_to_a_fresh_join() -> None:
    store = StateStore(None, KEK)
    org = store.accounts.ensure_org("acme")
    shop = store.projects.create(org, "shop", url="/srv/shop.git")
    envs = [
        Environment.model_validate({"name": n, "runner": "r1", "namespace": "ns"})
        for n in ("dev", "prod")
    ]
    store.desired.sync_environments(shop.id, envs)
    assert_rollup_current(store)
    assert {r["sync"] for r in store.portal.overview(org, after=None, text="", limit=9)} == {
        "NotDeployed"
    }
    # a reconcile: revision, status, bundle, dispatch
    commit = "a" * 40
    store.projects.record_revision(shop.id, _revision(commit, "Ada Dev", "first"))
    store.projects.set_status(shop.id, _status(commit))
    assert_rollup_current(store)
    sent = bundle("dev", commit)
    bundle_id = store.desired.save_bundle(shop.id, sent)
    assert_rollup_current(store)
    store.desired.record_deployment(
        shop.id, "dev", bundle_id, state="dispatched", detail="", actor="reconciler"
    )
    assert_rollup_current(store)
    # the runner reports; its heartbeats move; a revision's text is corrected
    report = [ObjectStatus(key="apps/Deployment/ns/orders", outcome=Outcome.CREATED)]
    assert store.desired.report_status(
        "acme", "shop", "dev", sent.digest, state="Synced/Healthy", detail="", objects=report
    )
    store.accounts.register_runner(org, "r1")
    _heartbeat(store, org, "r1", 100.0)
    assert_rollup_current(store)
    _heartbeat(store, org, "r1", 200.0)
    store.projects.record_revision(shop.id, _revision(commit, "Ada Dev", "first, reworded"))
    assert_rollup_current(store)
    # a second revision, a pin, an environment moved to another runner
    second = "b" * 40
    store.projects.record_revision(shop.id, _revision(second, "Bo Ops", "second"))
    store.projects.set_status(shop.id, _status(second, ready="False"))
    store.desired.save_bundle(shop.id, bundle("dev", second, replicas=2))
    assert_rollup_current(store)
    store.desired.set_pin(shop.id, "dev", bundle_id)
    moved = Environment.model_validate({"name": "prod", "runner": "r2", "namespace": "ns"})
    store.desired.sync_environments(shop.id, [moved])
    assert_rollup_current(store)
    rows = {r["environment"]: r for r in store.portal.overview(org, after=None, text="", limit=9)}
    assert rows["dev"]["sync"] == "Synced"  # pinned to what was dispatched
    assert rows["dev"]["health"] == "Synced/Healthy"
    assert (rows["dev"]["runner_seen_at"], rows["prod"]["runner_seen_at"]) == (200.0, None)
    assert rows["dev"]["message"] == "second"
    # another org's environments never appear
    other = store.accounts.ensure_org("globex")
    assert store.portal.overview(other, after=None, text="", limit=9) == []


def test_overview_filters_on_the_server() -> None:
    store = StateStore(None, KEK)
    org = store.accounts.ensure_org("acme")
    shop = store.projects.create(org, "shop", url="/srv/shop.git")
    store.desired.sync_environments(
        shop.id,
        [
            Environment.model_validate({"name": "dev", "runner": "r1", "namespace": "ns"}),
            Environment.model_validate({"name": "prod", "runner": "r2", "namespace": "ns"}),
        ],
    )
    bundle_id = store.desired.save_bundle(shop.id, bundle("dev", "a" * 40))
    store.desired.record_deployment(
        shop.id, "dev", bundle_id, state="dispatched", detail="", actor="reconciler"
    )
    for runner in ("r1", "r2"):
        store.accounts.register_runner(org, runner)
    _heartbeat(store, org, "r1", 1_000.0)
    _heartbeat(store, org, "r2", 10.0)

    def names(**filters: Any) -> list[str]:
        rows = store.portal.overview(org, after=None, text="", limit=9, **filters)
        return [r["environment"] for r in rows]

    assert names(sync="Synced") == ["dev"]
    assert names(sync="NotDeployed") == ["prod"]
    assert names(sync="bogus") == ["dev", "prod"]
    assert names(online_since=900.0) == ["dev"]
    assert names(offline_before=900.0) == ["prod"]
    assert store.portal.overview(org, after=None, text="%", limit=9) == []


def test_a_database_from_before_the_rollup_is_filled_when_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    before = MIGRATIONS.index(create_environment_rollup)
    conn = sqlite3.connect(path, isolation_level=None)
    db = Database(conn)
    for migration in MIGRATIONS[:before]:
        migration(db)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.execute("INSERT INTO orgs (id, name, created_at) VALUES (1, 'acme', 0)")
    conn.execute("INSERT INTO repositories (id, org_id, name, url) VALUES (1, 1, 'shop', 'u')")
    conn.execute("INSERT INTO projects (id, org_id, repository_id, name) VALUES (1, 1, 1, 'shop')")
    conn.execute(
        "INSERT INTO environments (project_id, name, runner, namespace, auto_sync,"
        " sync_windows) VALUES (1, 'dev', 'r1', 'ns', 1, '[]')"
    )
    conn.close()
    store = StateStore(path, KEK)
    assert [r["environment"] for r in store.portal.overview(1, after=None, text="", limit=9)] == [
        "dev"
    ]
    assert_rollup_current(store)

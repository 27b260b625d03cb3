"""Desired state: bundles (envelope-encrypted), environments with pins, deployments, audit log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from contract.bundles import Bundle
from contract.status import ObjectStatus
from reconciler.secrets.envelope import Envelope
from reconciler.store.db import StateDB, insert_row
from reconciler.store.records import (
    AuditRecord,
    BundleSummary,
    EnvironmentRecord,
    ServedEnvironment,
)
from schema.models.project import Environment, SyncWindow

DEFAULT_HISTORY = 10


def _context(project_id: int, environment: str, digest: str) -> bytes:
    return f"bundle:{project_id}:{environment}:{digest}".encode()


def _env(row: dict[str, Any]) -> EnvironmentRecord:
    return EnvironmentRecord(
        int(row["project_id"]),
        str(row["name"]),
        str(row["runner"]),
        str(row["namespace"]),
        bool(row["auto_sync"]),
        tuple(SyncWindow.model_validate(w) for w in json.loads(row["sync_windows"] or "[]")),
        row["pinned_bundle_id"],
        row["latest_bundle_id"],
        row["deployed_bundle_id"],
    )


class DesiredState:
    def __init__(self, state: StateDB, envelope: Envelope, history: int = DEFAULT_HISTORY) -> None:
        self._state = state
        self._envelope = envelope
        self.history = history

    def save_bundle(self, project_id: int, bundle: Bundle) -> int:
        """Store a bundle (deduplicated by digest) and make it the environment's latest."""
        context = _context(project_id, bundle.environment, bundle.digest)
        with self._state.transaction() as db:
            latest = self._state.one(
                "SELECT b.id, b.digest, b.revision FROM environments e JOIN bundles b"
                " ON b.id = e.latest_bundle_id WHERE e.project_id = ? AND e.name = ?",
                (project_id, bundle.environment),
            )
            if (
                latest
                and latest["digest"] == bundle.digest
                and latest["revision"] == bundle.revision
            ):
                return int(latest["id"])
            bundle_id = insert_row(
                db,
                "bundles",
                {
                    "project_id": project_id,
                    "environment": bundle.environment,
                    "revision": bundle.revision,
                    "digest": bundle.digest,
                    "sealed_body": self._envelope.seal(bundle.model_dump_json().encode(), context),
                    "created_at": self._state.clock(),
                },
            )
            db.execute(
                "UPDATE environments SET latest_bundle_id = ?, updated_at = ?"
                " WHERE project_id = ? AND name = ?",
                (bundle_id, self._state.clock(), project_id, bundle.environment),
            )
            self._trim_history(project_id, bundle.environment)
        return bundle_id

    def _trim_history(self, project_id: int, environment: str) -> None:
        # keep the last N, and always whatever is pinned or deployed (rollback targets)
        self._state.db.execute(
            "DELETE FROM bundles WHERE project_id = ? AND environment = ? AND id NOT IN ("
            " SELECT id FROM bundles WHERE project_id = ? AND environment = ?"
            " ORDER BY id DESC LIMIT ?) AND id NOT IN (SELECT coalesce(pinned_bundle_id, 0)"
            " FROM environments WHERE project_id = ? UNION SELECT coalesce(deployed_bundle_id, 0)"
            " FROM environments WHERE project_id = ?)",
            (
                project_id,
                environment,
                project_id,
                environment,
                self.history,
                project_id,
                project_id,
            ),
        )

    def load_bundle(self, bundle_id: int) -> Bundle | None:
        row = self._state.one("SELECT * FROM bundles WHERE id = ?", (bundle_id,))
        if row is None:
            return None
        context = _context(int(row["project_id"]), str(row["environment"]), str(row["digest"]))
        return Bundle.model_validate_json(self._envelope.open(bytes(row["sealed_body"]), context))

    def history_of(self, project_id: int, environment: str) -> list[BundleSummary]:
        rows = self._state.query(
            "SELECT id, environment, revision, digest, created_at FROM bundles"
            " WHERE project_id = ? AND environment = ? ORDER BY id DESC",
            (project_id, environment),
        )
        return [BundleSummary(**row) for row in rows]

    def sync_environments(self, project_id: int, declared: Sequence[Environment]) -> None:
        """Mirror the environments a good revision declares; removed ones stay for history."""
        with self._state.transaction() as db:
            for env in declared:
                windows = json.dumps([w.model_dump(mode="json") for w in env.sync_windows])
                db.execute(
                    "INSERT INTO environments (project_id, name, runner, namespace, auto_sync,"
                    " sync_windows, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(project_id, name) DO UPDATE SET runner = excluded.runner,"
                    " namespace = excluded.namespace, auto_sync = excluded.auto_sync,"
                    " sync_windows = excluded.sync_windows",
                    (
                        project_id,
                        env.name,
                        env.runner,
                        env.namespace,
                        int(env.auto_sync),
                        windows,
                        self._state.clock(),
                    ),
                )

    def environments(self, project_id: int) -> list[EnvironmentRecord]:
        rows = self._state.query(
            "SELECT * FROM environments WHERE project_id = ? ORDER BY name", (project_id,)
        )
        return [_env(r) for r in rows]

    def environments_for_runner(self, org: str, runner: str) -> frozenset[str]:
        """What a runner may receive: the tunnel refuses bundles of any other environment."""
        rows = self._state.query(
            "SELECT e.name FROM environments e JOIN projects p ON p.id = e.project_id"
            " JOIN orgs o ON o.id = p.org_id WHERE o.name = ? AND e.runner = ?",
            (org, runner),
        )
        return frozenset(str(r["name"]) for r in rows)

    def served_by_runner(self, org: str, runner: str) -> list[ServedEnvironment]:
        """Every environment naming this runner, with the bundle it should run."""
        rows = self._state.query(
            "SELECT p.name AS project, e.name AS environment,"
            " COALESCE(e.pinned_bundle_id, e.deployed_bundle_id) AS bundle_id"
            " FROM environments e JOIN projects p ON p.id = e.project_id"
            " JOIN orgs o ON o.id = p.org_id WHERE o.name = ? AND e.runner = ?",
            (org, runner),
        )
        return [
            ServedEnvironment(str(r["project"]), str(r["environment"]), r["bundle_id"])
            for r in rows
        ]

    def runner_serves(self, org: str, runner: str, project: str, environment: str) -> bool:
        """The project's environment names this runner (the environment name alone is not
        enough: a runner of `a/dev` must not report on `b/dev`)."""
        row = self._state.one(
            "SELECT 1 FROM environments e JOIN projects p ON p.id = e.project_id"
            " JOIN orgs o ON o.id = p.org_id"
            " WHERE o.name = ? AND p.name = ? AND e.name = ? AND e.runner = ?",
            (org, project, environment, runner),
        )
        return row is not None

    def environment(self, project_id: int, name: str) -> EnvironmentRecord | None:
        row = self._state.one(
            "SELECT * FROM environments WHERE project_id = ? AND name = ?", (project_id, name)
        )
        return None if row is None else _env(row)

    def set_pin(self, project_id: int, environment: str, bundle_id: int | None) -> None:
        with self._state.transaction() as db:
            db.execute(
                "UPDATE environments SET pinned_bundle_id = ?, updated_at = ?"
                " WHERE project_id = ? AND name = ?",
                (bundle_id, self._state.clock(), project_id, environment),
            )

    def pin(
        self,
        org_id: int,
        actor: str,
        project_id: int,
        project: str,
        environment: str,
        *,
        bundle: BundleSummary | None,
    ) -> None:
        """Pin `bundle` (None: unpin) and write its audit record, in one transaction."""
        with self._state.transaction():
            self.set_pin(project_id, environment, None if bundle is None else bundle.id)
            if bundle is None:
                self.audit(
                    org_id, actor, "environment.unpinned", project=project, environment=environment
                )
            else:
                self.audit(
                    org_id,
                    actor,
                    "environment.pinned",
                    project=project,
                    environment=environment,
                    revision=bundle.revision,
                    detail={"bundle": bundle.id},
                )

    def record_deployment(
        self,
        project_id: int,
        environment: str,
        bundle_id: int,
        *,
        state: str,
        detail: str,
        actor: str,
    ) -> None:
        with self._state.transaction() as db:
            db.table("deployments").insert(
                {
                    "project_id": project_id,
                    "environment": environment,
                    "bundle_id": bundle_id,
                    "state": state,
                    "detail": detail,
                    "actor": actor,
                    "at": self._state.clock(),
                }
            )
            if state == "dispatched":
                db.execute(
                    "UPDATE environments SET deployed_bundle_id = ?"
                    " WHERE project_id = ? AND name = ?",
                    (bundle_id, project_id, environment),
                )

    def report_status(
        self,
        org: str,
        project: str,
        environment: str,
        digest: str,
        *,
        state: str,
        detail: str,
        objects: Sequence[ObjectStatus] | None = None,
        drifted: Sequence[str] = (),
    ) -> bool:
        """A runner's report on a bundle it received (applied, healthy, degraded, failed...).

        Matched by digest, so a late report about an older bundle is recorded against that
        bundle; unknown projects or digests are ignored (False) rather than trusted. With
        `objects` (a full status report), its per-object results and drift replace the
        environment's previous ones.
        """
        row = self._state.one(
            "SELECT b.id, b.project_id FROM bundles b JOIN projects p ON p.id = b.project_id"
            " JOIN orgs o ON o.id = p.org_id WHERE o.name = ? AND p.name = ?"
            " AND b.environment = ? AND b.digest = ? ORDER BY b.id DESC LIMIT 1",
            (org, project, environment, digest),
        )
        if row is None:
            return False
        with self._state.transaction() as db:
            self.record_deployment(
                int(row["project_id"]),
                environment,
                int(row["id"]),
                state=state[:40],
                detail=detail[:2000],
                actor="runner",
            )
            if objects is not None:
                db.table("live_objects").upsert(
                    {
                        "project_id": int(row["project_id"]),
                        "environment": environment,
                        "bundle_id": int(row["id"]),
                        "objects": json.dumps([o.model_dump(mode="json") for o in objects]),
                        "drifted": json.dumps(list(drifted)),
                        "at": self._state.clock(),
                    },
                    pk=("project_id", "environment"),
                )
        return True

    def deployments(
        self, project_id: int, environment: str, limit: int = 20
    ) -> list[dict[str, Any]]:
        return self._state.query(
            "SELECT bundle_id, state, detail, actor, at FROM deployments WHERE project_id = ?"
            " AND environment = ? ORDER BY id DESC LIMIT ?",
            (project_id, environment, limit),
        )

    def audit(
        self,
        org_id: int,
        actor: str,
        action: str,
        *,
        project: str = "",
        environment: str = "",
        revision: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self._state.transaction() as db:
            db.table("audit_log").insert(
                {
                    "org_id": org_id,
                    "at": self._state.clock(),
                    "actor": actor,
                    "action": action,
                    "project": project,
                    "environment": environment,
                    "revision": revision,
                    "detail": json.dumps(detail or {}, sort_keys=True),
                }
            )

    def audit_log(self, org_id: int, limit: int = 100) -> list[AuditRecord]:
        rows = self._state.query(
            "SELECT id, at, actor, action, project, environment, revision, detail FROM audit_log"
            " WHERE org_id = ? ORDER BY id DESC LIMIT ?",
            (org_id, limit),
        )
        return [AuditRecord(**row) for row in rows]

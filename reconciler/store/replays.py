"""Replay requests: one row per idempotency key, opened with its audit record before the
command leaves, completed (once) with the runner's answer and a second audit record."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from reconciler.store.db import StateDB

SENT = "sent"


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    org_id: int
    idempotency_key: str
    actor: str
    project: str
    environment: str
    integration: str
    exchange_id: str


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    id: int
    request_id: str
    org: str
    idempotency_key: str
    actor: str
    project: str
    environment: str
    integration: str
    exchange_id: str
    runner: str
    revision: str
    state: str
    """`sent` until the runner answers, then the outcome (succeeded, failed, expired, ...)."""
    reason: str
    endpoint: str
    requested_at: float
    completed_at: float | None

    def same_request(self, request: ReplayRequest) -> bool:
        return (self.project, self.environment, self.integration, self.exchange_id) == (
            request.project,
            request.environment,
            request.integration,
            request.exchange_id,
        )


_SELECT = (
    "SELECT r.id, r.request_id, o.name AS org, r.idempotency_key, r.actor, r.project,"
    " r.environment, r.integration, r.exchange_id, r.runner, r.revision, r.state, r.reason,"
    " r.endpoint, r.requested_at, r.completed_at FROM replays r JOIN orgs o ON o.id = r.org_id"
)


class Replays:
    def __init__(self, state: StateDB) -> None:
        self._state = state

    def by_key(self, org_id: int, key: str) -> ReplayRecord | None:
        row = self._state.one(
            _SELECT + " WHERE r.org_id = ? AND r.idempotency_key = ?", (org_id, key)
        )
        return None if row is None else ReplayRecord(**row)

    def by_request_id(self, request_id: str) -> ReplayRecord | None:
        row = self._state.one(_SELECT + " WHERE r.request_id = ?", (request_id,))
        return None if row is None else ReplayRecord(**row)

    def open(
        self, request: ReplayRequest, *, request_id: str, runner: str, revision: str
    ) -> tuple[ReplayRecord, bool]:
        """Record the request and its audit entry in one transaction; (record, False) when the
        key was already used (a concurrent or repeated call): the caller returns that one."""
        now = self._state.clock()
        row = {**_request_columns(request), "request_id": request_id, "runner": runner}
        row |= {"revision": revision, "state": SENT, "reason": "", "endpoint": ""}
        try:
            with self._state.transaction() as db:
                db.table("replays").insert({**row, "requested_at": now})
                _audit(
                    db, request.org_id, request.actor, action="replay.requested", at=now, row=row
                )
        except sqlite3.IntegrityError:
            existing = self.by_key(request.org_id, request.idempotency_key)
            if existing is None:
                raise
            return existing, False
        created = self.by_request_id(request_id)
        assert created is not None
        return created, True

    def complete(
        self, org: str, runner: str, request_id: str, *, outcome: str, reason: str, endpoint: str
    ) -> bool:
        """Record the answer once, and only from the runner the command went to."""
        now = self._state.clock()
        with self._state.transaction() as db:
            cursor = db.execute(
                "UPDATE replays SET state = ?, reason = ?, endpoint = ?, completed_at = ?"
                " WHERE request_id = ? AND runner = ? AND state = ?"
                " AND org_id = (SELECT id FROM orgs WHERE name = ?)",
                (outcome, reason[:2000], endpoint[:1000], now, request_id, runner, SENT, org),
            )
            if cursor.rowcount != 1:
                return False
            record = self.by_request_id(request_id)
            assert record is not None
            detail = {"request_id": request_id, "exchange": record.exchange_id}
            detail |= {"integration": record.integration, "runner": runner, "outcome": outcome}
            columns = {"project": record.project, "environment": record.environment}
            columns |= {"revision": record.revision}
            org_id = db.execute("SELECT id FROM orgs WHERE name = ?", (org,)).fetchone()[0]
            _audit(
                db, org_id, record.actor, action="replay.completed", at=now, row=columns | detail
            )
        return True

    def org_name(self, org_id: int) -> str:
        row = self._state.one("SELECT name FROM orgs WHERE id = ?", (org_id,))
        return "" if row is None else str(row["name"])

    def revision_of(self, bundle_id: int | None) -> str:
        if bundle_id is None:
            return ""
        row = self._state.one("SELECT revision FROM bundles WHERE id = ?", (bundle_id,))
        return "" if row is None else str(row["revision"])


def _request_columns(request: ReplayRequest) -> dict[str, Any]:
    return {
        "org_id": request.org_id,
        "idempotency_key": request.idempotency_key,
        "actor": request.actor,
        "project": request.project,
        "environment": request.environment,
        "integration": request.integration,
        "exchange_id": request.exchange_id,
    }


def _audit(
    db: Any, org_id: int, actor: str, *, action: str, at: float, row: dict[str, Any]
) -> None:
    keep = ("request_id", "exchange_id", "exchange", "integration", "runner", "outcome", "reason")
    detail = {key: row[key] for key in keep if row.get(key)}
    db.table("audit_log").insert(
        {
            "org_id": org_id,
            "at": at,
            "actor": actor,
            "action": action,
            "project": row.get("project", ""),
            "environment": row.get("environment", ""),
            "revision": row.get("revision", ""),
            "detail": json.dumps(detail, sort_keys=True),
        }
    )

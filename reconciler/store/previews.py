"""Pull-request previews: one row per (project, PR number), updated as the head moves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.store.db import StateDB


@dataclass(frozen=True, slots=True)
class PreviewRecord:
    number: int
    ref: str
    head_commit: str
    base_commit: str
    state: str
    """"ready", "invalid", "closed" or "expired"."""
    summary: dict[str, Any]
    errors: tuple[str, ...]
    created_at: float
    updated_at: float
    expires_at: float
    runner: str = ""
    """The runner it is deployed by; empty when only rendered and diffed."""
    deploy_state: str = ""
    """"Dispatched", "Undeliverable" (with why), then the runner's `<phase>/<health>`."""
    deploy_detail: str = ""


def _preview(row: dict[str, Any]) -> PreviewRecord:
    return PreviewRecord(
        int(row["number"]),
        row["ref"],
        row["head_commit"],
        row["base_commit"],
        row["state"],
        json.loads(row["summary"]),
        tuple(json.loads(row["errors"])),
        row["created_at"],
        row["updated_at"],
        row["expires_at"],
        row.get("runner") or "",
        row.get("deploy_state") or "",
        row.get("deploy_detail") or "",
    )


class Previews:
    def __init__(self, state: StateDB) -> None:
        self._state = state

    def upsert(
        self,
        project_id: int,
        number: int,
        *,
        ref: str,
        head: str,
        base: str,
        state: str,
        summary: dict[str, Any],
        errors: tuple[str, ...],
        ttl_s: float,
        runner: str = "",
    ) -> None:
        now = self._state.clock()
        with self._state.transaction() as db:
            db.execute(
                "INSERT INTO previews (project_id, number, ref, head_commit, base_commit, state,"
                " summary, errors, created_at, updated_at, expires_at, runner) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(project_id, number) DO UPDATE"
                " SET ref = excluded.ref, head_commit = excluded.head_commit,"
                " base_commit = excluded.base_commit, state = excluded.state,"
                " summary = excluded.summary, errors = excluded.errors,"
                " updated_at = excluded.updated_at, expires_at = excluded.expires_at,"
                " runner = CASE WHEN excluded.runner = '' THEN runner ELSE excluded.runner END",
                (
                    project_id,
                    number,
                    ref,
                    head,
                    base,
                    state,
                    json.dumps(summary, sort_keys=True),
                    json.dumps(list(errors)),
                    now,
                    now,
                    now + ttl_s,
                    runner,
                ),
            )

    def get(self, project_id: int, number: int) -> PreviewRecord | None:
        row = self._state.one(
            "SELECT * FROM previews WHERE project_id = ? AND number = ?", (project_id, number)
        )
        return None if row is None else _preview(row)

    def list(self, project_id: int, *, open_only: bool = False) -> list[PreviewRecord]:
        sql = "SELECT * FROM previews WHERE project_id = ?"
        if open_only:
            sql += " AND state NOT IN ('closed', 'expired')"
        return [_preview(r) for r in self._state.query(sql + " ORDER BY number", (project_id,))]

    def close(self, project_id: int, number: int, state: str) -> None:
        with self._state.transaction() as db:
            db.execute(
                "UPDATE previews SET state = ?, updated_at = ? WHERE project_id = ? AND number = ?",
                (state, self._state.clock(), project_id, number),
            )

    def dispatched(
        self, project_id: int, number: int, digest: str, *, state: str, detail: str = ""
    ) -> None:
        """What became of handing the preview's bundle to its runner."""
        with self._state.transaction() as db:
            db.execute(
                "UPDATE previews SET digest = ?, deploy_state = ?, deploy_detail = ?,"
                " updated_at = ? WHERE project_id = ? AND number = ?",
                (digest, state, detail[:2000], self._state.clock(), project_id, number),
            )

    def report(
        self,
        org: str,
        runner: str,
        project: str,
        number: int,
        digest: str,
        *,
        state: str,
        detail: str,
    ) -> bool:
        """A runner's status on the preview bundle it was sent (matched by runner and digest,
        so a stale or foreign report changes nothing)."""
        with self._state.transaction() as db:
            cursor = db.execute(
                "UPDATE previews SET deploy_state = ?, deploy_detail = ? WHERE number = ?"
                " AND runner = ? AND digest = ? AND project_id = (SELECT p.id FROM projects p"
                " JOIN orgs o ON o.id = p.org_id WHERE o.name = ? AND p.name = ?)",
                (state[:40], detail[:2000], number, runner, digest, org, project),
            )
            return bool(cursor.rowcount)

    def environments_for_runner(self, org: str, runner: str) -> frozenset[str]:
        """`pr-<n>` of every preview deployed by this runner, closed ones too: their empty
        bundle must still reach it to prune them."""
        rows = self._state.query(
            "SELECT v.number FROM previews v JOIN projects p ON p.id = v.project_id"
            " JOIN orgs o ON o.id = p.org_id WHERE o.name = ? AND v.runner = ?",
            (org, runner),
        )
        return frozenset(f"pr-{r['number']}" for r in rows)

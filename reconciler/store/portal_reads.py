"""Read-only queries behind the portal's pages: every one is scoped to an org and bounded.

Lists page with keysets (name pairs, or descending ids), never OFFSET.
"""

from __future__ import annotations

from typing import Any

from reconciler.store.db import StateDB

_OVERVIEW = (
    "SELECT project, environment, runner, pinned, sync, health, ready, last_commit, author,"
    " message, runner_seen_at FROM environment_rollup WHERE org_id = :org"
)
SYNC_STATES = ("Synced", "OutOfSync", "NotDeployed")


class PortalReads:
    def __init__(self, state: StateDB) -> None:
        self._state = state

    def overview(
        self,
        org_id: int,
        *,
        after: tuple[str, str] | None,
        text: str,
        limit: int,
        sync: str = "",
        online_since: float | None = None,
        offline_before: float | None = None,
    ) -> list[dict[str, Any]]:
        """One row per environment from the roll-up (`rollup_schema`), ordered by (project,
        environment); `after` is the keyset. `online_since` keeps the rows whose runner was
        seen at or after it, `offline_before` those whose runner was not seen since."""
        sql = _OVERVIEW
        params: dict[str, Any] = {"org": org_id, "limit": limit}
        if text:
            sql += " AND (project LIKE :text ESCAPE '\\' OR environment LIKE :text ESCAPE '\\')"
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params["text"] = f"%{escaped}%"
        if sync in SYNC_STATES:
            sql += " AND sync = :sync"
            params["sync"] = sync
        if online_since is not None:
            sql += " AND runner_seen_at >= :online"
            params["online"] = online_since
        if offline_before is not None:
            sql += " AND (runner_seen_at IS NULL OR runner_seen_at < :offline)"
            params["offline"] = offline_before
        if after is not None:
            sql += " AND (project, environment) > (:after_p, :after_e)"
            params["after_p"], params["after_e"] = after
        return self._state.query(sql + " ORDER BY project, environment LIMIT :limit", params)

    def bundle(self, project_id: int, bundle_id: int | None) -> dict[str, Any] | None:
        if bundle_id is None:
            return None
        return self._state.one(
            "SELECT b.id, b.revision, b.digest, b.created_at, r.author, r.message"
            " FROM bundles b LEFT JOIN revisions r ON r.project_id = b.project_id"
            " AND r.commit_id = b.revision WHERE b.project_id = ? AND b.id = ?",
            (project_id, bundle_id),
        )

    def runner_reports(
        self, project_id: int, environment: str, limit: int = 20
    ) -> list[dict[str, Any]]:
        """What the runner said about each bundle it received, newest first."""
        return self._state.query(
            "SELECT d.bundle_id, d.state, d.detail, d.at, b.revision, b.digest"
            " FROM deployments d LEFT JOIN bundles b ON b.id = d.bundle_id"
            " WHERE d.project_id = ? AND d.environment = ? AND d.actor = 'runner'"
            " ORDER BY d.id DESC LIMIT ?",
            (project_id, environment, limit),
        )

    def live_objects(self, project_id: int, environment: str) -> dict[str, Any] | None:
        """The last status report's per-object results and drift (JSON lists)."""
        return self._state.one(
            "SELECT o.bundle_id, o.objects, o.drifted, o.at, b.revision, b.digest"
            " FROM live_objects o LEFT JOIN bundles b ON b.id = o.bundle_id"
            " WHERE o.project_id = ? AND o.environment = ?",
            (project_id, environment),
        )

    def revision(self, project_id: int, commit_prefix: str) -> dict[str, Any] | None:
        return self._state.one(
            "SELECT commit_id, author, message, state, errors, recorded_at FROM revisions"
            " WHERE project_id = ? AND commit_id LIKE ? ORDER BY recorded_at DESC LIMIT 1",
            (project_id, commit_prefix.replace("%", "").replace("_", "") + "%"),
        )

    def runners(self, org_id: int) -> list[dict[str, Any]]:
        return self._state.query(
            "SELECT rn.name, rn.created_at, rn.last_seen_at,"
            " (SELECT group_concat(p.name || '/' || e.name, ', ') FROM environments e"
            "  JOIN projects p ON p.id = e.project_id"
            "  WHERE p.org_id = rn.org_id AND e.runner = rn.name) AS environments"
            " FROM runners rn WHERE rn.org_id = ? ORDER BY rn.name",
            (org_id,),
        )

    def audit(
        self,
        org_id: int,
        *,
        actor: str,
        action: str,
        project: str,
        before: int | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        sql = (
            "SELECT id, at, actor, action, project, environment, revision, detail"
            " FROM audit_log WHERE org_id = :org"
        )
        params: dict[str, Any] = {"org": org_id, "limit": limit}
        for column, value in (("actor", actor), ("action", action), ("project", project)):
            if value:
                sql += f" AND {column} = :{column}"
                params[column] = value
        if before is not None:
            sql += " AND id < :before"
            params["before"] = before
        return self._state.query(sql + " ORDER BY id DESC LIMIT :limit", params)

    def audit_entry(self, org_id: int, entry_id: int) -> dict[str, Any] | None:
        return self._state.one(
            "SELECT id, at, actor, action, project, environment, revision, detail"
            " FROM audit_log WHERE org_id = ? AND id = ?",
            (org_id, entry_id),
        )

    def audit_of_replay(self, org_id: int, request_id: str) -> list[dict[str, Any]]:
        return self._state.query(
            "SELECT id, action FROM audit_log WHERE org_id = ?"
            " AND action LIKE 'replay.%' AND json_extract(detail, '$.request_id') = ?"
            " ORDER BY id",
            (org_id, request_id),
        )

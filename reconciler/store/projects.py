"""Repositories, projects (one config repository each), their status and recorded revisions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from reconciler.secrets.envelope import Envelope
from reconciler.secrets.sealing import (
    PrivateKey,
    generate_private_key,
    load_private_der,
    private_der,
    public_pem,
)
from reconciler.sources import HostToken
from reconciler.store.db import StateDB, insert_row
from reconciler.store.records import (
    ProjectRecord,
    ProjectStatus,
    RepositoryRecord,
    RevisionRecord,
    RevisionState,
)

_PROJECT_SQL = (
    "SELECT p.id, p.org_id, o.name AS org, p.name, r.id AS rid, r.name AS rname, r.url,"
    " r.branch, r.poll_interval_s FROM projects p JOIN repositories r ON r.id = p.repository_id"
    " JOIN orgs o ON o.id = p.org_id"
)
UNKNOWN_STATUS = ProjectStatus(
    "Unknown", False, False, "Pending", "not reconciled yet", "", 0, 0, 0
)


def _project(row: dict[str, Any]) -> ProjectRecord:
    repo = RepositoryRecord(
        int(row["rid"]),
        int(row["org_id"]),
        str(row["rname"]),
        str(row["url"]),
        str(row["branch"]),
        int(row["poll_interval_s"]),
    )
    return ProjectRecord(
        int(row["id"]), int(row["org_id"]), str(row["org"]), str(row["name"]), repo
    )


class Projects:
    def __init__(self, state: StateDB, envelope: Envelope) -> None:
        self._state = state
        self._envelope = envelope

    def create(
        self,
        org_id: int,
        name: str,
        *,
        url: str,
        branch: str = "main",
        poll_interval_s: int = 120,
        webhook_secret: str = "",
        key_kind: str = "x25519",
        credential: HostToken | None = None,
    ) -> ProjectRecord:
        """Register a project and its repository; the repository takes the project's name.

        `credential`: the repository's own HTTPS token, bound to its host, sealed at rest."""
        key = generate_private_key(key_kind)
        now = self._state.clock()
        with self._state.transaction() as db:
            repo_id = insert_row(
                db,
                "repositories",
                {
                    "org_id": org_id,
                    "name": name,
                    "url": url,
                    "branch": branch,
                    "poll_interval_s": poll_interval_s,
                    "created_at": now,
                    "webhook_secret": self._envelope.seal(
                        webhook_secret.encode(), b"hook:" + name.encode()
                    ),
                    "credentials": None
                    if credential is None
                    else self._envelope.seal(_credential_json(credential), _git_context(name)),
                },
            )
            db.table("projects").insert(
                {
                    "org_id": org_id,
                    "repository_id": repo_id,
                    "name": name,
                    "created_at": now,
                    "public_key": public_pem(key),
                    "private_key": self._envelope.seal(private_der(key), b"key:" + name.encode()),
                }
            )
        found = self.by_name(org_id, name)
        assert found is not None
        return found

    def by_name(self, org_id: int, name: str) -> ProjectRecord | None:
        row = self._state.one(_PROJECT_SQL + " WHERE p.org_id = ? AND p.name = ?", (org_id, name))
        return None if row is None else _project(row)

    def by_id(self, project_id: int) -> ProjectRecord | None:
        row = self._state.one(_PROJECT_SQL + " WHERE p.id = ?", (project_id,))
        return None if row is None else _project(row)

    def by_repository(self, org: str, repo_name: str) -> ProjectRecord | None:
        row = self._state.one(_PROJECT_SQL + " WHERE o.name = ? AND r.name = ?", (org, repo_name))
        return None if row is None else _project(row)

    def all(self, org_id: int | None = None) -> list[ProjectRecord]:
        if org_id is None:
            return [_project(r) for r in self._state.query(_PROJECT_SQL + " ORDER BY p.id")]
        rows = self._state.query(_PROJECT_SQL + " WHERE p.org_id = ? ORDER BY p.name", (org_id,))
        return [_project(r) for r in rows]

    def webhook_secret(self, project: ProjectRecord) -> bytes:
        row = self._state.one(
            "SELECT webhook_secret FROM repositories WHERE id = ?", (project.repository.id,)
        )
        assert row is not None
        context = b"hook:" + project.repository.name.encode()
        return self._envelope.open(bytes(row["webhook_secret"]), context)

    def credential(self, project: ProjectRecord) -> HostToken | None:
        """The repository's own HTTPS token (decrypted; for the git source only)."""
        row = self._state.one(
            "SELECT credentials FROM repositories WHERE id = ?", (project.repository.id,)
        )
        if row is None or not row["credentials"]:
            return None
        plain = self._envelope.open(
            bytes(row["credentials"]), _git_context(project.repository.name)
        )
        data = json.loads(plain)
        return HostToken(tuple(data["hosts"]), str(data["username"]), str(data["token"]))

    def public_key_pem(self, project: ProjectRecord) -> bytes:
        row = self._state.one("SELECT public_key FROM projects WHERE id = ?", (project.id,))
        assert row is not None
        return bytes(row["public_key"])

    def private_key(self, project: ProjectRecord) -> PrivateKey:
        row = self._state.one("SELECT private_key FROM projects WHERE id = ?", (project.id,))
        assert row is not None
        der = self._envelope.open(bytes(row["private_key"]), b"key:" + project.name.encode())
        return load_private_der(der)

    def status(self, project_id: int) -> ProjectStatus:
        row = self._state.one("SELECT * FROM project_status WHERE project_id = ?", (project_id,))
        if row is None:
            return UNKNOWN_STATUS
        row.pop("project_id")
        row["reconciling"], row["stalled"] = bool(row["reconciling"]), bool(row["stalled"])
        return ProjectStatus(**row)

    def set_status(self, project_id: int, status: ProjectStatus) -> None:
        with self._state.transaction() as db:
            db.table("project_status").upsert(
                {"project_id": project_id, **_status_row(status)}, pk="project_id"
            )

    def mark_reconciling(self, project_id: int) -> None:
        """Durable "a reconcile is owed": set before a request is acknowledged, cleared when a
        reconcile ends; whatever is still set at start was cut short by a crash."""
        with self._state.transaction():
            current = self.status(project_id)
            self.set_status(project_id, replace(current, reconciling=True))

    def reconciling(self) -> list[int]:
        """Projects marked Reconciling (at start: the reconciles a crash interrupted)."""
        rows = self._state.query(
            "SELECT project_id FROM project_status WHERE reconciling = 1 ORDER BY project_id"
        )
        return [int(r["project_id"]) for r in rows]

    def record_revision(self, project_id: int, revision: RevisionRecord) -> None:
        with self._state.transaction() as db:
            db.table("revisions").upsert(
                {
                    "project_id": project_id,
                    "commit_id": revision.commit_id,
                    "author": revision.author,
                    "message": revision.message,
                    "state": revision.state.value,
                    "errors": json.dumps(list(revision.errors)),
                    "recorded_at": revision.recorded_at,
                },
                pk=("project_id", "commit_id"),
                alter=False,
            )

    def revisions(self, project_id: int, limit: int = 50) -> list[RevisionRecord]:
        rows = self._state.query(
            "SELECT * FROM revisions WHERE project_id = ?"
            " ORDER BY recorded_at DESC, id DESC LIMIT ?",
            (project_id, limit),
        )
        return [
            RevisionRecord(
                r["commit_id"],
                r["author"],
                r["message"],
                RevisionState(r["state"]),
                tuple(json.loads(r["errors"])),
                float(r["recorded_at"]),
            )
            for r in rows
        ]


def _git_context(repository: str) -> bytes:
    return b"git-credential:" + repository.encode()


def _credential_json(credential: HostToken) -> bytes:
    document = {"hosts": list(credential.hosts), "username": credential.username}
    return json.dumps({**document, "token": credential.token}).encode()


def _status_row(status: ProjectStatus) -> dict[str, Any]:
    return {
        "ready": status.ready,
        "reconciling": int(status.reconciling),
        "stalled": int(status.stalled),
        "reason": status.reason,
        "message": status.message,
        "last_commit": status.last_commit,
        "last_attempt_at": status.last_attempt_at,
        "next_attempt_at": status.next_attempt_at,
        "failures": status.failures,
    }

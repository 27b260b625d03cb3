"""Schema migrations of the control-plane state database, applied in order at open.

Each migration runs once; `PRAGMA user_version` records the last one applied, so a database
written by an older camelops is upgraded in place and a newer one is refused.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from reconciler.store.rollup_schema import create_environment_rollup

Migration = Callable[[Database], None]


def _accounts(db: Database) -> None:
    db.table("orgs").create(
        {"id": int, "name": str, "created_at": float}, pk="id", not_null={"name"}
    )
    db.table("orgs").create_index(["name"], unique=True)
    db.table("users").create(
        {"id": int, "org_id": int, "name": str, "role": str, "created_at": float},
        pk="id",
        foreign_keys=[("org_id", "orgs", "id")],
    )
    db.table("users").create_index(["org_id", "name"], unique=True)
    db.table("api_tokens").create(
        {
            "id": int,
            "user_id": int,
            "name": str,
            "token_hash": str,
            "created_at": float,
            "revoked_at": float,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("api_tokens").create_index(["token_hash"], unique=True)
    db.table("runners").create(
        {"id": int, "org_id": int, "name": str, "created_at": float, "last_seen_at": float},
        pk="id",
        foreign_keys=[("org_id", "orgs", "id")],
    )
    db.table("runners").create_index(["org_id", "name"], unique=True)


def _sources(db: Database) -> None:
    db.table("repositories").create(
        {
            "id": int,
            "org_id": int,
            "name": str,
            "url": str,
            "branch": str,
            "poll_interval_s": int,
            "webhook_secret": bytes,
            "credentials": bytes,
            "created_at": float,
        },
        pk="id",
        foreign_keys=[("org_id", "orgs", "id")],
    )
    # (version 1: unique across orgs; per org since `_repository_names_per_org`)
    db.table("repositories").create_index(["name"], unique=True)
    db.table("projects").create(
        {
            "id": int,
            "org_id": int,
            "repository_id": int,
            "name": str,
            "public_key": bytes,
            "private_key": bytes,
            "created_at": float,
        },
        pk="id",
        foreign_keys=[("org_id", "orgs", "id"), ("repository_id", "repositories", "id")],
    )
    db.table("projects").create_index(["org_id", "name"], unique=True)
    db.table("project_status").create(
        {
            "project_id": int,
            "ready": str,
            "reconciling": int,
            "stalled": int,
            "reason": str,
            "message": str,
            "last_commit": str,
            "last_attempt_at": float,
            "next_attempt_at": float,
            "failures": int,
        },
        pk="project_id",
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("revisions").create(
        {
            "id": int,
            "project_id": int,
            "commit_id": str,
            "author": str,
            "message": str,
            "state": str,
            "errors": str,
            "recorded_at": float,
        },
        pk="id",
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("revisions").create_index(["project_id", "commit_id"], unique=True)


def _desired_state(db: Database) -> None:
    db.table("bundles").create(
        {
            "id": int,
            "project_id": int,
            "environment": str,
            "revision": str,
            "digest": str,
            "sealed_body": bytes,
            "created_at": float,
        },
        pk="id",
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("bundles").create_index(["project_id", "environment", "id"])
    db.table("environments").create(
        {
            "id": int,
            "project_id": int,
            "name": str,
            "runner": str,
            "namespace": str,
            "auto_sync": int,
            "sync_windows": str,
            "pinned_bundle_id": int,
            "latest_bundle_id": int,
            "deployed_bundle_id": int,
            "updated_at": float,
        },
        pk="id",
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("environments").create_index(["project_id", "name"], unique=True)
    db.table("deployments").create(
        {
            "id": int,
            "project_id": int,
            "environment": str,
            "bundle_id": int,
            "state": str,
            "detail": str,
            "actor": str,
            "at": float,
        },
        pk="id",
    )
    db.table("deployments").create_index(["project_id", "environment", "id"])


def _previews_and_audit(db: Database) -> None:
    db.table("previews").create(
        {
            "id": int,
            "project_id": int,
            "number": int,
            "ref": str,
            "head_commit": str,
            "base_commit": str,
            "state": str,
            "summary": str,
            "errors": str,
            "created_at": float,
            "updated_at": float,
            "expires_at": float,
        },
        pk="id",
        foreign_keys=[("project_id", "projects", "id")],
    )
    db.table("previews").create_index(["project_id", "number"], unique=True)
    db.table("audit_log").create(
        {
            "id": int,
            "org_id": int,
            "at": float,
            "actor": str,
            "action": str,
            "project": str,
            "environment": str,
            "revision": str,
            "detail": str,
        },
        pk="id",
    )
    db.table("audit_log").create_index(["org_id", "id"])


def _replays(db: Database) -> None:
    """Exchange replays: the idempotency key makes a repeated request return the first result."""
    db.table("replays").create(
        {
            "id": int,
            "request_id": str,
            "org_id": int,
            "idempotency_key": str,
            "actor": str,
            "project": str,
            "environment": str,
            "integration": str,
            "exchange_id": str,
            "runner": str,
            "revision": str,
            "state": str,
            "reason": str,
            "endpoint": str,
            "requested_at": float,
            "completed_at": float,
        },
        pk="id",
        foreign_keys=[("org_id", "orgs", "id")],
    )
    db.table("replays").create_index(["org_id", "idempotency_key"], unique=True)
    db.table("replays").create_index(["request_id"], unique=True)


def _portal_logins(db: Database) -> None:
    """Password logins for the portal: a memory-hard hash per user and server-side sessions.

    Only the SHA-256 of a session id is stored: a copy of the database opens no session.
    """
    db.table("users").add_column("password_hash", str)
    db.table("sessions").create(
        {
            "id_hash": str,
            "user_id": int,
            "csrf_token": str,
            "created_at": float,
            "last_seen_at": float,
        },
        pk="id_hash",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("sessions").create_index(["user_id"])
    db.table("audit_log").create_index(["org_id", "actor", "id"])


def _token_lifetimes(db: Database) -> None:
    """API tokens expire (NULL: never, the bootstrap admin's) and record when last used."""
    db.table("api_tokens").add_column("expires_at", float)
    db.table("api_tokens").add_column("last_used_at", float)


def _repository_names_per_org(db: Database) -> None:
    """Names are each org's own: one org registering a name tells it nothing about another's.
    Webhooks name the org in their path (the bootstrap org's may leave it out)."""
    db.execute("DROP INDEX IF EXISTS idx_repositories_name")
    db.table("repositories").create_index(["org_id", "name"], unique=True)


def _preview_deployments(db: Database) -> None:
    """A deployed preview names its runner (which may then receive `pr-<n>`), the digest of the
    bundle last handed over, and what became of it: dispatch refused, or the runner's status."""
    for column in ("runner", "digest", "deploy_state", "deploy_detail"):
        db.table("previews").add_column(column, str, not_null_default="")
    db.table("previews").create_index(["runner"])


def _live_objects(db: Database) -> None:
    """The last status report's per-object results and drift, one row per environment (the
    report replaces it whole: the environment page shows what the runner said last)."""
    db.table("live_objects").create(
        {
            "project_id": int,
            "environment": str,
            "bundle_id": int,
            "objects": str,
            "drifted": str,
            "at": float,
        },
        pk=("project_id", "environment"),
        foreign_keys=[("project_id", "projects", "id")],
    )


MIGRATIONS: tuple[Migration, ...] = (
    _accounts,
    _sources,
    _desired_state,
    _previews_and_audit,
    _replays,
    _portal_logins,
    _token_lifetimes,
    _repository_names_per_org,
    _preview_deployments,
    create_environment_rollup,
    _live_objects,
)

"""The overview's roll-up: one row per environment, kept current by triggers on every write.

The overview reads only `environment_rollup`. Each trigger recomputes the rows its write can
change with the one query below, so a row always equals what a fresh join would say; writers
(status reports, syncs, runner heartbeats, reconciles) need not know the roll-up exists.
"""

from __future__ import annotations

from sqlite_utils import Database

_JOIN = (
    " FROM environments e JOIN projects p ON p.id = e.project_id"
    " LEFT JOIN project_status s ON s.project_id = p.id"
    " LEFT JOIN revisions r ON r.project_id = p.id AND r.commit_id = s.last_commit"
    " LEFT JOIN runners rn ON rn.org_id = p.org_id AND rn.name = e.runner"
    " WHERE {where}"
)
# fixed SQL: {where} is one of the conditions of _TRIGGERS below, never input
_DELETE = "DELETE FROM environment_rollup WHERE env_id IN (SELECT e.id" + _JOIN + ")"  # noqa: S608
# The roll-up row of every environment matching {where}: the join the overview used to run
# on each request, now run once per write. `sync` mirrors portal_views._sync_state. Triggers
# delete, then insert: an OR REPLACE inside a trigger would give way to the conflict policy
# of the statement that fired it (sqlite-utils' upserts use INSERT OR IGNORE).
_INSERT = (
    "INSERT INTO environment_rollup (env_id, org_id, project_id, project,"  # noqa: S608
    " environment, runner, pinned, sync, health, ready, last_commit, author, message,"
    " runner_seen_at)"
    " SELECT e.id, p.org_id, e.project_id, p.name, e.name, e.runner,"
    " e.pinned_bundle_id IS NOT NULL,"
    " CASE WHEN e.deployed_bundle_id IS NULL THEN 'NotDeployed'"
    "  WHEN e.deployed_bundle_id = coalesce(e.pinned_bundle_id, e.latest_bundle_id)"
    "  THEN 'Synced' ELSE 'OutOfSync' END,"
    " (SELECT d.state FROM deployments d WHERE d.project_id = e.project_id"
    "  AND d.environment = e.name AND d.actor = 'runner' ORDER BY d.id DESC LIMIT 1),"
    " s.ready, s.last_commit, r.author, r.message, rn.last_seen_at" + _JOIN
)

# (trigger name, event, WHEN condition or "", which environments the write touches)
_TRIGGERS = (
    ("rollup_env_insert", "AFTER INSERT ON environments", "", "e.id = NEW.id"),
    ("rollup_env_update", "AFTER UPDATE ON environments", "", "e.id = NEW.id"),
    (
        "rollup_runner_report",
        "AFTER INSERT ON deployments",
        "NEW.actor = 'runner'",
        "e.project_id = NEW.project_id AND e.name = NEW.environment",
    ),
    ("rollup_status_insert", "AFTER INSERT ON project_status", "", "e.project_id = NEW.project_id"),
    (
        "rollup_status_update",
        "AFTER UPDATE ON project_status",
        "OLD.ready IS NOT NEW.ready OR OLD.last_commit IS NOT NEW.last_commit",
        "e.project_id = NEW.project_id",
    ),
    (
        "rollup_revision_insert",
        "AFTER INSERT ON revisions",
        "",
        "e.project_id = NEW.project_id AND e.project_id IN (SELECT project_id FROM"
        " project_status WHERE last_commit = NEW.commit_id)",
    ),
    (
        "rollup_revision_update",
        "AFTER UPDATE ON revisions",
        "OLD.author IS NOT NEW.author OR OLD.message IS NOT NEW.message",
        "e.project_id = NEW.project_id",
    ),
    (
        "rollup_runner_insert",
        "AFTER INSERT ON runners",
        "",
        "e.runner = NEW.name AND p.org_id = NEW.org_id",
    ),
    (
        "rollup_runner_seen",
        "AFTER UPDATE OF last_seen_at ON runners",
        "OLD.last_seen_at IS NOT NEW.last_seen_at",
        "e.runner = NEW.name AND p.org_id = NEW.org_id",
    ),
    ("rollup_project_rename", "AFTER UPDATE OF name ON projects", "", "e.project_id = NEW.id"),
)


def create_environment_rollup(db: Database) -> None:
    """Table, indexes, triggers, and the rows of the environments that exist already."""
    db.execute(
        "CREATE TABLE environment_rollup (env_id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL,"
        " project_id INTEGER NOT NULL, project TEXT NOT NULL, environment TEXT NOT NULL,"
        " runner TEXT, pinned INTEGER NOT NULL, sync TEXT NOT NULL, health TEXT, ready TEXT,"
        " last_commit TEXT, author TEXT, message TEXT, runner_seen_at REAL)"
    )
    # the overview's order and keyset; the runner heartbeat's lookup
    db.execute(
        "CREATE UNIQUE INDEX rollup_by_name ON environment_rollup (org_id, project, environment)"
    )
    db.execute("CREATE INDEX rollup_by_runner ON environment_rollup (org_id, runner)")
    for name, event, when, where in _TRIGGERS:
        condition = f" WHEN {when}" if when else ""
        db.execute(
            f"CREATE TRIGGER {name} {event} FOR EACH ROW{condition}"
            f" BEGIN {_DELETE.format(where=where)}; {_INSERT.format(where=where)}; END"
        )
    db.execute(
        "CREATE TRIGGER rollup_env_delete AFTER DELETE ON environments FOR EACH ROW"
        " BEGIN DELETE FROM environment_rollup WHERE env_id = OLD.id; END"
    )
    db.execute(_INSERT.format(where="1"))

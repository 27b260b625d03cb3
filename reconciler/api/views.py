"""JSON shapes of records: what the API returns (never bundle contents or secret material)."""

from __future__ import annotations

from typing import Any

from reconciler.sources import redact_url
from reconciler.store.previews import PreviewRecord
from reconciler.store.records import (
    AuditRecord,
    BundleSummary,
    EnvironmentRecord,
    ProjectRecord,
    ProjectStatus,
    RevisionRecord,
)


def project_view(project: ProjectRecord, status: ProjectStatus) -> dict[str, Any]:
    return {
        "name": project.name,
        "repository": {
            "name": project.repository.name,
            "url": redact_url(project.repository.url),
            "branch": project.repository.branch,
            "pollIntervalSeconds": project.repository.poll_interval_s,
        },
        "status": status_view(status),
    }


def status_view(status: ProjectStatus) -> dict[str, Any]:
    return {
        "conditions": [
            {
                "type": "Ready",
                "status": status.ready,
                "reason": status.reason,
                "message": status.message,
            },
            {"type": "Reconciling", "status": str(status.reconciling)},
            {"type": "Stalled", "status": str(status.stalled)},
        ],
        "lastCommit": status.last_commit,
        "lastAttemptAt": status.last_attempt_at,
        "nextAttemptAt": status.next_attempt_at,
        "failures": status.failures,
    }


def revision_view(revision: RevisionRecord) -> dict[str, Any]:
    return {
        "commit": revision.commit_id,
        "author": revision.author,
        "message": revision.message,
        "state": revision.state.value,
        "errors": list(revision.errors),
        "recordedAt": revision.recorded_at,
    }


def environment_view(env: EnvironmentRecord) -> dict[str, Any]:
    return {
        "name": env.name,
        "runner": env.runner,
        "namespace": env.namespace,
        "autoSync": env.auto_sync,
        "pinnedBundleId": env.pinned_bundle_id,
        "latestBundleId": env.latest_bundle_id,
        "deployedBundleId": env.deployed_bundle_id,
        "syncWindows": [w.model_dump(mode="json", by_alias=True) for w in env.sync_windows],
    }


def bundle_view(bundle: BundleSummary) -> dict[str, Any]:
    return {
        "id": bundle.id,
        "revision": bundle.revision,
        "digest": bundle.digest,
        "createdAt": bundle.created_at,
    }


def preview_view(preview: PreviewRecord, *, full: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "number": preview.number,
        "ref": preview.ref,
        "head": preview.head_commit,
        "base": preview.base_commit,
        "state": preview.state,
        "expiresAt": preview.expires_at,
        "updatedAt": preview.updated_at,
        "errors": list(preview.errors),
    }
    if preview.runner:
        view["deployment"] = {
            "runner": preview.runner,
            "state": preview.deploy_state,
            "detail": preview.deploy_detail,
        }
    if full:
        view["diff"] = preview.summary
    return view


def audit_view(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "project": record.project,
        "environment": record.environment,
        "revision": record.revision,
        "detail": record.detail,
    }

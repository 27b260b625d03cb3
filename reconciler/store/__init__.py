"""The control-plane state store (SQLite via sqlite-utils, WAL, migrations in code)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reconciler.secrets.envelope import Envelope
from reconciler.sources import HostToken
from reconciler.store.accounts import Accounts
from reconciler.store.db import Clock, ConflictError, StateDB, StoreError
from reconciler.store.desired import DesiredState
from reconciler.store.logins import Logins
from reconciler.store.portal_reads import PortalReads
from reconciler.store.previews import Previews
from reconciler.store.projects import Projects
from reconciler.store.records import ProjectRecord
from reconciler.store.replays import Replays

__all__ = ["ConflictError", "StateStore", "StoreError"]


class StateStore:
    """One database, grouped by what the rows describe. Calls block: run them off the loop."""

    def __init__(self, path: Path | None, kek: bytes, *, clock: Clock | None = None) -> None:
        self.state = StateDB(path) if clock is None else StateDB(path, clock=clock)
        envelope = Envelope(kek)
        self.accounts = Accounts(self.state)
        self.projects = Projects(self.state, envelope)
        self.desired = DesiredState(self.state, envelope)
        self.previews = Previews(self.state)
        self.replays = Replays(self.state)
        self.logins = Logins(self.state)
        self.portal = PortalReads(self.state)

    def create_project(
        self,
        org_id: int,
        actor: str,
        name: str,
        *,
        url: str,
        branch: str,
        poll_interval_s: int,
        webhook_secret: str,
        credential: HostToken | None = None,
    ) -> ProjectRecord:
        """A project, its repository and the audit record, in one transaction. `credential`:
        the repository's own HTTPS token, bound to its host, sealed at rest."""
        try:
            with self.state.transaction():
                project = self.projects.create(
                    org_id,
                    name,
                    url=url,
                    branch=branch,
                    poll_interval_s=poll_interval_s,
                    webhook_secret=webhook_secret,
                    credential=credential,
                )
                self.desired.audit(org_id, actor, "project.created", project=project.name)
        except sqlite3.IntegrityError:
            raise ConflictError("your org has a project with this name") from None
        return project

    def close(self) -> None:
        self.state.close()

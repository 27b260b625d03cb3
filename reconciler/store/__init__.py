"""The control-plane state store (SQLite via sqlite-utils, WAL, migrations in code)."""

from __future__ import annotations

from pathlib import Path

from reconciler.secrets.envelope import Envelope
from reconciler.store.accounts import Accounts
from reconciler.store.db import Clock, StateDB, StoreError
from reconciler.store.desired import DesiredState
from reconciler.store.logins import Logins
from reconciler.store.portal_reads import PortalReads
from reconciler.store.previews import Previews
from reconciler.store.projects import Projects
from reconciler.store.replays import Replays

__all__ = ["StateStore", "StoreError"]


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

    def close(self) -> None:
        self.state.close()

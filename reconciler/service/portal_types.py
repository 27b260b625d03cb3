"""The value types the portal handles, re-exported so it never imports the store itself."""

from __future__ import annotations

from reconciler.store.logins import SessionRecord
from reconciler.store.records import Principal, Role

__all__ = ["Principal", "Role", "SessionRecord"]

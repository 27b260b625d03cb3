"""Where the PKI keeps tokens, issued certificates and revocations (a small interface + SQLite)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tunnel.at_rest import private_database
from tunnel.pki.identity import RunnerIdentity


@dataclass(frozen=True, slots=True)
class TokenRecord:
    digest: str
    identity: RunnerIdentity
    expires_at: datetime
    used_at: datetime | None


class PkiStore(Protocol):
    """The control plane may back this with its own database; all times are timezone-aware UTC."""

    def add_token(self, record: TokenRecord) -> None: ...
    def get_token(self, digest: str) -> TokenRecord | None: ...
    def consume_token(self, digest: str, now: datetime) -> bool:
        """Mark the token used if it is unused and unexpired; True for exactly one caller."""
        ...

    def record_certificate(
        self, serial: int, identity: RunnerIdentity, not_after: datetime
    ) -> None: ...
    def certificate_owner(self, serial: int) -> RunnerIdentity | None: ...
    def revoke_certificate(self, serial: int, reason: str, now: datetime) -> None: ...
    def revoke_runner(self, identity: RunnerIdentity, reason: str, now: datetime) -> int: ...
    def is_revoked(self, serial: int) -> bool: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tunnel_tokens (
  digest TEXT PRIMARY KEY, org TEXT NOT NULL, runner TEXT NOT NULL,
  expires_at TEXT NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS tunnel_certificates (
  serial TEXT PRIMARY KEY, org TEXT NOT NULL, runner TEXT NOT NULL, not_after TEXT NOT NULL,
  revoked_at TEXT, revoked_reason TEXT);
CREATE INDEX IF NOT EXISTS tunnel_certificates_runner ON tunnel_certificates (org, runner);
"""


class SqlitePkiStore:
    """SQLite, one connection guarded by a lock (calls are rare: registration and connects)."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(
            str(private_database(Path(path))), check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def add_token(self, record: TokenRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO tunnel_tokens VALUES (?, ?, ?, ?, NULL)",
                (
                    record.digest,
                    record.identity.org,
                    record.identity.name,
                    record.expires_at.isoformat(),
                ),
            )

    def get_token(self, digest: str) -> TokenRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT org, runner, expires_at, used_at FROM tunnel_tokens WHERE digest = ?",
                (digest,),
            ).fetchone()
        if row is None:
            return None
        used = datetime.fromisoformat(row[3]) if row[3] else None
        return TokenRecord(
            digest, RunnerIdentity(row[0], row[1]), datetime.fromisoformat(row[2]), used
        )

    def consume_token(self, digest: str, now: datetime) -> bool:
        # One UPDATE decides: two concurrent registrations with the same token cannot both win.
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tunnel_tokens SET used_at = ? WHERE digest = ? AND used_at IS NULL"
                " AND expires_at > ?",
                (now.isoformat(), digest, now.isoformat()),
            )
        return cursor.rowcount == 1

    def record_certificate(
        self, serial: int, identity: RunnerIdentity, not_after: datetime
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO tunnel_certificates VALUES (?, ?, ?, ?, NULL, NULL)",
                (f"{serial:x}", identity.org, identity.name, not_after.isoformat()),
            )

    def certificate_owner(self, serial: int) -> RunnerIdentity | None:
        with self._lock:
            row = self._db.execute(
                "SELECT org, runner FROM tunnel_certificates WHERE serial = ?", (f"{serial:x}",)
            ).fetchone()
        return RunnerIdentity(row[0], row[1]) if row else None

    def revoke_certificate(self, serial: int, reason: str, now: datetime) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE tunnel_certificates SET revoked_at = ?, revoked_reason = ?"
                " WHERE serial = ?",
                (now.isoformat(), reason, f"{serial:x}"),
            )

    def revoke_runner(self, identity: RunnerIdentity, reason: str, now: datetime) -> int:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tunnel_certificates SET revoked_at = ?, revoked_reason = ?"
                " WHERE org = ? AND runner = ? AND revoked_at IS NULL",
                (now.isoformat(), reason, identity.org, identity.name),
            )
        return cursor.rowcount

    def certificates_of(self, org: str) -> list[tuple[str, str, str, str | None]]:
        """(runner, serial hex, not_after, revoked_at) of every certificate issued in `org`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT runner, serial, not_after, revoked_at FROM tunnel_certificates"
                " WHERE org = ? ORDER BY runner, not_after DESC",
                (org,),
            ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]

    def is_revoked(self, serial: int) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT revoked_at FROM tunnel_certificates WHERE serial = ?", (f"{serial:x}",)
            ).fetchone()
        # A serial we never issued is treated as revoked: the CA key may have signed it elsewhere.
        return row is None or row[0] is not None

"""Orgs, users, hashed API tokens and registered runners."""

from __future__ import annotations

import hashlib
import secrets

from reconciler.errors import ReconcilerError
from reconciler.store.db import StateDB, insert_row
from reconciler.store.records import Principal, Role

TOKEN_PREFIX = "cop_"  # noqa: S105 - a public marker, not a secret
BOOTSTRAP_ORG = "default"
"""The org `serve` creates on first start (with its admin); webhooks may leave its name out."""
LAST_USED_EVERY_S = 60.0
"""`last_used_at` is written at most this often per token (not one write per request)."""


class AccountExists(ReconcilerError):
    """An org, or a user in its org, by that name exists already."""


def hash_token(token: str) -> str:
    # tokens carry 256 random bits, so a plain SHA-256 is enough: no dictionary to slow down
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, state: StateDB) -> None:
        self._state = state

    def ensure_org(self, name: str) -> int:
        with self._state.transaction() as db:
            row = self._state.one("SELECT id FROM orgs WHERE name = ?", (name,))
            if row is not None:
                return int(row["id"])
            return insert_row(db, "orgs", {"name": name, "created_at": self._state.clock()})

    def ensure_user(self, org_id: int, name: str, role: Role) -> int:
        with self._state.transaction() as db:
            row = self._state.one(
                "SELECT id FROM users WHERE org_id = ? AND name = ?", (org_id, name)
            )
            if row is not None:
                db.table("users").update(row["id"], {"role": role.value})
                return int(row["id"])
            record = {"org_id": org_id, "name": name, "role": role.value}
            return insert_row(db, "users", {**record, "created_at": self._state.clock()})

    def create_org(self, name: str) -> int:
        with self._state.transaction():
            if self.org_id(name) is not None:
                raise AccountExists(f"org {name} exists")
            return self.ensure_org(name)

    def org_id(self, name: str) -> int | None:
        row = self._state.one("SELECT id FROM orgs WHERE name = ?", (name,))
        return None if row is None else int(row["id"])

    def org_name(self, org_id: int) -> str | None:
        row = self._state.one("SELECT name FROM orgs WHERE id = ?", (org_id,))
        return None if row is None else str(row["name"])

    def create_user(self, org_id: int, name: str, role: Role) -> int:
        with self._state.transaction():
            if self.user_id(org_id, name) is not None:
                raise AccountExists(f"user {name} exists in this org")
            return self.ensure_user(org_id, name, role)

    def user_id(self, org_id: int, name: str) -> int | None:
        row = self._state.one("SELECT id FROM users WHERE org_id = ? AND name = ?", (org_id, name))
        return None if row is None else int(row["id"])

    def users(self, org_id: int) -> list[dict[str, object]]:
        return self._state.query(
            "SELECT name, role, created_at FROM users WHERE org_id = ? ORDER BY name", (org_id,)
        )

    def issue_token(self, user_id: int, name: str, ttl_s: float | None = None) -> str:
        """A new API token; only its hash is stored, so this is the one time it is visible.
        `ttl_s`: it stops working after that long (None: never, for the bootstrap admin)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._state.clock()
        with self._state.transaction() as db:
            db.table("api_tokens").insert(
                {
                    "user_id": user_id,
                    "name": name,
                    "token_hash": hash_token(token),
                    "created_at": now,
                    "revoked_at": None,
                    "expires_at": None if ttl_s is None else now + ttl_s,
                    "last_used_at": None,
                }
            )
        return token

    def revoke_named(self, user_id: int, name: str) -> int:
        """Revoke a user's tokens of that name; how many were live."""
        with self._state.transaction() as db:
            cursor = db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND name = ?"
                " AND revoked_at IS NULL",
                (self._state.clock(), user_id, name),
            )
            return cursor.rowcount

    def tokens(self, user_id: int) -> list[dict[str, object]]:
        """Never the token itself (only its hash is kept): names and dates."""
        return self._state.query(
            "SELECT name, created_at, expires_at, last_used_at, revoked_at FROM api_tokens"
            " WHERE user_id = ? ORDER BY id",
            (user_id,),
        )

    def revoke_token(self, token: str) -> bool:
        with self._state.transaction() as db:
            cursor = db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                (self._state.clock(), hash_token(token)),
            )
            return cursor.rowcount > 0

    def authenticate(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        now = self._state.clock()
        row = self._state.one(
            "SELECT t.id AS token_id, t.last_used_at, u.id, u.org_id, u.name, u.role"
            " FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL"
            " AND (t.expires_at IS NULL OR t.expires_at > ?)",
            (hash_token(token), now),
        )
        if row is None:
            return None
        if row["last_used_at"] is None or now - float(row["last_used_at"]) >= LAST_USED_EVERY_S:
            with self._state.transaction() as db:
                db.execute(
                    "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row["token_id"])
                )
        return Principal(int(row["id"]), int(row["org_id"]), str(row["name"]), Role(row["role"]))

    def register_runner(self, org_id: int, name: str) -> None:
        with self._state.transaction() as db:
            db.execute(
                "INSERT INTO runners (org_id, name, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT(org_id, name) DO NOTHING",
                (org_id, name, self._state.clock()),
            )

    def touch_runners(self, runners: list[tuple[str, str]]) -> None:
        """(org, runner name) pairs seen just now: their `last_seen_at` becomes now."""
        if not runners:
            return
        now = self._state.clock()
        with self._state.transaction() as db:
            db.conn.executemany(
                "UPDATE runners SET last_seen_at = ? WHERE name = ?"
                " AND org_id = (SELECT id FROM orgs WHERE name = ?)",
                [(now, name, org) for org, name in runners],
            )

    def runners(self, org_id: int) -> list[dict[str, object]]:
        return self._state.query(
            "SELECT name, created_at, last_seen_at FROM runners WHERE org_id = ? ORDER BY name",
            (org_id,),
        )

"""Portal logins: password hashes on users and server-side sessions (hashed ids only)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.store.db import StateDB
from reconciler.store.records import Principal, Role


@dataclass(frozen=True, slots=True)
class LoginRecord:
    principal: Principal
    password_hash: str


@dataclass(frozen=True, slots=True)
class SessionRecord:
    principal: Principal
    org: str
    csrf_token: str
    created_at: float
    last_seen_at: float


def _principal(row: dict[str, object]) -> Principal:
    return Principal(
        int(str(row["id"])), int(str(row["org_id"])), str(row["name"]), Role(str(row["role"]))
    )


class Logins:
    def __init__(self, state: StateDB) -> None:
        self._state = state

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._state.transaction() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    def orgs_with_login(self, name: str) -> list[int]:
        """Orgs in which `name` can log in with a password (login names are global)."""
        rows = self._state.query(
            "SELECT org_id FROM users WHERE name = ? AND password_hash IS NOT NULL", (name,)
        )
        return [int(r["org_id"]) for r in rows]

    def by_name(self, name: str) -> LoginRecord | None:
        row = self._state.one(
            "SELECT id, org_id, name, role, password_hash FROM users"
            " WHERE name = ? AND password_hash IS NOT NULL",
            (name,),
        )
        if row is None:
            return None
        return LoginRecord(_principal(row), str(row["password_hash"]))

    def create_session(self, id_hash: str, user_id: int, csrf_token: str) -> None:
        now = self._state.clock()
        with self._state.transaction() as db:
            db.table("sessions").insert(
                {
                    "id_hash": id_hash,
                    "user_id": user_id,
                    "csrf_token": csrf_token,
                    "created_at": now,
                    "last_seen_at": now,
                }
            )

    def session(self, id_hash: str) -> SessionRecord | None:
        row = self._state.one(
            "SELECT u.id, u.org_id, u.name, u.role, o.name AS org, s.csrf_token, s.created_at,"
            " s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id"
            " JOIN orgs o ON o.id = u.org_id WHERE s.id_hash = ?",
            (id_hash,),
        )
        if row is None:
            return None
        return SessionRecord(
            _principal(row),
            str(row["org"]),
            str(row["csrf_token"]),
            float(row["created_at"]),
            float(row["last_seen_at"]),
        )

    def touch_session(self, id_hash: str) -> None:
        with self._state.transaction() as db:
            db.execute(
                "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?",
                (self._state.clock(), id_hash),
            )

    def delete_session(self, id_hash: str) -> None:
        with self._state.transaction() as db:
            db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    def delete_sessions_of(self, user_id: int) -> None:
        with self._state.transaction() as db:
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

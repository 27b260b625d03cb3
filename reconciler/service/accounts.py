"""Portal accounts: users with argon2id password hashes, server-side sessions, login throttling.

Sessions carry 256 random bits; only their SHA-256 is stored. A session ends after
`idle_timeout_s` without a request or `absolute_timeout_s` after login, whichever comes first.
Every login creates a new session id (a pre-set cookie never becomes a session: no fixation).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections import deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from reconciler.errors import ReconcilerError
from reconciler.store import StateStore
from reconciler.store.logins import SessionRecord
from reconciler.store.records import Role

USER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9._]{0,62}[a-z0-9])?$")
ORG_NAME = USER_NAME
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 would hash a megabyte happily; a login form never needs that
_MAX_TRACKED = 10_000
"""Keys (user names, client addresses) with recent failed logins kept in memory at most."""
_TOUCH_EVERY_S = 30.0  # a request refreshes the idle clock at most this often (fewer writes)


class AccountError(ReconcilerError, ValueError):
    """A user cannot be created as asked (bad name, weak password, name taken elsewhere)."""


@dataclass(frozen=True, slots=True)
class LoginSettings:
    idle_timeout_s: float = 30 * 60
    absolute_timeout_s: float = 12 * 3600
    max_failures: int = 5
    """Failed logins per user name, and 4x that per client address, within `window_s`."""
    window_s: float = 300.0


@dataclass(frozen=True, slots=True)
class NewSession:
    session_id: str
    """The cookie value: shown to the browser once, never stored."""
    csrf_token: str


@dataclass(frozen=True, slots=True)
class LoginRefused:
    throttled: bool
    retry_after_s: int = 0


@dataclass
class _Failures:
    times: dict[str, deque[float]] = field(default_factory=dict)

    def recent(self, key: str, now: float, window: float) -> int:
        queue = self.times.get(key)
        if queue is None:
            return 0
        while queue and queue[0] <= now - window:
            queue.popleft()
        if not queue:
            del self.times[key]
        return len(queue)

    def add(self, key: str, now: float, window: float) -> None:
        if len(self.times) >= _MAX_TRACKED:  # a spray of names must not grow memory unbounded
            for stale in [k for k, q in self.times.items() if q[-1] <= now - window]:
                del self.times[stale]
        if len(self.times) >= _MAX_TRACKED:
            self.times.pop(next(iter(self.times)))  # the oldest key first (insertion order)
        self.times.setdefault(key, deque()).append(now)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class PortalAccounts:
    def __init__(self, store: StateStore, settings: LoginSettings | None = None) -> None:
        self._store = store
        self.settings = settings or LoginSettings()
        self._hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (64 MiB)
        self._failures = _Failures()
        # verified against when the name is unknown, so both paths cost one argon2 run
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def create_user(self, org: str, name: str, role: Role, password: str) -> int:
        """Create or update a password user; its existing sessions end (password changed)."""
        if not ORG_NAME.match(org):
            raise AccountError(f"invalid org name {org!r}: lowercase letters, digits, - . _")
        if not USER_NAME.match(name):
            raise AccountError(f"invalid user name {name!r}: lowercase letters, digits, - . _")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise AccountError(
                f"the password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters"
            )
        org_id = self._store.accounts.ensure_org(org)
        elsewhere = [o for o in self._store.logins.orgs_with_login(name) if o != org_id]
        if elsewhere:
            raise AccountError(f"the login name {name!r} is taken in another org; pick another")
        user_id = self._store.accounts.ensure_user(org_id, name, role)
        self._store.logins.set_password_hash(user_id, self._hasher.hash(password))
        self._store.logins.delete_sessions_of(user_id)
        return user_id

    async def login(self, name: str, password: str, client: str) -> NewSession | LoginRefused:
        now = self._store.state.clock()
        window, limit = self.settings.window_s, self.settings.max_failures
        name_key, client_key = f"user:{name}", f"client:{client}"
        if (
            self._failures.recent(name_key, now, window) >= limit
            or self._failures.recent(client_key, now, window) >= limit * 4
        ):
            return LoginRefused(throttled=True, retry_after_s=int(window))
        user_id = await asyncio.to_thread(self._verify, name, password[:MAX_PASSWORD])
        if user_id is None:
            self._failures.add(name_key, now, window)
            self._failures.add(client_key, now, window)
            return LoginRefused(throttled=False)
        self._failures.times.pop(name_key, None)
        session = NewSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        await asyncio.to_thread(
            self._store.logins.create_session,
            session_hash(session.session_id),
            user_id,
            session.csrf_token,
        )
        return session

    def _verify(self, name: str, password: str) -> int | None:
        record = self._store.logins.by_name(name) if USER_NAME.match(name) else None
        try:
            self._hasher.verify(record.password_hash if record else self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if record is None:
            return None
        if self._hasher.check_needs_rehash(record.password_hash):
            self._store.logins.set_password_hash(
                record.principal.user_id, self._hasher.hash(password)
            )
        return record.principal.user_id

    async def session(self, session_id: str) -> SessionRecord | None:
        """The live session behind a cookie value, or None (unknown, idle or too old)."""
        if not 20 <= len(session_id) <= 100:
            return None
        key = session_hash(session_id)
        record = await asyncio.to_thread(self._store.logins.session, key)
        if record is None:
            return None
        now = self._store.state.clock()
        if (
            now - record.last_seen_at > self.settings.idle_timeout_s
            or now - record.created_at > self.settings.absolute_timeout_s
        ):
            await asyncio.to_thread(self._store.logins.delete_session, key)
            return None
        if now - record.last_seen_at > _TOUCH_EVERY_S:
            await asyncio.to_thread(self._store.logins.touch_session, key)
        return record

    async def logout(self, session_id: str) -> None:
        await asyncio.to_thread(self._store.logins.delete_session, session_hash(session_id))

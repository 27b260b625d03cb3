"""The runner's own SQLite (sqlite-utils): the last N bundles per environment, a local copy of
each inventory, the status outbox kept while the control plane is unreachable, and what the
driver last applied (so a restart does not force a full apply).

Bundles (their Secrets are decrypted), queued statuses and the applied state (digests of
manifests, Secrets included) are sealed row by row under the runner's local key; the file is
owner-only."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from contract.bundles import Bundle
from runner.objects import ObjectRef, in_order
from tunnel.at_rest import RecordSealer, local_sealer, private_database

_SCHEMA_VERSION = 3
_APPLIED_CONTEXT = b"runner-applied-state"


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    kind: str
    payload: dict[str, Any]


class RunnerStore:
    """Thread-safe: the sync daemon calls it from worker threads."""

    def __init__(
        self,
        path: Path,
        *,
        keep_bundles: int = 10,
        clock: Any = time.time,
        sealer: RecordSealer | None = None,
    ) -> None:
        """`sealer`: default, the local key file beside the database."""
        self._sealer = sealer or local_sealer(path.parent)
        conn = sqlite3.connect(
            str(private_database(path)), check_same_thread=False, isolation_level=None
        )
        self._db = sqlite_utils.Database(conn)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        self._inventories: dict[str, frozenset[ObjectRef]] = {}  # env -> as last saved
        self._keep = keep_bundles
        self._clock = clock
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version >= _SCHEMA_VERSION:
                return
            if version == 1:
                self._seal_version_1_rows()
            self._db.table("bundles").create(
                {
                    "seq": int,
                    "env": str,
                    "revision": str,
                    "digest": str,
                    "body": bytes,
                    "at": float,
                },
                pk="seq",
                if_not_exists=True,
            )
            self._db.table("bundles").create_index(["env", "seq"], if_not_exists=True)
            self._db.table("inventory").create(
                {"env": str, "entries": str, "at": float}, pk="env", if_not_exists=True
            )
            self._db.table("outbox").create(
                {"id": int, "kind": str, "payload": bytes, "at": float}, pk="id", if_not_exists=True
            )
            self._db.table("applied").create(
                {"id": int, "body": bytes, "at": float}, pk="id", if_not_exists=True
            )
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def _seal_version_1_rows(self) -> None:
        """Version 1 kept bodies and statuses in plain text: seal them in place."""
        rows = self._db.execute("SELECT seq, env, revision, digest, body FROM bundles").fetchall()
        for seq, env, revision, digest, body in rows:
            sealed = self._sealer.seal(str(body).encode(), _bundle_context(env, revision, digest))
            self._db.execute("UPDATE bundles SET body = ? WHERE seq = ?", [sealed, seq])
        for id_, kind, payload in self._db.execute("SELECT id, kind, payload FROM outbox"):
            sealed = self._sealer.seal(str(payload).encode(), _status_context(kind))
            self._db.execute("UPDATE outbox SET payload = ? WHERE id = ?", [sealed, id_])
        self._db.execute("VACUUM")  # the plain text must not linger in free pages

    def close(self) -> None:
        self._db.close()

    # ---- bundles -----------------------------------------------------------------------
    def save_bundle(self, bundle: Bundle) -> None:
        env = env_key(bundle)
        with self._lock:
            self._db.table("bundles").insert(
                {
                    "env": env,
                    "revision": bundle.revision,
                    "digest": bundle.digest,
                    "body": self._sealer.seal(
                        bundle.model_dump_json().encode(),
                        _bundle_context(env, bundle.revision, bundle.digest),
                    ),
                    "at": self._clock(),
                }
            )
            self._db.execute(
                "DELETE FROM bundles WHERE env = ? AND seq NOT IN "
                "(SELECT seq FROM bundles WHERE env = ? ORDER BY seq DESC LIMIT ?)",
                [env, env, self._keep],
            )

    def bundles(self, env: str) -> list[Bundle]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT env, revision, digest, body FROM bundles WHERE env = ? ORDER BY seq DESC",
                [env],
            ).fetchall()
        return [self._open_bundle(*row) for row in rows]

    def latest(self) -> list[Bundle]:
        """The newest bundle of every environment this runner has seen."""
        with self._lock:
            rows = self._db.execute(
                "SELECT env, revision, digest, body FROM bundles"
                " WHERE seq IN (SELECT MAX(seq) FROM bundles GROUP BY env) ORDER BY env"
            ).fetchall()
        return [self._open_bundle(*row) for row in rows]

    def _open_bundle(self, env: str, revision: str, digest: str, body: bytes) -> Bundle:
        plain = self._sealer.open(bytes(body), _bundle_context(env, revision, digest))
        return Bundle.model_validate_json(plain)

    # ---- inventory ---------------------------------------------------------------------
    def save_inventory(self, env: str, refs: Sequence[ObjectRef]) -> None:
        """Written only when it changed: every sync saves it, and most change nothing."""
        members = frozenset(refs)
        with self._lock:
            if self._inventories.get(env) == members:
                return
        entries = [[r.group, r.version, r.kind, r.namespace, r.name] for r in in_order(members)]
        with self._lock:
            self._db.table("inventory").upsert(
                {"env": env, "entries": json.dumps(entries), "at": self._clock()}, pk="env"
            )
            self._inventories[env] = members

    def inventory(self, env: str) -> tuple[ObjectRef, ...] | None:
        with self._lock:
            row = self._db.execute("SELECT entries FROM inventory WHERE env = ?", [env]).fetchone()
        if row is None:
            return None
        return tuple(ObjectRef(*entry) for entry in json.loads(row[0]))

    # ---- applied state -----------------------------------------------------------------
    def applied_state(self) -> dict[str, tuple[str, str]]:
        """Object key -> (manifest digest, live fingerprint) the driver last applied."""
        with self._lock:
            row = self._db.execute("SELECT body FROM applied WHERE id = 1").fetchone()
        if row is None:
            return {}
        entries = json.loads(self._sealer.open(bytes(row[0]), _APPLIED_CONTEXT))
        return {str(key): (str(digest), str(seen)) for key, digest, seen in entries}

    def save_applied_state(self, state: dict[str, tuple[str, str]]) -> None:
        entries = sorted([key, digest, seen] for key, (digest, seen) in state.items())
        sealed = self._sealer.seal(json.dumps(entries).encode(), _APPLIED_CONTEXT)
        with self._lock:
            self._db.table("applied").upsert(
                {"id": 1, "body": sealed, "at": self._clock()}, pk="id"
            )

    # ---- outbox ------------------------------------------------------------------------
    def enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        with self._lock:
            plain = json.dumps(payload, sort_keys=True).encode()
            self._db.table("outbox").insert(
                {
                    "kind": kind,
                    "payload": self._sealer.seal(plain, _status_context(kind)),
                    "at": self._clock(),
                }
            )

    def pending(self, limit: int = 100) -> list[Queued]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, payload FROM outbox ORDER BY id LIMIT ?", [limit]
            ).fetchall()
        return [
            Queued(row[0], row[1], json.loads(self._sealer.open(row[2], _status_context(row[1]))))
            for row in rows
        ]

    def acknowledge(self, ids: Sequence[int]) -> None:
        with self._lock:
            self._db.conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])


def env_key(bundle: Bundle) -> str:
    return f"{bundle.project}/{bundle.environment}"


def _bundle_context(env: str, revision: str, digest: str) -> bytes:
    return f"runner-bundle:{env}:{revision}:{digest}".encode()


def _status_context(kind: str) -> bytes:
    return f"runner-status:{kind}".encode()

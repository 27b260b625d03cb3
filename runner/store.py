"""The runner's own SQLite (sqlite-utils): the last N bundles per environment, a local copy of
each inventory, and the status outbox kept while the control plane is unreachable."""

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
from runner.objects import ObjectRef

_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    kind: str
    payload: dict[str, Any]


class RunnerStore:
    """Thread-safe: the sync daemon calls it from worker threads."""

    def __init__(self, path: Path, *, keep_bundles: int = 10, clock: Any = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db = sqlite_utils.Database(conn)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        self._keep = keep_bundles
        self._clock = clock
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version >= _SCHEMA_VERSION:
                return
            self._db.table("bundles").create(
                {"seq": int, "env": str, "revision": str, "digest": str, "body": str, "at": float},
                pk="seq",
                if_not_exists=True,
            )
            self._db.table("bundles").create_index(["env", "seq"], if_not_exists=True)
            self._db.table("inventory").create(
                {"env": str, "entries": str, "at": float}, pk="env", if_not_exists=True
            )
            self._db.table("outbox").create(
                {"id": int, "kind": str, "payload": str, "at": float}, pk="id", if_not_exists=True
            )
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

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
                    "body": bundle.model_dump_json(),
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
                "SELECT body FROM bundles WHERE env = ? ORDER BY seq DESC", [env]
            ).fetchall()
        return [Bundle.model_validate_json(row[0]) for row in rows]

    def latest(self) -> list[Bundle]:
        """The newest bundle of every environment this runner has seen."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM bundles WHERE seq IN (SELECT MAX(seq) FROM bundles GROUP BY env)"
                " ORDER BY env"
            ).fetchall()
        return [Bundle.model_validate_json(row[0]) for row in rows]

    # ---- inventory ---------------------------------------------------------------------
    def save_inventory(self, env: str, refs: Sequence[ObjectRef]) -> None:
        entries = [[r.group, r.version, r.kind, r.namespace, r.name] for r in sorted(set(refs))]
        with self._lock:
            self._db.table("inventory").upsert(
                {"env": env, "entries": json.dumps(entries), "at": self._clock()}, pk="env"
            )

    def inventory(self, env: str) -> tuple[ObjectRef, ...] | None:
        with self._lock:
            row = self._db.execute("SELECT entries FROM inventory WHERE env = ?", [env]).fetchone()
        if row is None:
            return None
        return tuple(ObjectRef(*entry) for entry in json.loads(row[0]))

    # ---- outbox ------------------------------------------------------------------------
    def enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._db.table("outbox").insert(
                {"kind": kind, "payload": json.dumps(payload, sort_keys=True), "at": self._clock()}
            )

    def pending(self, limit: int = 100) -> list[Queued]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, payload FROM outbox ORDER BY id LIMIT ?", [limit]
            ).fetchall()
        return [Queued(row[0], row[1], json.loads(row[2])) for row in rows]

    def acknowledge(self, ids: Sequence[int]) -> None:
        with self._lock:
            self._db.conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])


def env_key(bundle: Bundle) -> str:
    return f"{bundle.project}/{bundle.environment}"

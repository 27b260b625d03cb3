"""The durable side of delivery (SQLite): each peer's session cursors and its outbox.

The runner keeps its status and telemetry here while disconnected and across restarts; the
control plane keeps its per-runner state here across restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from contract.envelopes import Channel
from tunnel.session import OutMessage, PeerState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tunnel_sessions (peer TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tunnel_outbox (
  peer TEXT NOT NULL, position INTEGER NOT NULL, channel TEXT NOT NULL, seq INTEGER NOT NULL,
  id TEXT NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (peer, position));
"""


class SessionStore:
    """Blocking calls: endpoints run them in a worker thread, never on the event loop."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save(self, peer: str, snapshot: dict[str, Any], messages: list[OutMessage]) -> None:
        """Replace the peer's state in one transaction (a crash leaves the old or the new one)."""
        rows = [
            (peer, i, m.channel.value, m.seq, m.id, m.type, m.body) for i, m in enumerate(messages)
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO tunnel_sessions VALUES (?, ?)",
                    (peer, json.dumps(snapshot)),
                )
                self._db.execute("DELETE FROM tunnel_outbox WHERE peer = ?", (peer,))
                self._db.executemany("INSERT INTO tunnel_outbox VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def load(self, peer: str, **kwargs: Any) -> PeerState | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM tunnel_sessions WHERE peer = ?", (peer,)
            ).fetchone()
            rows = self._db.execute(
                "SELECT channel, seq, id, type, body FROM tunnel_outbox"
                " WHERE peer = ? ORDER BY position",
                (peer,),
            ).fetchall()
        if row is None:
            return None
        messages = [
            OutMessage(Channel(c), int(s), str(i), str(t), bytes(b)) for c, s, i, t, b in rows
        ]
        return PeerState.restore(json.loads(row[0]), messages, **kwargs)

    def save_state(self, peer: str, state: PeerState) -> None:
        self.save(peer, state.snapshot(), list(state.pending.values()))

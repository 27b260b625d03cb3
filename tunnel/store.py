"""The durable side of delivery (SQLite): each peer's session cursors and its outbox.

The runner keeps its status and telemetry here while disconnected and across restarts; the
control plane keeps its per-runner state here across restarts. Message bodies (bundles carry
decrypted Secrets) are sealed row by row; the file itself is owner-only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from contract.envelopes import Channel
from tunnel.at_rest import RecordSealer, local_sealer, private_database
from tunnel.session import OutMessage, PeerState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tunnel_sessions (peer TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tunnel_outbox (
  peer TEXT NOT NULL, position INTEGER NOT NULL, channel TEXT NOT NULL, seq INTEGER NOT NULL,
  id TEXT NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (peer, position));
"""


class SessionStore:
    """Blocking calls: endpoints run them in a worker thread, never on the event loop."""

    def __init__(self, path: Path, sealer: RecordSealer | None = None) -> None:
        """`sealer`: default, a local key file beside the database."""
        self._sealer = sealer or local_sealer(path.parent)
        # peer -> message id -> sealed body: each message is sealed once, not at every checkpoint
        self._sealed: dict[str, dict[str, bytes]] = {}
        self._db = sqlite3.connect(
            str(private_database(path)), check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save(self, peer: str, snapshot: dict[str, Any], messages: list[OutMessage]) -> None:
        """Replace the peer's state in one transaction (a crash leaves the old or the new one)."""
        with self._lock:
            known, kept = self._sealed.get(peer, {}), {}
            for m in messages:
                kept[m.id] = known.get(m.id) or self._sealer.seal(
                    m.body, _context(peer, m.channel, m.seq, m.id)
                )
            self._sealed[peer] = kept
            rows = [
                (peer, i, m.channel.value, m.seq, m.id, m.type, kept[m.id])
                for i, m in enumerate(messages)
            ]
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
        messages = []
        for c, s, i, t, b in rows:
            channel, seq, msg_id = Channel(c), int(s), str(i)
            body = self._sealer.open(bytes(b), _context(peer, channel, seq, msg_id))
            messages.append(OutMessage(channel, seq, msg_id, str(t), body))
        return PeerState.restore(json.loads(row[0]), messages, **kwargs)

    def save_state(self, peer: str, state: PeerState) -> None:
        self.save(peer, state.snapshot(), list(state.pending.values()))


def _context(peer: str, channel: Channel, seq: int, msg_id: str) -> bytes:
    return f"tunnel-outbox:{peer}:{channel.value}:{seq}:{msg_id}".encode()

"""Opening the state database: one SQLite file in WAL mode, migrated at open, one writer lock."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from reconciler.errors import ReconcilerError
from reconciler.store.migrations import MIGRATIONS
from tunnel.at_rest import private_database

Clock = Callable[[], float]


class StoreError(ReconcilerError):
    """The state database cannot be used (newer schema, corrupt file)."""


class ConflictError(ReconcilerError):
    """The write would duplicate something unique (a project name, a repository)."""


class StateDB:
    """A sqlite-utils Database shared by the event loop's worker threads.

    Every access goes through `transaction()`, which serialises callers on one lock: SQLite
    allows one writer, and callers run in `asyncio.to_thread`, never on the loop itself.
    """

    def __init__(self, path: Path | None, *, clock: Clock = time.time) -> None:
        target = ":memory:" if path is None else str(private_database(path))
        conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA foreign_keys = ON")
        self.db = Database(conn)
        if path is not None:
            self.db.enable_wal()
        self.clock = clock
        self._lock = threading.RLock()
        with self._lock:
            _migrate(self.db)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                yield self.db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.query(sql, params))

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()


def _migrate(db: Database) -> None:
    current = int(db.execute("PRAGMA user_version").fetchone()[0])
    if current > len(MIGRATIONS):
        raise StoreError(
            f"the state database is at schema version {current}, newer than this camelops "
            f"({len(MIGRATIONS)}); upgrade camelops instead of downgrading the data"
        )
    for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            migration(db)
            db.conn.execute(f"PRAGMA user_version = {version:d}")
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")


def insert_row(db: Database, table: str, record: dict[str, Any]) -> int:
    """Insert one row and return its integer primary key."""
    pk = db.table(table).insert(record).last_pk
    if not isinstance(pk, int):
        raise StoreError(f"insert into {table} returned no row id")
    return pk

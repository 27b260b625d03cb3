"""A real chDB telemetry store: chDB opens one data path per process, so every test shares a
session-wide path and gets a database of its own."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry.store import TelemetryStore

_databases = itertools.count()


def chdb_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    # getbasetemp() is the same for the whole session, whichever conftest asks first
    return f"chdb://{Path(tmp_path_factory.getbasetemp()) / 'chdb-telemetry'}"


@pytest.fixture
def telemetry_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TelemetryStore]:
    # ten years of retention: test data uses fixed past instants, which TTL would drop
    store = TelemetryStore(
        chdb_dsn(tmp_path_factory), database=f"t{next(_databases)}", retention_days=3_650
    )
    store.migrate()
    yield store
    store.drop()

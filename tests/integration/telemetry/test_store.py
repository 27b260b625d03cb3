"""The chDB telemetry store: schema, queries, dedup on read, DSN errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contract.telemetry import ExchangeRecord
from telemetry.ingest_columns import Columns
from telemetry.ingest_wire import from_model
from telemetry.store import StoreError, TelemetryStore
from tests.integration.telemetry.conftest import chdb_dsn
from tests.integration.telemetry.records import BASE_MS, batch, exchange


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def load(store: TelemetryStore, org: str, *records_batches: list[ExchangeRecord]) -> None:
    for index, records in enumerate(records_batches):
        wire = from_model(batch(f"b{index}", records))
        columns = Columns()
        columns.add(org, wire, wire.exchanges, BASE_MS)
        store.insert_columns(exchanges=columns.exchanges, nodes=columns.nodes, stats=columns.stats)


def test_search_filters_and_orders_newest_first(telemetry_store: TelemetryStore) -> None:
    records = [exchange(n, failed=n % 3 == 0) for n in range(9)]
    records.append(exchange(9, route="billing"))
    load(telemetry_store, "acme", records)
    everything = telemetry_store.search("acme")
    assert [e.exchange_id for e in everything][:2] == ["EX-00000009", "EX-00000008"]
    assert len(telemetry_store.search("acme", status="failed")) == 3
    assert [e.exchange_id for e in telemetry_store.search("acme", route="billing")] == [
        "EX-00000009"
    ]
    window = telemetry_store.search(
        "acme", since=ms_to_datetime(BASE_MS + 2000), until=ms_to_datetime(BASE_MS + 5000)
    )
    assert sorted(e.exchange_id for e in window) == ["EX-00000002", "EX-00000003", "EX-00000004"]
    assert telemetry_store.search("acme", exchange_id="EX-00000004")[0].elapsed_ms == 14
    assert telemetry_store.search("acme", integration="other") == []
    assert len(telemetry_store.search("acme", limit=2)) == 2


def test_other_orgs_see_nothing(telemetry_store: TelemetryStore) -> None:
    load(telemetry_store, "acme", [exchange(1)])
    assert telemetry_store.search("globex") == []
    assert telemetry_store.detail("globex", "EX-00000001") is None


def test_detail_failures_and_node_stats(telemetry_store: TelemetryStore) -> None:
    load(telemetry_store, "acme", [exchange(1), exchange(2, failed=True)])
    detail = telemetry_store.detail("acme", "EX-00000002")
    assert detail is not None
    assert [n.node_id for n in detail.nodes] == ["n0", "n1", "n2"]
    assert detail.nodes[-1].failed
    assert detail.headers == {"Content-Type": "application/json"}
    assert detail.summary.started_at.replace(tzinfo=UTC) == datetime.fromtimestamp(
        (BASE_MS + 2000) / 1000, tz=UTC
    )
    assert [f.exchange_id for f in telemetry_store.failures("acme", "orders")] == ["EX-00000002"]
    stats = {s.node_id: s for s in telemetry_store.node_stats("acme", "orders")}
    assert stats["n2"].count == 2
    assert stats["n2"].failed == 1
    assert stats["n0"].mean_ms == 1.0
    assert telemetry_store.latest_route_stats("acme", "orders")[0]["exchanges_total"] == 7


def test_the_same_exchange_written_twice_reads_once(telemetry_store: TelemetryStore) -> None:
    load(telemetry_store, "acme", [exchange(1)], [exchange(1)])
    assert len(telemetry_store.search("acme")) == 1
    detail = telemetry_store.detail("acme", "EX-00000001")
    assert detail is not None
    assert len(detail.nodes) == 3
    ids = ["EX-00000001", "EX-2"]
    start = BASE_MS + 1000
    one = [("EX-00000001", start)]
    assert telemetry_store.stored_ids("acme", "orders", BASE_MS, ids, 10) == one
    assert telemetry_store.stored_ids("acme", "orders", BASE_MS, None, 10) == one
    assert telemetry_store.stored_ids("acme", "orders", start + 1, ids, 10) == []
    assert telemetry_store.stored_ids("acme", "billing", BASE_MS, ids, 10) == []
    assert telemetry_store.stored_ids("acme", "orders", BASE_MS, [], 10) == []


def test_count_text_finds_values_in_any_column(telemetry_store: TelemetryStore) -> None:
    load(telemetry_store, "acme", [exchange(1, failed=True)])
    assert telemetry_store.count_text("stock service down") == 1
    assert telemetry_store.count_text("application/json") == 1
    assert telemetry_store.count_text("never-stored") == 0


@pytest.mark.parametrize("dsn", ["sqlite:///x", "", "clickhouse://h"])
def test_unknown_dsn_is_refused(dsn: str) -> None:
    with pytest.raises(StoreError, match="DSN"):
        TelemetryStore(dsn)


def test_a_second_chdb_path_in_one_process_is_refused(
    telemetry_store: TelemetryStore, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with pytest.raises(StoreError, match="one data path per process"):
        TelemetryStore(f"chdb://{tmp_path_factory.mktemp('other')}")


@pytest.mark.parametrize("database", ["x;DROP", "1abc", "", "a" * 64])
def test_hostile_database_names_are_refused(database: str) -> None:
    with pytest.raises(StoreError, match="database name"):
        TelemetryStore("chdb:///unused", database=database)


def test_query_errors_are_ours(telemetry_store: TelemetryStore) -> None:
    telemetry_store.drop()
    with pytest.raises(StoreError, match="query failed"):
        telemetry_store.search("acme")
    telemetry_store.migrate()


def test_rows_past_retention_are_dropped(tmp_path_factory: pytest.TempPathFactory) -> None:
    store = TelemetryStore(chdb_dsn(tmp_path_factory), database="ttl_check", retention_days=1)
    store.migrate()
    try:
        load(store, "acme", [exchange(1)])  # BASE_MS lies well over a day in the past
        store._command(f"OPTIMIZE TABLE {store.database}.exchanges FINAL")
        assert store.search("acme") == []
    finally:
        store.drop()


@pytest.mark.parametrize("days", [0, -1, 3_651, 36_500])
def test_retention_out_of_range_is_refused(days: int) -> None:
    with pytest.raises(StoreError, match="retention_days"):
        TelemetryStore("chdb:///unused", retention_days=days)

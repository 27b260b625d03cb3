"""An exchange's nodes kept on its own row (`timeline`): the detail reads one table, rows
stored before the column existed still show their nodes, and the column is filled right
whatever order the node columns come in."""

from __future__ import annotations

from contract.telemetry import ExchangeRecord
from telemetry.ingest import Ingestor
from telemetry.ingest_columns import Columns
from telemetry.ingest_wire import from_model
from telemetry.store import TelemetryStore, timelines
from tests.integration.telemetry.records import BASE_MS, batch, exchange


def _with_endpoints(record: ExchangeRecord) -> ExchangeRecord:
    nodes = tuple(
        n.model_copy(update={"endpoint_uri": f"direct:{n.node_id}"}) for n in record.nodes
    )
    return record.model_copy(update={"nodes": nodes})


def _columns(*n: int) -> Columns:
    wire = from_model(batch("b1", [exchange(i, failed=i % 2 == 0) for i in n]))
    columns = Columns()
    columns.add("acme", wire, wire.exchanges, BASE_MS)
    return columns


def test_the_detail_reads_the_nodes_from_the_row(telemetry_store: TelemetryStore) -> None:
    sent = [exchange(1), _with_endpoints(exchange(2, failed=True))]
    Ingestor(telemetry_store).ingest("acme", batch("b1", sent))
    (listed,) = telemetry_store.search_page("acme", exchange_id="EX-00000002")
    # without the node rows, only the row's own timeline can answer
    telemetry_store._command(f"TRUNCATE TABLE {telemetry_store.database}.exchange_nodes")
    for detail in (
        telemetry_store.detail("acme", "EX-00000002"),
        telemetry_store.detail("acme", "EX-00000002", place=("orders", listed.started_at)),
        telemetry_store.detail("acme", "EX-00000002", environment="prod"),
    ):
        assert detail is not None
        assert [(n.seq, n.node_id, n.failed) for n in detail.nodes] == [
            (0, "n0", False),
            (1, "n1", False),
            (2, "n2", True),
        ]
        assert detail.nodes[0].endpoint_uri == "direct:n0"
    assert telemetry_store.detail("acme", "EX-00000002", environment="dev") is None


def test_rows_from_before_the_timeline_read_the_node_table(
    telemetry_store: TelemetryStore,
) -> None:
    table = f"{telemetry_store.database}.exchanges"
    Ingestor(telemetry_store).ingest("acme", batch("b1", [exchange(1, failed=True)]))
    # a store migrated from before the column: its rows hold the default, `[]`
    telemetry_store._command(f"ALTER TABLE {table} DROP COLUMN timeline")
    telemetry_store.migrate()
    assert telemetry_store._query("SELECT timeline FROM $db.exchanges", {}) == [([],)]
    old = telemetry_store.detail("acme", "EX-00000001")
    assert old is not None
    assert [(n.node_id, n.failed) for n in old.nodes] == [
        ("n0", False),
        ("n1", False),
        ("n2", True),
    ]
    Ingestor(telemetry_store).ingest("acme", batch("b2", [exchange(2)]))
    new = telemetry_store._query(
        "SELECT length(timeline) FROM $db.exchanges WHERE exchange_id = 'EX-00000002'", {}
    )
    assert new == [(3,)]


def test_an_exchange_without_nodes_reads_one_query(telemetry_store: TelemetryStore) -> None:
    Ingestor(telemetry_store).ingest("acme", batch("b1", [exchange(1, nodes=0)]))
    detail = telemetry_store.detail("acme", "EX-00000001")
    assert detail is not None
    assert detail.nodes == ()


def test_timelines_follow_the_ingest_layout() -> None:
    columns = _columns(1, 2, 3)
    cut = timelines(columns.exchanges, columns.nodes)
    assert [[node[2] for node in nodes] for nodes in cut] == [["n0", "n1", "n2"]] * 3
    assert [nodes[-1][-1] for nodes in cut] == [0, 1, 0]  # exchange 2 failed at n2


def test_timelines_match_nodes_laid_out_otherwise() -> None:
    columns = _columns(1, 2)
    nodes = {name: list(reversed(values)) for name, values in columns.nodes.items()}
    cut = timelines(columns.exchanges, nodes)
    assert [sorted(node[2] for node in nodes) for nodes in cut] == [["n0", "n1", "n2"]] * 2
    assert {node[-1] for node in cut[1]} == {0, 1}
    assert {node[-1] for node in cut[0]} == {0}
    no_nodes: dict[str, list[object]] = {name: [] for name in columns.nodes}
    assert timelines(columns.exchanges, no_nodes) == [[], []]


def test_count_text_sees_the_timeline(telemetry_store: TelemetryStore) -> None:
    Ingestor(telemetry_store).ingest("acme", batch("b1", [_with_endpoints(exchange(1))]))
    # the node row and the exchange row's timeline both hold the endpoint
    assert telemetry_store.count_text("direct:n1") == 2

"""Exchanges carry their project: filled at intake from what the runner serves, migrated into a
store created before the column existed, and used by the failed-messages query."""

from __future__ import annotations

import asyncio

from contract.envelopes import Channel, Envelope
from contract.message_types import TELEMETRY_BATCH
from contract.telemetry import TelemetryBatch
from telemetry.ingest import Batch, Ingestor, IngestResult
from telemetry.intake import TelemetryIntake
from telemetry.store import TelemetryStore
from tests.integration.telemetry.records import batch, exchange
from tunnel.pki.identity import RunnerIdentity

RUNNER = RunnerIdentity("acme", "edge")
# the runner serves `prod` of project shop, and `dev` of both shop and crm
SERVED = {"prod": frozenset({"shop"}), "dev": frozenset({"shop", "crm"})}


def _intake(store: TelemetryStore) -> TelemetryIntake:
    ingestor = Ingestor(store)

    async def submit(org: str, sent: Batch) -> IngestResult:
        return await asyncio.to_thread(ingestor.ingest, org, sent)

    return TelemetryIntake(
        submit,
        lambda _runner: frozenset(SERVED),
        projects_of=lambda _runner, env: SERVED.get(env, frozenset()),
    )


def _envelope(sent: TelemetryBatch, n: int) -> Envelope:
    payload = {"batch": sent.model_dump(mode="json")}
    return Envelope(id=f"m{n}", seq=n, channel=Channel.TELEMETRY, type=TELEMETRY_BATCH,
                    payload=payload)  # fmt: skip


def _projects(store: TelemetryStore) -> dict[str, str]:
    rows = store._query("SELECT exchange_id, project FROM $db.exchanges", {})
    return {str(r[0]): str(r[1]) for r in rows}


async def test_intake_fills_the_project_the_runner_serves(telemetry_store: TelemetryStore) -> None:
    intake = _intake(telemetry_store)
    prod = batch("b1", [exchange(1, failed=True)])
    dev = batch("b2", [exchange(2, failed=True)]).model_copy(update={"environment": "dev"})
    named = batch("b3", [exchange(3, failed=True)]).model_copy(
        update={"environment": "dev", "project": "crm"}
    )
    foreign = batch("b4", [exchange(4)]).model_copy(update={"project": "billing"})
    for n, sent in enumerate((prod, dev, named, foreign), start=1):
        assert await intake.handle(RUNNER, _envelope(sent, n))
    # prod: one project serves it; dev: two do, so only a batch naming one of them gets one
    assert _projects(telemetry_store) == {"EX-00000001": "shop", "EX-00000002": "",
                                          "EX-00000003": "crm"}  # fmt: skip
    assert intake.refused == 1  # the batch naming a project the runner does not serve
    failed = telemetry_store.search_page("acme", project="crm", environment="dev", status="failed")
    assert [r.exchange_id for r in failed] == ["EX-00000003"]
    assert telemetry_store.search_page("acme", project="shop", environment="dev") == []


def test_a_store_from_before_the_column_is_migrated(telemetry_store: TelemetryStore) -> None:
    table = f"{telemetry_store.database}.exchanges"
    telemetry_store._command(f"DROP TABLE {table}")
    # the exchanges table as the first release created it
    telemetry_store._command(
        f"CREATE TABLE {table} (org LowCardinality(String), integration LowCardinality(String),"
        " environment LowCardinality(String), pod String, exchange_id String,"
        " route_id LowCardinality(String), status LowCardinality(String),"
        " started_at DateTime64(3, 'UTC'), elapsed_ms UInt32, failed_node String,"
        " exception_type String, exception_message String, stack_trace String,"
        " headers Map(String, String), body String, body_truncated UInt8, replayable UInt8,"
        " node_path Array(String), batch_id String, ingested_at DateTime64(3, 'UTC'),"
        " INDEX exchange_id_idx exchange_id TYPE bloom_filter GRANULARITY 4)"
        " ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(started_at)"
        " ORDER BY (org, integration, started_at, exchange_id)"
    )
    telemetry_store._command(
        f"INSERT INTO {table} (org, integration, environment, exchange_id, route_id, status,"
        " started_at, ingested_at) VALUES ('acme', 'orders', 'prod', 'EX-OLD', 'r', 'failed',"
        " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    telemetry_store.migrate()
    telemetry_store.migrate()  # idempotent: every start runs it
    telemetry_store.materialize_projections()
    Ingestor(telemetry_store).ingest("acme", batch("b1", [exchange(1)]))
    names = telemetry_store._query(
        "SELECT name FROM system.projections WHERE database = {db:String} AND table = 'exchanges'",
        {"db": telemetry_store.database},
    )
    assert sorted(str(r[0]) for r in names) == ["by_environment", "by_exchange_id"]
    assert _projects(telemetry_store) == {"EX-OLD": "", "EX-00000001": ""}
    old = telemetry_store.detail("acme", "EX-OLD")
    assert old is not None
    assert old.summary.status == "failed"
    new = telemetry_store.detail("acme", "EX-00000001")
    assert new is not None
    assert [n.node_id for n in new.nodes] == ["n0", "n1", "n2"]


def test_detail_from_a_known_place_and_from_a_wrong_one(telemetry_store: TelemetryStore) -> None:
    Ingestor(telemetry_store).ingest("acme", batch("b1", [exchange(1), exchange(2, failed=True)]))
    (listed,) = telemetry_store.search_page("acme", exchange_id="EX-00000002")
    right = telemetry_store.detail("acme", "EX-00000002", place=("orders", listed.started_at))
    looked_up = telemetry_store.detail("acme", "EX-00000002")
    assert right is not None
    assert right == looked_up
    assert [n.failed for n in right.nodes] == [False, False, True]
    # a wrong or forged place costs the lookup, never a wrong or foreign answer
    elsewhere = telemetry_store.detail("acme", "EX-00000002", place=("billing", listed.started_at))
    assert elsewhere == looked_up
    assert (
        telemetry_store.detail("globex", "EX-00000002", place=("orders", listed.started_at)) is None
    )

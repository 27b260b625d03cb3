"""The ingestor: validation, org scoping, de-duplication by batch and by exchange id."""

from __future__ import annotations

import json

import pytest

from telemetry.ingest import MAX_BATCH_BYTES, IngestError, Ingestor
from telemetry.store import TelemetryStore
from tests.integration.telemetry.records import BASE_MS, batch, exchange


def ingestor(store: TelemetryStore) -> Ingestor:
    return Ingestor(store, clock_ms=lambda: BASE_MS)


def test_batches_land_once_however_often_delivered(telemetry_store: TelemetryStore) -> None:
    ingest = ingestor(telemetry_store)
    first = ingest.ingest("acme", batch("b1", [exchange(1), exchange(2), exchange(2)]))
    assert (first.accepted, first.duplicates, first.duplicate_batch) == (2, 1, False)
    again = ingest.ingest("acme", batch("b1", [exchange(1), exchange(2)]))
    assert again.duplicate_batch
    assert again.accepted == 0
    # a retry under a new batch id (sidecar re-sent after a lost ack) is caught by exchange id
    retry = ingest.ingest("acme", batch("b2", [exchange(2), exchange(3)]))
    assert (retry.accepted, retry.duplicates) == (1, 1)
    assert len(telemetry_store.search("acme")) == 3


def test_a_fresh_ingestor_still_deduplicates_against_the_store(
    telemetry_store: TelemetryStore,
) -> None:
    ingestor(telemetry_store).ingest("acme", batch("b1", [exchange(1)]))
    result = ingestor(telemetry_store).ingest("acme", batch("b1", [exchange(1)]))
    assert (result.accepted, result.duplicates) == (0, 1)


def test_each_org_gets_its_own_copy(telemetry_store: TelemetryStore) -> None:
    ingest = ingestor(telemetry_store)
    ingest.ingest("acme", batch("b1", [exchange(1)]))
    assert ingest.ingest("globex", batch("b1", [exchange(1)])).accepted == 1
    assert len(telemetry_store.search("globex")) == 1


@pytest.mark.parametrize("org", ["", "ACME", "a b", "../x", "a" * 64, "-lead"])
def test_invalid_orgs_are_refused(telemetry_store: TelemetryStore, org: str) -> None:
    with pytest.raises(IngestError, match="org"):
        ingestor(telemetry_store).ingest(org, batch("b1", [exchange(1)]))


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"batch_id": "b"}',
        json.dumps({"batch_id": "b", "integration": "i", "sent_at_ms": 1, "org": "evil"}).encode(),
        b"\xff\xfe",
    ],
)
def test_broken_json_is_refused_without_echoing_values(
    telemetry_store: TelemetryStore, raw: bytes
) -> None:
    with pytest.raises(IngestError, match="invalid telemetry batch") as caught:
        ingestor(telemetry_store).ingest_json("acme", raw)
    assert "evil" not in str(caught.value)


def test_oversized_payload_is_refused_before_parsing(telemetry_store: TelemetryStore) -> None:
    with pytest.raises(IngestError, match="exceeds"):
        ingestor(telemetry_store).ingest_json("acme", b" " * (MAX_BATCH_BYTES + 1))


def test_json_round_trip(telemetry_store: TelemetryStore) -> None:
    raw = batch("b9", [exchange(5, failed=True)]).model_dump_json().encode()
    assert ingestor(telemetry_store).ingest_json("acme", raw).accepted == 1
    assert telemetry_store.failures("acme", "orders")[0].exchange_id == "EX-00000005"


def test_live_traffic_is_deduplicated_from_memory(telemetry_store: TelemetryStore) -> None:
    ingest = ingestor(telemetry_store)
    for n in range(4):
        ingest.ingest("acme", batch(f"b{n}", [exchange(2 * n), exchange(2 * n + 1)]))
    # only the first sight of (acme, orders) asked the store; later batches start after it
    assert ingest.dedup.store_queries == 1
    retry = ingest.ingest("acme", batch("b-retry", [exchange(5), exchange(8)]))
    assert (retry.accepted, retry.duplicates) == (1, 1)
    assert ingest.dedup.store_queries == 1
    assert telemetry_store.count_exchanges("acme", "orders") == 9


def test_an_exchange_older_than_memory_is_checked_in_the_store(
    telemetry_store: TelemetryStore,
) -> None:
    ingestor(telemetry_store).ingest("acme", batch("b1", [exchange(1)]))
    ingest = ingestor(telemetry_store)
    ingest.ingest("acme", batch("b2", [exchange(5)]))
    # exchange 1 started before what this ingestor has seen: only the store knows it
    late = ingest.ingest("acme", batch("b3", [exchange(1), exchange(2)]))
    assert (late.accepted, late.duplicates) == (1, 1)
    assert ingest.dedup.store_queries == 2


def test_evicted_ids_are_still_found(telemetry_store: TelemetryStore) -> None:
    ingest = Ingestor(telemetry_store, clock_ms=lambda: BASE_MS, remembered_exchanges=2)
    for n in range(4):
        ingest.ingest("acme", batch(f"b{n}", [exchange(n)]))
    again = ingest.ingest("acme", batch("b-again", [exchange(0), exchange(3)]))
    assert (again.accepted, again.duplicates) == (0, 2)
    assert telemetry_store.count_exchanges("acme", "orders") == 4


def wire_exchange(**override: object) -> dict[str, object]:
    document = json.loads(exchange(1).model_dump_json())
    document.update(override)
    return {"batch_id": "b", "integration": "orders", "sent_at_ms": 1, "exchanges": [document]}


@pytest.mark.parametrize(
    ("document", "place"),
    [
        (wire_exchange(org="evil"), "unknown field `org`"),
        (wire_exchange(elapsed_ms="12"), "$.exchanges[0].elapsed_ms"),
        (wire_exchange(elapsed_ms=2**32), "$.exchanges[0].elapsed_ms"),
        (wire_exchange(status="evil"), "$.exchanges[0].status"),
        (wire_exchange(headers={f"h{i}": "evil" for i in range(501)}), "headers"),
        (wire_exchange(body="evil" * 20_000), "$.exchanges[0].body"),
        (wire_exchange(nodes=[{"seq": 70_000, "started_at_ms": 1, "elapsed_ms": 1}]), "seq"),
    ],
)
def test_rows_are_checked_strictly_and_nothing_is_stored(
    telemetry_store: TelemetryStore, document: dict[str, object], place: str
) -> None:
    with pytest.raises(IngestError, match="invalid telemetry batch") as caught:
        ingestor(telemetry_store).ingest_json("acme", json.dumps(document).encode())
    assert place in str(caught.value)
    assert "evil" not in str(caught.value).replace("`org`", "")
    assert telemetry_store.count_exchanges("acme", "orders") == 0

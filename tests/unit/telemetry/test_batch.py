"""Hostile and broken telemetry batches are refused by the wire models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from contract.telemetry import MAX_BODY_CHARS, TelemetryBatch


def batch(**changes: Any) -> dict[str, Any]:
    exchange = {
        "exchange_id": "E-1", "route_id": "r", "status": "completed", "started_at_ms": 1,
        "elapsed_ms": 2, "nodes": [{"seq": 0, "node_id": "n", "started_at_ms": 1, "elapsed_ms": 1}],
    }  # fmt: skip
    document: dict[str, Any] = {
        "batch_id": "b-1", "integration": "orders", "sent_at_ms": 5, "exchanges": [exchange],
    }  # fmt: skip
    document.update(changes)
    return document


def test_a_valid_batch_parses() -> None:
    parsed = TelemetryBatch.model_validate_json(json.dumps(batch()))
    assert parsed.exchanges[0].nodes[0].node_id == "n"


def one(**fields: Any) -> list[dict[str, Any]]:
    exchange: dict[str, Any] = {
        "exchange_id": "E", "status": "failed", "started_at_ms": 1, "elapsed_ms": 1,
    }  # fmt: skip
    exchange.update(fields)
    return [exchange]


@pytest.mark.parametrize(
    "broken",
    [
        batch(unexpected="x"),
        batch(batch_id=""),
        batch(sent_at_ms=-1),
        batch(integration="x" * 201),
        batch(exchanges=one(status="weird")),
        batch(exchanges=one(elapsed_ms=-5)),
        batch(exchanges=one(body="x" * (MAX_BODY_CHARS + 1))),
        batch(exchanges=one(org="other-tenant")),
        batch(exchanges=one(headers={"h": 1})),
        batch(exchanges="nope"),
        batch(counters={"events_lost": -1}),
    ],
)
def test_broken_batches_are_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TelemetryBatch.model_validate_json(json.dumps(broken))


def test_too_many_exchanges_are_refused() -> None:
    one = batch()["exchanges"][0]
    with pytest.raises(ValidationError):
        TelemetryBatch.model_validate(batch(exchanges=[one] * 5001))

"""Batch format 2 in the contract: what the relay checks and forwards."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from contract.telemetry import ExchangeStatus, TelemetryBatch
from tests.integration.telemetry.records import batch, exchange


def test_columns_carry_every_field_of_the_rows() -> None:
    rows = batch("b1", [exchange(1), exchange(2, failed=True, nodes=2), exchange(3, nodes=0)])
    columns = rows.as_columns()
    assert columns.exchanges == ()
    assert columns.exchange_count == rows.exchange_count == 3
    parsed = TelemetryBatch.model_validate_json(columns.model_dump_json())
    assert parsed.columns is not None
    assert parsed.columns.exchange_id == ("EX-00000001", "EX-00000002", "EX-00000003")
    assert parsed.columns.status[1] == ExchangeStatus.FAILED
    assert parsed.columns.exception_message == ("", "stock service down", "")
    assert parsed.columns.node_count == (3, 2, 0)
    assert parsed.columns.nodes is not None
    assert parsed.columns.nodes.node_id == ("n0", "n1", "n2", "n0", "n1")
    # a column with only defaults stays off the wire
    assert parsed.columns.stack_trace is None


def document(**change: object) -> dict[str, object]:
    raw = batch("b1", [exchange(1), exchange(2)]).as_columns().model_dump(mode="json")
    raw["columns"].update(change)
    return raw


@pytest.mark.parametrize(
    ("broken", "place"),
    [
        (document(status=["completed"]), "status: 1 values for 2 rows"),
        (document(node_count=[3, 1]), "seq: 6 values for 4 rows"),
        (document(nodes=None), "nodes missing"),
        (document(node_count=None), "node_count missing"),
        (document(elapsed_ms=[1, -1]), "elapsed_ms"),
        (document(org=["evil", "evil"]), "org"),
    ],
)
def test_the_relay_refuses_broken_columns(broken: dict[str, object], place: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TelemetryBatch.model_validate_json(json.dumps(broken))
    assert place in str(caught.value)


def test_rows_and_columns_together_are_refused() -> None:
    both = document()
    both["exchanges"] = [json.loads(exchange(3).model_dump_json())]
    with pytest.raises(ValidationError, match="not both"):
        TelemetryBatch.model_validate_json(json.dumps(both))

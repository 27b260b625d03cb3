"""The control plane's intake hands a batch's Camel verdict to the health sink before the
store write, and a failing sink never costs the batch (real ingestor over chDB)."""

from __future__ import annotations

import uuid

from contract.envelopes import Channel, Envelope
from contract.message_types import TELEMETRY_BATCH
from contract.telemetry import CamelHealthReport
from telemetry.ingest import Ingestor
from telemetry.intake import CamelVerdict, TelemetryIntake
from telemetry.store import TelemetryStore
from tests.integration.telemetry.records import batch, exchange
from tunnel.pki.identity import RunnerIdentity

RUNNER = RunnerIdentity("acme", "prod-runner")


def envelope_of(n: int, camel: CamelHealthReport | None) -> Envelope:
    sent = batch(uuid.uuid4().hex, [exchange(n, failed=True)]).model_copy(update={"camel": camel})
    payload = {"batch": sent.model_dump(mode="json")}
    return Envelope(id="m1", seq=1, channel=Channel.TELEMETRY, type=TELEMETRY_BATCH,
                    payload=payload)  # fmt: skip


async def test_the_verdict_reaches_the_sink_and_a_failing_sink_loses_nothing(
    telemetry_store: TelemetryStore,
) -> None:
    verdicts: list[CamelVerdict] = []

    async def sink(runner: RunnerIdentity, verdict: CamelVerdict) -> None:
        verdicts.append(verdict)
        if len(verdicts) == 2:
            raise RuntimeError("the health board broke")  # stands in for any bug there

    intake = TelemetryIntake(
        Ingestor(telemetry_store).ingest_async, lambda _r: frozenset({"prod"}), on_camel=sink
    )
    stopped = CamelHealthReport(checked_at_ms=5, problems=("route stock is Stopped",))
    assert await intake.handle(RUNNER, envelope_of(1, stopped))
    assert verdicts == [CamelVerdict("prod", "orders", "orders-0", stopped.problems, 5)]
    assert await intake.handle(RUNNER, envelope_of(2, stopped))  # the sink raises this time
    assert await intake.handle(RUNNER, envelope_of(3, None))  # no verdict: the sink not asked
    assert len(verdicts) == 2
    assert telemetry_store.count_exchanges("acme", "orders") == 3, "every batch stored"
    assert intake.lost == intake.refused == 0

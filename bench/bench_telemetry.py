"""Telemetry ingest into chDB, and the sidecar's CPU cost per exchange.

1. Whole ingest path: batch JSON as it arrives from a relay -> compiled decode and check ->
   de-duplication (memory) -> columns -> inserts into exchanges / exchange_nodes / route_stats.
   Baseline in the same run: a bare column-oriented insert of the same rows (columns prepared
   beforehand), so the ratio is what decoding, checking and de-duplicating add. The ingestor is
   warm (see warm_ingestor), as in a running control plane. Both batch formats are timed:
   format 1 (one object per exchange, what a sidecar posts) and format 2 (columns, what the
   relay forwards to the control plane).
2. Sidecar: Jolokia answer bytes -> tracer dump -> decode -> assemble -> sample -> redact ->
   records, as CPU seconds per 1,000 exchanges (= cores busy at 1,000 exchanges/s), at a 1%
   sample rate with every failure kept; in-run baseline: the decoding used before (json.loads,
   every event's message decoded). Printed beside it, the same path fed only the failed and
   sampled exchanges of the synthetic dumps (what the in-JVM drain sends).
3. Sidecar on real bytes: our Camel runtime on loopback (bench/sidecar_jvm.py), the same HTTP
   orders polled through the tracer's own dump (in-run baseline) and through our in-JVM drain
   (io.camelops.trace.TraceDrain: only failed and sampled exchanges, the rest counted).
Anchor: the OpenTelemetry Collector writes about 137,000 spans/s per core into ClickHouse.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import gc
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pyarrow as pa

from bench.results import figure
from bench.sidecar_jvm import camel_run
from bench.timing import compare, load_average
from contract.telemetry import (
    ExchangeRecord,
    ExchangeStatus,
    NodeRecord,
    TelemetryBatch,
)
from telemetry.ingest import Ingestor
from telemetry.ingest_arrow import ArrowRows, encode, insert_tables
from telemetry.ingest_arrow import decode as decode_arrow
from telemetry.ingest_columns import Columns
from telemetry.ingest_wire import WireBatch, decode_batch, from_model
from telemetry.jolokia import JolokiaClient
from telemetry.sidecar.buffers import sampled_in
from telemetry.sidecar.capture import TracerCapture
from telemetry.sidecar.events import TraceEvent, _decode_tolerant, decode_drained, decode_dump
from telemetry.sidecar.settings import SidecarSettings
from telemetry.store import TelemetryStore

EXCHANGES = 10_000
ROUNDS = 5
PER_BATCH = 1_000
FLUSH = 10  # batches per coalesced insert
NODES = 5
CORPUS = Path(__file__).parent.parent / "tests/unit/telemetry/corpus/dump-camel-4.18.json"
BASE_MS = int(time.time() * 1000) - 3_600_000


def record(n: int) -> ExchangeRecord:
    start = BASE_MS + n
    return ExchangeRecord(
        exchange_id=f"BENCH-{n:010d}",
        route_id="orders-http",
        status=ExchangeStatus.FAILED if n % 10 == 0 else ExchangeStatus.COMPLETED,
        started_at_ms=start,
        elapsed_ms=12,
        headers={"Content-Type": "application/json", "Authorization": "[REDACTED]"},
        body='{"sku":"A-1","amount":10,"email":"[REDACTED]"}',
        replayable=True,
        nodes=tuple(
            NodeRecord(
                seq=i,
                route_id="orders",
                node_id=f"n{i}",
                node_name="to",
                started_at_ms=start,
                elapsed_ms=2,
            )
            for i in range(NODES)
        ),
    )


def batches() -> list[TelemetryBatch]:
    records = [record(n) for n in range(EXCHANGES)]
    return [
        TelemetryBatch(
            batch_id=f"b{i}",
            integration="orders",
            sent_at_ms=BASE_MS,
            exchanges=tuple(records[i : i + PER_BATCH]),
        )
        for i in range(0, EXCHANGES, PER_BATCH)
    ]


def fresh(store: TelemetryStore) -> None:
    store.drop()
    store.migrate()


def timed(run: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_ingest(dsn: str) -> None:
    """Two granularities: one insert per 1,000-exchange batch (a lone sidecar), and one per
    coalescing-queue flush of 10 batches (FLUSH_EXCHANGES, the queue's default)."""
    all_batches = batches()
    wire = [b.model_dump_json().encode() for b in all_batches]
    # format 2: the same batches with their exchanges as columns
    wire_columns = [b.as_columns().model_dump_json().encode() for b in all_batches]
    decoded = [from_model(one) for one in all_batches]
    # format 3: the same batches as Arrow IPC streams
    wire_arrow = [encode(one) for one in all_batches]

    def columns_of(group: list[WireBatch]) -> Columns:
        columns = Columns()
        for one in group:
            columns.add("acme", one, one.exchanges, BASE_MS)
        return columns

    per_batch = [columns_of([one]) for one in decoded]
    per_flush = [columns_of(decoded[i : i + FLUSH]) for i in range(0, len(decoded), FLUSH)]

    def arrow_of(group: list[bytes]) -> ArrowRows:
        tables = [insert_tables("acme", b, b.exchanges, BASE_MS) for b in map(decode_arrow, group)]
        return ArrowRows(
            pa.concat_tables([t.exchanges for t in tables]),
            pa.concat_tables([t.nodes for t in tables]),
        )

    arrow_batch = [arrow_of([raw]) for raw in wire_arrow]
    arrow_flush = [arrow_of(wire_arrow[i : i + FLUSH]) for i in range(0, len(wire_arrow), FLUSH)]
    store = TelemetryStore(dsn, database="bench_telemetry")
    # the prepared inputs are millions of live objects; without freezing them, every gen-2
    # collection triggered by the allocating path rescans them, a cost a real ingestor
    # holding one batch at a time does not pay
    gc.freeze()

    ingestor = Ingestor(store)

    def warm_ingestor() -> None:
        """A running control plane's ingestor: its first-sight store query (one per org and
        integration per process) already done, untimed, against the freshly reset store."""
        nonlocal ingestor
        ingestor = Ingestor(store)
        ingestor.dedup.stored(("acme", "orders"), [("-", BASE_MS)])

    def ingest_each() -> None:
        for raw in wire:
            ingestor.ingest_json("acme", raw)

    def ingest_flushes() -> None:
        for i in range(0, len(wire), FLUSH):
            ingestor.ingest_many([("acme", decode_batch(raw)) for raw in wire[i : i + FLUSH]])

    def ingest_column_flushes() -> None:
        for i in range(0, len(wire_columns), FLUSH):
            group = wire_columns[i : i + FLUSH]
            ingestor.ingest_many([("acme", decode_batch(raw)) for raw in group])

    def ingest_column_each() -> None:
        for raw in wire_columns:
            ingestor.ingest_json("acme", raw)

    def ingest_arrow_each() -> None:
        for raw in wire_arrow:
            ingestor.ingest_arrow("acme", raw)

    def ingest_arrow_flushes() -> None:
        for i in range(0, len(wire_arrow), FLUSH):
            group = wire_arrow[i : i + FLUSH]
            ingestor.ingest_many([("acme", decode_arrow(raw)) for raw in group])

    def bare_arrow(prepared: list[ArrowRows]) -> Callable[[], None]:
        def insert() -> None:
            for rows in prepared:
                store.insert_arrow(exchanges=rows.exchanges, nodes=rows.nodes)

        return insert

    def bare(prepared: list[Columns]) -> Callable[[], None]:
        def insert() -> None:
            for c in prepared:
                store.insert_columns(exchanges=c.exchanges, nodes=c.nodes, stats=c.stats)

        return insert

    runs = {
        "bare insert, 1,000/insert": bare(per_batch),
        "ingest path, 1,000/insert": ingest_each,
        "columnar path, 1,000/insert": ingest_column_each,
        "bare Arrow insert, 1,000/insert": bare_arrow(arrow_batch),
        "Arrow path, 1,000/insert": ingest_arrow_each,
        "bare insert, 10,000/insert": bare(per_flush),
        "ingest path, 10,000/insert": ingest_flushes,
        "columnar path, 10,000/insert": ingest_column_flushes,
        "bare Arrow insert, 10,000/insert": bare_arrow(arrow_flush),
        "Arrow path, 10,000/insert": ingest_arrow_flushes,
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    # interleaved rounds so load from elsewhere on the machine hits both alike; the schema
    # reset before each run is not timed; round 0 warms chDB up and is discarded
    for round_ in range(ROUNDS + 1):
        for name, run in runs.items():
            fresh(store)
            warm_ingestor()
            sample = timed(run)
            if round_:
                samples[name].append(sample)
    assert store.count_exchanges("acme", "orders") == EXCHANGES
    store.drop()
    medians = {
        name: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
        for name, s in samples.items()
    }
    for name, (wall, cpu) in medians.items():
        print(
            f"{name:32s} {EXCHANGES / wall:9,.0f} exchanges/s wall {EXCHANGES / cpu:9,.0f}/CPU-s "
            f"{EXCHANGES * (NODES + 1) / cpu:10,.0f} rows/CPU-s (median of {ROUNDS})"
        )
    for size, path in itertools.product(("1,000", "10,000"), ("ingest", "columnar")):
        base, full = medians[f"bare insert, {size}/insert"], medians[f"{path} path, {size}/insert"]
        wall_ratio, cpu_ratio = full[0] / base[0], full[1] / base[1]
        print(f"ratio {path} path / bare insert at {size}/insert: wall {wall_ratio:.2f}x, "
              f"CPU {cpu_ratio:.2f}x")  # fmt: skip
        wire_format = "row batches" if path == "ingest" else "columnar batches"
        ingest_figure(wire_format, size, full, base, "bare column insert of the same rows")
    for size in ("1,000", "10,000"):
        # format 3's honest baseline: the fastest bare insert of the same rows found (Arrow)
        base, full = (
            medians[f"bare Arrow insert, {size}/insert"],
            medians[f"Arrow path, {size}/insert"],
        )
        column_base = medians[f"bare insert, {size}/insert"]
        cpu_ratio = full[1] / base[1]
        print(f"ratio Arrow path / bare Arrow insert at {size}/insert: wall "
              f"{full[0] / base[0]:.2f}x, CPU {cpu_ratio:.2f}x; bare Arrow / bare column "
              f"insert: CPU {base[1] / column_base[1]:.2f}x")  # fmt: skip
        ingest_figure(
            "Arrow batches",
            size,
            full,
            base,
            "bare Arrow insert of the same rows (the fastest bare insert found)",
        )
    print("1 exchange row + 5 node rows per exchange; anchor: OTel Collector ~137,000 spans/s/core")


def ingest_figure(
    wire_format: str,
    size: str,
    full: tuple[float, float],
    base: tuple[float, float],
    baseline_name: str,
) -> None:
    """One ingest path's CPU per exchange against its bare insert: the issue's goal, one home."""
    per_exchange = full[1] / EXCHANGES * 1e6
    figure(
        f"ingest path, {wire_format}, {size} exchanges per insert (CPU per exchange)",
        per_exchange,
        "us",
        baseline=base[1] / EXCHANGES * 1e6,
        baseline_name=baseline_name,
        goal="<= 20 us (50,000/CPU-s) and <= 1.5x baseline",
        met=per_exchange <= 20 and full[1] / base[1] <= 1.5,
    )


def synthetic_dumps(exchanges: int, fail_every: int) -> list[bytes]:
    """Jolokia answers to dumpAllTracedMessagesAsJSon() as the sidecar receives them: the real
    Camel 4.18 dump's two exchanges (one ok, one failed with stack traces) repeated, one failed
    in ``fail_every``, fresh uids and ids, pretty-printed like Camel, 1,000 events per dump
    (the tracer's backlog)."""
    template: list[dict[str, Any]] = json.loads(CORPUS.read_text())["traces"]
    ok, failed = template[:8], template[8:]
    traces: list[dict[str, Any]] = []
    for n in range(exchanges):
        for event in failed if n % fail_every == fail_every - 1 else ok:
            clone = copy.deepcopy(event)
            clone["uid"] = len(traces) + 1
            clone["exchangeId"] = clone["message"]["exchangeId"] = f"EX-{n:010d}"
            traces.append(clone)
    return [
        json.dumps(
            [{"request": {"type": "exec"}, "status": 200, "timestamp": 0,
              "value": json.dumps({"traces": traces[i : i + 1_000]}, indent=1)}]
        ).encode()
        for i in range(0, len(traces), 1_000)
    ]  # fmt: skip


def decode_before(body: bytes) -> list[TraceEvent]:
    """The first decoding: the Jolokia answer and the dump through json.loads, every event
    walked as dicts (the tolerant decoder is that code) and every route's input message decoded
    whether the exchange is kept or not."""
    events = _decode_tolerant(json.loads(body)[0]["value"])
    for event in events:
        event.message  # noqa: B018 - decoded for its cost, as that path did
    return events


def decode_after(body: bytes) -> list[TraceEvent]:
    answer = msgspec.json.decode(body)
    return decode_dump(answer[0]["value"])


def sieved_dumps(dumps: list[bytes], rate: float) -> list[bytes]:
    """The same exchanges filtered as the in-JVM drain would send them: only the failed and the
    sampled ones, in one dump (the real drain's bytes are timed in bench_sidecar_real_jvm)."""
    traces = [t for body in dumps for t in json.loads(json.loads(body)[0]["value"])["traces"]]
    failed = {t["exchangeId"] for t in traces if t["failed"]}
    kept = [t for t in traces if t["exchangeId"] in failed or sampled_in(t["exchangeId"], rate)]
    value = json.dumps({"traces": kept}, indent=1)
    return [json.dumps([{"status": 200, "timestamp": 0, "value": value}]).encode()]


async def bench_sidecar() -> None:
    """CPU seconds per 1,000 exchanges of a sidecar at a 1% sample rate, failures kept: from
    the Jolokia answer's bytes to records in the ring (HTTP itself not included)."""
    exchanges = 4_000
    settings = SidecarSettings(integration="orders", sample_rate=0.01)
    async with aiohttp.ClientSession() as session:
        client = JolokiaClient("http://127.0.0.1:9/jolokia/", session)  # never contacted

        def run(dumps: list[bytes], decode: Callable[[bytes], list[TraceEvent]]) -> None:
            capture = TracerCapture(client, settings, clock=lambda: 0.0)
            for body in dumps:
                capture._keep(capture.assembler.feed(capture._new_events(decode(body)), 0.0))
            assert capture.assembler.pending <= 1

        for fail_every in (10, 100):
            dumps = synthetic_dumps(exchanges, fail_every)
            sieved = sieved_dumps(dumps, settings.sample_rate)
            timings = compare(
                {
                    "before": lambda d=dumps: run(d, decode_before),  # type: ignore[misc]
                    "after": lambda d=dumps: run(d, decode_after),  # type: ignore[misc]
                    "sieved": lambda d=sieved: run(d, decode_after),  # type: ignore[misc]
                },
                repeats=ROUNDS,
            )
            for name, timing in timings.items():
                cpu, wall = timing.cpu / exchanges * 1000, timing.wall / exchanges * 1000
                print(f"sidecar {name:6s} 1 in {fail_every:3d} failed, 1% sampled: "
                      f"{cpu:.3f} CPU-s per 1,000 exchanges "
                      f"(wall {wall:.3f} s; median of {ROUNDS})")  # fmt: skip
            ratio = timings["before"].cpu / timings["after"].cpu
            print(f"sidecar before / after at 1 in {fail_every} failed: CPU {ratio:.1f}x")
            gain = timings["after"].cpu / timings["sieved"].cpu
            print(f"sidecar after / sieved like the in-JVM drain: CPU {gain:.1f}x")
            after = timings["after"].cpu / exchanges * 1000
            figure(
                f"sidecar capture, 1 in {fail_every} failed, 1% sampled (CPU per 1,000)",
                after,
                "CPU-s",
                baseline=timings["before"].cpu / exchanges * 1000,
                baseline_name="previous decoding, same run",
                goal="<= 0.05 CPU-s per 1,000 exchanges",
                met=after <= 0.05,
            )


def capture_stock(capture: TracerCapture, polls: list[bytes]) -> None:
    for body in polls:
        capture._keep(capture.assembler.feed(capture._new_events(decode_after(body)), 0.0))


def capture_drained(capture: TracerCapture, polls: list[bytes]) -> None:
    """What poll_once does with a drain answer (HTTP itself not included)."""
    for body in polls:
        drained = decode_drained(msgspec.json.decode(body)[0]["value"])
        capture._count_drained(drained)
        capture._keep(capture.assembler.feed(drained.traces, 0.0))


async def bench_sidecar_real_jvm() -> None:
    """CPU seconds per 1,000 exchanges of the sidecar on real Jolokia answers of our runtime:
    the tracer's own dump against our in-JVM drain, same route and orders, same run."""
    exchanges = 2_000
    settings = SidecarSettings(integration="orders", sample_rate=0.01)
    polls: dict[tuple[int, str], list[bytes]] = {}
    jvm_cpu: dict[tuple[int, str], float] = {}
    async with camel_run() as camel:
        for path in ("stock", "drained"):  # JIT warm-up, so the JVM's CPU compares like for like
            await camel.answers(1_000, 10, settings.sample_rate, drained=path == "drained")
        for fail_every in (10, 100):
            for path in ("stock", "drained"):
                polls[fail_every, path], jvm_cpu[fail_every, path] = await camel.answers(
                    exchanges, fail_every, settings.sample_rate, drained=path == "drained"
                )
        client = camel.client

        def run(path: str, fail_every: int) -> TracerCapture:
            capture = TracerCapture(client, settings, clock=lambda: 0.0)
            feed = capture_drained if path == "drained" else capture_stock
            feed(capture, polls[fail_every, path])
            return capture

        for fail_every in (10, 100):
            for path in ("stock", "drained"):
                capture = run(path, fail_every)
                failed = [r for r in capture.ring.peek(exchanges) if r.status == "failed"]
                assert len(failed) == exchanges // fail_every, "every failure must be kept"
                size = sum(map(len, polls[fail_every, path])) / exchanges / 1024
                jvm = jvm_cpu[fail_every, path] / exchanges * 1000
                print(f"sidecar real JVM {path:7s} 1 in {fail_every:3d} failed: "
                      f"{size:.2f} KB per exchange from Jolokia, {len(capture.ring)} kept, "
                      f"{capture.counters.exchanges_sampled_out} sampled out; the JVM's own "
                      f"CPU (HTTP, routes, tracer, polls; one sample) {jvm:.3f} CPU-s "
                      "per 1,000 exchanges")  # fmt: skip
            timings = compare(
                {path: functools.partial(run, path, fail_every) for path in ("stock", "drained")},
                repeats=ROUNDS,
            )
            per = {name: t.cpu / exchanges * 1000 for name, t in timings.items()}
            for name, cpu in per.items():
                wall = timings[name].wall / exchanges * 1000
                print(f"sidecar real JVM {name:7s} 1 in {fail_every:3d} failed, 1% sampled: "
                      f"{cpu:.4f} CPU-s per 1,000 exchanges "
                      f"(wall {wall:.4f} s; median of {ROUNDS})")  # fmt: skip
            print(f"sidecar real JVM stock / drained: CPU {per['stock'] / per['drained']:.1f}x")
            figure(
                f"sidecar capture drained in the JVM, 1 in {fail_every} failed, 1% sampled "
                "(CPU per 1,000, real runtime)",
                per["drained"],
                "CPU-s",
                baseline=per["stock"],
                baseline_name="tracer's own dump of the same orders, same run",
                goal="<= 0.05 CPU-s per 1,000 exchanges",
                met=per["drained"] <= 0.05,
            )


def main() -> None:
    print(load_average())
    with tempfile.TemporaryDirectory() as directory:
        bench_ingest(f"chdb://{directory}/telemetry")
    asyncio.run(bench_sidecar())
    asyncio.run(bench_sidecar_real_jvm())
    print(load_average())


if __name__ == "__main__":
    main()

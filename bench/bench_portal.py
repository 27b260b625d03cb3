"""Portal server time at scale: 500 environments (SQLite) and 1,000,000 exchanges (chDB).

For the overview, traces search, exchange detail and failed-messages pages: p50 / p95 of the
whole request through the portal (session check, service layer, query, template, HTTP on
127.0.0.1), interleaved with a bare query of the same rows as the in-run baseline: the
overview's roll-up read, and for the telemetry pages the cheapest SQL a person would write
on the same tables (BARE_* below: no de-duplication wrapper, only the columns shown). The
exchange detail also runs the previous design's queries (the row, then its nodes' table) as
an in-run peer, and the insert is timed with and without the `timeline` column it reads.
Goal (issue): p95 <= 150 ms for every page.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bench.bench_telemetry import batches as telemetry_batches
from bench.results import figure
from bench.timing import compare, load_average
from portal.app import portal_app
from reconciler.deploy import Deployer
from reconciler.dispatch import InProcessSink
from reconciler.metrics import Metrics
from reconciler.service.accounts import PortalAccounts
from reconciler.service.portal_actions import PortalActions
from reconciler.service.portal_views import PortalViews
from reconciler.store import StateStore
from reconciler.store.records import Role
from telemetry.ingest_columns import Columns
from telemetry.ingest_wire import from_model
from telemetry.store import TelemetryStore

EXCHANGES = 1_000_000
ENVIRONMENTS = 500
PER_PROJECT = 10
INTEGRATIONS = 50
NODES = 3
ROUNDS = 40
GOAL_MS = 150
PASSWORD = "bench password 123"
BASE_MS = int(time.time() * 1000) - 2 * 86_400_000  # two days ago, 100 ms apart


def seed_state(store: StateStore) -> None:
    org = store.accounts.ensure_org("acme")
    PortalAccounts(store).create_user("acme", "ops", Role.OPERATOR, PASSWORD)
    now = store.state.clock()
    for p in range(ENVIRONMENTS // PER_PROJECT):
        project = store.projects.create(org, f"p{p:03d}", url=f"/srv/git/p{p:03d}.git")
        commit = secrets.token_hex(20)
        with store.state.transaction() as db:
            db.execute(
                "INSERT INTO revisions (project_id, commit_id, author, message, state, errors,"
                " recorded_at) VALUES (?, ?, 'Ada Dev', 'a change', 'ready', '[]', ?)",
                (project.id, commit, now),
            )
            db.execute(
                "INSERT INTO project_status VALUES (?, 'True', 0, 0, 'ReconciliationSucceeded',"
                " '', ?, ?, 0, 0)",
                (project.id, commit, now),
            )
            db.execute(
                "INSERT INTO runners (org_id, name, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                (org, f"runner-{p}", now, now),
            )
            for e in range(PER_PROJECT):
                env = f"env-{p * PER_PROJECT + e}"
                cursor = db.execute(
                    "INSERT INTO bundles (project_id, environment, revision, digest, sealed_body,"
                    " created_at) VALUES (?, ?, ?, ?, x'', ?)",
                    (project.id, env, commit, "sha256:" + secrets.token_hex(32), now),
                )
                bundle = cursor.lastrowid
                db.execute(
                    "INSERT INTO environments (project_id, name, runner, namespace, auto_sync,"
                    " sync_windows, latest_bundle_id, deployed_bundle_id, updated_at)"
                    " VALUES (?, ?, ?, ?, 1, '[]', ?, ?, ?)",
                    (project.id, env, f"runner-{p}", env, bundle, bundle, now),
                )
                for n in range(10):
                    db.execute(
                        "INSERT INTO deployments (project_id, environment, bundle_id, state,"
                        " detail, actor, at) VALUES (?, ?, ?, ?, '', 'runner', ?)",
                        (project.id, env, bundle, "healthy" if n % 2 else "applied", now + n),
                    )


# every environment has failures: one visit in ten of the environments fails (exchange
# number n belongs to environment n % ENVIRONMENTS)
FAILED = f"intDiv(number, {ENVIRONMENTS}) % 10 = 0"
NODE_FAILED = f"intDiv(intDiv(number, {NODES}), {ENVIRONMENTS}) % 10 = 0"


def seed_telemetry(store: TelemetryStore) -> None:
    """Generated inside the engine (INSERT ... SELECT FROM numbers): a million Python rows
    would measure the generator, not the portal. Each exchange row carries its nodes as
    `timeline`, as the store's insert writes it, and the nodes have their own rows too."""
    db = store.database
    store._command(
        f"INSERT INTO {db}.exchanges (org, project, integration, environment, pod, exchange_id,"
        " route_id, status, started_at, elapsed_ms, failed_node, exception_type,"
        " exception_message, stack_trace, headers, body, body_truncated, replayable, node_path,"
        " timeline, batch_id, ingested_at) SELECT 'acme',"
        f" concat('p', leftPad(toString(intDiv(number % {ENVIRONMENTS}, {PER_PROJECT})), 3, '0')),"
        f" concat('int-', toString(number % {INTEGRATIONS})),"
        f" concat('env-', toString(number % {ENVIRONMENTS})), 'pod-0',"
        " concat('EX-', leftPad(toString(number), 10, '0')), 'orders-http',"
        f" if({FAILED}, 'failed', 'completed'),"
        f" fromUnixTimestamp64Milli(toInt64({BASE_MS} + number * 100), 'UTC'),"
        " 10 + number % 50,"
        f" if({FAILED}, 'n{NODES - 1}', ''),"
        f" if({FAILED}, 'java.lang.IllegalStateException', ''),"
        f" if({FAILED}, 'stock service down', ''), '',"
        " map('Content-Type', 'application/json'),"
        " concat('{\"n\":', toString(number), '}'), 0, 1,"
        f" arrayMap(k -> concat('orders-http/n', toString(k)), range({NODES})),"
        " arrayMap(k -> (toUInt16(k), 'orders-http', concat('n', toString(k)), 'to', toUInt16(1),"
        f" 'direct:stock', toUInt32(2), toUInt8({FAILED} AND k = {NODES - 1})), range({NODES})),"
        " 'bench', now64(3)"
        f" FROM numbers({EXCHANGES})"
    )
    store._command(
        f"INSERT INTO {db}.exchange_nodes SELECT 'acme',"
        f" concat('int-', toString(intDiv(number, {NODES}) % {INTEGRATIONS})),"
        f" concat('EX-', leftPad(toString(intDiv(number, {NODES})), 10, '0')),"
        f" fromUnixTimestamp64Milli(toInt64({BASE_MS} + intDiv(number, {NODES}) * 100), 'UTC'),"
        f" number % {NODES}, 'orders-http', concat('n', toString(number % {NODES})), 'to', 1, '',"
        " 'direct:stock', now64(3), 2,"
        f" if({NODE_FAILED} AND number % {NODES} = {NODES - 1}, 1, 0)"
        f" FROM numbers({EXCHANGES * NODES})"
    )


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000


async def measure(state: StateStore, telemetry: TelemetryStore) -> None:
    views = PortalViews(state)
    deployer = Deployer(state, InProcessSink(), Metrics())
    app = portal_app(
        accounts=PortalAccounts(state),
        views=views,
        actions=PortalActions(state, deployer),
        traces=telemetry,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        page = await (await client.get("/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        form = {"csrf": token.group(1), "username": "ops", "password": PASSWORD}
        assert (await client.post("/login", data=form, allow_redirects=False)).status == 303
        org_id = state.accounts.ensure_org("acme")

        async def page_of(path: Callable[[int], str]) -> Callable[[int], Awaitable[None]]:
            async def run(i: int) -> None:
                response = await client.get(path(i))
                assert response.status == 200, path(i)
                await response.read()

            return run

        def bare(query: Callable[[int], object]) -> Callable[[int], Awaitable[None]]:
            async def run(i: int) -> None:
                await asyncio.to_thread(query, i)

            return run

        def sql(*queries: str) -> Callable[[int], Awaitable[None]]:
            """Bare SQL on the same tables, bound like the store binds (one query after the
            other; a query's `place` comes from the one before when it had to look it up)."""

            def run_all(i: int) -> None:
                params = bound(i)
                for query in queries:
                    rows = telemetry._query(query, params)
                    if query is PREVIOUS_LOOKUP and rows:
                        params["integration"], params["at"] = rows[0]

            return bare(run_all)

        def number(i: int) -> int:
            return (i * 7919 * 101) % EXCHANGES

        def ex(i: int) -> str:
            return f"EX-{number(i):010d}"

        def place(i: int) -> tuple[str, datetime]:
            """Where the traces list's link says exchange `i` is (see seed_telemetry)."""
            at = datetime.fromtimestamp((BASE_MS + number(i) * 100) / 1000, UTC)
            return f"int-{number(i) % INTEGRATIONS}", at

        def env(i: int) -> int:
            return (i * 37) % ENVIRONMENTS

        def bound(i: int) -> dict[str, object]:
            integration, at = place(i)
            return {"org": "acme", "id": ex(i), "integration": integration, "at": at,
                    "search": f"int-{i % INTEGRATIONS}", "env": f"env-{env(i)}",
                    "project": f"p{env(i) // PER_PROJECT:03d}"}  # fmt: skip

        cases: dict[str, dict[str, Callable[[int], Awaitable[None]]]] = {
            "overview": {
                "portal": await page_of(lambda _i: "/"),
                "bare query": bare(
                    lambda _i: state.portal.overview(org_id, after=None, text="", limit=51)),
            },
            "traces search": {
                "portal": await page_of(lambda i: f"/traces?integration=int-{i % INTEGRATIONS}"),
                "bare query": sql(BARE_SEARCH),
            },
            "exchange detail (list link)": {
                "portal": await page_of(lambda i: f"/traces/{ex(i)}?integration={place(i)[0]}"
                                        f"&at={number(i) * 100 + BASE_MS}"),
                "bare query": sql(BARE_DETAIL_AT),
                "previous design": sql(PREVIOUS_ROW, PREVIOUS_NODES),
            },
            "exchange detail (id only)": {
                "portal": await page_of(lambda i: f"/traces/{ex(i)}"),
                "bare query": sql(BARE_DETAIL_ID),
                "previous design": sql(PREVIOUS_LOOKUP, PREVIOUS_ROW, PREVIOUS_NODES),
            },
            "failed messages": {
                "portal": await page_of(lambda i: f"/projects/p{env(i) // PER_PROJECT:03d}"
                                        f"/environments/env-{env(i)}/failures"),
                "bare query": sql(BARE_FAILED),
            },
        }  # fmt: skip
        samples: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        for i in range(-2, ROUNDS):  # two warm-up rounds, not recorded
            for name, runs in cases.items():
                turn = list(runs.items())
                # each round asks for other rows; whoever goes first finds chDB's caches cold,
                # so they take turns at going first
                shift = i % len(turn)
                for kind, run in turn[shift:] + turn[:shift]:
                    label = f"{name} ({kind})"
                    start, start_cpu = time.perf_counter(), time.process_time()
                    await run(i)
                    if i >= 0:
                        samples.setdefault(label, []).append(time.perf_counter() - start)
                        # server, client and chDB's threads all run in this process
                        cpu.setdefault(label, []).append(time.process_time() - start_cpu)
    print(f"{EXCHANGES:,} exchanges ({NODES} nodes each), {ENVIRONMENTS} environments; "
          f"{ROUNDS} interleaved rounds; ms; {load_average()}")  # fmt: skip
    for label, values in samples.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        cpu50, cpu95 = percentile(cpu[label], 50), percentile(cpu[label], 95)
        print(f"  {label:45s} wall p50 {p50:7.1f}  p95 {p95:7.1f}   "
              f"CPU p50 {cpu50:6.1f}  p95 {cpu95:6.1f}")  # fmt: skip
    for name, runs in cases.items():
        through, direct = samples[f"{name} (portal)"], samples[f"{name} (bare query)"]
        portal_p95, bare_p95 = percentile(through, 95), percentile(direct, 95)
        verdict = "ok" if portal_p95 <= GOAL_MS else "ABOVE the 150 ms goal"
        print(f"  {name:45s} portal/bare p95 {portal_p95 / bare_p95:5.2f}x  {verdict}")
        for q in (50, 95):
            figure(
                f"{name} p{q} ({EXCHANGES:,} exchanges, {ENVIRONMENTS} environments)",
                percentile(through, q),
                "ms",
                baseline=percentile(direct, q),
                baseline_name="bare query of the same rows",
                goal=f"p95 <= {GOAL_MS} ms" if q == 95 else "",
                met=portal_p95 <= GOAL_MS if q == 95 else None,
            )
        figure(
            f"{name} CPU p95 (server, client and chDB in one process)",
            percentile(cpu[f"{name} (portal)"], 95),
            "ms",
            baseline=percentile(cpu[f"{name} (bare query)"], 95),
            baseline_name="bare query of the same rows",
        )
        if "previous design" in runs:
            before, now = cpu[f"{name} (previous design)"], cpu[f"{name} (bare query)"]
            print(f"  {name:45s} bare query CPU p50 {percentile(now, 50):.1f} ms, "
                  f"previous design's queries {percentile(before, 50):.1f} ms")  # fmt: skip
            figure(
                f"{name}: its bare query, CPU p50 (row with timeline, one table)",
                percentile(now, 50),
                "ms",
                baseline=percentile(before, 50),
                baseline_name="the previous design's queries (then the node table)",
            )


# The cheapest queries a person would write for the rows each page shows, on the same tables:
# the baselines. Bound like the store binds; `$db` is the bench's database.
_LIST = (
    "exchange_id, integration, route_id, status, started_at, elapsed_ms, failed_node,"
    " exception_type, exception_message"
)
_ROW = _LIST + ", headers, body, body_truncated, stack_trace, replayable"
_AT = (
    "org = {org:String} AND integration = {integration:String}"
    " AND started_at = {at:DateTime64(3, 'UTC')} AND exchange_id = {id:String}"
)
BARE_SEARCH = (
    f"SELECT {_LIST} FROM $db.exchanges WHERE org = {{org:String}}"
    " AND integration = {search:String} ORDER BY started_at DESC LIMIT 51"
)
BARE_DETAIL_AT = (
    f"SELECT {_ROW}, timeline FROM $db.exchanges WHERE {_AT} ORDER BY ingested_at DESC LIMIT 1"
)
BARE_DETAIL_ID = (
    f"SELECT {_ROW}, timeline FROM $db.exchanges WHERE org = {{org:String}}"
    " AND exchange_id = {id:String} ORDER BY ingested_at DESC LIMIT 1"
)
BARE_FAILED = (
    f"SELECT {_LIST} FROM $db.exchanges WHERE org = {{org:String}} AND project = {{project:String}}"
    " AND environment = {env:String} AND status = 'failed' ORDER BY started_at DESC LIMIT 51"
)
# The exchange detail before the timeline: the place by id through the by_exchange_id
# projection (id only), the row there, then its nodes from their own table.
PREVIOUS_LOOKUP = (
    "SELECT integration, started_at FROM $db.exchanges WHERE org = {org:String}"
    " AND exchange_id = {id:String} ORDER BY ingested_at DESC LIMIT 1"
)
PREVIOUS_ROW = f"SELECT {_ROW} FROM $db.exchanges WHERE {_AT} ORDER BY ingested_at DESC LIMIT 1"
PREVIOUS_NODES = (
    "SELECT DISTINCT seq, route_id, node_id, node_name, level, endpoint_uri, elapsed_ms, failed"
    f" FROM $db.exchange_nodes WHERE {_AT} ORDER BY seq"
)


# The overview's query before the roll-up: the join it ran on every request (the roll-up's
# triggers now run it once per write, for the environments the write touches).
_JOIN_PER_REQUEST = (
    "SELECT p.name AS project, e.name AS environment, e.runner, e.pinned_bundle_id,"
    " e.latest_bundle_id, e.deployed_bundle_id, s.ready, s.last_commit, r.author, r.message,"
    " rn.last_seen_at, (SELECT d.state FROM deployments d WHERE d.project_id = e.project_id"
    "  AND d.environment = e.name AND d.actor = 'runner' ORDER BY d.id DESC LIMIT 1)"
    " FROM environments e JOIN projects p ON p.id = e.project_id"
    " LEFT JOIN project_status s ON s.project_id = p.id"
    " LEFT JOIN revisions r ON r.project_id = p.id AND r.commit_id = s.last_commit"
    " LEFT JOIN runners rn ON rn.org_id = p.org_id AND rn.name = e.runner"
    " WHERE p.org_id = ? ORDER BY p.name, e.name LIMIT 51"
)


def rollup_against_join(state: StateStore) -> None:
    """The overview's first page from the roll-up against the join it replaced, in process."""
    org_id = state.accounts.ensure_org("acme")
    timings = compare(
        {
            "roll-up": lambda: state.portal.overview(org_id, after=None, text="", limit=51),
            "join": lambda: state.state.query(_JOIN_PER_REQUEST, (org_id,)),
        },
        repeats=41,
    )
    rollup, join = timings["roll-up"].cpu * 1000, timings["join"].cpu * 1000
    print(f"overview query, first 51 rows (median CPU of 41): roll-up {rollup:.2f} ms, "
          f"per-request join (before) {join:.2f} ms")  # fmt: skip
    figure(
        f"overview query, first page of {ENVIRONMENTS} environments (CPU, in process)",
        rollup,
        "ms",
        baseline=join,
        baseline_name="the per-request join it replaced",
    )


def timeline_insert_cost(dsn: str) -> None:
    """What keeping the nodes on the exchange row costs the ingest: bench_telemetry's batches
    (1,000 exchanges of 5 nodes each) through `insert_columns`, against the same three inserts
    into a table without the column (what the insert did before), interleaved."""
    decoded = [from_model(one) for one in telemetry_batches()]
    prepared = []
    for one in decoded:
        columns = Columns()
        columns.add("acme", one, one.exchanges, BASE_MS)
        prepared.append(columns)
    now = TelemetryStore(dsn, database="bench_timeline_now", retention_days=3_650)
    before = TelemetryStore(dsn, database="bench_timeline_before", retention_days=3_650)
    for store in (now, before):
        store.drop()
        store.migrate()
    before._command("ALTER TABLE bench_timeline_before.exchanges DROP COLUMN timeline")

    def with_timeline() -> None:
        for c in prepared:
            now.insert_columns(exchanges=c.exchanges, nodes=c.nodes, stats=c.stats)

    def without() -> None:
        for c in prepared:
            before._insert_columns("exchange_nodes", c.nodes)
            before._insert_columns("route_stats", c.stats)
            before._insert_columns("exchanges", c.exchanges)

    try:
        timings = compare({"timeline": with_timeline, "without": without}, repeats=9)
    finally:
        now.drop()
        before.drop()
    count = sum(c.exchange_count for c in prepared)
    per = {name: t.cpu / count * 1e6 for name, t in timings.items()}
    print(f"insert of {count:,} exchanges in batches of 1,000 (median CPU of 9, per exchange): "
          f"with the timeline {per['timeline']:.1f} us, without {per['without']:.1f} us; "
          f"{load_average()}")  # fmt: skip
    figure(
        "insert with the timeline column, 1,000 exchanges (5 nodes) per insert (CPU per exchange)",
        per["timeline"],
        "us",
        baseline=per["without"],
        baseline_name="the same inserts without the column (the schema before)",
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        state = StateStore(Path(directory) / "state.db", secrets.token_bytes(32))
        seed_state(state)
        telemetry = TelemetryStore(
            f"chdb://{directory}/telemetry", database="bench_portal", retention_days=3_650
        )
        telemetry.migrate()
        seed_telemetry(telemetry)
        print(f"seeded in {time.perf_counter() - started:.0f} s")
        try:
            rollup_against_join(state)
            timeline_insert_cost(f"chdb://{directory}/telemetry")
            asyncio.run(measure(state, telemetry))
        finally:
            telemetry.drop()
            state.close()


if __name__ == "__main__":
    main()

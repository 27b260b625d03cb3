"""Reading telemetry through the JSON API: exchanges search with keyset pages, detail, failures
and statistics of one environment, over the real API app and a real chDB store; scoped by org
(another org's token gets 404) and by environment (the same integration in dev and prod)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contract.telemetry import ExchangeRecord
from reconciler.api.app import build_services, make_app
from reconciler.api.exchanges import install_exchanges
from reconciler.service.exchange_types import ExchangeReader
from reconciler.store.records import Role
from telemetry.ingest_columns import Columns
from telemetry.ingest_wire import from_model
from telemetry.store import StoreError, TelemetryStore
from tests.integration.reconciler.apiclient import Api, issue
from tests.integration.reconciler.harness import Core
from tests.integration.telemetry.conftest import telemetry_store  # noqa: F401 (fixture)
from tests.integration.telemetry.records import BASE_MS, batch, exchange

PROD = "/api/v1/projects/shop/environments/prod"


def load(
    store: TelemetryStore, org: str, records: list[ExchangeRecord], environment: str = "prod"
) -> None:
    sent = batch(f"{org}-{environment}-{records[0].exchange_id}", records)
    wire = from_model(sent.model_copy(update={"environment": environment}))
    columns = Columns()
    columns.add(org, wire, wire.exchanges, BASE_MS)
    store.insert_columns(exchanges=columns.exchanges, nodes=columns.nodes, stats=columns.stats)


async def get(api: Api, path: str, token: str | None = None, status: int = 200) -> Any:
    response = await api.client.get(path, headers=api.auth(token))
    assert response.status == status, await response.text()
    return await response.json()


async def api_reading(core: Core, aiohttp_client: Any, reader: ExchangeReader) -> Api:
    """The API app with `reader` installed, after the project's environments exist."""
    core.controller.request(core.project.id)
    await core.controller.wait_idle()
    app = make_app(
        build_services(core.store, core.controller, core.controller.metrics), run_controller=False
    )
    install_exchanges(app, reader)
    client = await aiohttp_client(app)
    return Api(client, core, issue(core, "alice", Role.ADMIN), issue(core, "victor", Role.VIEWER))


@pytest.fixture
async def traced(
    core: Core,
    aiohttp_client: Any,
    telemetry_store: TelemetryStore,  # noqa: F811
) -> Api:
    """acme's environments exist (prod, dev); prod holds 12 exchanges (every third failed),
    dev one of the same integration, and another org one in an environment also named prod."""
    load(telemetry_store, "acme", [exchange(n, failed=n % 3 == 0) for n in range(12)])
    load(telemetry_store, "acme", [exchange(100)], environment="dev")
    load(telemetry_store, "globex", [exchange(200, failed=True)])
    return await api_reading(core, aiohttp_client, telemetry_store)


async def test_search_pages_newest_first_without_gaps_or_repeats(traced: Api) -> None:
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = await get(
            traced, f"{PROD}/exchanges?limit=5" + (f"&cursor={cursor}" if cursor else "")
        )
        seen += [e["exchangeId"] for e in page["exchanges"]]
        pages += 1
        if page["next"] is None:
            break
        cursor = page["next"]
    assert pages == 3
    assert seen == [f"EX-{n:08d}" for n in range(11, -1, -1)], "dev's and globex's are not here"


async def test_filters_narrow_the_search(traced: Api) -> None:
    failed = await get(traced, f"{PROD}/exchanges?status=failed")
    assert [e["exchangeId"] for e in failed["exchanges"]] == [
        "EX-00000009", "EX-00000006", "EX-00000003", "EX-00000000",
    ]  # fmt: skip
    first = failed["exchanges"][0]
    assert first["exceptionType"] == "java.lang.IllegalStateException"
    assert first["failedNode"] == "n2"
    assert first["startedAt"] == datetime.fromtimestamp((BASE_MS + 9000) / 1000, UTC).isoformat(
        timespec="milliseconds"
    )
    since = datetime.fromtimestamp((BASE_MS + 2000) / 1000, UTC).isoformat()
    until = datetime.fromtimestamp((BASE_MS + 5000) / 1000, UTC).isoformat()
    window = await get(traced, f"{PROD}/exchanges?since={since}&until={until}".replace("+", "%2B"))
    assert sorted(e["exchangeId"] for e in window["exchanges"]) == [
        "EX-00000002", "EX-00000003", "EX-00000004",
    ]  # fmt: skip
    one = await get(traced, f"{PROD}/exchanges?exchangeId=EX-00000004")
    assert [e["exchangeId"] for e in one["exchanges"]] == ["EX-00000004"]
    assert (await get(traced, f"{PROD}/exchanges?integration=billing"))["exchanges"] == []
    assert len((await get(traced, f"{PROD}/exchanges?route=orders-http"))["exchanges"]) == 12
    dev = await get(traced, "/api/v1/projects/shop/environments/dev/exchanges")
    assert [e["exchangeId"] for e in dev["exchanges"]] == ["EX-00000100"]


async def test_failures_and_detail_with_its_node_timeline(traced: Api) -> None:
    failures = await get(traced, f"{PROD}/failures?limit=3")
    assert [e["status"] for e in failures["exchanges"]] == ["failed"] * 3
    assert failures["next"] is not None
    rest = await get(traced, f"{PROD}/failures?limit=3&cursor={failures['next']}")
    assert [e["exchangeId"] for e in rest["exchanges"]] == ["EX-00000000"]
    detail = await get(traced, f"{PROD}/exchanges/EX-00000009")
    assert detail["status"] == "failed"
    assert detail["body"] == '{"n":9}'
    assert detail["replayable"] is True
    assert [(n["nodeId"], n["failed"]) for n in detail["nodes"]] == [
        ("n0", False), ("n1", False), ("n2", True),
    ]  # fmt: skip
    # an exchange of another environment or org is not found through this one
    await get(traced, f"{PROD}/exchanges/EX-00000100", status=404)
    await get(traced, f"{PROD}/exchanges/EX-00000200", status=404)
    await get(traced, f"{PROD}/exchanges/EX-99999999", status=404)


async def test_route_and_node_statistics_of_one_environment(traced: Api) -> None:
    stats = await get(traced, f"{PROD}/integrations/orders/stats")
    assert stats["routes"] == [
        {
            "routeId": "orders-http",
            "nodeId": "",
            "exchangesTotal": 7,
            "exchangesFailed": 0,
            "meanMs": 0,
        }
    ]
    nodes = {n["nodeId"]: n for n in stats["nodes"]}
    assert (nodes["n2"]["count"], nodes["n2"]["failed"]) == (12, 4), "dev's exchange not counted"
    assert nodes["n2"]["maxMs"] == 3
    assert (await get(traced, f"{PROD}/integrations/billing/stats"))["nodes"] == []


async def test_another_orgs_token_gets_404_for_every_route(traced: Api) -> None:
    globex = traced.core.store.accounts.ensure_org("globex")
    stranger = issue(traced.core, "mallory", Role.ADMIN, org=globex)
    for path in (
        f"{PROD}/exchanges",
        f"{PROD}/failures",
        f"{PROD}/exchanges/EX-00000009",
        f"{PROD}/exchanges/EX-00000200",
        f"{PROD}/integrations/orders/stats",
    ):
        body = await get(traced, path, stranger, status=404)
        # `instance` is the request's own path (the id the stranger sent): nothing else of it
        assert body["instance"] == path, body
        assert "EX-" not in str({k: v for k, v in body.items() if k != "instance"}), path


async def test_viewer_may_read_and_no_token_may_not(traced: Api) -> None:
    assert len((await get(traced, f"{PROD}/exchanges", traced.viewer))["exchanges"]) == 12
    assert (await traced.client.get(f"{PROD}/exchanges")).status == 401


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("status=lost", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("since=yesterday", "since"),
        ("until=0001-01-01T00:00:00%2B01:00", "until"),
        ("since=9999-12-31T23:59:59", "since"),
        ("cursor=99999999999999999:EX-1", "cursor"),
        ("cursor=garbage", "cursor"),
        ("integration=a%20b", "integration"),
    ],
)
async def test_bad_query_parameters_are_400_naming_the_parameter(
    traced: Api, query: str, names: str
) -> None:
    body = await get(traced, f"{PROD}/exchanges?{query}", status=400)
    assert names in body["detail"]


async def test_without_a_store_the_routes_answer_503(api: Api) -> None:
    api.core.controller.request(api.core.project.id)
    await api.core.controller.wait_idle()
    body = await get(api, f"{PROD}/exchanges", status=503)
    assert "telemetry is not configured" in body["detail"]


class _BrokenStore:
    """Stands in for a telemetry server that went away (a real chDB cannot be made to fail
    on demand): every read raises the store's own error."""

    def _fail(self, *_args: object, **_kwargs: object) -> Any:
        raise StoreError("telemetry query failed: Connection refused to secret-host:8123")

    search_page = detail = node_stats = route_stats = live_counters = _fail


async def test_a_failing_store_is_503_without_its_message(core: Core, aiohttp_client: Any) -> None:
    broken = await api_reading(core, aiohttp_client, _BrokenStore())
    body = await get(broken, f"{PROD}/exchanges", status=503)
    assert "secret-host" not in str(body)

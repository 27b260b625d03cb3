"""`camelops exchanges list|show|failures` as a user runs it: a subprocess against the real API
app (served on 127.0.0.1) over a real chDB store; table and JSON output, paging, errors."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest

from telemetry.store import TelemetryStore
from tests.integration.reconciler.apiclient import Api
from tests.integration.reconciler.harness import Core
from tests.integration.reconciler.test_exchanges_api import api_reading, load
from tests.integration.telemetry.conftest import telemetry_store  # noqa: F401 (fixture)
from tests.integration.telemetry.records import exchange


@pytest.fixture
async def served(
    core: Core,
    aiohttp_client: Any,
    telemetry_store: TelemetryStore,  # noqa: F811
) -> Api:
    load(telemetry_store, "acme", [exchange(n, failed=n % 4 == 0) for n in range(7)])
    return await api_reading(core, aiohttp_client, telemetry_store)


async def camelops(api: Api, *args: str, token: str | None = None) -> tuple[int, str, str]:
    server = f"http://127.0.0.1:{api.client.port}"
    env = {**os.environ, "CAMELOPS_TOKEN": api.viewer if token is None else token}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camelops", "exchanges", *args,
        "--server", server, "--project", "shop", "--env", "prod",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_list_pages_through_every_exchange_as_json(served: Api) -> None:
    code, out, err = await camelops(served, "list", "--limit", "4", "--format", "json")
    assert code == 0, err
    first = json.loads(out)
    assert [e["exchangeId"] for e in first["exchanges"]] == [
        "EX-00000006", "EX-00000005", "EX-00000004", "EX-00000003",
    ]  # fmt: skip
    code, out, err = await camelops(
        served, "list", "--limit", "4", "--cursor", first["next"], "--format", "json"
    )
    assert code == 0, err
    second = json.loads(out)
    assert [e["exchangeId"] for e in second["exchanges"]] == [
        "EX-00000002", "EX-00000001", "EX-00000000",
    ]  # fmt: skip
    assert second["next"] is None


async def test_failures_and_list_as_a_table(served: Api) -> None:
    code, out, err = await camelops(served, "failures")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [
        "STARTED", "EXCHANGE", "INTEGRATION", "ROUTE", "STATUS", "MS", "FAILED", "AT", "CAUSE",
    ]  # fmt: skip
    assert [line.split()[1] for line in lines[1:]] == ["EX-00000004", "EX-00000000"]
    assert "IllegalStateException: stock service down" in lines[1]
    code, out, _ = await camelops(served, "list", "--limit", "2")
    assert code == 0
    assert out.splitlines()[-1].startswith("more: --cursor ")


async def test_show_prints_the_node_timeline(served: Api) -> None:
    code, out, err = await camelops(served, "show", "EX-00000004")
    assert code == 0, err
    assert "exception:   java.lang.IllegalStateException: stock service down" in out
    timeline = out.split("\n\n")[-1].splitlines()
    assert timeline[0].split()[:4] == ["#", "ROUTE", "NODE", "PROCESSOR"]
    assert [row.split()[2] for row in timeline[1:]] == ["n0", "n1", "n2"]
    assert "FAILED" in timeline[3]
    code, out, _ = await camelops(served, "show", "EX-00000004", "--format", "json")
    assert json.loads(out)["nodes"][2]["failed"] is True


async def test_refusals_say_why_and_exit_non_zero_without_a_traceback(served: Api) -> None:
    cases = [
        (("show", "EX-99999999"), None, "HTTP 404: no such exchange"),
        (("list", "--since", "yesterday"), None, "invalid query parameter since"),
        (("list",), "cop_wrong", "HTTP 401"),
        (("list",), "", "no API token: set $CAMELOPS_TOKEN"),
        (("list", "--limit", "0"), None, "limit"),
    ]
    for args, token, says in cases:
        code, out, err = await camelops(served, *args, token=token)
        assert (code, out) == (1, ""), args
        assert says in err, args
        assert "Traceback" not in err, args


async def test_an_unreachable_server_exits_2(served: Api) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "camelops", "exchanges", "list", "--server",
        "http://127.0.0.1:9", "--project", "shop", "--env", "prod",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CAMELOPS_TOKEN": served.viewer},
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 2
    assert "cannot reach http://127.0.0.1:9" in err.decode()

"""The Jolokia client against real HTTP servers that answer well, badly or not at all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from telemetry.jolokia import JolokiaClient, JolokiaRequestError, JolokiaUnavailable
from tests.e2e.camel.conftest import free_port

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


def agent(answer: Callable[[list[dict[str, Any]]], web.StreamResponse]) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        return answer(await request.json())

    app = web.Application()
    app.router.add_post("/jolokia/", handle)
    return app


async def client_for(server: TestServer, session: aiohttp.ClientSession) -> JolokiaClient:
    return JolokiaClient(f"http://127.0.0.1:{server.port}/jolokia", session, timeout_seconds=2)


async def test_bulk_answers_in_order_and_in_band_errors_raise(
    aiohttp_server: ServerFactory,
) -> None:
    def answer(requests: list[dict[str, Any]]) -> web.Response:
        if requests[0]["type"] == "exec":
            detail = {
                "status": 500,
                "error_type": "org.apache.camel.CamelExecutionException",
                "error": "boom " + "x" * 1000,
                "stacktrace": "secret body in trace",
            }
            return web.json_response([detail])
        return web.json_response([{"status": 200, "value": r["mbean"]} for r in requests])

    server = await aiohttp_server(agent(answer))
    async with aiohttp.ClientSession() as session:
        client = await client_for(server, session)
        assert client.url.endswith("/jolokia/")
        assert await client.read("a:b=c") == "a:b=c"
        with pytest.raises(JolokiaRequestError) as caught:
            await client.execute("a:b=c", "op()")
    assert caught.value.error_type == "org.apache.camel.CamelExecutionException"
    assert caught.value.status == 500
    assert len(str(caught.value)) < 400, "error bodies are truncated"


@pytest.mark.parametrize(
    "reply",
    [
        web.Response(status=500, text="x" * 5000),
        web.Response(text="not json"),
        web.json_response({"status": 200}),
        web.json_response([]),
        web.json_response(["junk"]),
    ],
)
async def test_garbage_answers_mean_unavailable(
    aiohttp_server: ServerFactory, reply: web.Response
) -> None:
    server = await aiohttp_server(agent(lambda _: reply))
    async with aiohttp.ClientSession() as session:
        client = await client_for(server, session)
        with pytest.raises(JolokiaUnavailable) as caught:
            await client.version()
    assert len(str(caught.value)) < 500


async def test_nothing_listening_means_unavailable() -> None:
    async with aiohttp.ClientSession() as session:
        client = JolokiaClient(f"http://127.0.0.1:{free_port()}/jolokia/", session)
        with pytest.raises(JolokiaUnavailable):
            await client.search("org.apache.camel:*")


async def test_search_tolerates_a_non_list_value(aiohttp_server: ServerFactory) -> None:
    server = await aiohttp_server(agent(lambda _: web.json_response([{"status": 200, "value": 3}])))
    async with aiohttp.ClientSession() as session:
        client = await client_for(server, session)
        assert await client.search("x:*") == []
        with pytest.raises(JolokiaUnavailable):
            await client.version()

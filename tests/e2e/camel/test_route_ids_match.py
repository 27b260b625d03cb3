"""The route diagram's node ids are the ids a running Camel gives its processors: the ones its
JMX counters (what the sidecar ships) and its own route dump carry. Checked on a real Camel JVM
started the way the local driver starts it (the rendered command and `routesIncludePattern`),
with routes that lean on generated ids: counters across two files, a file-level onException, a
doTry, choice branches, an explicit id."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest
from lxml import etree

from renderers.local.process import runtime_command
from renderers.properties import route_includes
from renderers.route_graph import integration_routes
from schema.loaded import RouteDsl, RouteFile
from telemetry.jolokia import JolokiaClient
from telemetry.sidecar.stats import read_route_stats
from tests.e2e.camel.conftest import START_TIMEOUT, _routes_started, free_port
from tests.unit.renderers.test_route_graph import A, B

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CONTEXT = 'org.apache.camel:context=ids-e2e,type=context,name="ids-e2e"'
# b before a in the argument: the renderer lists by name whatever order it is given
FILES = {"routes_b.camel.yaml": B, "routes_a.camel.yaml": A}


class _Integration:
    directory = "integrations/ids"

    def __init__(self, *files: RouteFile) -> None:
        self.routes = files


async def _start(home: Path, work: Path, jolokia_port: int) -> subprocess.Popen[bytes]:
    (work / "routes").mkdir()
    for name, text in FILES.items():
        (work / "routes" / name).write_text(text)
    properties = {
        "camel.main.name": "ids-e2e",
        "camel.main.routesIncludePattern": ",".join(route_includes("routes", FILES)),
        "camel.main.jmxEnabled": "true",
        "camel.server.enabled": "true",  # the routes' platform-http consumer
        "camel.server.host": "127.0.0.1",
        "camel.server.port": str(free_port()),
    }
    (work / "application.properties").write_text(
        "".join(f"{k}={v}\n" for k, v in properties.items())
    )
    argv = [
        part.format(runtime=home, jolokia_port=jolokia_port)
        for part in runtime_command(192, None, {})
    ]
    with (work / "jvm.log").open("ab") as log:
        process = subprocess.Popen(argv, cwd=work, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{jolokia_port}/jolokia/"
    deadline = time.monotonic() + START_TIMEOUT
    while not await _routes_started(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((work / "jvm.log").read_text()[-3000:])
        await asyncio.sleep(0.2)  # a readiness probe's polling interval
    return process


async def test_generated_node_ids_are_the_ones_camel_reports(
    camel_app_home: Path, tmp_path: Path
) -> None:
    files = tuple(
        RouteFile(f"integrations/ids/{name.replace('_', '/')}", text, RouteDsl.YAML)
        for name, text in FILES.items()
    )
    ours = integration_routes(_Integration(*files))  # type: ignore[arg-type]
    drawn = {(r.route_id, s.node_id) for r in ours for s in r.walk()}
    assert ("orders-http", "log1") in drawn  # routes_a loads first: its log is log1

    port = free_port()
    process = await _start(camel_app_home, tmp_path, port)
    try:
        async with aiohttp.ClientSession() as session:
            client = JolokiaClient(f"http://127.0.0.1:{port}/jolokia/", session)
            stats = await read_route_stats(client, "ids-e2e", 0)
            dump = await client.one(
                {
                    "type": "exec",
                    "mbean": CONTEXT,
                    "operation": "dumpRoutesAsXml(boolean,boolean)",
                    "arguments": [False, True],  # with the generated ids
                }
            )
    finally:
        process.terminate()
        process.wait(timeout=20)

    processors = {(s.route_id, s.node_id) for s in stats if s.node_id}
    assert {route for route, _ in processors} == {r.route_id for r in ours}
    assert len(processors) >= 12
    assert processors <= drawn, sorted(processors - drawn)

    root = etree.fromstring(str(dump).encode())
    dumped = set()
    for route in root:
        for element in route.iter(tag=etree.Element):
            if element is not route and element.get("id"):
                dumped.add((route.get("id"), element.get("id")))
    assert ("route1", "my-explicit") in dumped
    assert dumped <= drawn, sorted(dumped - drawn)

"""The Camel test runtime starts, serves HTTP, and exposes the tracer and context MBeans."""

from __future__ import annotations

import aiohttp
import pytest

from telemetry.jolokia import JolokiaClient
from tests.e2e.camel.conftest import StartCamel

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ECHO_ROUTE = """
- route:
    id: echo
    from:
      uri: platform-http:/echo
      steps:
        - setBody:
            simple: "echo ${body}"
"""


async def test_runtime_serves_http_and_exposes_tracer_in_standby(start_camel: StartCamel) -> None:
    jvm = await start_camel({"echo.camel.yaml": ECHO_ROUTE}, {})
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{jvm.http_url}/echo", data="hi") as response:
            assert response.status == 200
            assert await response.text() == "echo hi"
        client = JolokiaClient(jvm.jolokia_url, session)
        version = await client.version()
        assert str(version["agent"]).startswith("2.")
        (tracer,) = await client.search("org.apache.camel:type=tracer,name=BacklogTracer,*")
        attributes = await client.read(tracer, ["Standby", "Enabled", "CamelId"])
        assert attributes == {"Standby": True, "Enabled": False, "CamelId": "camel-e2e"}
        camel_version = await client.read(
            'org.apache.camel:context=camel-e2e,type=context,name="camel-e2e"', ["CamelVersion"]
        )
        assert str(camel_version["CamelVersion"]).startswith("4.")

"""openapi.json lists every route the API app serves (the fuzzer only reaches what it lists)."""

from __future__ import annotations

from reconciler.api.openapi import openapi_document
from tests.integration.reconciler.apiclient import Api


async def test_the_document_lists_every_route_and_nothing_else(api: Api) -> None:
    served = {
        (route.method, route.resource.canonical)
        for route in api.client.app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    documented = {
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
    }
    assert served == documented
    assert ("POST", "/api/v1/projects/{project}/environments/{env}/replays") in documented

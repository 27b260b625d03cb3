"""Every error of the JSON API is application/problem+json (RFC 9457), on every route.

The walk takes the routes from the OpenAPI document (a test elsewhere checks it lists every
route the app serves) and drives each one into each error it can reach without a runner: no
token, a token of too small a role, an unknown name, a bad body, a body too large, a method the
route does not take. The rest (conflict, rate limit, no transport, an unexpected failure) have
their own cases below.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse

from reconciler.api.openapi import openapi_document
from reconciler.api.problems import PROBLEM_JSON, VALIDATION_TYPE
from tests.integration.reconciler.apiclient import Api

FILLED = {"project": "nope", "env": "nope", "user": "nope", "name": "nope", "number": "7"}
REPLAY_BODY = {"exchangeId": "x-1", "integration": "orders"}
KNOWN = {"project": "shop", "env": "prod", "user": "alice", "name": "nope", "number": "7"}


def _path(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "nope"), template)


def _api_operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in openapi_document()["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in operations.items()
    ]


async def _assert_problem(response: ClientResponse, status: int, path: str) -> dict[str, Any]:
    where = f"{response.method} {path}: {await response.text()}"
    assert response.status == status, where
    assert response.content_type == PROBLEM_JSON, where
    body: dict[str, Any] = await response.json()
    assert {"type", "title", "status", "detail", "instance"} <= body.keys(), where
    assert body["status"] == status, where
    assert body["instance"] == response.url.path, where
    for member in ("type", "title", "detail"):
        assert isinstance(body[member], str), where
        assert body[member], where
    assert "error" not in body, where  # the old shape is gone
    return body


async def test_every_route_answers_each_reachable_error_as_a_problem(api: Api) -> None:
    seen: set[tuple[str, str, int]] = set()
    for method, template, operation in _api_operations():
        codes = set(operation["responses"])
        public = operation.get("security") == []
        unknown, known = _path(template, FILLED), _path(template, KNOWN)
        if "401" in codes and not public:
            response = await api.client.request(method, unknown)
            await _assert_problem(response, 401, unknown)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            seen.add((method, template, 401))
        if "403" in codes:
            response = await api.client.request(method, unknown, headers=api.auth(api.viewer))
            body = await _assert_problem(response, 403, unknown)
            assert "role" in body["detail"]
            seen.add((method, template, 403))
        if "404" in codes and "{" in template:
            headers = {**api.auth(), "Idempotency-Key": "walk-0000"}
            valid = REPLAY_BODY if template.endswith("/replays") else {}
            response = await api.client.request(method, unknown, headers=headers, json=valid)
            await _assert_problem(response, 404, unknown)
            seen.add((method, template, 404))
        if "requestBody" in operation:
            response = await api.client.request(
                method, known, headers=api.auth(), json={"surely-not-a-field": 1}
            )
            body = await _assert_problem(response, 400, known)
            if template.endswith("/replays"):  # the missing Idempotency-Key comes first
                assert "Idempotency-Key" in body["detail"]
            else:
                assert body["type"] == VALIDATION_TYPE
                assert body["errors"]
                assert all(isinstance(e, str) for e in body["errors"])
            headers = {**api.auth(), "Idempotency-Key": "walk-0001"}
            response = await api.client.request(
                method, known, headers=headers, data=b"{" + b" " * (128 * 1024) + b"}"
            )
            await _assert_problem(response, 413, known)
            seen.update({(method, template, 400), (method, template, 413)})
        served = set(openapi_document()["paths"][template])
        if "patch" not in served:
            response = await api.client.request("PATCH", known, headers=api.auth())
            await _assert_problem(response, 405, known)
            assert response.headers["Allow"], known
            seen.add(("PATCH", template, 405))
    assert len({template for _, template, _ in seen}) == len(
        {path for _, path, _ in _api_operations()}
    )  # every route was walked


async def test_an_unknown_route_under_the_api_is_a_problem(api: Api) -> None:
    for path in ("/api/v1/nope", "/api/v1/projects/shop/nope/deeper"):
        response = await api.client.get(path, headers=api.auth())
        body = await _assert_problem(response, 404, path)
        assert "openapi.json" in body["detail"]


async def test_conflict_carries_its_hint_and_the_webhook_flood_is_a_problem(api: Api) -> None:
    body = {"name": "shop", "url": "https://example.com/shop.git"}
    response = await api.client.post("/api/v1/projects", json=body, headers=api.auth())
    await _assert_problem(response, 409, "/api/v1/projects")
    hook = "/api/v1/hooks/git/acme/nope"
    for _ in range(40):  # more than the unverified budget of the address
        response = await api.client.post(hook, data=b"{}")
        if response.status == 429:
            break
        await _assert_problem(response, 401, hook)
    body_429 = await _assert_problem(response, 429, hook)
    assert "too many" in body_429["detail"]


async def test_replay_without_a_transport_is_a_503_problem(api: Api) -> None:
    api.core.controller.request(api.core.project.id)
    await api.core.controller.wait_idle()
    path = "/api/v1/projects/shop/environments/prod/replays"
    headers = {**api.auth(), "Idempotency-Key": "walk-0002"}
    response = await api.client.post(path, json=REPLAY_BODY, headers=headers)
    problem = await _assert_problem(response, 503, path)
    assert "no runner transport" in problem["detail"]


async def test_an_unexpected_failure_is_a_500_problem_without_the_exception(
    api: Api, tmp_path: Path
) -> None:
    # a real failure of the real store: its audit table is gone under the running server
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("DROP TABLE audit_log")
    response = await api.client.get("/api/v1/audit", headers=api.auth())
    problem = await _assert_problem(response, 500, "/api/v1/audit")
    assert "audit_log" not in problem["detail"]
    assert "sqlite" not in problem["detail"].lower()
    assert problem["title"] == "Internal Server Error"

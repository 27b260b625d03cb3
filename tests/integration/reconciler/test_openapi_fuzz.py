"""Schemathesis fuzzes every operation of /api/v1/openapi.json on a running server: no 5xx."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from reconciler.api.openapi import openapi_document
from tests.integration.reconciler.gitrepo import GitRepo, base_files
from tests.integration.reconciler.served import Served, camelops_serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("fuzz")
    repo = GitRepo(root / "git")
    repo.commit(base_files(), "first")
    repo.push()
    with camelops_serve(root / "data", tunnel=True) as running:  # replays need the tunnel
        body = json.dumps({"name": "shop", "url": str(repo.bare), "pollIntervalSeconds": 0})
        request = urllib.request.Request(
            running.base_url + "/api/v1/projects",
            data=body.encode(),
            method="POST",
            headers={"Authorization": f"Bearer {running.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        yield running


def fuzz_operation(operation: Any, served: Served, failures: list[str]) -> int:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: Any) -> None:
        calls.append(case.method)
        for headers in ({"Authorization": f"Bearer {served.token}"}, {}):
            response = case.call(base_url=served.base_url, headers=headers, timeout=10)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

    calls: list[str] = []
    check()
    return len(calls)


def test_no_operation_answers_5xx(served: Served) -> None:
    # the schemathesis pytest plugin does not run on pytest 9: drive Hypothesis directly
    schema = schemathesis.openapi.from_url(served.base_url + "/api/v1/openapi.json")
    failures: list[str] = []
    results: list[Any] = list(schema.get_all_operations())
    operations = [result.ok() for result in results]
    documented = {
        f"{method.upper()} {path}"
        for path, methods in openapi_document()["paths"].items()
        for method in methods
    }
    # every route (a test checks the document lists them all), replay included; schemathesis
    # leaves out the operation that serves the document itself
    assert {op.label for op in operations} == documented - {"GET /api/v1/openapi.json"}
    calls = sum(fuzz_operation(operation, served, failures) for operation in operations)
    assert failures == []
    assert calls >= 5 * len(operations)  # every operation really was exercised


def webhook_deliveries(served: Served) -> int:
    """Every outcome of the webhook receiver, summed from /metrics (HELP lines do not count)."""
    with urllib.request.urlopen(served.base_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        int(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("camelops_webhooks_total{")
    )


def test_the_fuzzer_reached_the_server(served: Served) -> None:
    """The generated requests reach our handlers (not a proxy, not the router's 404)."""
    schema = schemathesis.openapi.from_url(served.base_url + "/api/v1/openapi.json")
    results: list[Any] = list(schema.get_all_operations())
    [hooks] = [r.ok() for r in results if r.ok().path == "/api/v1/hooks/git/{repo}"]
    before = webhook_deliveries(served)
    failures: list[str] = []
    cases = fuzz_operation(hooks, served, failures)
    assert failures == []
    assert cases >= 5
    assert webhook_deliveries(served) - before >= cases  # at least one handled call per case

"""The sidecar's console readers: Camel's answers (shapes recorded from Camel 4.18 over
Jolokia 2.3) turned into the bounded `contract.console` models; odd shapes give empty parts,
never a traceback; health messages are redacted."""

from __future__ import annotations

import json
from typing import Any

from contract.console import MAX_INFLIGHT, MAX_PROCESSORS, MAX_ROUTES
from telemetry.sidecar.console import health_of, inflight_of, routes_of
from telemetry.sidecar.redact import Redactor


def _processor(index: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"step-{index}", "index": index, "state": "Started", "sourceLineNumber": 6,
            "exchangesTotal": 4, "exchangesFailed": 1, "exchangesInflight": 0,
            "meanProcessingTime": 5, "maxProcessingTime": 21, **extra}  # fmt: skip


def _route(route_id: str, processors: int = 2) -> dict[str, Any]:
    return {
        "id": route_id, "state": "Started", "uptime": 2603,
        "sourceLocation": "file:/work/routes/r.yaml:4", "exchangesTotal": 10,
        "exchangesFailed": 2, "exchangesInflight": 3, "meanProcessingTime": 1528,
        "maxProcessingTime": 1600, "lastExchangeFailureTimestamp": -1,
        "processors": [_processor(i) for i in range(1, processors + 1)],
    }  # fmt: skip


def test_routes_with_processors_from_the_context_dump() -> None:
    dump = {"id": "orders", "state": "Started", "routes": [_route("tick"), _route("other", 0)]}
    got = routes_of(json.loads(json.dumps(dump)))
    assert (got.context, got.state, got.routes_total) == ("orders", "Started", 2)
    tick = got.routes[0]
    assert (tick.id, tick.exchanges_total, tick.exchanges_failed, tick.mean_ms) == (
        "tick", 10, 2, 1528,
    )  # fmt: skip
    assert [p.id for p in tick.processors] == ["step-1", "step-2"]
    assert tick.source == "r.yaml:4"  # the file and line, not the host's directories
    assert (tick.processors[0].line, tick.processors[0].exchanges_failed) == (6, 1)


def test_route_and_processor_lists_are_bounded_and_counted() -> None:
    dump = {"routes": [_route(f"r{i}", 1) for i in range(MAX_ROUTES + 5)]}
    dump["routes"][0] = _route("big", MAX_PROCESSORS + 7)
    got = routes_of(dump)
    assert len(got.routes) == MAX_ROUTES
    assert got.routes_total == MAX_ROUTES + 5
    assert len(got.routes[0].processors) == MAX_PROCESSORS
    assert got.routes[0].processors_total == MAX_PROCESSORS + 7


def test_odd_shapes_give_empty_parts() -> None:
    assert routes_of({}).routes == ()
    assert routes_of({"routes": "x", "id": 5}).context == ""
    odd = routes_of({"routes": [1, None, {"id": ["x"], "exchangesTotal": "many"}]})
    assert odd.routes_total == 1
    assert (odd.routes[0].id, odd.routes[0].exchanges_total) == ("", 0)
    assert inflight_of(None, None).exchanges == ()
    assert inflight_of("x", ["not", "a", "map"]).total == 0


def test_inflight_longest_first_and_bounded() -> None:
    browsed = {
        f"X-{i}": {"duration": str(i * 10), "elapsed": "0", "exchangeId": f"X-{i}",
                   "routeId": "tick", "fromRouteId": "tick", "nodeId": "slow"}
        for i in range(MAX_INFLIGHT + 10)
    }  # fmt: skip
    got = inflight_of(MAX_INFLIGHT + 10, browsed)
    assert got.total == MAX_INFLIGHT + 10
    assert len(got.exchanges) == MAX_INFLIGHT
    assert got.exchanges[0].exchange_id == f"X-{MAX_INFLIGHT + 9}"
    assert got.exchanges[0].duration_ms == (MAX_INFLIGHT + 9) * 10
    assert got.exchanges[0].node_id == "slow"


def test_health_checks_and_flags_with_messages_redacted() -> None:
    details = {
        "status": 200,
        "value": {
            "context": {"id": "context", "state": "UP", "readiness": True, "liveness": True,
                        "enabled": True, "message": ""},
            "consumer:poll": {"id": "consumer:poll", "state": "DOWN", "readiness": True,
                              "liveness": False, "enabled": True,
                              "message": "Failed polling ftp://bob:hunter2@files/in as "
                                         "alice@example.com"},
        },
    }  # fmt: skip
    summary = {"Healthy": False, "HealthyReadiness": False, "HealthyLiveness": True}
    got = health_of(summary, details, Redactor.from_rules([]).text)
    assert (got.healthy, got.ready, got.live) == (False, False, True)
    assert [(c.id, c.state) for c in got.checks] == [("consumer:poll", "DOWN"), ("context", "UP")]
    poll = got.checks[0]
    assert (poll.readiness, poll.liveness) == (True, False)
    assert "hunter2" not in poll.message
    assert "bob" not in poll.message
    assert "alice@example.com" not in poll.message
    assert "ftp://[REDACTED]@files/in" in poll.message


def test_health_without_camel_health_is_empty_not_an_error() -> None:
    refused = {"status": 404, "error": "javax.management.InstanceNotFoundException"}
    got = health_of(None, refused, str)
    assert (got.healthy, got.checks) == (False, ())

"""The sidecar's failure-rate window and the reconciler's combination of Camel's verdict with
the runner's health (the pure parts; tests/e2e/camel/test_camel_health.py runs them on Camel)."""

from __future__ import annotations

from typing import Any

import pytest

from contract.telemetry import RouteState
from reconciler.camel_health import CamelHealthBoard, combined
from telemetry.sidecar.camel_checks import MAX_ID_CHARS
from telemetry.sidecar.camel_health import CamelHealthWatch, HealthRules
from telemetry.sidecar.redact import Redactor

KEY = ("acme", "prod-runner", "prod")


def judged(watch: CamelHealthWatch, at: float, total: int, failed: int) -> list[str]:
    return watch._judge(RouteState(route_id="orders", state="Started",
                                   exchanges_total=total, exchanges_failed=failed), at)  # fmt: skip


def test_failures_older_than_the_window_stop_counting() -> None:
    watch = CamelHealthWatch(HealthRules(failure_rate_threshold=0.5, min_exchanges=4,
                                         window_seconds=60))  # fmt: skip
    assert judged(watch, 0, 0, 0) == []
    (problem,) = judged(watch, 30, 10, 8)
    assert problem == "route orders failed 8 of 10 exchanges in the last 30 s (80%, threshold 50%)"
    # at t=100 the window starts at t=30: the 8 failures before it no longer count, and the
    # 2 exchanges since are fewer than the minimum
    assert judged(watch, 100, 12, 8) == []
    assert judged(watch, 120, 20, 8) == []  # 10 since t=30, none failed


def test_restarted_counters_start_a_new_window() -> None:
    watch = CamelHealthWatch(HealthRules(min_exchanges=2))
    judged(watch, 0, 100, 0)
    assert judged(watch, 5, 3, 3) == [], "a smaller total is a restart: no negative deltas"
    assert judged(watch, 10, 6, 6) != []


def test_a_route_not_started_is_a_problem_whatever_the_counts() -> None:
    watch = CamelHealthWatch(HealthRules())
    stopped = RouteState(route_id="stock", state="Suspended")
    assert watch._judge(stopped, 0) == ["route stock is Suspended"]


def test_the_board_forgets_a_sidecar_that_went_quiet() -> None:
    now = [0.0]
    board = CamelHealthBoard(ttl_seconds=60, clock=lambda: now[0])
    assert board.note(KEY, "orders", "orders-0", ("route stock is Stopped",))
    assert not board.note(KEY, "orders", "orders-1", ("route stock is Stopped",))
    assert board.problems(KEY) == ("orders: route stock is Stopped",)
    now[0] = 61
    assert board.problems(KEY) == ()
    assert board.problems(("acme", "other", "prod")) == ()


def test_only_a_change_beyond_counters_re_records_the_environment() -> None:
    board = CamelHealthBoard()
    polling = "health check consumer:inbox is DOWN: Consumer failed polling {} times"
    assert board.note(KEY, "orders", "orders-0", (polling.format(3),))
    # the counter moves every round: not a change worth a new history row
    assert not board.note(KEY, "orders", "orders-0", (polling.format(4),))
    assert not board.note(KEY, "orders", "orders-0", (polling.format(125),))
    # the latest words are still what the board answers with
    assert board.problems(KEY) == (f"orders: {polling.format(125)}",)
    # another problem, or one gone, is a change
    assert board.note(KEY, "orders", "orders-0", (polling.format(5), "route stock is Stopped"))
    assert board.note(KEY, "orders", "orders-0", ())


def test_combined_takes_the_worse_health_and_names_camel_first() -> None:
    assert combined("Synced/Healthy", "", ()) == ("Synced/Healthy", "")
    assert combined("Synced/Progressing", "2 of 3 pods ready", ("orders: route a is Stopped",)) == (
        "Synced/Degraded",
        "Camel: orders: route a is Stopped; 2 of 3 pods ready",
    )
    assert combined("Synced/Unknown", "", ("x",))[0] == "Synced/Unknown"


class _JolokiaStandIn:
    """Stands in for the agent (a real JVM cannot be held in `Starting` on demand, nor made to
    answer garbage): answers the watch's one bulk request with the given context and route
    states and health-check item."""

    def __init__(self, context: str, route: str, checks: object = None) -> None:
        self.context, self.route = context, route
        self.checks = checks if checks is not None else {"status": 200, "value": {}}

    async def bulk(self, requests: list[dict[str, object]]) -> list[object]:
        assert len(requests) == 3
        assert requests[2]["operation"] == "details()"
        route = {"RouteId": "orders", "State": self.route, "ExchangesTotal": 0}
        return [
            {"status": 200, "value": {"State": self.context}},
            {"status": 200, "value": {"org.apache.camel:name=orders": route}},
            self.checks,
        ]


@pytest.mark.parametrize(
    ("context", "route", "problems"),
    [
        ("Starting", "Stopped", ()),  # on the way up: not judged
        ("Stopping", "Stopped", ()),  # a terminating pod of a rollout
        # the route's own `route:`/`consumer:` checks are DOWN too: not repeated
        ("Started", "Stopped", ("route orders is Stopped",)),
        ("Suspended", "Suspended", ("Camel context is Suspended",)),
    ],
)
async def test_only_a_started_or_suspended_context_is_judged(
    context: str, route: str, problems: tuple[str, ...]
) -> None:
    watch = CamelHealthWatch(HealthRules())
    jolokia: Any = _JolokiaStandIn(context, route, _checks(route_down))
    report = await watch.check(jolokia, "ctx-mbean", "ctx", 0.0, 1)
    assert report.problems == problems
    assert report.context_state == context


def _down(check_id: str, message: str, **extra: object) -> dict[str, object]:
    entry = {"id": check_id, "group": "camel", "state": "DOWN", "enabled": True,
             "message": message, "failureStackTrace": "at Secret.java:1", "readiness": True,
             "liveness": False}  # fmt: skip
    return {**entry, **extra}


def _checks(*entries: dict[str, object]) -> dict[str, object]:
    return {"status": 200, "value": {str(e.get("id", i)): e for i, e in enumerate(entries)}}


route_down = _down("route:orders", "Route orders has status Stopped")


async def _problems(checks: object) -> tuple[str, ...]:
    watch = CamelHealthWatch(HealthRules(), redact=Redactor.from_rules([r"acct-\d+"]).text)
    jolokia: Any = _JolokiaStandIn("Started", "Started", checks)
    return (await watch.check(jolokia, "ctx-mbean", "ctx", 0.0, 1)).problems


async def test_a_down_check_is_a_problem_with_its_message_redacted() -> None:
    checks = _checks(
        {"id": "context", "state": "UP", "enabled": True, "message": ""},
        _down(
            "consumer:inbox",
            "Consumer failed polling 3 times route: inbox "
            "(ftp://scott:tiger@ftp.example/in) account acct-4711",
        ),
        _down("writer", "", liveness=True),
    )
    problems = await _problems(checks)
    assert problems == (
        "health check consumer:inbox is DOWN: Consumer failed polling 3 times route: inbox "
        "(ftp://[REDACTED]@ftp.example/in) account [REDACTED]",
        "health check writer is DOWN",
    )
    assert "Secret.java" not in str(problems), "stack traces stay in the pod"


@pytest.mark.parametrize(
    "checks",
    [
        {
            "status": 404,
            "error_type": "javax.management.InstanceNotFoundException",
            "error": "org.apache.camel:context=ctx,type=health,name=DefaultHealthCheck",
        },
        {"status": 200, "value": None},
        {"status": 200, "value": ["DOWN"]},
        {"status": 200, "value": "DOWN"},
        {"status": "200", "value": {"x": _down("x", "m")}},
        "not an item",
        _checks(
            {"id": "a", "state": None, "message": "no state"},
            {"id": "b", "state": ["DOWN"], "message": "odd state"},
            _down("c", "switched off", enabled=False),
            _down("d", "no probe uses it", readiness=False, liveness=False),
            _down("consumer:e", "Consumer has not yet polled route: e (file://in)"),
        ),
        {"status": 200, "value": {"k": 1, "l": [], "m": "DOWN"}},
    ],
)
async def test_an_odd_health_check_answer_is_ignored_not_a_traceback(checks: object) -> None:
    assert await _problems(checks) == ()


async def test_an_odd_check_entry_is_capped_and_named_by_its_key() -> None:
    entry = {"id": 42, "state": "down", "message": {"nested": True}, "readiness": "yes"}
    big = _down("x" * 5000, "line one\nline two " + "y" * 5000)
    (first, second) = await _problems({"status": 200, "value": {"odd-key": entry, "big": big}})
    assert first == "health check odd-key is DOWN"
    assert second.startswith("health check " + "x" * MAX_ID_CHARS + " is DOWN: line one line two y")
    assert len(second) <= 500

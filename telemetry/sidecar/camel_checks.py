"""Camel's own health checks (camel-health: context, routes, consumers, components), read
through the context's `DefaultHealthCheck` MBean and turned into problem lines for the verdict.

The answer comes from the JVM, so every field is checked: an odd entry is skipped, never a
traceback, and a context without camel-health (no MBean) simply has no check results."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

DOWN = "DOWN"
STARTING_UP = ("has not yet polled",)
"""Camel's wording for a polling consumer DOWN only until its first poll (`initialDelay`,
1 s by default): a pod coming up, which must not flash Degraded (the context's `Starting`
is not judged either). Its failures read `Consumer failed polling N times`."""
MAX_ID_CHARS = 200
MAX_MESSAGE_CHARS = 300

# `scheme://user:secret@host`: Camel puts endpoint URIs into consumer messages; the
# credentials in one never leave the pod, whatever the integration's redaction rules say.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


@dataclass(frozen=True, slots=True)
class CheckResult:
    check_id: str
    state: str
    message: str


def details_request(context: str) -> dict[str, Any]:
    """The Jolokia bulk item that runs every registered check once (Camel 4 `details()`)."""
    return {
        "type": "exec",
        "mbean": f"org.apache.camel:context={context},type=health,name=DefaultHealthCheck",
        "operation": "details()",
    }


def parse_details(item: Any) -> list[CheckResult]:
    """The checks in one bulk response item, sorted by id; an error item (camel-health not on
    the classpath, health checks switched off) or an answer of another shape gives none."""
    if not isinstance(item, dict) or item.get("status") != 200:
        return []
    value = item.get("value")
    if not isinstance(value, dict):
        return []
    results = (_result(str(key), entry) for key, entry in value.items())
    return sorted((r for r in results if r is not None), key=lambda r: r.check_id)


def _result(key: str, entry: Any) -> CheckResult | None:
    if not isinstance(entry, dict) or entry.get("enabled") is False:
        return None
    if entry.get("readiness") is False and entry.get("liveness") is False:
        return None  # neither probe would look at it
    state = entry.get("state")
    if not isinstance(state, str) or not state:
        return None
    check_id = entry.get("id") if isinstance(entry.get("id"), str) else key
    message = entry.get("message")
    return CheckResult(
        check_id=str(check_id or key)[:MAX_ID_CHARS] or "?",
        state=state[:20],
        message=" ".join(message.split())[:MAX_MESSAGE_CHARS] if isinstance(message, str) else "",
    )


def down_problems(
    results: Iterable[CheckResult],
    reported_routes: set[str],
    redact: Callable[[str], str],
) -> list[str]:
    """`health check <id> is DOWN: <message>` per DOWN check. A route already reported as not
    started is not repeated through its own `route:`/`consumer:` checks, which say the same,
    and a consumer that has not polled yet is starting, not failing."""
    problems = []
    for result in results:
        if result.state.upper() != DOWN or _route_of(result.check_id) in reported_routes:
            continue
        if any(words in result.message for words in STARTING_UP):
            continue
        message = redact(_USERINFO.sub(r"\g<scheme>[REDACTED]@", result.message))
        line = f"health check {result.check_id} is {DOWN}"
        problems.append(f"{line}: {message}" if message else line)
    return problems


def _route_of(check_id: str) -> str | None:
    kind, sep, route_id = check_id.partition(":")
    return route_id if sep and kind in ("route", "consumer") else None

"""What the config models convert and check beyond field types, without importing pydantic.

The models (schema/models) apply these as validators; the records (schema/records.py), which a
one-shot CLI process builds instead of the models, apply the very same functions. So each rule
has one home, and a command that only reads a repository never needs pydantic to import.
Every check raises ValueError with the message a user sees (pydantic words the location).
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any

DURATION_PATTERN = r"^(\d+(ms|s|m|h|d))+$"
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=3650)
"""Longest duration any setting takes (ten years): a bound, so no input can overflow."""
MAX_QUANTITY_CHARS = 32
"""Longer than any quantity Kubernetes can hold (it stores them in 64 bits)."""
QUANTITY_PATTERN = r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]+)?$"
CAMEL_VERSION_PATTERN = r"^4\.[0-9]+\.[0-9]+$"

# Camel health rules the sidecar applies when an integration sets none (its own defaults too).
DEFAULT_FAILURE_RATE_THRESHOLD = 0.5
DEFAULT_MIN_EXCHANGES = 10
DEFAULT_WINDOW_SECONDS = 300

RESERVED_PORTS = {8778: "the Jolokia agent", 9876: "Camel management/health", 9464: "the sidecar"}
# Set by camelops itself in the runtime container; a user value would break tracing or loading.
RESERVED_ENV = frozenset({"JAVA_TOOL_OPTIONS", "CAMELOPS_ROUTES_DIR"})


class EgressProtocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"


class CamelRuntime(StrEnum):
    MAIN = "main"


class SyncWindowKind(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class Target(StrEnum):
    """What an environment's bundles are rendered for (the runner's driver must match)."""

    KUBERNETES = "kubernetes"
    LOCAL = "local"


def parse_duration(value: Any) -> timedelta:
    """'90s', '5m', '1h30m', '7d' -> timedelta (Go/Kubernetes style units, no fractions)."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not re.fullmatch(DURATION_PATTERN, value):
        raise ValueError(
            f"expected a duration such as '30s', '5m', '1h30m' or '7d', found {value!r}"
        )
    parts = _DURATION_PART.findall(value)
    limit = MAX_DURATION.total_seconds()
    # each part is checked before arithmetic: '9999…9d' with thousands of digits must not overflow
    if any(len(n) > 12 for n, _u in parts) or (
        sum(int(n) * _UNIT_SECONDS[u] for n, u in parts) > limit
    ):
        raise ValueError(f"duration {_short(value)} is longer than the maximum of 3650d")
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))


def _short(value: str) -> str:
    return repr(value) if len(value) <= 40 else repr(value[:37] + "...")


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def parse_quantity(value: Any) -> str:
    """Kubernetes resource quantities ('500m', '512Mi', 2); kept as the canonical string."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(
            f"expected a Kubernetes quantity such as '500m' or '512Mi', found {value!r}"
        )
    if isinstance(value, int) and value.bit_length() > 64:
        raise ValueError("quantity is too large for Kubernetes (more than 64 bits)")
    text = str(value)
    if len(text) > MAX_QUANTITY_CHARS:
        raise ValueError(f"quantity {_short(text)} is too large for Kubernetes")
    if not re.fullmatch(QUANTITY_PATTERN, text):
        raise ValueError(
            f"expected a Kubernetes quantity such as '500m' or '512Mi', found {text!r}"
        )
    return text


def no_reserved_env(env: dict[str, str]) -> dict[str, str]:
    taken = sorted(RESERVED_ENV & env.keys())
    if taken:
        raise ValueError(f"{', '.join(taken)} is set by camelops; use runtime.javaOptions instead")
    return env


# Cross-field checks: each takes the model (or record) after its fields are validated and
# returns it. Typed Any: the same function serves the pydantic model and the plain record.


def autoscaling_bounds(value: Any) -> Any:
    if value.min_replicas > value.max_replicas:
        raise ValueError(
            f"minReplicas ({value.min_replicas}) is above maxReplicas ({value.max_replicas})"
        )
    return value


def port_not_reserved(value: Any) -> Any:
    if value.port in RESERVED_PORTS:
        raise ValueError(f"port {value.port} is reserved for {RESERVED_PORTS[value.port]}")
    return value


def one_egress_target(value: Any) -> Any:
    if (value.host is None) == (value.cidr is None):
        raise ValueError("an egress rule names exactly one of host or cidr")
    return value


def replay_endpoint_when_enabled(value: Any) -> Any:
    if value.enabled and value.endpoint is None:
        raise ValueError("replay.enabled needs replay.endpoint (a direct: or seda: endpoint)")
    return value


def image_or_build(value: Any) -> Any:
    if value.image is not None and value.build is not None:
        raise ValueError("set either image or build, not both")
    return value


def previews_deploy_needs_runner(value: Any) -> Any:
    if value.deploy and value.runner is None:
        raise ValueError("previews.deploy needs previews.runner")
    return value

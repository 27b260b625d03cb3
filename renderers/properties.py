"""application.properties for one integration: the repo's file, the effective properties of the
environment, then the platform's own settings (tracing standby, management and health), last so
they win (java.util.Properties keeps the last value of a repeated key)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from renderers.context import MANAGEMENT_PORT
from schema.effective import EffectiveIntegration, PropertyValue
from schema.model_rules import (
    DEFAULT_FAILURE_RATE_THRESHOLD,
    DEFAULT_MIN_EXCHANGES,
    DEFAULT_WINDOW_SECONDS,
)

if TYPE_CHECKING:
    from schema.models.integration import CamelHealthRules

CONFIG_DIR = "/etc/camelops/config"
# Camel 4.12 moved health and management off the business port into `camel.management.*`.
MANAGEMENT_SERVER_SINCE = (4, 12)


@dataclass(frozen=True, slots=True)
class HealthEndpoint:
    """Where a runtime's liveness and readiness checks answer."""

    port: int
    live_path: str
    ready_path: str


def health_endpoint(camel_version: str, business_port: int) -> HealthEndpoint:
    if _minor(camel_version) >= MANAGEMENT_SERVER_SINCE:
        return HealthEndpoint(MANAGEMENT_PORT, "/observe/health/live", "/observe/health/ready")
    return HealthEndpoint(business_port, "/q/health/live", "/q/health/ready")


def _minor(version: str) -> tuple[int, int]:
    major, minor, *_ = (int(p) for p in version.split("."))
    return major, minor


def route_includes(directory: str, keys: Iterable[str]) -> list[str]:
    """Each route file by name, in name order. Camel loads files in the order listed here, but a
    glob in directory order, which differs between file systems; and the processor ids it
    generates (`log1`, `log2`, ... counted over the whole context) follow the load order. Listed
    in order, they are the same on every host and match the route diagram's
    (`renderers.route_graph`)."""
    return [f"file:{directory}/{key}" for key in sorted(keys)]


def platform_properties(
    integration: str, camel_version: str, business_port: int, route_globs: list[str]
) -> dict[str, PropertyValue]:
    props: dict[str, PropertyValue] = {
        "camel.main.name": integration,
        "camel.main.routesIncludePattern": ",".join(route_globs),
        # standby weaves the tracer in at start so the sidecar can switch it on later over Jolokia
        "camel.trace.standby": True,
        "camel.main.jmxEnabled": True,
        # the live console lists which exchanges are in flight (and where), not just how many
        "camel.main.inflightRepositoryBrowseEnabled": True,
    }
    if _minor(camel_version) >= MANAGEMENT_SERVER_SINCE:
        props |= {
            "camel.management.enabled": True,
            "camel.management.port": MANAGEMENT_PORT,
            "camel.management.healthCheckEnabled": True,
            "camel.management.healthPath": "/observe/health",
            # Jolokia runs as a JVM agent on loopback instead; never on a pod-reachable port
            "camel.management.jolokiaEnabled": False,
        }
    else:
        props |= {
            "camel.server.enabled": True,
            "camel.server.port": business_port,
            "camel.server.healthCheckEnabled": True,
            "camel.server.jolokiaEnabled": False,
        }
    return props


def application_properties(
    effective: EffectiveIntegration, platform: dict[str, PropertyValue]
) -> str:
    parts: list[str] = []
    own = effective.integration.properties_text
    if own:
        parts.append(_terminated(own))
    if effective.properties:
        parts.append(f"# camelops: properties of environment {effective.environment}\n")
        parts.append(format_properties(effective.properties))
    parts.append("# camelops: platform settings (always last, so they apply)\n")
    parts.append(format_properties(platform))
    return "".join(parts)


def _terminated(text: str) -> str:
    """The repo's file ends cleanly: a trailing odd backslash would swallow our first line."""
    if not text.endswith("\n"):
        text += "\n"
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    if (len(last) - len(last.rstrip("\\"))) % 2 == 1:
        text += "\n"
    return text


def format_properties(props: dict[str, PropertyValue]) -> str:
    return "".join(
        f"{escape_key(key)}={escape_value(_text(value))}\n" for key, value in sorted(props.items())
    )


def _text(value: PropertyValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}


# printable ASCII but the backslash: written as it is, unless it holds one of the specials
_AS_IS = re.compile(r"[\x20-\x5b\x5d-\x7e]*")


def _escape(text: str, specials: str) -> str:
    if _AS_IS.fullmatch(text) and not any(char in text for char in specials):
        return text  # most keys and values: one scan instead of a loop over characters
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char in specials:
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) > 0x7E:
            # Properties files may be read as ISO-8859-1: \\u escapes read the same in every
            # charset (astral characters as surrogate pairs, as Java strings hold them)
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        else:
            out.append(char)
    return "".join(out)


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def escape_key(key: str) -> str:
    return _escape(key, "=: #!")


def escape_value(value: str) -> str:
    escaped = _escape(value, "")
    # a leading blank would be dropped by the reader
    return "\\" + escaped if escaped[:1] == " " else escaped


def sidecar_capture_flags(
    effective: EffectiveIntegration, literal: Callable[[str], str] = str
) -> list[str]:
    """The `camelops sidecar` flags every target takes from the repository (sampling, body
    size, redaction, replay endpoint); `literal` quotes user text for the target's runtime."""
    spec = effective.integration.model.spec
    observability = spec.observability
    flags = [
        f"--sample-rate={effective.sampling}",
        f"--body-max-chars={observability.body_max_chars}",
    ]
    flags += [f"--redact-pattern={literal(r.pattern)}" for r in observability.redaction.rules]
    flags += [f"--redact-header={literal(h)}" for h in observability.redaction.headers]
    if spec.replay.enabled and spec.replay.endpoint:
        flags.append(f"--replay-endpoint={spec.replay.endpoint}")
    return flags + _health_flags(observability.health)


def _health_flags(rules: CamelHealthRules) -> list[str]:
    """Only what differs from the sidecar's defaults (the same as the schema's)."""
    flags = []
    if rules.failure_rate_threshold != DEFAULT_FAILURE_RATE_THRESHOLD:
        flags.append(f"--failure-rate-threshold={rules.failure_rate_threshold}")
    if rules.min_exchanges != DEFAULT_MIN_EXCHANGES:
        flags.append(f"--failure-min-exchanges={rules.min_exchanges}")
    if rules.window_seconds != DEFAULT_WINDOW_SECONDS:
        flags.append(f"--failure-window-seconds={rules.window_seconds}")
    return flags

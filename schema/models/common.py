"""Shared field types: DNS-1123 names, durations, Kubernetes quantities, the strict base model."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

API_VERSION_LITERAL = Literal["camelops.io/v1alpha1"]

DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ENV_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class StrictModel(BaseModel):
    """Every repo-file model: unknown keys rejected, immutable, camelCase keys in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )


Name = Annotated[
    str,
    StringConstraints(pattern=DNS1123_LABEL, min_length=1, max_length=63),
    Field(
        description="a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters"
    ),
]
DNS1035_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
ServiceName = Annotated[
    str,
    StringConstraints(pattern=DNS1035_LABEL, min_length=1, max_length=63),
    Field(
        description="a DNS-1035 label (it names a Kubernetes Service): starts with a lower-case "
        "letter, then lower-case letters, digits and '-', at most 63 characters"
    ),
]
Hostname = Annotated[str, StringConstraints(pattern=DNS1123_SUBDOMAIN, max_length=253)]
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_NAME, max_length=256)]


class Metadata(StrictModel):
    name: Name
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class IntegrationMetadata(StrictModel):
    name: ServiceName
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
DURATION_PATTERN = r"^(\d+(ms|s|m|h|d))+$"
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=3650)
"""Longest duration any setting takes (ten years): a bound, so no input can overflow."""
MAX_QUANTITY_CHARS = 32
"""Longer than any quantity Kubernetes can hold (it stores them in 64 bits)."""


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


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "a duration with units ms, s, m, h or d, e.g. '90s', '1h30m', '7d'",
        }
    ),
]

QUANTITY_PATTERN = r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]+)?$"


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


Quantity = Annotated[
    str,
    BeforeValidator(parse_quantity),
    WithJsonSchema(
        {
            "type": ["string", "number"],
            "pattern": QUANTITY_PATTERN,
            "description": "a Kubernetes quantity, e.g. '250m' CPU or '512Mi' memory",
        }
    ),
]


class ResourceAmounts(StrictModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(StrictModel):
    requests: ResourceAmounts = Field(default_factory=ResourceAmounts)
    limits: ResourceAmounts = Field(default_factory=ResourceAmounts)

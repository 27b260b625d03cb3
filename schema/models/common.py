"""Shared field types: DNS-1123 names, durations, Kubernetes quantities, the strict base model."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

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

from schema.model_rules import (
    DURATION_PATTERN,
    QUANTITY_PATTERN,
    format_duration,
    parse_duration,
    parse_quantity,
)

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

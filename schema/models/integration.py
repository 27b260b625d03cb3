"""Integration (`integrations/<name>/integration.yaml`): one deployable Camel runtime."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from schema.model_rules import (
    DEFAULT_FAILURE_RATE_THRESHOLD,
    DEFAULT_MIN_EXCHANGES,
    DEFAULT_WINDOW_SECONDS,
    EgressProtocol,
    autoscaling_bounds,
    image_or_build,
    no_reserved_env,
    one_egress_target,
    port_not_reserved,
    replay_endpoint_when_enabled,
)
from schema.models.common import (
    API_VERSION_LITERAL,
    EnvVarName,
    Hostname,
    IntegrationMetadata,
    Name,
    Resources,
    StrictModel,
)

Port = Annotated[int, Field(ge=1, le=65535)]
IMAGE_PATTERN = r"^[a-z0-9]+([._/:@-][A-Za-z0-9_.-]+)*$"
ENDPOINT_PATTERN = r"^(direct|seda):[A-Za-z0-9._-]+$"


class Build(StrictModel):
    context: str = Field(default=".", description="build context, relative to the integration dir")
    dockerfile: str = Field(default="Dockerfile", description="relative to the build context")


class Autoscaling(StrictModel):
    min_replicas: int = Field(default=1, ge=1, le=1000)
    max_replicas: int = Field(ge=1, le=1000)
    target_cpu_utilization: int = Field(default=80, ge=1, le=100)

    _bounds = model_validator(mode="after")(autoscaling_bounds)


class Ingress(StrictModel):
    host: Hostname
    path: Annotated[str, StringConstraints(pattern=r"^/[^\s]*$")] = "/"
    tls_secret: Name | None = Field(default=None, description="Secret with the TLS certificate")


class Expose(StrictModel):
    port: Port = Field(default=8080, description="the port Camel's HTTP server listens on")
    ingress: Ingress | None = None

    _not_reserved = model_validator(mode="after")(port_not_reserved)


EnvVars = Annotated[dict[EnvVarName, str], AfterValidator(no_reserved_env)]


class SecretRef(StrictModel):
    """Environment variables from a sealed secret in `secrets/`."""

    name: Name = Field(description="the SealedSecret's metadata.name")
    env: EnvVars = Field(
        default_factory=dict, description="variable name -> key in the secret (all keys when empty)"
    )


class EgressRule(StrictModel):
    """Where the integration may connect; everything else is denied by a NetworkPolicy."""

    host: Hostname | None = Field(default=None, description="a DNS name (documentation, audits)")
    cidr: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F:.]+/[0-9]{1,3}$")] | None = None
    ports: tuple[Port, ...] = Field(min_length=1)
    protocol: EgressProtocol = EgressProtocol.TCP

    _one_target = model_validator(mode="after")(one_egress_target)


class RedactionRule(StrictModel):
    pattern: str = Field(min_length=1, description="a regular expression (Python/RE2 subset)")
    replacement: str = "***"


class Redaction(StrictModel):
    rules: tuple[RedactionRule, ...] = ()
    headers: tuple[str, ...] = Field(default=(), description="header names whose values are masked")
    defaults: bool = Field(
        default=True, description="also mask card numbers, e-mail addresses, IBANs, bearer tokens"
    )


class CamelHealthRules(StrictModel):
    """When Camel itself makes the environment Degraded (the sidecar judges, every 5 s)."""

    failure_rate_threshold: float = Field(
        default=DEFAULT_FAILURE_RATE_THRESHOLD,
        ge=0.0,
        le=1.0,
        description="a route failing more than this share of its exchanges within the window "
        "makes the environment Degraded (1: never)",
    )
    min_exchanges: int = Field(
        default=DEFAULT_MIN_EXCHANGES,
        ge=1,
        le=1_000_000,
        description="exchanges a route needs in the window",
    )
    window_seconds: int = Field(default=DEFAULT_WINDOW_SECONDS, ge=10, le=86_400)


class Observability(StrictModel):
    sidecar: bool = Field(default=True, description="run the camelops sidecar next to Camel")
    sampling: float = Field(default=1.0, ge=0.0, le=1.0, description="share of exchanges kept")
    keep_failed: bool = Field(default=True, description="always keep failed exchanges")
    body_max_chars: int = Field(default=4096, ge=0, le=1_048_576)
    redaction: Redaction = Field(default_factory=Redaction)
    health: CamelHealthRules = Field(default_factory=CamelHealthRules)


class Replay(StrictModel):
    enabled: bool = False
    endpoint: (
        Annotated[
            str,
            StringConstraints(pattern=ENDPOINT_PATTERN),
            Field(description="a direct: or seda: endpoint one of the routes consumes"),
        ]
        | None
    ) = None

    _endpoint_when_enabled = model_validator(mode="after")(replay_endpoint_when_enabled)


class Runtime(StrictModel):
    java_options: str = Field(default="", description="extra JVM options (JAVA_OPTS)")


Properties = dict[str, str | int | float | bool]


class IntegrationOverride(StrictModel):
    """Per-environment settings; anything unset keeps the integration's own value."""

    replicas: int | None = Field(default=None, ge=0, le=1000)
    autoscaling: Autoscaling | None = None
    resources: Resources | None = None
    env: EnvVars = Field(default_factory=dict)
    properties: Properties = Field(default_factory=dict)
    image: Annotated[str, StringConstraints(pattern=IMAGE_PATTERN)] | None = None
    ingress: Ingress | None = None
    sampling: float | None = Field(default=None, ge=0.0, le=1.0)
    suspended: bool | None = Field(default=None, description="scale to zero in this environment")


class IntegrationSpec(StrictModel):
    routes: tuple[str, ...] = Field(
        default=("routes/*.camel.yaml", "routes/*.camel.xml"),
        min_length=1,
        description="route files: globs relative to the integration directory",
    )
    properties: str | None = Field(default=None, description="an application.properties file")
    runtime: Runtime = Field(default_factory=Runtime)
    image: Annotated[str, StringConstraints(pattern=IMAGE_PATTERN)] | None = Field(
        default=None, description="a prebuilt image; default: the camelops Camel Main runtime"
    )
    build: Build | None = None
    replicas: int = Field(default=1, ge=0, le=1000)
    autoscaling: Autoscaling | None = None
    resources: Resources = Field(default_factory=Resources)
    expose: Expose | None = None
    env: EnvVars = Field(default_factory=dict)
    secrets: tuple[SecretRef, ...] = ()
    egress: tuple[EgressRule, ...] = ()
    observability: Observability = Field(default_factory=Observability)
    replay: Replay = Field(default_factory=Replay)
    environments: dict[Name, IntegrationOverride] = Field(
        default_factory=dict, description="per-environment overrides, keyed by environment name"
    )

    _image_or_build = model_validator(mode="after")(image_or_build)


class Integration(StrictModel):
    api_version: API_VERSION_LITERAL
    kind: Literal["Integration"]
    metadata: IntegrationMetadata
    spec: IntegrationSpec

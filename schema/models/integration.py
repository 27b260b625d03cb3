"""Integration (`integrations/<name>/integration.yaml`): one deployable Camel runtime."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

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
RESERVED_PORTS = {8778: "the Jolokia agent", 9876: "Camel management/health", 9464: "the sidecar"}
IMAGE_PATTERN = r"^[a-z0-9]+([._/:@-][A-Za-z0-9_.-]+)*$"
ENDPOINT_PATTERN = r"^(direct|seda):[A-Za-z0-9._-]+$"


class Build(StrictModel):
    context: str = Field(default=".", description="build context, relative to the integration dir")
    dockerfile: str = Field(default="Dockerfile", description="relative to the build context")


class Autoscaling(StrictModel):
    min_replicas: int = Field(default=1, ge=1, le=1000)
    max_replicas: int = Field(ge=1, le=1000)
    target_cpu_utilization: int = Field(default=80, ge=1, le=100)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) is above maxReplicas ({self.max_replicas})"
            )
        return self


class Ingress(StrictModel):
    host: Hostname
    path: Annotated[str, StringConstraints(pattern=r"^/[^\s]*$")] = "/"
    tls_secret: Name | None = Field(default=None, description="Secret with the TLS certificate")


class Expose(StrictModel):
    port: Port = Field(default=8080, description="the port Camel's HTTP server listens on")
    ingress: Ingress | None = None

    @model_validator(mode="after")
    def _not_reserved(self) -> Expose:
        if self.port in RESERVED_PORTS:
            raise ValueError(f"port {self.port} is reserved for {RESERVED_PORTS[self.port]}")
        return self


# Set by camelops itself in the runtime container; a user value would break tracing or loading.
RESERVED_ENV = frozenset({"JAVA_TOOL_OPTIONS", "CAMELOPS_ROUTES_DIR"})


def _no_reserved_env(env: dict[str, str]) -> dict[str, str]:
    taken = sorted(RESERVED_ENV & env.keys())
    if taken:
        raise ValueError(f"{', '.join(taken)} is set by camelops; use runtime.javaOptions instead")
    return env


EnvVars = Annotated[dict[EnvVarName, str], AfterValidator(_no_reserved_env)]


class SecretRef(StrictModel):
    """Environment variables from a sealed secret in `secrets/`."""

    name: Name = Field(description="the SealedSecret's metadata.name")
    env: EnvVars = Field(
        default_factory=dict, description="variable name -> key in the secret (all keys when empty)"
    )


class EgressProtocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"


class EgressRule(StrictModel):
    """Where the integration may connect; everything else is denied by a NetworkPolicy."""

    host: Hostname | None = Field(default=None, description="a DNS name (documentation, audits)")
    cidr: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F:.]+/[0-9]{1,3}$")] | None = None
    ports: tuple[Port, ...] = Field(min_length=1)
    protocol: EgressProtocol = EgressProtocol.TCP

    @model_validator(mode="after")
    def _one_target(self) -> EgressRule:
        if (self.host is None) == (self.cidr is None):
            raise ValueError("an egress rule names exactly one of host or cidr")
        return self


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
        default=0.5,
        ge=0.0,
        le=1.0,
        description="a route failing more than this share of its exchanges within the window "
        "makes the environment Degraded (1: never)",
    )
    min_exchanges: int = Field(
        default=10, ge=1, le=1_000_000, description="exchanges a route needs in the window"
    )
    window_seconds: int = Field(default=300, ge=10, le=86_400)


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

    @model_validator(mode="after")
    def _endpoint_when_enabled(self) -> Replay:
        if self.enabled and self.endpoint is None:
            raise ValueError("replay.enabled needs replay.endpoint (a direct: or seda: endpoint)")
        return self


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

    @model_validator(mode="after")
    def _image_or_build(self) -> IntegrationSpec:
        if self.image is not None and self.build is not None:
            raise ValueError("set either image or build, not both")
        return self


class Integration(StrictModel):
    api_version: API_VERSION_LITERAL
    kind: Literal["Integration"]
    metadata: IntegrationMetadata
    spec: IntegrationSpec

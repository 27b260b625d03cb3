"""Project (`camelops.yaml`) and Environment (`environments/<env>.yaml`) files."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from schema.model_rules import (
    CAMEL_VERSION_PATTERN,
    CamelRuntime,
    SyncWindowKind,
    Target,
    previews_deploy_needs_runner,
)
from schema.models.common import (
    API_VERSION_LITERAL,
    Duration,
    Metadata,
    Name,
    StrictModel,
)
from schema.models.integration import IntegrationOverride

CRON_PATTERN = r"^(@(hourly|daily|weekly|monthly|yearly)|(\S+\s+){4}\S+)$"


class Camel(StrictModel):
    version: Annotated[
        str,
        StringConstraints(pattern=CAMEL_VERSION_PATTERN),
        Field(
            description="a Camel 4.x version such as 4.18.4 "
            "(its YAML DSL schema and component catalog validate the routes)"
        ),
    ]
    runtime: CamelRuntime = Field(
        default=CamelRuntime.MAIN, description="Camel runtime; only Camel Main is supported"
    )


class SyncWindow(StrictModel):
    """Like Argo CD sync windows: when automated syncs may run. A matching deny always wins."""

    kind: SyncWindowKind
    schedule: Annotated[
        str,
        StringConstraints(pattern=CRON_PATTERN),
        Field(description="a five-field cron expression (minute hour day month weekday)"),
    ]
    duration: Duration
    time_zone: str = Field(default="UTC", description="IANA time zone of the schedule")
    manual_sync: bool = Field(
        default=False, description="allow manual syncs while this window blocks automated ones"
    )


class Environment(StrictModel):
    name: Name
    runner: Name = Field(description="the registered runner that applies this environment")
    target: Target | None = Field(
        default=None,
        description="what the runner runs: `kubernetes` (objects for a cluster) or `local` "
        "(Camel processes on the runner's host); unset: `kubernetes`, or `local` when the "
        "control plane was started with `serve --local-runner` naming this runner",
    )
    namespace: Name = Field(description="Kubernetes namespace the integrations run in")
    auto_sync: bool = Field(default=True, description="apply every new good revision automatically")
    self_heal: bool = Field(default=False, description="revert changes made in the cluster")
    prune: bool = Field(default=True, description="delete objects that left the repository")
    sync_windows: tuple[SyncWindow, ...] = ()
    properties: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Camel properties for every integration here"
    )
    overrides: IntegrationOverride = Field(
        default_factory=IntegrationOverride,
        description="settings applied to every integration in this environment",
    )


class Previews(StrictModel):
    enabled: bool = False
    runner: Name | None = Field(
        default=None, description="runner that deploys preview environments"
    )
    branch_pattern: str | None = Field(default=None, description="glob of branches to preview")
    label: str | None = Field(default=None, description="only PRs carrying this label")
    ttl: Duration = Field(
        default=timedelta(days=3),
        description="remove a preview this long after its last update",
        json_schema_extra={"default": "3d"},
    )
    deploy: bool = Field(default=False, description="deploy previews to namespace pr-<n>")
    deploy_forks: bool = Field(
        default=False,
        description="also deploy pull requests whose head is on no branch of this repository "
        "(forks, outside contributors); otherwise they are rendered and diffed only",
    )

    _deploy_needs_runner = model_validator(mode="after")(previews_deploy_needs_runner)


class ProjectSpec(StrictModel):
    camel: Camel
    environments: tuple[Environment, ...] = Field(min_length=1)
    previews: Previews = Field(default_factory=Previews)


class Project(StrictModel):
    """The root file of a config repository: `camelops.yaml`."""

    api_version: API_VERSION_LITERAL
    kind: Literal["Project"]
    metadata: Metadata
    spec: ProjectSpec


class EnvironmentFileSpec(StrictModel):
    properties: dict[str, str | int | float | bool] = Field(default_factory=dict)
    overrides: IntegrationOverride = Field(default_factory=IntegrationOverride)


class EnvironmentFile(StrictModel):
    """`environments/<env>.yaml`: environment-wide properties and overrides."""

    api_version: API_VERSION_LITERAL
    kind: Literal["Environment"]
    metadata: Metadata
    spec: EnvironmentFileSpec

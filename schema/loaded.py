"""The validated, in-memory view of a config repository that renderers and the reconciler use."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # models or records (schema/records.py): the same attributes
    from schema.models import Environment, EnvironmentFile, Integration, Project, SealedSecret


class RouteDsl(StrEnum):
    YAML = "yaml"
    XML = "xml"


@dataclass(frozen=True, slots=True)
class RouteFile:
    """One route file of an integration, as read."""

    path: str
    """Repository-relative path."""
    content: str
    dsl: RouteDsl

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class LoadedIntegration:
    """A valid integration: its document (a model or a record), routes and properties."""

    model: Integration
    directory: str
    """Repository-relative directory, e.g. integrations/orders-api."""
    routes: tuple[RouteFile, ...]
    properties_text: str | None
    consumed_endpoints: frozenset[str] = field(default_factory=frozenset)
    """URIs of every `from` in the routes (replay endpoints must be among them)."""

    @property
    def name(self) -> str:
        return self.model.metadata.name


@dataclass(frozen=True, slots=True)
class LoadedProject:
    """A valid repository: the project, its integrations, environment files and secrets."""

    root: Path
    project: Project
    integrations: tuple[LoadedIntegration, ...]
    environment_files: dict[str, EnvironmentFile]
    secrets: dict[str, SealedSecret]
    catalog_version: str
    """The Camel catalog version the routes were validated with."""

    @property
    def name(self) -> str:
        return self.project.metadata.name

    def environment(self, name: str) -> Environment:
        for env in self.project.spec.environments:
            if env.name == name:
                return env
        known = ", ".join(e.name for e in self.project.spec.environments)
        raise KeyError(f"no environment '{name}' in project {self.name} (known: {known})")

    def integration(self, name: str) -> LoadedIntegration:
        for item in self.integrations:
            if item.name == name:
                return item
        raise KeyError(f"no integration '{name}' in project {self.name}")

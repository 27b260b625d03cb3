"""pydantic v2 models of the config repository, apiVersion camelops.io/v1alpha1."""

from schema.models.integration import Integration, IntegrationOverride, IntegrationSpec
from schema.models.project import Environment, EnvironmentFile, Project, ProjectSpec
from schema.models.sealed_secret import SealedSecret

API_VERSION = "camelops.io/v1alpha1"

__all__ = [
    "API_VERSION",
    "Environment",
    "EnvironmentFile",
    "Integration",
    "IntegrationOverride",
    "IntegrationSpec",
    "Project",
    "ProjectSpec",
    "SealedSecret",
]

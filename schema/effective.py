"""Per-environment settings of an integration, after every override is applied.

Precedence, lowest first: the integration's own spec, the project environment's `overrides`,
`environments/<env>.yaml` overrides, then the integration's `environments.<env>` block.
Properties merge the same way, keyed by property name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from schema.loaded import LoadedIntegration, LoadedProject

if TYPE_CHECKING:
    from schema.models.common import Resources
    from schema.models.integration import Autoscaling, Ingress, IntegrationOverride

PropertyValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class EffectiveIntegration:
    """An integration's settings in one environment, every override applied."""

    integration: LoadedIntegration
    environment: str
    namespace: str
    replicas: int
    autoscaling: Autoscaling | None
    resources: Resources
    env: dict[str, str]
    properties: dict[str, PropertyValue]
    image: str | None
    ingress: Ingress | None
    sampling: float
    suspended: bool


def effective_integration(
    project: LoadedProject, integration: LoadedIntegration, environment: str
) -> EffectiveIntegration:
    env = project.environment(environment)
    spec = integration.model.spec
    env_file = project.environment_files.get(environment)
    layers: list[IntegrationOverride] = [env.overrides]
    properties: dict[str, PropertyValue] = dict(env.properties)
    if env_file is not None:
        layers.append(env_file.spec.overrides)
        properties.update(env_file.spec.properties)
    own = spec.environments.get(environment)
    if own is not None:
        layers.append(own)

    def pick(attr: str, default: object) -> object:
        value = default
        for layer in layers:
            candidate = getattr(layer, attr)
            if candidate is not None:
                value = candidate
        return value

    env_vars = dict(spec.env)
    for layer in layers:
        env_vars.update(layer.env)
        properties.update(layer.properties)
    ingress_default = spec.expose.ingress if spec.expose else None
    return EffectiveIntegration(
        integration=integration,
        environment=environment,
        namespace=env.namespace,
        replicas=pick("replicas", spec.replicas),  # type: ignore[arg-type]
        autoscaling=pick("autoscaling", spec.autoscaling),  # type: ignore[arg-type]
        resources=pick("resources", spec.resources),  # type: ignore[arg-type]
        env=env_vars,
        properties=properties,
        image=pick("image", spec.image),  # type: ignore[arg-type]
        ingress=pick("ingress", ingress_default),  # type: ignore[arg-type]
        sampling=pick("sampling", spec.observability.sampling),  # type: ignore[arg-type]
        suspended=pick("suspended", False),  # type: ignore[arg-type]
    )

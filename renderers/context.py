"""What every renderer shares: render options, the per-environment context, labels and metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schema.loaded import LoadedProject

Manifest = dict[str, Any]
Decrypt = Callable[[str], str]
"""Turns one sealed value (`cops1:...`) into plaintext; only the control plane has one."""

CAMELOPS_VERSION = "0.1.0"
MANAGED_BY = "camelops"
TRACKING_ANNOTATION = "camelops.io/tracking-id"
SYNC_WAVE_ANNOTATION = "camelops.io/sync-wave"
CHECKSUM_ANNOTATION = "camelops.io/config-checksum"
MASKED_ANNOTATION = "camelops.io/masked"

# Fixed ports inside the pod; the schema reserves them so an integration cannot take them.
JOLOKIA_PORT = 8778
MANAGEMENT_PORT = 9876
SIDECAR_PORT = 9464
MAX_LABEL = 63


class RenderError(ValueError):
    """A valid repository that still cannot become Kubernetes objects (e.g. a ConfigMap over
    the API server's size limit); the message says what to change."""


class SecretValueError(RenderError):
    """A sealed value did not open; the message names its file and key, never a value."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Cluster-side facts the config repository does not carry; defaults fit the runner's."""

    runtime_image: str = "ghcr.io/camelops/camel-main"
    """Camel Main runtime image; tagged with the project's Camel version."""
    sidecar_image: str = f"ghcr.io/camelops/camelops:{CAMELOPS_VERSION}"
    kaniko_image: str = "gcr.io/kaniko-project/executor:v1.23.2"
    build_registry: str = "registry.camelops-system.svc:5000"
    """The runner's in-cluster registry that Kaniko pushes to and kubelets pull from."""
    source_url: str = ""
    """Git URL Kaniko fetches the build context from; the reconciler sets it."""
    source_ref: str = "refs/heads/main"
    """Branch the revision is on (Kaniko's git context fetches a reference, then the commit)."""
    revision: str = ""
    """Git commit the manifests come from; tags built images. Empty: `latest`."""
    runner_namespace: str = "camelops-system"
    relay_port: int = 9470
    """Port of the runner's loopback-style relay Service that sidecars ship telemetry to."""
    ingress_class: str = "traefik"
    namespace_object: bool = True
    """Render the Namespace itself; off when the runner's install owns the namespaces."""
    dns_namespace: str = "kube-system"


@dataclass(frozen=True, slots=True)
class EnvContext:
    """One environment being rendered: names and the choices every object depends on."""

    project: LoadedProject
    environment: str
    """The environment's name (a preview's is `pr-<n>`)."""
    base_environment: str
    """Whose settings apply: the environment itself, or for a preview its base environment."""
    namespace: str
    camel_version: str
    options: RenderOptions = field(default_factory=RenderOptions)
    decrypt: Decrypt | None = None

    @property
    def project_name(self) -> str:
        return self.project.name

    @property
    def is_preview(self) -> bool:
        return self.environment != self.base_environment


def tracking_id(project: str, api_version: str, kind: str, namespace: str, name: str) -> str:
    group = api_version.rpartition("/")[0]
    return f"{project}:{group}/{kind}:{namespace}/{name}"


def label_value(text: str) -> str:
    """Label values hold at most 63 characters: longer ones keep a prefix and a digest."""
    if len(text) <= MAX_LABEL:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: MAX_LABEL - 9].rstrip('-.')}-{digest}"


def selector_labels(integration: str) -> dict[str, str]:
    """Immutable on a Deployment: only what never changes for the life of the integration."""
    return {"app.kubernetes.io/name": integration, "app.kubernetes.io/instance": integration}


def common_labels(ctx: EnvContext, integration: str | None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/part-of": ctx.project_name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/version": ctx.camel_version,
        "camelops.io/project": ctx.project_name,
        "camelops.io/environment": ctx.environment,
    }
    if integration is not None:
        labels.update(selector_labels(integration))
        labels["camelops.io/integration"] = integration
    else:
        labels["app.kubernetes.io/name"] = ctx.project_name
        labels["app.kubernetes.io/instance"] = label_value(f"{ctx.project_name}-{ctx.environment}")
    return labels


def new_object(
    ctx: EnvContext,
    api_version: str,
    kind: str,
    name: str,
    *,
    integration: str | None,
    wave: int,
    namespaced: bool = True,
) -> Manifest:
    """apiVersion/kind/metadata with labels, the tracking id and the sync wave filled in."""
    namespace = ctx.namespace if namespaced else ""
    metadata: Manifest = {
        "name": name,
        "labels": common_labels(ctx, integration),
        "annotations": {
            TRACKING_ANNOTATION: tracking_id(ctx.project_name, api_version, kind, namespace, name),
            SYNC_WAVE_ANNOTATION: str(wave),
        },
    }
    if namespaced:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}

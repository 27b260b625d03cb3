"""The Deployment (Camel Main runtime + camelops sidecar) and, for `build:` integrations, the
Kaniko Job that builds the image the Deployment runs."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from renderers.context import (
    CHECKSUM_ANNOTATION,
    JOLOKIA_PORT,
    SIDECAR_PORT,
    EnvContext,
    Manifest,
    common_labels,
    new_object,
    selector_labels,
)
from renderers.kubernetes.config import PROPERTIES_KEY, ROUTES_DIR, route_keys
from renderers.properties import CONFIG_DIR, health_endpoint, sidecar_capture_flags
from schema.effective import EffectiveIntegration

if TYPE_CHECKING:
    from schema.models.common import Resources

JOLOKIA_AGENT = "/opt/camelops/jolokia-agent.jar"
DEFAULT_BUSINESS_PORT = 8080
WORKLOAD_WAVE = 0
BUILD_WAVE = -1


def _restricted() -> Manifest:
    """A fresh copy per container: callers may edit one object without touching another."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def image_of(ctx: EnvContext, effective: EffectiveIntegration) -> str:
    if effective.image is not None:
        return effective.image
    if effective.integration.model.spec.build is not None:
        return built_image(ctx, effective.integration.name)
    return f"{ctx.options.runtime_image}:{ctx.camel_version}"


def built_image(ctx: EnvContext, integration: str) -> str:
    tag = ctx.options.revision[:12] or "latest"
    return f"{ctx.options.build_registry}/{ctx.project_name}/{integration}:{tag}"


def resources(value: Resources) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for section, amounts in (("requests", value.requests), ("limits", value.limits)):
        given = {k: v for k, v in (("cpu", amounts.cpu), ("memory", amounts.memory)) if v}
        if given:
            out[section] = given
    return out


def deployment(
    ctx: EnvContext, effective: EffectiveIntegration, checksum: str, business_port: int
) -> Manifest:
    name = effective.integration.name
    obj = new_object(ctx, "apps/v1", "Deployment", name, integration=name, wave=WORKLOAD_WAVE)
    spec: dict[str, Any] = {
        "revisionHistoryLimit": 3,
        "selector": {"matchLabels": selector_labels(name)},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        },
        "template": _pod_template(ctx, effective, checksum, business_port),
    }
    # with an autoscaler, replicas belong to it: setting them here would fight every sync
    if effective.suspended or effective.autoscaling is None:
        spec["replicas"] = 0 if effective.suspended else effective.replicas
    obj["spec"] = spec
    return obj


def _pod_template(
    ctx: EnvContext, effective: EffectiveIntegration, checksum: str, business_port: int
) -> Manifest:
    name = effective.integration.name
    containers = [_camel_container(ctx, effective, business_port)]
    if effective.integration.model.spec.observability.sidecar:
        containers.append(_sidecar_container(ctx, effective))
    return {
        "metadata": {
            "labels": common_labels(ctx, name),
            "annotations": {CHECKSUM_ANNOTATION: checksum},
        },
        "spec": {
            "serviceAccountName": name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 45,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": containers,
            "volumes": _volumes(effective),
        },
    }


def _volumes(effective: EffectiveIntegration) -> list[Manifest]:
    integration = effective.integration
    keys = route_keys(integration)
    items = [{"key": PROPERTIES_KEY, "path": PROPERTIES_KEY}]
    items += [{"key": key, "path": f"routes/{key}"} for key in sorted(keys.values())]
    volumes: list[Manifest] = [
        {"name": "config", "configMap": {"name": integration.name, "items": items}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
    ]
    return volumes


def _camel_container(
    ctx: EnvContext, effective: EffectiveIntegration, business_port: int
) -> Manifest:
    container: Manifest = {
        "name": "camel",
        "image": image_of(ctx, effective),
        "imagePullPolicy": "IfNotPresent",
        "args": ["-pl", f"file:{CONFIG_DIR}/{PROPERTIES_KEY}"],
        "env": _env(effective),
        "resources": resources(effective.resources),
        "securityContext": _restricted(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the JVM's scratch space
        ],
    }
    if env_from := _env_from(effective):
        container["envFrom"] = env_from
    container |= _ports_and_probes(ctx, effective, business_port)
    return container


def _ports_and_probes(
    ctx: EnvContext, effective: EffectiveIntegration, business_port: int
) -> Manifest:
    health = health_endpoint(ctx.camel_version, business_port)
    ports = []
    if effective.integration.model.spec.expose is not None or health.port == business_port:
        ports.append({"name": "http", "containerPort": business_port, "protocol": "TCP"})
    if health.port != business_port:
        ports.append({"name": "management", "containerPort": health.port, "protocol": "TCP"})
    probe_port = "http" if health.port == business_port else "management"

    def probe(path: str, **extra: int) -> Manifest:
        return {"httpGet": {"path": path, "port": probe_port}, "timeoutSeconds": 3, **extra}

    return {
        "ports": ports,
        "startupProbe": probe(health.live_path, periodSeconds=5, failureThreshold=36),
        "livenessProbe": probe(health.live_path, periodSeconds=10, failureThreshold=3),
        "readinessProbe": probe(health.ready_path, periodSeconds=5, failureThreshold=3),
    }


def _env(effective: EffectiveIntegration) -> list[Manifest]:
    spec = effective.integration.model.spec
    variables: dict[str, Manifest] = {key: {"value": value} for key, value in effective.env.items()}
    for ref in spec.secrets:
        for variable, key in ref.env.items():
            variables[variable] = {"valueFrom": {"secretKeyRef": {"name": ref.name, "key": key}}}
    # runtime.javaOptions first: a JAVA_OPTS from env/overrides comes later and so wins per flag
    java_opts = " ".join(
        o for o in (spec.runtime.java_options, effective.env.get("JAVA_OPTS")) if o
    )
    if java_opts:
        variables["JAVA_OPTS"] = {"value": java_opts}
    # set last, so no env entry can drop the agent or bind it beyond the pod's loopback
    agent = f"-javaagent:{JOLOKIA_AGENT}=host=127.0.0.1,port={JOLOKIA_PORT},discoveryEnabled=false"
    variables["JAVA_TOOL_OPTIONS"] = {"value": agent}
    variables["CAMELOPS_ROUTES_DIR"] = {"value": ROUTES_DIR}
    return [{"name": name, **variables[name]} for name in sorted(variables)]


def _env_from(effective: EffectiveIntegration) -> list[Manifest]:
    """A secret referenced without an `env` map gives all its keys, as Kubernetes' envFrom does."""
    refs = effective.integration.model.spec.secrets
    return [{"secretRef": {"name": ref.name}} for ref in refs if not ref.env]


def _sidecar_container(ctx: EnvContext, effective: EffectiveIntegration) -> Manifest:
    return {
        "name": "camelops-sidecar",
        "image": ctx.options.sidecar_image,
        "imagePullPolicy": "IfNotPresent",
        "args": sidecar_args(ctx, effective),
        "env": [
            {"name": "CAMELOPS_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            # the runner reaches the replay API on the pod address (the NetworkPolicy lets
            # only the runner in) and must send this token; without the Secret the sidecar
            # keeps its API on loopback and the pod still starts
            {"name": "CAMELOPS_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {
                "name": "CAMELOPS_SIDECAR_TOKEN",
                "valueFrom": {
                    "secretKeyRef": {"name": SIDECAR_CREDENTIALS, "key": "token", "optional": True}
                },
            },
        ],
        "ports": [{"name": "sidecar", "containerPort": SIDECAR_PORT, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": _restricted(),
    }


SIDECAR_CREDENTIALS = "camelops-sidecar"
"""The Secret (key `token`) in each environment namespace whose value the runner sends to the
sidecars ($CAMELOPS_SIDECAR_TOKEN on both sides)."""


def relay_url(ctx: EnvContext) -> str:
    namespace = ctx.options.runner_namespace
    return f"http://camelops-relay.{namespace}.svc:{ctx.options.relay_port}/v1/telemetry"


def sidecar_args(ctx: EnvContext, effective: EffectiveIntegration) -> list[str]:
    """Flags of `camelops sidecar` (camelops/commands/sidecar.py); `$(CAMELOPS_POD)` is expanded
    by the kubelet from the downward API."""
    return [
        "sidecar",
        f"--integration={effective.integration.name}",
        f"--environment={ctx.environment}",
        "--pod=$(CAMELOPS_POD)",
        f"--jolokia-url=http://127.0.0.1:{JOLOKIA_PORT}/jolokia/",
        f"--relay-url={relay_url(ctx)}",
        "--listen-host=$(CAMELOPS_POD_IP)",
        f"--listen-port={SIDECAR_PORT}",
        *sidecar_capture_flags(effective, _literal),
    ]


def _literal(text: str) -> str:
    """The kubelet expands `$(VAR)` in args; `$$` keeps a user's `$(` literal."""
    return text.replace("$", "$$")


def kaniko_context(ctx: EnvContext) -> str:
    """`git://host/path#<ref>#<commit>`: Kaniko clones over HTTPS and checks out the commit."""
    address = ctx.options.source_url.partition("://")[2] or ctx.options.source_url
    address = address or f"git.{ctx.options.runner_namespace}.svc/{ctx.project_name}.git"
    context = f"git://{address}#{ctx.options.source_ref}"
    return f"{context}#{ctx.options.revision}" if ctx.options.revision else context


def build_job(ctx: EnvContext, effective: EffectiveIntegration) -> Manifest:
    """Kaniko builds from the Git revision itself, so the runner needs no checkout. Job specs are
    immutable: the name carries the tag, a new revision is a new Job (and the old one is pruned).
    No ttlSecondsAfterFinished: a Job that vanished would read as drift and build again."""
    name = effective.integration.name
    tag = built_image(ctx, name).rpartition(":")[2]
    job_name = f"{name}-build-{tag}"[:63].rstrip("-")
    obj = new_object(ctx, "batch/v1", "Job", job_name, integration=name, wave=BUILD_WAVE)
    # not the Deployment's selector labels: a build pod must never join its Service or budget
    labels = common_labels(ctx, None) | {
        "camelops.io/integration": name,
        "camelops.io/role": "build",
    }
    obj["spec"] = {
        "backoffLimit": 2,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "containers": [_kaniko_container(ctx, effective)],
            },
        },
    }
    return obj


def _kaniko_container(ctx: EnvContext, effective: EffectiveIntegration) -> Manifest:
    integration = effective.integration
    build = integration.model.spec.build
    if build is None:
        raise ValueError(f"{integration.name} has no build: section")
    context_dir = posixpath.normpath(f"{integration.directory}/{build.context}")
    return {
        "name": "kaniko",
        "image": ctx.options.kaniko_image,
        "args": [
            f"--context={kaniko_context(ctx)}",
            f"--context-sub-path={context_dir}",
            f"--dockerfile={build.dockerfile}",
            f"--destination={built_image(ctx, integration.name)}",
            f"--insecure-registry={ctx.options.build_registry}",
            "--reproducible",
            "--cache=true",
            # the runner reads the pushed digest from here and pins the Deployment to it
            "--digest-file=/dev/termination-log",
        ],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
    }

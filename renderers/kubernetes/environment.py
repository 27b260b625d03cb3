"""render_environment: a validated project + an environment name -> the ordered Kubernetes objects.

Preview environments (`pr-<n>`, not declared in camelops.yaml) render with the settings of the
project's first environment, in their own namespace `pr-<n>`, at one replica, with no
autoscaler and no Ingress (a preview must never claim the real host names).
"""

from __future__ import annotations

import dataclasses
import re

from contract.apply_order import apply_order
from renderers.context import (
    Decrypt,
    EnvContext,
    Manifest,
    RenderOptions,
    new_object,
)
from renderers.kubernetes import config, network, scaling, workload
from schema.effective import EffectiveIntegration, effective_integration
from schema.loaded import LoadedIntegration, LoadedProject

PREVIEW_NAME = re.compile(r"^pr-[1-9][0-9]{0,8}$")
NAMESPACE_WAVE = -2
RUNNER = "camelops-runner"  # the install manifests' ServiceAccount and ClusterRole names
RUNNER_APPLY_ROLE = f"{RUNNER}-apply"


class UnknownEnvironmentError(KeyError):
    """Neither an environment of the project nor a preview name (`pr-<n>`)."""


def render_environment(
    project: LoadedProject,
    env: str,
    decrypt: Decrypt | None = None,
    *,
    options: RenderOptions | None = None,
) -> list[Manifest]:
    """Every object of one environment, in apply order (sync wave, kind, name)."""
    ctx = environment_context(project, env, decrypt, options or RenderOptions())
    effective = [_effective(ctx, i) for i in sorted(project.integrations, key=lambda i: i.name)]
    objects = [network.default_deny(ctx)]
    if ctx.options.namespace_object:
        objects.append(_namespace(ctx))
        if ctx.is_preview:
            objects.append(_runner_binding(ctx))
    sealed = config.secrets_used(ctx, [e.integration for e in effective])
    objects += [config.secret(ctx, s) for s in sealed]
    for item in effective:
        objects += integration_objects(ctx, item)
    return sorted(objects, key=apply_order)


def environment_context(
    project: LoadedProject, env: str, decrypt: Decrypt | None, options: RenderOptions
) -> EnvContext:
    declared = {e.name: e for e in project.project.spec.environments}
    if env in declared:
        base, namespace = env, declared[env].namespace
    elif PREVIEW_NAME.match(env):
        base, namespace = project.project.spec.environments[0].name, env
    else:
        known = ", ".join(declared)
        raise UnknownEnvironmentError(
            f"no environment '{env}' in project {project.name} (known: {known}, or pr-<n>)"
        )
    version = project.project.spec.camel.version
    return EnvContext(project, env, base, namespace, version, options, decrypt)


def _effective(ctx: EnvContext, integration: LoadedIntegration) -> EffectiveIntegration:
    effective = effective_integration(ctx.project, integration, ctx.base_environment)
    if not ctx.is_preview:
        return effective
    return dataclasses.replace(
        effective,
        environment=ctx.environment,
        namespace=ctx.namespace,
        replicas=0 if effective.suspended else 1,
        autoscaling=None,
        ingress=None,
    )


def integration_objects(ctx: EnvContext, effective: EffectiveIntegration) -> list[Manifest]:
    integration = effective.integration
    spec = integration.model.spec
    port = spec.expose.port if spec.expose else workload.DEFAULT_BUSINESS_PORT
    cfg = config.config_map(ctx, effective, port)
    secrets = config.secrets_used(ctx, [integration])
    checksum = config.config_checksum(cfg, secrets)
    objects: list[Manifest | None] = [
        _service_account(ctx, integration.name),
        network.integration_policy(ctx, effective, port if spec.expose else None),
        cfg,
        workload.deployment(ctx, effective, checksum, port),
    ]
    if spec.expose is not None:
        objects.append(network.service(ctx, effective, port))
        objects.append(network.ingress(ctx, effective, port))
    if spec.build is not None and effective.image is None:
        objects += [workload.build_job(ctx, effective), network.build_policy(ctx, integration.name)]
    objects += [scaling.autoscaler(ctx, effective), scaling.disruption_budget(ctx, effective)]
    return [obj for obj in objects if obj is not None]


def _service_account(ctx: EnvContext, name: str) -> Manifest:
    obj = new_object(ctx, "v1", "ServiceAccount", name, integration=name, wave=-1)
    obj["automountServiceAccountToken"] = False
    return obj


def _runner_binding(ctx: EnvContext) -> Manifest:
    """A preview namespace is new: it gets the runner the same rights a managed namespace has
    (`camelops runner manifests --previews` lets the runner create exactly this binding)."""
    obj = new_object(
        ctx, "rbac.authorization.k8s.io/v1", "RoleBinding", RUNNER_APPLY_ROLE,
        integration=None, wave=NAMESPACE_WAVE,
    )  # fmt: skip
    obj["roleRef"] = {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": RUNNER_APPLY_ROLE,
    }
    obj["subjects"] = [
        {"kind": "ServiceAccount", "name": RUNNER, "namespace": ctx.options.runner_namespace}
    ]
    return obj


def _namespace(ctx: EnvContext) -> Manifest:
    obj = new_object(
        ctx,
        "v1",
        "Namespace",
        ctx.namespace,
        integration=None,
        wave=NAMESPACE_WAVE,
        namespaced=False,
    )
    builds = any(i.model.spec.build is not None for i in ctx.project.integrations)
    # Kaniko runs as root; every other pod we render meets the `restricted` profile
    level = "baseline" if builds else "restricted"
    obj["metadata"]["labels"] |= {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/warn": "restricted",
    }
    if ctx.is_preview:
        obj["metadata"]["labels"]["camelops.io/preview"] = "true"
    return obj

"""Service, Ingress (Traefik, TLS) and NetworkPolicies (namespace default deny, per-integration
allow lists with DNS and the runner relay)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from renderers.context import SIDECAR_PORT, EnvContext, Manifest, new_object, selector_labels
from schema.effective import EffectiveIntegration

if TYPE_CHECKING:
    from schema.models.integration import EgressRule

SERVICE_WAVE = 0
INGRESS_WAVE = 1
POLICY_WAVE = -1
DEFAULT_DENY = "default-deny"
# Kubernetes NetworkPolicy cannot name hosts: a host rule can only narrow egress to its ports
# (any address); the host names are kept in an annotation for audits and FQDN-aware CNIs.
ANY_ADDRESS = "0.0.0.0/0"


def service(ctx: EnvContext, effective: EffectiveIntegration, port: int) -> Manifest:
    name = effective.integration.name
    obj = new_object(ctx, "v1", "Service", name, integration=name, wave=SERVICE_WAVE)
    obj["spec"] = {
        "type": "ClusterIP",
        "selector": selector_labels(name),
        "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
    }
    return obj


def ingress(ctx: EnvContext, effective: EffectiveIntegration, port: int) -> Manifest | None:
    rule = effective.ingress
    if rule is None:
        return None
    name = effective.integration.name
    obj = new_object(
        ctx, "networking.k8s.io/v1", "Ingress", name, integration=name, wave=INGRESS_WAVE
    )
    annotations = obj["metadata"]["annotations"]
    annotations["traefik.ingress.kubernetes.io/router.entrypoints"] = (
        "websecure" if rule.tls_secret else "web"
    )
    spec: dict[str, Any] = {
        "ingressClassName": ctx.options.ingress_class,
        "rules": [
            {
                "host": rule.host,
                "http": {
                    "paths": [
                        {
                            "path": rule.path,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": name, "port": {"number": port}}},
                        }
                    ]
                },
            }
        ],
    }
    if rule.tls_secret:
        annotations["traefik.ingress.kubernetes.io/router.tls"] = "true"
        spec["tls"] = [{"hosts": [rule.host], "secretName": rule.tls_secret}]
    obj["spec"] = spec
    return obj


def default_deny(ctx: EnvContext) -> Manifest:
    obj = new_object(
        ctx,
        "networking.k8s.io/v1",
        "NetworkPolicy",
        DEFAULT_DENY,
        integration=None,
        wave=POLICY_WAVE,
    )
    obj["spec"] = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    return obj


def integration_policy(
    ctx: EnvContext, effective: EffectiveIntegration, port: int | None
) -> Manifest:
    name = effective.integration.name
    obj = new_object(
        ctx, "networking.k8s.io/v1", "NetworkPolicy", name, integration=name, wave=POLICY_WAVE
    )
    rules = effective.integration.model.spec.egress
    hosts = sorted({r.host for r in rules if r.host})
    if hosts:
        obj["metadata"]["annotations"]["camelops.io/egress-hosts"] = ",".join(hosts)
    egress = [_dns(ctx), _relay(ctx)] + [_egress(rule) for rule in rules]
    ingress: list[Manifest] = []
    if port is not None:
        ingress.append({"ports": [{"port": port, "protocol": "TCP"}]})
    if effective.integration.model.spec.observability.sidecar:
        # the runner asks the sidecar for replays; nobody else may
        ingress.append(
            {"from": [_runner(ctx)], "ports": [{"port": SIDECAR_PORT, "protocol": "TCP"}]}
        )
    obj["spec"] = {
        "podSelector": {"matchLabels": selector_labels(name)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": egress,
    }
    return obj


def build_policy(ctx: EnvContext, integration: str) -> Manifest:
    """Kaniko fetches the source and base images and pushes to the registry: open egress."""
    obj = new_object(
        ctx,
        "networking.k8s.io/v1",
        "NetworkPolicy",
        f"{integration}-build",
        integration=integration,
        wave=POLICY_WAVE,
    )
    obj["spec"] = {
        "podSelector": {
            "matchLabels": {"camelops.io/integration": integration, "camelops.io/role": "build"}
        },
        "policyTypes": ["Ingress", "Egress"],
        "egress": [{}],
    }
    return obj


def _namespace_selector(namespace: str) -> Manifest:
    return {"matchLabels": {"kubernetes.io/metadata.name": namespace}}


def _dns(ctx: EnvContext) -> Manifest:
    return {
        "to": [
            {
                "namespaceSelector": _namespace_selector(ctx.options.dns_namespace),
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
    }


def _runner(ctx: EnvContext) -> Manifest:
    return {
        "namespaceSelector": _namespace_selector(ctx.options.runner_namespace),
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "camelops-runner"}},
    }


def _relay(ctx: EnvContext) -> Manifest:
    return {"to": [_runner(ctx)], "ports": [{"port": ctx.options.relay_port, "protocol": "TCP"}]}


def _egress(rule: EgressRule) -> Manifest:
    ports = [{"port": port, "protocol": str(rule.protocol)} for port in rule.ports]
    if rule.cidr is not None:
        return {"to": [{"ipBlock": {"cidr": rule.cidr}}], "ports": ports}
    return {"to": [{"ipBlock": {"cidr": ANY_ADDRESS}}], "ports": ports}

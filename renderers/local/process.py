"""`CamelProcess`: everything the local driver needs to start one integration on one host.

Placeholders the driver fills per process (the renderer cannot know them): `{runtime}` the Camel
Main runtime's home (lib/*.jar, jolokia-agent.jar), `{jolokia_port}`. Route files are referred to
relative to the process's working directory (the revision's directory the driver writes), so the
rendered properties stay the same on every host. Ports for the HTTP server and the management
server are chosen per process by the driver and appended after these properties (last wins).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from renderers.context import Decrypt, EnvContext, Manifest, RenderOptions, new_object
from renderers.kubernetes.config import route_keys, secret, secrets_used
from renderers.kubernetes.environment import environment_context
from renderers.properties import (
    application_properties,
    platform_properties,
    route_includes,
    sidecar_capture_flags,
)
from schema.effective import EffectiveIntegration, effective_integration
from schema.loaded import LoadedProject

LOCAL_API_VERSION = "local.camelops.io/v1alpha1"
PROCESS_KIND = "CamelProcess"
ROUTES_SUBDIR = "routes"
DEFAULT_HEAP_MIB = 256
HEAP_SHARE = 0.75  # of the memory limit: the rest is metaspace, threads and the GC's own
_BINARY = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
_DECIMAL = {"k": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20, "T": 1e12 / 2**20}
_QUANTITY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")


@dataclass(frozen=True, slots=True)
class LocalOptions:
    """Host-side facts the config repository does not carry."""

    port_base: int = 18080
    """Stable port of the n-th exposed integration (sorted by name) is `port_base + n`."""
    ports: tuple[tuple[str, int], ...] = ()
    """Explicit stable ports per integration name; they win over `port_base`."""


def render_local(
    project: LoadedProject,
    env: str,
    decrypt: Decrypt | None = None,
    *,
    options: LocalOptions | None = None,
) -> list[Manifest]:
    """Secrets first, then one CamelProcess per integration, sorted by name."""
    opts = options or LocalOptions()
    ctx = environment_context(project, env, decrypt, RenderOptions(namespace_object=False))
    integrations = sorted(project.integrations, key=lambda i: i.name)
    effective = [effective_integration(project, i, ctx.base_environment) for i in integrations]
    objects = [secret(ctx, s) for s in secrets_used(ctx, integrations)]
    stable = _stable_ports(effective, opts)
    objects += [camel_process(ctx, e, stable.get(e.integration.name)) for e in effective]
    return objects


def _stable_ports(effective: list[EffectiveIntegration], opts: LocalOptions) -> dict[str, int]:
    explicit = dict(opts.ports)
    exposed = [e.integration.name for e in effective if e.integration.model.spec.expose]
    return {name: explicit.get(name, opts.port_base + n) for n, name in enumerate(exposed)}


def camel_process(ctx: EnvContext, effective: EffectiveIntegration, port: int | None) -> Manifest:
    integration = effective.integration
    spec = integration.model.spec
    keys = route_keys(integration)
    routes = {keys[r.path]: r.content for r in integration.routes}
    globs = route_includes(ROUTES_SUBDIR, routes)
    business_port = spec.expose.port if spec.expose else 8080
    platform = platform_properties(integration.name, ctx.camel_version, business_port, globs)
    if spec.expose is not None:
        platform["camel.server.enabled"] = True
    heap = heap_mib(effective.resources.limits.memory or effective.resources.requests.memory)
    obj = new_object(
        ctx, LOCAL_API_VERSION, PROCESS_KIND, integration.name, integration=integration.name, wave=0
    )
    body: dict[str, Any] = {
        "integration": integration.name,
        "environment": ctx.environment,
        "camelVersion": ctx.camel_version,
        "replicas": 0 if effective.suspended else max(effective.replicas, 1),
        "port": port,
        "heapMiB": heap,
        "command": runtime_command(heap, spec.runtime.java_options, effective.env),
        "routes": dict(sorted(routes.items())),
        "properties": application_properties(effective, platform),
        "env": dict(sorted(effective.env.items())),
        "secretEnv": [
            {"name": var, "secret": ref.name, "key": key}
            for ref in spec.secrets
            for var, key in sorted(ref.env.items())
        ],
        "secretEnvFrom": [ref.name for ref in spec.secrets if not ref.env],
        "sidecar": sidecar_args(ctx, effective) if spec.observability.sidecar else None,
    }
    body["checksum"] = _checksum(body, ctx, [ref.name for ref in spec.secrets])
    obj["spec"] = body
    return obj


def sidecar_args(ctx: EnvContext, effective: EffectiveIntegration) -> list[str]:
    """`camelops sidecar` flags that come from the repository; the driver adds the per-process
    ones (Jolokia URL, relay URL, listen port, the instance as `--pod`)."""
    return [
        "sidecar",
        f"--integration={effective.integration.name}",
        f"--environment={ctx.environment}",
        *sidecar_capture_flags(effective),
    ]


def runtime_command(heap: int, java_options: str | None, env: dict[str, str]) -> list[str]:
    """The JVM's argv; user options come after the heap so theirs win, the agent last so no user
    flag can move Jolokia off loopback."""
    user = " ".join(o for o in (java_options, env.get("JAVA_OPTS")) if o).split()
    return [
        "java",
        f"-Xmx{heap}m",
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        *user,
        "-javaagent:{runtime}/jolokia-agent.jar=host=127.0.0.1,port={jolokia_port},"
        "discoveryEnabled=false",
        "-cp",
        "{runtime}/lib/*",
        "org.apache.camel.main.Main",
        "-pl",
        "file:application.properties",
    ]


def heap_mib(memory: str | None) -> int:
    """JVM heap from the memory limit (or request): 75% of it, at least 64 MiB."""
    if not memory:
        return DEFAULT_HEAP_MIB
    match = _QUANTITY.match(memory)
    if match is None:
        return DEFAULT_HEAP_MIB
    number, unit = float(match.group(1)), match.group(2)
    mib = number * _BINARY[unit] if unit in _BINARY else number * _DECIMAL.get(unit, 1 / 2**20)
    return max(64, int(mib * HEAP_SHARE))


def _checksum(body: dict[str, Any], ctx: EnvContext, secret_names: list[str]) -> str:
    """Changes when anything the process runs with changes, secrets by their ciphertext (never
    plaintext, so the masked and the real rendering carry the same checksum)."""
    sealed = {
        n: dict(s.spec.encrypted_data) for n in secret_names if (s := ctx.project.secrets.get(n))
    }
    canonical = json.dumps({"spec": body, "secrets": sealed}, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
